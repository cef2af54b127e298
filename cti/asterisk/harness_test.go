package asterisk_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/cti"
	"github.com/switchboard-cc/switchboard/cti/arisim"
	"github.com/switchboard-cc/switchboard/cti/asterisk"
	"go.uber.org/goleak"
)

// timeScale speeds the emulator up: a 1 s prompt plays in 20 ms.
const timeScale = 0.02

// sim is an emulated Asterisk on an httptest server whose connections (websockets included) the test can cut.
type sim struct {
	*arisim.Server
	hs    *httptest.Server
	URL   string // ARI root
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func startSim(t *testing.T, cfg arisim.Config) *sim {
	t.Helper()
	if cfg.TimeScale == 0 {
		cfg.TimeScale = timeScale
	}
	s := &sim{Server: arisim.New(cfg), conns: map[net.Conn]struct{}{}}
	mux := http.NewServeMux()
	mux.Handle("/ari/", s.Handler())
	s.hs = httptest.NewUnstartedServer(mux)
	s.hs.Config.ConnState = func(c net.Conn, st http.ConnState) {
		s.mu.Lock()
		defer s.mu.Unlock()
		switch st {
		case http.StateNew:
			s.conns[c] = struct{}{}
		case http.StateClosed:
			delete(s.conns, c)
		}
	}
	s.hs.Start()
	s.URL = s.hs.URL + "/ari"
	t.Cleanup(func() {
		s.Server.Close() // closes the websockets the httptest server no longer tracks
		s.hs.Close()
	})
	return s
}

// drop cuts every TCP connection to the emulator, the events websocket included, as a network failure would.
func (s *sim) drop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
}

// events collects what the adapter delivers; next waits for the next matching event after the previous match.
type events struct {
	mu     sync.Mutex
	evs    []cti.Event
	cursor int
	wake   chan struct{}
}

func newEvents() *events { return &events{wake: make(chan struct{}, 1)} }

func (e *events) deliver(ev cti.Event) {
	e.mu.Lock()
	e.evs = append(e.evs, ev)
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// next returns the first event after the cursor for which match is true, and moves the cursor past it.
func next[E cti.Event](t *testing.T, e *events, match func(E) bool) E {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		e.mu.Lock()
		for i := e.cursor; i < len(e.evs); i++ {
			if ev, ok := e.evs[i].(E); ok && (match == nil || match(ev)) {
				e.cursor = i + 1
				e.mu.Unlock()
				return ev
			}
		}
		n := len(e.evs)
		e.mu.Unlock()
		select {
		case <-e.wake:
		case <-deadline:
			var zero E
			t.Fatalf("no %T after event %d within 5 s; got:\n%s", zero, n, e.dump())
			return zero
		}
	}
}

func (e *events) dump() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var b strings.Builder
	for i, ev := range e.evs {
		fmt.Fprintf(&b, "%3d %T %+v\n", i, ev, ev)
	}
	return b.String()
}

// recorder is an http.RoundTripper that keeps every REST request the adapter sends, for the conformance check.
type recorder struct {
	next http.RoundTripper
	mu   sync.Mutex
	reqs []sentRequest
}

type sentRequest struct {
	Method, Path, Query string // Path relative to the ARI root, Query raw
	Body                []byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body.Close()
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	_, path, _ := strings.Cut(req.URL.EscapedPath(), "/ari")
	r.mu.Lock()
	r.reqs = append(r.reqs, sentRequest{Method: req.Method, Path: path, Query: req.URL.RawQuery, Body: body})
	r.mu.Unlock()
	return r.next.RoundTrip(req)
}

func (r *recorder) requests() []sentRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.reqs)
}

// adapter is a running Client against a sim.
type adapter struct {
	*asterisk.Client
	ev   *events
	rec  *recorder
	errc chan error
	stop context.CancelFunc
}

// harness starts the emulator and an adapter connected to it, waits for TelephonyConnected, and on cleanup stops both,
// checks every request against the ARI spec and checks for leaked goroutines.
func harness(t *testing.T, cfg arisim.Config) (*sim, *adapter) {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t) }) // registered first: runs last
	s := startSim(t, cfg)
	a := runAdapter(t, s.URL, nil)
	next[cti.TelephonyConnected](t, a.ev, nil)
	return s, a
}

// runAdapter runs an adapter against url; mod may adjust its Config.
func runAdapter(t *testing.T, url string, mod func(*asterisk.Config)) *adapter {
	t.Helper()
	tr := asterisk.NewTransport(url) // the default transport, wrapped to record the requests
	a := &adapter{ev: newEvents(), rec: &recorder{next: tr}, errc: make(chan error, 1)}
	cfg := asterisk.Config{
		URL: url, User: "asterisk", Password: "asterisk", App: "contact-center",
		Deliver:    a.ev.deliver,
		Backoff:    asterisk.Backoff{Min: 10 * time.Millisecond, Max: 100 * time.Millisecond},
		HTTPClient: &http.Client{Transport: a.rec},
	}
	if mod != nil {
		mod(&cfg)
	}
	a.Client = asterisk.New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	a.stop = cancel
	go func() { a.errc <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-a.errc:
			if err != nil && err != asterisk.ErrReplaced {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Error("Run did not return within 5 s of cancel")
		}
		tr.CloseIdleConnections()
		checkConformance(t, a.rec.requests())
	})
	return a
}

// call places a simulated inbound call, retrying until the app is registered.
func call(t *testing.T, s *sim, spec arisim.CallSpec) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		id, err := s.Call(spec)
		if err == nil {
			return id
		}
		if time.Now().After(deadline) {
			t.Fatalf("Call: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := cti.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

func equal[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s = %#v, want %#v", what, got, want)
	}
}
