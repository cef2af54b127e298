package asterisk

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/switchboard-cc/switchboard/cti"
)

// Config configures a Client. URL, User, Password, App and Deliver are required.
type Config struct {
	// URL is the ARI root, e.g. http://127.0.0.1:8088/ari. The events websocket is URL/events with ws(s).
	URL string
	// User and Password are the ari.conf credentials. The password is never logged.
	User, Password string
	// App is the Stasis application name (extensions.conf Stasis(<App>,...)), e.g. "contact-center".
	App string
	// Logger receives connection changes and undecodable events (default: discard).
	Logger *slog.Logger
	// Deliver receives every event, in arrival order, from the websocket reader. It must not block (the engine's Post).
	Deliver func(cti.Event)
	// Backoff bounds the wait between reconnection attempts; the wait doubles from Min up to Max, with jitter.
	// Zero values mean 100 ms and 10 s.
	Backoff Backoff
	// Clock stamps the adapter's own events (TelephonyConnected/Disconnected/Replaced) and ARI events without a
	// timestamp (default: the wall clock).
	Clock cti.Clock
	// HTTPClient's Transport sends the REST requests and dials the websocket's TCP connection (default: a client with its
	// own transport). The client's redirects and Timeout are not used: requests are bounded by the caller's context.
	HTTPClient *http.Client
	// PingInterval is how often the adapter pings the events websocket; a connection silent for two intervals is dropped
	// (default 20 s).
	PingInterval time.Duration
}

// MaxConns bounds the default client's connections to Asterisk, all kept alive for reuse. Asterisk refuses HTTP sessions past
// http.conf's sessionlimit (100 by default; the events websocket is one of them), so an unbounded pool fails exactly when a
// burst of calls opens more; past the bound a request waits for a free connection instead of dialing (a dial and a close
// per request cost 10 % of the controller's CPU at 500 calls/s with 512 idle connections and no bound). The bound is well
// above the requests a call load keeps in flight (a few at 500 calls/s), and low enough that when Asterisk falls behind
// for a moment the requests queue here, where an originate goes first, rather than in Asterisk's sockets, where it waits
// behind every request sent before it; at 96 such a moment dialed the whole pool at once and doubled the slow originates
// (docs/performance.md, "REST connections: 32, not 96").
const MaxConns = 32

// WarmConns is how many REST connections the default client opens as soon as the event stream is up, before any request
// needs them: the first calls after a start or a reconnect then do not wait for dials (a third of the originates that
// took over 10 ms in a load run fell in its first half second). A fraction of MaxConns and of Asterisk's session limit;
// those left unused are closed after IdleTimeout and are not dialed again ahead of need.
const WarmConns = 16

// IdleTimeout is how long the default client keeps an unused REST connection. Asterisk closes one idle for http.conf's
// session_keep_alive (15 s by default); closing it first means a request is never written onto a connection Asterisk is
// closing at that moment, where a POST (an originate) would fail and, not being idempotent, cannot be sent again.
// docs/asterisk.md says to keep session_keep_alive above it.
const IdleTimeout = 10 * time.Second

// Backoff is the reconnection policy.
type Backoff struct {
	Min, Max time.Duration
}

// delay is the wait before reconnection attempt n (0-based): Min·2ⁿ capped at Max, uniformly jittered in [d/2, d].
func (b Backoff) delay(n int, r *rand.Rand) time.Duration {
	d := b.Min
	for i := 0; i < n && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	half := d / 2
	return half + time.Duration(r.Int64N(int64(half)+1))
}

// Client is the ARI adapter. Create it with New, run its event stream with Run; its Telephony methods may be called
// concurrently at any time (they fail with EUNAVAILABLE while Asterisk cannot be reached).
type Client struct {
	cfg      Config
	log      *slog.Logger
	http     *http.Client
	rt       http.RoundTripper // http's transport, which sends the REST requests
	base     *url.URL          // the ARI root, without trailing slash
	rootPath string            // base's escaped path
	auth     string            // Authorization header value
	// hdr and hdrJSON are the headers of every request without and with a JSON body, built once and only read.
	hdr, hdrJSON http.Header
	running      atomic.Bool
	ready        atomic.Pointer[error] // nil pointer value: up; else the reason it is not
	// bulkVars: this Asterisk sets several channel variables in one request (read from its version on every connect).
	bulkVars atomic.Bool
	// filterLogged: a failure to set the event filter was logged at info (once: an older Asterisk fails on every connect).
	filterLogged atomic.Bool

	mu   sync.Mutex
	rand *rand.Rand
}

var _ cti.Telephony = (*Client)(nil)

var (
	errNotStarted = errors.New("asterisk: event stream not started")
	errStopped    = errors.New("asterisk: event stream stopped")
)

