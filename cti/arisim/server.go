package arisim

import (
	"bufio"
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// Config configures an emulator. The zero value is usable: it behaves like
// the Asterisk the transcripts were recorded against (user asterisk/asterisk,
// app contact-center, PJSIP agents 1001..1004 and the carrier trunk).
type Config struct {
	// Username and Password are the ARI credentials (ari.conf user). Both
	// default to "asterisk". Requests must carry them as HTTP basic auth or
	// as ?api_key=user:pass, otherwise they get 401.
	Username, Password string
	// AsteriskID is the entity id carried in every event (asterisk_id).
	AsteriskID string
	// Version is reported by /asterisk/info (default 22.10.1).
	Version string
	// TimeScale multiplies every simulated duration (ringing, playbacks,
	// recordings' max duration, caller scripts). 0.01 makes a 1 s prompt take
	// 10 ms of wall-clock time. Default 1. Timestamps and recording durations
	// are reported in simulated time.
	TimeScale float64
	// Now is the clock for timestamps (default time.Now).
	Now func() time.Time
	// Sounds maps sound names to their play time (simulated). It adds to or
	// overrides the default catalogue (welcome, press-1-for-sales-2-for-support,
	// please-hold, agent-connected, beep, digits/0..9, ...).
	Sounds map[string]time.Duration
	// DefaultSoundDuration is the play time of a catalogue sound without an
	// explicit one (default 1 s).
	DefaultSoundDuration time.Duration
	// Endpoints are the PJSIP endpoints and their behaviour, keyed by
	// "PJSIP/1001". nil means the transcripts' set: 1001 answers after 1 s
	// and hangs up 12 s later, 1002 only rings, 1003 is not registered, 1004
	// answers busy. The inbound trunk PJSIP/carrier always exists.
	Endpoints map[string]Behaviour
	// EventQueue bounds each websocket's send queue (default 1024). A
	// connection whose queue overflows is dropped, like a slow consumer.
	EventQueue int
	// RTPHost is the local address externalMedia channels bind (default 127.0.0.1).
	RTPHost string
	// Logger receives internal errors and dropped connections (default: discard).
	Logger *slog.Logger
	// OnRequest, if set, is called after every REST request with what was
	// asked and answered; conformance tests use it to check that a
	// controller only sends requests the spec (and so Asterisk) accepts.
	OnRequest func(RequestRecord)
	// OnRTP, if set, is called on the receiving goroutine of an
	// externalMedia channel for every RTP packet the external side sends it,
	// with the arrival time; load tests read their own timestamps from the
	// payload. packet is reused after the call returns.
	OnRTP func(channelID string, packet []byte, at time.Time)
	// OnEvent, if set, is called for every event about a channel as it is
	// queued to the applications' websockets, with the event type, the
	// channel's id and the wall-clock time; load tests time the controller
	// from it (e.g. StasisStart to the agent's originate). It runs with the
	// emulator locked: it must be quick and must not call the Server.
	OnEvent func(typ, channelID string, at time.Time)
	// SessionKeepAlive is how long Start's HTTP server keeps an idle
	// keep-alive connection open between requests before it closes it, as
	// Asterisk's http.conf session_keep_alive (default 15 s). A new
	// connection waits for its first request at least 10 s, as Asterisk's.
	SessionKeepAlive time.Duration
}

// RequestRecord describes one REST request for Config.OnRequest.
type RequestRecord struct {
	Method, Path string // Path is relative to /ari, e.g. /channels/123/answer
	Query        string // raw query string
	Operation    string // spec operation, e.g. "channels.answer"; "" if none matched
	Status       int
	// Body is the request body as sent (e.g. setChannelVars' JSON); nil
	// for none. It must not be modified.
	Body []byte
}

// Server is one emulated Asterisk. Create it with New, serve Handler() under
// /ari (or call Start), and Close it to stop every goroutine it owns.
type Server struct {
	cfg    Config
	log    *slog.Logger
	root   *routeNode
	start  time.Time
	wg     sync.WaitGroup // every goroutine and pending timer
	done   chan struct{}  // closed by Close
	mu     sync.Mutex     // guards everything below
	closed bool

	apps        map[string]*appReg
	appNames    []string // the keys of apps, sorted (apps are never removed)
	conns       map[*wsConn]struct{}
	dirty       []*wsConn // websockets with events queued under this hold of mu
	tsMilli     int64     // the millisecond tsText shows (timestamp)
	tsText      string
	channels    map[string]*channel
	bridges     map[string]*bridge
	playbacks   map[string]*playback
	liveRecs    map[string]*liveRecording
	stored      map[string]*storedRecording
	endpoints   map[string]*endpoint
	devices     map[string]string
	globals     map[string]string
	sounds      map[string]time.Duration
	soonQ       []*timer  // zero-delay work, run in order by unlock
	timerQ      timerHeap // delayed work, run by timerLoop when due
	timerWake   chan struct{}
	timerWakeAt time.Time // when timerLoop wakes next (zero before it runs)
	timerSeq    uint64    // orders timers due at the same instant
	timerLoopOn bool
	seq         int // unique id counter (<epoch>.<seq>)
	pjsipSeq    int // PJSIP/xxx-%08x
	snoopSeq    int
	unrealSeq   int // Announcer/Recorder unreal channels
	rng         *rand.Rand
	basicAuth   []byte   // the Authorization header of the configured credentials
	eventBuf    []byte   // scratch for encoding events (publish)
	appsBuf     []string // scratch for appsFor

	httpSrv *httpServer

	stats Stats
}

// Stats counts what the emulator did; read it with Server.Stats.
type Stats struct {
	CallsOffered   int // sim.Call accepted into an app
	CallsRejected  int // sim.Call with no app registered
	CallsAnswered  int // inbound calls answered by the controller
	CallsBridged   int // inbound calls bridged with another channel
	EventsSent     int
	EventsDropped  int // events for apps with no connection
	EventsFiltered int // events an application's event filter kept from its websocket
	SlowConsumers  int // websocket connections dropped for a full queue
	RTPPacketsSent int
	RTPPacketsRecv int
}

// New builds an emulator from cfg. It starts no goroutine until a websocket
// connects, a call is placed or Start is called.
func New(cfg Config) *Server {
	if cfg.Username == "" {
		cfg.Username = "asterisk"
	}
	if cfg.Password == "" {
		cfg.Password = "asterisk"
	}
	if cfg.AsteriskID == "" {
		cfg.AsteriskID = "02:fc:00:00:00:01"
	}
	if cfg.Version == "" {
		cfg.Version = "22.10.1"
	}
	if cfg.TimeScale <= 0 {
		cfg.TimeScale = 1
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.DefaultSoundDuration <= 0 {
		cfg.DefaultSoundDuration = time.Second
	}
	if cfg.EventQueue <= 0 {
		cfg.EventQueue = 1024
	}
	if cfg.RTPHost == "" {
		cfg.RTPHost = "127.0.0.1"
	}
	if cfg.SessionKeepAlive <= 0 {
		cfg.SessionKeepAlive = defaultSessionKeepAlive
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{
		cfg:       cfg,
		log:       log,
		root:      buildRoutes(),
		apps:      map[string]*appReg{},
		conns:     map[*wsConn]struct{}{},
		channels:  map[string]*channel{},
		bridges:   map[string]*bridge{},
		playbacks: map[string]*playback{},
		liveRecs:  map[string]*liveRecording{},
		stored:    map[string]*storedRecording{},
		endpoints: map[string]*endpoint{},
		devices:   map[string]string{},
		globals:   map[string]string{},
		sounds:    defaultSounds(cfg.DefaultSoundDuration),
		done:      make(chan struct{}),
		timerWake: make(chan struct{}, 1),
		rng:       rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x5eed)),
	}
	s.start = s.now()
	s.basicAuth = []byte("Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.Username+":"+cfg.Password)))
	for name, d := range cfg.Sounds {
		s.sounds[name] = d
	}
	eps := cfg.Endpoints
	if eps == nil {
		eps = DefaultEndpoints()
	}
	s.endpoints["PJSIP/carrier"] = &endpoint{tech: "PJSIP", resource: "carrier", b: Behaviour{Registered: true}}
	for id, b := range eps {
		tech, res, ok := strings.Cut(id, "/")
		if !ok {
			continue
		}
		s.endpoints[id] = &endpoint{tech: tech, resource: res, b: b}
	}
	return s
}

// DefaultEndpoints returns the agent endpoints of the recorded Asterisk.
func DefaultEndpoints() map[string]Behaviour {
	return map[string]Behaviour{
		"PJSIP/1001": {Registered: true, AnswerAfter: time.Second, HangupAfter: 12 * time.Second, CallerName: "Agent 1001", CallerNumber: "1001"},
		"PJSIP/1002": {Registered: true, NoAnswer: true, CallerName: "Agent 1002", CallerNumber: "1002"},
		"PJSIP/1003": {Registered: false, CallerName: "Agent 1003", CallerNumber: "1003"},
		"PJSIP/1004": {Registered: true, Busy: true, CallerName: "Agent 1004", CallerNumber: "1004"},
	}
}

func defaultSounds(d time.Duration) map[string]time.Duration {
	m := map[string]time.Duration{
		"welcome":                         2400 * time.Millisecond,
		"press-1-for-sales-2-for-support": 6500 * time.Millisecond,
		"please-hold":                     3100 * time.Millisecond,
		"agent-connected":                 2300 * time.Millisecond,
		"beep":                            400 * time.Millisecond,
		"silence/1":                       time.Second,
		"vm-goodbye":                      d,
		"queue-thankyou":                  d,
		"queue-youarenext":                d,
		"pls-hold-while-try":              d,
	}
	for i := range 10 {
		m[fmt.Sprintf("digits/%d", i)] = 500 * time.Millisecond
	}
	return m
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.unlock()
	return s.stats
}

// Handler returns the ARI handler. Mount it so it sees paths starting with
// /ari (e.g. mux.Handle("/ari/", srv.Handler())).
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Start listens on addr (e.g. "127.0.0.1:0") and serves Handler() until
// Close or ctx is done. It returns the bound address.
func (s *Server) Start(ctx context.Context, addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	srv := &httpServer{s: s, ln: ln, conns: map[*httpConn]bool{}}
	s.mu.Lock()
	if s.closed {
		s.unlock()
		ln.Close()
		return "", errors.New("arisim: server closed")
	}
	s.httpSrv = srv
	s.wg.Add(2)
	s.unlock()
	stop := make(chan struct{})
	go func() {
		defer s.wg.Done()
		if err := srv.serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("arisim: serve", "err", err)
		}
		close(stop)
	}()
	go func() {
		defer s.wg.Done()
		select {
		case <-ctx.Done():
			s.shutdown()
		case <-stop:
		}
	}()
	return ln.Addr().String(), nil
}

// Close stops the HTTP server (if started), closes every websocket and RTP
// socket, cancels every timer and waits for all goroutines to return.
func (s *Server) Close() error {
	s.shutdown()
	s.wg.Wait()
	return nil
}

// shutdown stops everything without waiting for the goroutines to return.
func (s *Server) shutdown() {
	s.mu.Lock()
	if s.closed {
		s.unlock()
		return
	}
	s.closed = true
	close(s.done)
	for _, t := range s.timerQ {
		t.cancelled, t.index = true, -1
	}
	s.timerQ = nil
	for c := range s.conns {
		c.closeLocked()
	}
	for _, ch := range s.channels {
		if ch.rtp != nil {
			ch.rtp.stop()
		}
	}
	srv := s.httpSrv
	s.unlock()
	if srv != nil {
		srv.close()
	}
}

func (s *Server) now() time.Time { return s.cfg.Now() }

// scaled converts a simulated duration into wall-clock time.
func (s *Server) scaled(d time.Duration) time.Duration {
	return time.Duration(float64(d) * s.cfg.TimeScale)
}

// ---- HTTP front: auth, routing, parameters ----

type routeNode struct {
	children map[string]*routeNode
	wild     *routeNode
	wildName string
	ops      map[string]*specOperation
}

func buildRoutes() *routeNode {
	root := &routeNode{children: map[string]*routeNode{}, ops: map[string]*specOperation{}}
	for i := range specOperations {
		op := &specOperations[i]
		n := root
		for _, seg := range strings.Split(strings.Trim(op.Path, "/"), "/") {
			if strings.HasPrefix(seg, "{") {
				if n.wild == nil {
					n.wild = &routeNode{children: map[string]*routeNode{}, ops: map[string]*specOperation{}}
					n.wildName = strings.Trim(seg, "{}")
				}
				n = n.wild
				continue
			}
			c := n.children[seg]
			if c == nil {
				c = &routeNode{children: map[string]*routeNode{}, ops: map[string]*specOperation{}}
				n.children[seg] = c
			}
			n = c
		}
		n.ops[op.Method] = op
	}
	return root
}

// request is one parsed ARI call.
type request struct {
	op      *specOperation
	path    []pathParam // in q.pathBuf: no allocation per request
	pathBuf [3]pathParam
	vals    map[string][]string
	body    map[string]json.RawMessage
	rawBody []byte // the body as sent, nil for none
	http    *http.Request
}

// pathParam is a path parameter's name in the spec and its decoded value.
type pathParam struct{ name, value string }

func (q *request) pathValue(name string) (string, bool) {
	for _, p := range q.path {
		if p.name == name {
			return p.value, true
		}
	}
	return "", false
}

func (q *request) has(name string) bool {
	if _, ok := q.pathValue(name); ok {
		return true
	}
	v, ok := q.vals[name]
	return ok && len(v) > 0
}

// str returns the parameter as Asterisk's generated code sees it: the last
// occurrence wins.
func (q *request) str(name string) string {
	if v, ok := q.pathValue(name); ok {
		return v
	}
	v := q.vals[name]
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

// list returns an allowMultiple parameter: every occurrence, split at commas.
func (q *request) list(name string) []string {
	var out []string
	for _, v := range q.vals[name] {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// int parses like C atoi: leading digits, 0 otherwise.
func (q *request) int(name string, def int) int {
	if !q.has(name) {
		return def
	}
	return atoi(q.str(name))
}

func atoi(s string) int {
	s = strings.TrimSpace(s)
	end := 0
	for end < len(s) && (s[end] >= '0' && s[end] <= '9' || end == 0 && (s[end] == '-' || s[end] == '+')) {
		end++
	}
	n, _ := strconv.Atoi(s[:end])
	return n
}

// bool parses like ast_true.
func (q *request) bool(name string, def bool) bool {
	if !q.has(name) {
		return def
	}
	return astTrue(q.str(name))
}

func astTrue(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "yes", "true", "y", "t", "1", "on":
		return true
	}
	return false
}

// response is what a handler returns.
type response struct {
	status      int
	body        any // JSON-encoded unless raw is set
	raw         []byte
	stream      func(io.Writer) error // instead of raw: writes size bytes
	size        int
	contentType string
	location    string
}

func noContent() response  { return response{status: http.StatusNoContent} }
func ok(body any) response { return response{status: http.StatusOK, body: body} }
func errMsg(code int, msg string) response {
	return response{status: code, body: obj{{"message", msg}}}
}
func allocFailed() response {
	return response{status: http.StatusInternalServerError, body: obj{{"error", "Allocation failed"}}}
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if s.cfg.OnRequest == nil {
		s.route(w, r)
		return
	}
	rec := &recorder{ResponseWriter: w, status: http.StatusOK}
	s.route(rec, r)
	if rec.op == "" && rec.status == http.StatusSwitchingProtocols {
		return
	}
	s.cfg.OnRequest(RequestRecord{Method: r.Method, Path: strings.TrimPrefix(r.URL.Path, "/ari"), Query: r.URL.RawQuery,
		Operation: rec.op, Status: rec.status, Body: rec.body})
}

// recorder captures the status of a response for Config.OnRequest.
type recorder struct {
	http.ResponseWriter
	status int
	op     string
	body   []byte
}

func (r *recorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// Unwrap lets the websocket upgrade reach the underlying connection.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	r.status = http.StatusSwitchingProtocols
	return http.NewResponseController(r.ResponseWriter).Hijack()
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	if !httpMethods[r.Method] {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotImplemented)
		io.WriteString(w, "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\r\n<html><head>\r\n<title>501 Not Implemented</title>\r\n</head><body>\r\n<h1>Not Implemented</h1>\r\n<p>Attempt to use unimplemented / unsupported method</p>\r\n<hr />\r\n</body></html>\r\n")
		return
	}
	rawPath := r.URL.EscapedPath()
	uri, found := strings.CutPrefix(rawPath, "/ari/")
	if !found {
		if rawPath == "/ari" {
			uri = ""
		} else {
			http.NotFound(w, r)
			return
		}
	}
	vals, body, raw, perr := readParams(r)
	if rec, isRec := w.(*recorder); isRec {
		rec.body = raw
	}
	if !s.authorized(r, vals) {
		w.Header().Set("WWW-Authenticate", `Basic realm="Asterisk REST Interface"`)
		writeResponse(w, r, errMsg(http.StatusUnauthorized, "Authentication required"))
		return
	}
	if perr != nil {
		writeResponse(w, r, errMsg(http.StatusBadRequest, "Error parsing request body"))
		return
	}
	delete(vals, "api_key")
	if strings.HasSuffix(uri, "/") {
		writeResponse(w, r, errMsg(http.StatusNotFound, "ARI URLs do not end with a slash. Try /ari/"+strings.TrimSuffix(uri, "/")))
		return
	}
	n := s.root
	q := &request{vals: vals, body: body, rawBody: raw, http: r}
	q.path = q.pathBuf[:0]
	for rest, more := uri, uri != ""; more; {
		var seg string
		seg, rest, more = strings.Cut(rest, "/")
		dec := seg
		if strings.IndexByte(seg, '%') >= 0 {
			if d, err := url.PathUnescape(seg); err == nil {
				dec = d
			}
		}
		if c := n.children[dec]; c != nil {
			n = c
		} else if n.wild != nil {
			q.path = append(q.path, pathParam{n.wildName, dec})
			n = n.wild
		} else {
			writeResponse(w, r, errMsg(http.StatusNotFound, "Resource not found"))
			return
		}
	}
	op := n.ops[r.Method]
	if r.Method == http.MethodOptions && len(n.ops) > 0 {
		w.Header().Set("Allow", allowHeader(n))
		writeResponse(w, r, noContent())
		return
	}
	if op == nil || op.Upgrade && r.Method != http.MethodGet {
		if len(n.ops) == 0 {
			writeResponse(w, r, errMsg(http.StatusNotFound, "Resource not found"))
			return
		}
		w.Header().Set("Allow", allowHeader(n))
		writeResponse(w, r, errMsg(http.StatusMethodNotAllowed, "Invalid method"))
		return
	}
	if rec, isRec := w.(*recorder); isRec {
		rec.op = op.ID
	}
	q.op = op
	if op.Upgrade {
		s.serveEvents(w, r, q)
		return
	}
	if resp, bad := validate(q); bad {
		writeResponse(w, r, resp)
		return
	}
	h := handlers[op.ID]
	if h == nil {
		writeResponse(w, r, errMsg(http.StatusNotImplemented, "Method not implemented"))
		return
	}
	s.mu.Lock()
	if s.closed {
		s.unlock()
		writeResponse(w, r, errMsg(http.StatusServiceUnavailable, "Asterisk not booted"))
		return
	}
	resp := h(s, q)
	s.unlock()
	writeResponse(w, r, resp)
}

// allowHeader lists a resource's methods as Asterisk's add_allow_header
// does: OPTIONS first, then in Asterisk's method order.
func allowHeader(n *routeNode) string {
	allow := []string{"OPTIONS"}
	for _, m := range []string{"GET", "POST", "HEAD", "PUT", "DELETE"} {
		if n.ops[m] != nil {
			allow = append(allow, m)
		}
	}
	return strings.Join(allow, ", ")
}

// httpMethods are the methods Asterisk's HTTP server knows; others get 501
// from the HTTP layer before ARI sees the request.
var httpMethods = map[string]bool{"GET": true, "POST": true, "HEAD": true, "PUT": true, "DELETE": true, "OPTIONS": true}

func (s *Server) authorized(r *http.Request, vals map[string][]string) bool {
	// The header every client built with the right credentials sends, compared
	// whole, spares decoding it on each request; any other form is parsed.
	if h := r.Header["Authorization"]; len(h) == 1 && subtle.ConstantTimeCompare([]byte(h[0]), s.basicAuth) == 1 {
		return true
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		keys := vals["api_key"]
		if len(keys) == 0 {
			return false
		}
		user, pass, ok = strings.Cut(keys[0], ":")
		if !ok {
			return false
		}
	}
	u := subtle.ConstantTimeCompare([]byte(user), []byte(s.cfg.Username))
	p := subtle.ConstantTimeCompare([]byte(pass), []byte(s.cfg.Password))
	return u&p == 1
}

// readParams merges query parameters, a form body and the members of a JSON
// body (Asterisk reads operation parameters from all three).
func readParams(r *http.Request) (vals map[string][]string, body map[string]json.RawMessage, raw []byte, err error) {
	vals = r.URL.Query() // a fresh map on each call: ours to change
	if r.Body == nil || r.Method == http.MethodGet {
		return vals, nil, nil, nil
	}
	raw, err = readBody(r)
	if err != nil {
		return vals, nil, nil, err
	}
	if len(raw) == 0 {
		raw = nil
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return vals, nil, raw, nil
	}
	ct := r.Header.Get("Content-Type")
	switch {
	case strings.HasPrefix(ct, "application/x-www-form-urlencoded"):
		form, err := url.ParseQuery(string(raw))
		if err != nil {
			return vals, nil, raw, err
		}
		for k, v := range form {
			vals[k] = append(v, vals[k]...)
		}
		return vals, nil, raw, nil
	case strings.HasPrefix(ct, "application/json"), ct == "":
		if t := bytes.TrimSpace(raw); t[0] == '[' && json.Valid(t) {
			// Asterisk reads any JSON container; an array names no parameter (the event filter takes it whole).
			return vals, nil, raw, nil
		}
		if err := json.Unmarshal(raw, &body); err != nil {
			return vals, nil, raw, err
		}
		for k, v := range body {
			var str string
			var num json.Number
			var list []string
			switch {
			case v[0] == '{':
				// An object (variables, fields) is no parameter value: none of
				// the decodings below would take it.
			case isPlainString(v):
				vals[k] = append(vals[k], string(v[1:len(v)-1]))
			case json.Unmarshal(v, &str) == nil:
				vals[k] = append(vals[k], str)
			case json.Unmarshal(v, &list) == nil:
				vals[k] = append(vals[k], list...) // allowMultiple as a JSON array
			case json.Unmarshal(v, &num) == nil:
				vals[k] = append(vals[k], num.String())
			case string(v) == "true" || string(v) == "false":
				vals[k] = append(vals[k], string(v))
			}
		}
		return vals, body, raw, nil
	}
	return vals, nil, raw, nil
}

// maxBody bounds the request body the emulator reads.
const maxBody = 1 << 20

// readBody reads the request body (at most maxBody bytes) into a buffer of
// the announced size when there is one.
func readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength == 0 && r.Body == http.NoBody { // how a server request says it has none
		return nil, nil
	}
	if n := r.ContentLength; n > 0 && n <= maxBody {
		b := make([]byte, n)
		_, err := io.ReadFull(r.Body, b)
		return b, err
	}
	return io.ReadAll(io.LimitReader(r.Body, maxBody))
}

// isPlainString reports whether v, a JSON value from a decoded body, is a
// string without escapes and in valid UTF-8: its text between the quotes is
// its value, as json.Unmarshal would give it.
func isPlainString(v []byte) bool {
	return len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' &&
		bytes.IndexByte(v[1:len(v)-1], '\\') < 0 && utf8.Valid(v)
}

// paramMessages holds Asterisk's own wording for a missing or invalid
// parameter where the transcripts or the C sources show it. Others get
// "Missing parameter <name>" / "Invalid <name>".
var paramMessages = map[string]string{
	"channels.originate:endpoint":         "Endpoint must be specified",
	"channels.originateWithId:endpoint":   "Endpoint must be specified",
	"channels.mute:direction":             "Invalid direction specified",
	"channels.unmute:direction":           "Invalid direction specified",
	"channels.sendDTMF:dtmf":              "DTMF is required",
	"channels.getChannelVar:variable":     "Variable name is required",
	"channels.setChannelVar:variable":     "Variable name is required",
	"channels.getChannelVars:variables":   "Missing variables parameter.",
	"asterisk.getGlobalVar:variable":      "Variable name is required",
	"asterisk.setGlobalVar:variable":      "Variable name is required",
	"channels.snoopChannel:spy":           "Invalid direction specified for spy",
	"channels.snoopChannel:whisper":       "Invalid direction specified for whisper",
	"channels.snoopChannel:app":           "Application name is required",
	"channels.snoopChannelWithId:spy":     "Invalid direction specified for spy",
	"channels.snoopChannelWithId:whisper": "Invalid direction specified for whisper",
	"channels.snoopChannelWithId:app":     "Application name is required",
	"channels.record:terminateOn":         "terminateOn invalid",
	"channels.record:ifExists":            "ifExists invalid",
	"bridges.record:terminateOn":          "terminateOn invalid",
	"bridges.record:ifExists":             "ifExists invalid",
	"channels.record:maxDurationSeconds":  "max_duration_seconds cannot be negative",
	"channels.record:maxSilenceSeconds":   "max_silence_seconds cannot be negative",
	"channels.play:skipms":                "skipms cannot be negative",
	"channels.play:offsetms":              "offsetms cannot be negative",
	"channels.playWithId:skipms":          "skipms cannot be negative",
	"channels.playWithId:offsetms":        "offsetms cannot be negative",
	"channels.hangup:reason":              "Invalid reason for hangup provided",
	"bridges.addChannel:channel":          "Missing parameter channel",
	"bridges.removeChannel:channel":       "Missing parameter channel",
	"deviceStates.update:deviceState":     "Invalid device state specified",
	"playbacks.control:operation":         "Missing operation",
}

// validate checks required parameters, allowable values and ranges the way
// the spec declares them. It returns the error response and true when the
// request must be rejected before it reaches the handler.
func validate(q *request) (response, bool) {
	for _, p := range q.op.Params {
		if p.In == "path" {
			continue
		}
		if p.In == "body" {
			continue
		}
		present := q.has(p.Name) && q.str(p.Name) != ""
		if p.Multiple {
			present = len(q.list(p.Name)) > 0
		}
		if !present {
			if p.Required {
				msg := paramMessages[q.op.ID+":"+p.Name]
				if msg == "" {
					msg = "Missing parameter " + p.Name
				}
				return errMsg(http.StatusBadRequest, msg), true
			}
			continue
		}
		if q.op.ID == "playbacks.control" && p.Name == "operation" && !contains(p.Enum, q.str(p.Name)) {
			return errMsg(http.StatusBadRequest, "Invalid operation "+q.str(p.Name)), true
		}
		if len(p.Enum) > 0 {
			vals := []string{q.str(p.Name)}
			if p.Multiple {
				vals = q.list(p.Name)
			}
			for _, v := range vals {
				if !contains(p.Enum, v) {
					msg := paramMessages[q.op.ID+":"+p.Name]
					if msg == "" {
						msg = "Invalid " + p.Name
					}
					return errMsg(http.StatusBadRequest, msg), true
				}
			}
		}
		if p.Min != nil && (p.Type == "int" || p.Type == "long") && float64(atoi(q.str(p.Name))) < *p.Min {
			msg := paramMessages[q.op.ID+":"+p.Name]
			if msg == "" {
				msg = p.Name + " cannot be negative"
			}
			return errMsg(http.StatusBadRequest, msg), true
		}
		if p.Max != nil && (p.Type == "int" || p.Type == "long") && float64(atoi(q.str(p.Name))) > *p.Max {
			msg := paramMessages[q.op.ID+":"+p.Name]
			if msg == "" {
				msg = "Invalid " + p.Name
			}
			return errMsg(http.StatusBadRequest, msg), true
		}
	}
	return response{}, false
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// jsonContentType is shared by every JSON response: net/http only reads it.
var jsonContentType = []string{"application/json"}

// respBufs holds buffers for encoding JSON responses; a response larger
// than maxPooledResponse (a long channel list) is not kept.
var respBufs = sync.Pool{New: func() any { return new([]byte) }}

const maxPooledResponse = 64 << 10

func writeResponse(w http.ResponseWriter, r *http.Request, resp response) {
	if resp.location != "" {
		w.Header().Set("Location", resp.location)
	}
	switch {
	case resp.stream != nil:
		w.Header().Set("Content-Type", resp.contentType)
		w.Header().Set("Content-Length", strconv.Itoa(resp.size))
		w.WriteHeader(resp.status)
		if r.Method != http.MethodHead {
			resp.stream(w) //nolint:errcheck // the client went away
		}
	case resp.raw != nil:
		w.Header().Set("Content-Type", resp.contentType)
		w.Header().Set("Content-Length", strconv.Itoa(len(resp.raw)))
		w.WriteHeader(resp.status)
		if r.Method != http.MethodHead {
			w.Write(resp.raw)
		}
	case resp.body != nil:
		bp := respBufs.Get().(*[]byte)
		b, err := appendJSON((*bp)[:0], resp.body)
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.Header()["Content-Type"] = jsonContentType
		w.WriteHeader(resp.status)
		w.Write(b) // copied: the buffer can be reused
		if cap(b) <= maxPooledResponse {
			*bp = b[:0]
			respBufs.Put(bp)
		}
	default:
		w.WriteHeader(resp.status)
	}
}