// New returns a Client for cfg. It does not connect: Run does.
func New(cfg Config) *Client {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = cti.ClockFunc(time.Now)
	}
	if cfg.Deliver == nil {
		cfg.Deliver = func(cti.Event) {}
	}
	if cfg.Backoff.Min <= 0 {
		cfg.Backoff.Min = 100 * time.Millisecond
	}
	if cfg.Backoff.Max <= 0 {
		cfg.Backoff.Max = 10 * time.Second
	}
	cfg.Backoff.Max = max(cfg.Backoff.Max, cfg.Backoff.Min)
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = 20 * time.Second
	}
	base, _ := url.Parse(strings.TrimRight(cfg.URL, "/"))
	if base == nil {
		base = &url.URL{}
	}
	hc := cfg.HTTPClient
	if hc == nil {
		// Every live call's executor may have a request in flight: at hundreds of new calls a second that is hundreds of
		// concurrent requests to one host. Every connection the pool may open is kept idle for reuse, so none is dialed and
		// closed per request (16 idle connections cost 16 % of the controller's CPU in dials at 500 calls/s).
		dial := (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext
		hc = &http.Client{Transport: newTransport(base, dial, MaxConns, IdleTimeout)}
	}
	c := &Client{cfg: cfg, log: cfg.Logger, http: hc, rand: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
	c.base = base
	c.rootPath = c.base.EscapedPath()
	c.rt = hc.Transport
	if c.rt == nil {
		c.rt = http.DefaultTransport
	}
	c.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.User+":"+cfg.Password))
	c.hdr = http.Header{"Authorization": {c.auth}}
	c.hdrJSON = http.Header{"Authorization": {c.auth}, "Content-Type": {"application/json"}}
	err := errNotStarted
	c.ready.Store(&err)
	return c
}

// Ready reports whether the event stream is up (nil), for /readyz.
func (c *Client) Ready() error {
	if p := c.ready.Load(); p != nil {
		return *p
	}
	return nil
}

func (c *Client) setReady(err error) {
	if err == nil {
		c.ready.Store(nil)
		return
	}
	c.ready.Store(&err)
}

// ErrReplaced is returned by Run when another controller connected to the same Stasis application (ARI
// ApplicationReplaced): two controllers must never drive the same calls.
var ErrReplaced = errors.New("asterisk: another controller took over the Stasis application")

// Run connects the events websocket and keeps it connected until ctx is done, delivering every event to Config.Deliver.
// Each time the stream comes up it delivers TelephonyConnected (the engine then reconciles with Snapshot); each loss
// delivers TelephonyDisconnected and reconnects with backoff. Run returns nil when ctx is done, ErrReplaced when another
// controller took the application over, and an error at once for an unusable Config. It may not be called twice at once.
func (c *Client) Run(ctx context.Context) error {
	if c.cfg.URL == "" || c.cfg.App == "" || c.cfg.User == "" {
		return errors.New("asterisk: URL, App and User are required")
	}
	if c.base.Scheme != "http" && c.base.Scheme != "https" {
		return fmt.Errorf("asterisk: URL %q: scheme must be http or https", c.cfg.URL)
	}
	if !c.running.CompareAndSwap(false, true) {
		return errors.New("asterisk: Run is already running")
	}
	defer c.running.Store(false)
	defer c.http.CloseIdleConnections() // the REST connections too, on shutdown

	attempt := 0
	for {
		conn, err := c.dial(ctx)
		if err == nil {
			var up bool
			up, err = c.serve(ctx, conn)
			if up {
				attempt = 0
			}
			if errors.Is(err, ErrReplaced) {
				c.setReady(err)
				return err
			}
			if ctx.Err() != nil {
				c.setReady(errStopped)
				return nil
			}
			if up {
				c.log.Warn("asterisk: event stream lost", "err", err)
				c.setReady(fmt.Errorf("asterisk: event stream lost: %w", err))
				c.cfg.Deliver(cti.TelephonyDisconnected{At: cti.At{Time: c.cfg.Clock.Now()}, Reason: err.Error()})
			} else {
				c.log.Warn("asterisk: application not registered", "app", c.cfg.App, "err", err)
				c.setReady(fmt.Errorf("asterisk: application not registered: %w", err))
			}
		} else {
			if ctx.Err() != nil {
				c.setReady(errStopped)
				return nil
			}
			c.setReady(fmt.Errorf("asterisk: cannot connect: %w", err))
			if attempt == 0 || attempt%10 == 0 {
				c.log.Warn("asterisk: cannot connect", "url", c.base.Redacted(), "attempt", attempt+1, "err", err)
			}
		}
		c.mu.Lock()
		wait := c.cfg.Backoff.delay(attempt, c.rand)
		c.mu.Unlock()
		attempt++
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			c.setReady(errStopped)
			return nil
		case <-t.C:
		}
	}
}

// dial opens the events websocket for our application. Asterisk registers the application when the upgrade succeeds.
func (c *Client) dial(ctx context.Context) (*websocket.Conn, error) {
	u := *c.base
	switch u.Scheme {
	case "https":
		u.Scheme = "wss"
	default:
		u.Scheme = "ws"
	}
	u.Path += "/events"
	u.RawQuery = url.Values{"app": {c.cfg.App}, "subscribeAll": {"false"}}.Encode()
	d := websocket.Dialer{
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   16 << 10,
		WriteBufferSize:  4 << 10,
	}
	if t, ok := c.http.Transport.(*http.Transport); ok {
		d.NetDialContext = t.DialContext
		d.TLSClientConfig = t.TLSClientConfig
	}
	h := http.Header{"Authorization": {c.auth}}
	conn, resp, err := d.DialContext(ctx, u.String(), h)
	if err != nil {
		if resp != nil {
			msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			resp.Body.Close()
			return nil, fmt.Errorf("websocket upgrade refused: %s %s", resp.Status, strings.TrimSpace(string(msg)))
		}
		return nil, err
	}
	return conn, nil
}

// serve reads the connection until it fails or ctx is done, delivering each event as it arrives; up reports whether the
// stream came up (TelephonyConnected was delivered). The pinger is the only writer; this goroutine is the only reader.
func (c *Client) serve(ctx context.Context, conn *websocket.Conn) (up bool, err error) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.ping(conn, stop, ctx.Done())
	}()
	defer func() {
		close(stop)
		conn.Close()
		wg.Wait()
	}()

	deadline := 2 * c.cfg.PingInterval
	conn.SetReadLimit(4 << 20)
	conn.SetReadDeadline(time.Now().Add(deadline))
	conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(deadline)) })

	// Asterisk answers the upgrade before it registers the application: a command sent in between would have its events
	// dropped. Events that arrive meanwhile wait in the socket, after TelephonyConnected.
	if err := c.awaitRegistered(ctx); err != nil {
		return false, err
	}
	// The event filter needs the application registered. It is set alongside the version request and the first events:
	// it only keeps back types translate ignores, so events before it, and the engine's reconcile, lose nothing either way.
	filterCtx, cancelFilter := context.WithCancel(ctx)
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.setEventFilter(filterCtx)
	}()
	defer cancelFilter() // runs before the deferred wg.Wait above
	if t, ok := c.rt.(*transport); ok {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := t.warm(filterCtx, WarmConns); err != nil && filterCtx.Err() == nil {
				c.log.Warn("asterisk: cannot open REST connections ahead of need", "err", err)
			}
		}()
	}
	c.readVersion(ctx)
	c.log.Info("asterisk: event stream up", "url", c.base.Redacted(), "app", c.cfg.App, "bulk_variables", c.bulkVars.Load())
	c.setReady(nil)
	c.cfg.Deliver(cti.TelephonyConnected{At: cti.At{Time: c.cfg.Clock.Now()}})
	// One buffer for every message: ReadMessage allocates each one afresh (io.ReadAll), which was the largest allocation of
	// the controller under load. translate copies what it keeps.
	var buf bytes.Buffer
	for {
		kind, r, err := conn.NextReader()
		if err != nil {
			return true, err
		}
		buf.Reset()
		if buf.Cap() > 1<<20 {
			buf = bytes.Buffer{} // a rare large message (a big snapshot) does not pin its size
		}
		if _, err := buf.ReadFrom(r); err != nil {
			return true, err
		}
		conn.SetReadDeadline(time.Now().Add(deadline))
		if kind != websocket.TextMessage {
			continue
		}
		ev, err := c.translate(buf.Bytes())
		if err != nil {
			c.log.Warn("asterisk: undecodable event", "err", err)
			continue
		}
		if ev == nil {
			continue
		}
		c.cfg.Deliver(ev)
		if _, ok := ev.(cti.TelephonyReplaced); ok {
			c.log.Error("asterisk: another controller took over the Stasis application; stopping", "app", c.cfg.App)
			return true, ErrReplaced
		}
	}
}

// awaitRegistered polls GET /applications/{app} until Asterisk lists our application (a few milliseconds after the
// upgrade), for at most 5 s.
func (c *Client) awaitRegistered(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	wait := 2 * time.Millisecond
	for {
		err := c.do(ctx, call{method: http.MethodGet, path: []string{"applications", c.cfg.App}, what: "read application " + c.cfg.App})
		if err == nil || cti.ErrorCode(err) != cti.ENOTFOUND {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait = min(2*wait, 200*time.Millisecond)
	}
}

// ping keeps the connection alive and closes it when ctx is done so the reader returns.
func (c *Client) ping(conn *websocket.Conn, stop <-chan struct{}, done <-chan struct{}) {
	t := time.NewTicker(c.cfg.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-done:
			conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""),
				time.Now().Add(time.Second))
			conn.Close()
			return
		case <-t.C:
			if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(5*time.Second)); err != nil {
				conn.Close()
				return
			}
		}
	}
}
