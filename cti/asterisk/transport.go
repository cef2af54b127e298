package asterisk

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// transport is the default http.RoundTripper for the REST requests: HTTP/1.1 to the one ARI host, sent and read on the
// calling goroutine. net/http's Transport hands every request from the caller to a per-connection writer goroutine and
// the response from a per-connection reader goroutine back to it: at 500 calls/s (7,000 requests a second) those
// goroutines and the hand-offs between them were 45 % of the controller's CPU, and each hand-off a scheduling wait on the
// path from StasisStart to the agent's originate. Here a request takes an idle connection (or dials one while fewer
// than max are open, or waits for one, as long as its context allows), writes itself with Request.Write, reads its
// response with http.ReadResponse, and gives the connection back when its body has been read to the end.
//
// A connection is closed instead of reused when the response says Connection: close, on any read or write error, when
// the request's context ends while it is in flight (context.AfterFunc sets a past deadline on the connection, which
// unblocks the read or write), and when a body is closed before its end (the rest is still on the wire). Idle
// connections are closed after idleTimeout.
type transport struct {
	scheme, host string // requests must be for this URL scheme and host
	addr         string // host:port to dial
	dial         func(ctx context.Context, network, addr string) (net.Conn, error)
	tls          *tls.Config // https only
	max          int         // connections open at once, dialing included
	idleTimeout  time.Duration

	mu   sync.Mutex
	idle []*conn // idle connections, the most recently used last: it is reused first, the others time out
	open int     // connections open or being dialed
	// waiters are the requests waiting for a connection, first come first served, those with an urgent context (an
	// agent's originate) before the others. A waiter receives an idle connection, or nil: a connection was closed and the
	// waiter may dial in its place (open already counts it).
	waiters, urgent []chan *conn
}

// urgentKey marks a request's context as urgent: when every connection is busy, it gets the next one before the requests
// that waited longer. The agent's originate is what a waiting caller waits for; the others (tags, music, recordings,
// hang-ups) can be late by a request's time without anyone hearing it.
type urgentKey struct{}

// urgent returns ctx marked urgent for the default transport (other transports ignore the mark).
func urgent(ctx context.Context) context.Context { return context.WithValue(ctx, urgentKey{}, true) }

// conn is one connection of the pool.
type conn struct {
	nc     net.Conn
	br     *bufio.Reader
	wb     bytes.Buffer // the request being sent
	peek   *peeker
	reused bool        // it has served a request before: a failure may be a server's close of an idle connection
	timer  *time.Timer // closes it once idle for idleTimeout; created when it first goes idle
}

// aLongTimeAgo is the deadline that unblocks a connection's pending read or write at once.
var aLongTimeAgo = time.Unix(1, 0)

// newTransport returns a transport for the ARI root base, dialing with dial, with at most max connections open.
func newTransport(base *url.URL, dial func(ctx context.Context, network, addr string) (net.Conn, error), max int,
	idleTimeout time.Duration) *transport {
	t := &transport{scheme: base.Scheme, host: base.Host, dial: dial, max: max, idleTimeout: idleTimeout}
	port := base.Port()
	if port == "" {
		port = "80"
		if base.Scheme == "https" {
			port = "443"
		}
	}
	t.addr = net.JoinHostPort(base.Hostname(), port)
	if base.Scheme == "https" {
		t.tls = &tls.Config{ServerName: base.Hostname(), MinVersion: tls.VersionTLS12}
	}
	return t
}

// RoundTrip sends req and reads its response's head. A request that fails on a reused connection before any byte of the
// response arrived is sent once more on another connection if it is idempotent and has no body (all of ARI's GETs and
// DELETEs): the server may have closed that connection while it was idle. A POST is never sent twice (a second originate
// would ring an agent twice); its error is returned.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != t.scheme || req.URL.Host != t.host {
		closeBody(req)
		return nil, fmt.Errorf("asterisk: the ARI transport sends to %s://%s only, not to %s://%s", t.scheme, t.host,
			req.URL.Scheme, req.URL.Host)
	}
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		closeBody(req)
		return nil, err
	}
	retry := idempotent(req.Method) && (req.Body == nil || req.Body == http.NoBody)
	for {
		pc, err := t.get(ctx)
		if err != nil {
			closeBody(req)
			return nil, err
		}
		resp, err := t.roundTrip(ctx, pc, req)
		var nr noResponse
		if err == nil || !errors.As(err, &nr) {
			return resp, err
		}
		if !retry || !pc.reused || ctx.Err() != nil {
			return nil, nr.err
		}
		retry = false
	}
}

// noResponse is an error that came before any byte of the response.
type noResponse struct{ err error }

func (e noResponse) Error() string { return e.err.Error() }
func (e noResponse) Unwrap() error { return e.err }

func idempotent(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// roundTrip sends req on pc and reads the response's head. pc is the caller's until roundTrip returns; then the
// response's body owns it, or it is back in the pool or closed.
func (t *transport) roundTrip(ctx context.Context, pc *conn, req *http.Request) (*http.Response, error) {
	stop := context.AfterFunc(ctx, func() { pc.nc.SetDeadline(aLongTimeAgo) })
	fail := func(err error) error {
		stop()
		t.discard(pc)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return err
	}
	pc.wb.Reset()
	err := writeRequest(&pc.wb, req) // closes req.Body
	if err == nil {
		err = pc.send(pc.wb.Bytes())
	}
	if pc.wb.Cap() > 64<<10 {
		pc.wb = bytes.Buffer{} // a rare large body does not pin its size
	}
	if err == nil {
		_, err = pc.br.Peek(1)
	}
	if err != nil {
		return nil, noResponse{fail(err)}
	}
	resp, known, err := readResponse(pc.br, req)
	// 1xx responses other than 101 are informational: the final response follows.
	for err == nil && resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
		resp, known, err = readResponse(pc.br, req)
	}
	if err != nil {
		return nil, fail(err)
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return nil, fail(errors.New("asterisk: unexpected 101 Switching Protocols on a REST request"))
	}
	keep := !resp.Close && !req.Close
	if resp.Body == http.NoBody {
		t.finish(pc, stop, keep)
		return resp, nil
	}
	b := &body{t: t, pc: pc, ctx: ctx, rc: resp.Body, stop: stop, keep: keep}
	if known {
		b.lim = lengthBody{br: pc.br, n: resp.ContentLength}
		b.rc = &b.lim
	}
	resp.Body = b
	return resp, nil
}

// readResponse reads the head of the response to req from br. A response of the shape ARI sends — HTTP/1.1, a final
// status, a Content-Length (or a status without a body), header lines in plain form — whose head is buffered whole (it
// arrives in one segment) is parsed here, without net/http's header map, textproto reader and transfer decoding (a sixth
// of the transport's CPU): known is true, resp.Body is nil unless there is no body, and the body is the next
// resp.ContentLength bytes of br. resp.Header then holds Content-Type only (this package reads no other). Any other
// response — chunked, 1xx, HTTP/1.0, a body up to the close, a head split across segments, anything unusual or invalid —
// is left whole to http.ReadResponse (FuzzReadResponse checks that both agree).
func readResponse(br *bufio.Reader, req *http.Request) (resp *http.Response, known bool, err error) {
	if resp := parseHead(br, req); resp != nil {
		return resp, resp.Body == nil, nil
	}
	resp, err = http.ReadResponse(br, req)
	return resp, false, err
}

// parseHead parses and consumes the response head at the start of br's buffer if readResponse may, else returns nil
// having consumed nothing.
func parseHead(br *bufio.Reader, req *http.Request) *http.Response {
	buf, _ := br.Peek(br.Buffered())
	end := bytes.Index(buf, []byte("\r\n\r\n"))
	if end < 0 || req.Method == http.MethodHead {
		return nil
	}
	head := buf[:end+2] // lines, each ending in CRLF
	line, head, _ := bytes.Cut(head, []byte("\r\n"))
	// "HTTP/1.1 200 OK": one space on each side of the code; the reason may be empty.
	rest, ok := bytes.CutPrefix(line, []byte("HTTP/1.1 "))
	if !ok || len(rest) < 3 || len(rest) > 3 && (rest[3] != ' ' || len(rest) > 4 && rest[4] == ' ') || hasCTL(string(rest)) {
		return nil
	}
	code := 0
	for _, c := range rest[:3] {
		if c < '0' || c > '9' {
			return nil
		}
		code = code*10 + int(c-'0')
	}
	if code < 200 {
		return nil
	}
	resp := &http.Response{Status: intern(rest, commonStatuses[:]), StatusCode: code, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Request: req, ContentLength: -1}
	for len(head) > 0 {
		line, head, _ = bytes.Cut(head, []byte("\r\n"))
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || !token(name) {
			return nil // an obsolete folding (a leading space), a malformed line
		}
		value = bytes.Trim(value, " \t")
		for _, c := range value {
			if c < ' ' && c != '\t' || c == 0x7f {
				return nil
			}
		}
		switch {
		case asciiEqualFold(name, "Content-Length"):
			if resp.ContentLength >= 0 || len(value) == 0 || len(value) > 18 {
				return nil // twice, empty or too long: net/http's rules
			}
			n := int64(0)
			for _, c := range value {
				if c < '0' || c > '9' {
					return nil
				}
				n = n*10 + int64(c-'0')
			}
			resp.ContentLength = n
		case asciiEqualFold(name, "Connection"):
			if asciiEqualFold(value, "close") {
				resp.Close = true
			} else if !asciiEqualFold(value, "keep-alive") {
				return nil
			}
		case asciiEqualFold(name, "Content-Type"):
			if resp.Header != nil {
				return nil
			}
			resp.Header = http.Header{"Content-Type": {intern(value, commonTypes[:])}}
		case asciiEqualFold(name, "Transfer-Encoding"), asciiEqualFold(name, "Trailer"):
			return nil
		}
	}
	switch {
	case code == http.StatusNoContent || code == http.StatusNotModified:
		resp.ContentLength = 0
	case resp.ContentLength < 0:
		return nil // a body up to the connection's close
	}
	if resp.ContentLength == 0 {
		resp.Body = http.NoBody
	}
	if resp.Header == nil {
		resp.Header = http.Header{}
	}
	br.Discard(end + 4)
	return resp
}

// commonStatuses and commonTypes are the status lines and content types ARI sends most: readResponse does not allocate
// them for each response.
var (
	commonStatuses = [...]string{"200 OK", "201 Created", "204 No Content", "404 Not Found"}
	commonTypes    = [...]string{"application/json"}
)

// intern returns b as a string, one of common if it is one.
func intern(b []byte, common []string) string {
	for _, s := range common {
		if string(b) == s {
			return s
		}
	}
	return string(b)
}

// token reports whether b is a non-empty header field name (RFC 9110 token).
func token(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

// asciiEqualFold reports whether b equals s, ASCII letters compared without case.
func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// lengthBody reads a body of known length from the connection's reader: io.EOF with its last bytes, and
// io.ErrUnexpectedEOF if the connection ends before them (as net/http's body does).
type lengthBody struct {
	br *bufio.Reader
	n  int64 // bytes left
}

func (l *lengthBody) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.br.Read(p)
	l.n -= int64(n)
	switch {
	case err == io.EOF:
		err = io.ErrUnexpectedEOF
	case err == nil && l.n == 0:
		err = io.EOF
	}
	return n, err
}

// finish ends a request on pc: the connection goes back to the pool if keep and the context did not end meanwhile (its
// deadline may be set), else it is closed.
func (t *transport) finish(pc *conn, stop func() bool, keep bool) {
	if stop() && keep {
		t.put(pc)
		return
	}
	t.discard(pc)
}

// body is a response body that owns its connection until the body's end (then the connection goes back to the pool), a
// read error or Close (then it is closed).
type body struct {
	t    *transport
	pc   *conn
	ctx  context.Context
	rc   io.Reader   // the body's bytes: net/http's body or lim, reading from pc.br
	lim  lengthBody  // the body of a response readResponse parsed itself
	stop func() bool // stops the context's AfterFunc
	keep bool        // the connection may be reused after the body

	mu   sync.Mutex
	done bool  // the connection is no longer the body's: rc must not be read again
	err  error // what Read returns once done
}

func (b *body) Read(p []byte) (int, error) {
	b.mu.Lock()
	if b.done {
		b.mu.Unlock()
		return 0, b.err
	}
	b.mu.Unlock()
	n, err := b.rc.Read(p)
	if err == nil {
		return n, nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done { // closed meanwhile, which closed the connection
		return n, b.err
	}
	b.done = true
	if err == io.EOF {
		b.err = io.EOF
		b.t.finish(b.pc, b.stop, b.keep)
		return n, io.EOF
	}
	b.stop()
	b.t.discard(b.pc)
	if b.ctx.Err() != nil {
		err = b.ctx.Err()
	}
	b.err = err
	return n, err
}

// Close closes the connection if the body was not read to its end: reading the rest could take as long as the rest of
// a recording.
func (b *body) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return nil
	}
	b.done = true
	b.err = http.ErrBodyReadAfterClose
	b.stop()
	b.t.discard(b.pc)
	return nil
}

// get returns a connection for a request: an idle one, a new one while fewer than max are open, or else the first one
// freed, until ctx ends.
func (t *transport) get(ctx context.Context) (*conn, error) {
	t.mu.Lock()
	for n := len(t.idle); n > 0; n = len(t.idle) {
		pc := t.idle[n-1]
		t.idle = t.idle[:n-1]
		t.mu.Unlock()
		pc.timer.Stop() // if it fires meanwhile, it finds pc no longer idle
		// The server may have closed it while it was idle (Asterisk's http.conf session_inactivity, a restart, a network
		// cut): net/http's reader goroutine would have seen that; here a non-blocking peek does, for one system call, so
		// that a POST, which is never sent twice, does not fail for it.
		if pc.peek.alive() {
			return pc, nil
		}
		t.discard(pc)
		t.mu.Lock()
	}
	if t.open < t.max {
		t.open++
		t.mu.Unlock()
		return t.dialConn(ctx)
	}
	w := make(chan *conn, 1)
	queue := &t.waiters
	if ctx.Value(urgentKey{}) != nil {
		queue = &t.urgent
	}
	*queue = append(*queue, w)
	t.mu.Unlock()
	select {
	case pc := <-w:
		if pc == nil {
			return t.dialConn(ctx)
		}
		return pc, nil
	case <-ctx.Done():
		t.mu.Lock()
		if i := slices.Index(*queue, w); i >= 0 {
			*queue = slices.Delete(*queue, i, i+1)
			t.mu.Unlock()
			return nil, ctx.Err()
		}
		t.mu.Unlock()
		// Served meanwhile: pass on what it got.
		if pc := <-w; pc != nil {
			t.put(pc)
		} else {
			t.free()
		}
		return nil, ctx.Err()
	}
}

// dialConn opens a connection in a place already counted in open.
func (t *transport) dialConn(ctx context.Context) (*conn, error) {
	nc, err := t.dial(ctx, "tcp", t.addr)
	if err == nil && t.tls != nil {
		tc := tls.Client(nc, t.tls)
		if err = tc.HandshakeContext(ctx); err != nil {
			nc.Close()
		}
		nc = tc
	}
	if err != nil {
		t.free()
		return nil, err
	}
	return &conn{nc: nc, br: bufio.NewReader(nc), peek: newPeeker(nc)}, nil
}

// send writes a request. On Linux, over plain TCP, the write is made from within a wait for the socket to become
// readable (peeker.sendAwait): the read right after the write, which nearly always finds nothing yet (EAGAIN) and only
// then waits, is not made — one system call of the three (write, read, read) a request cost.
func (pc *conn) send(b []byte) error {
	n, err := pc.peek.sendAwait(b)
	if err == nil && n < len(b) {
		_, err = pc.nc.Write(b[n:])
	}
	return err
}

// put gives pc to the first waiter, or makes it idle.
func (t *transport) put(pc *conn) {
	pc.reused = true
	t.mu.Lock()
	if w := t.nextWaiter(); w != nil {
		t.mu.Unlock()
		w <- pc
		return
	}
	if pc.timer == nil {
		pc.timer = time.AfterFunc(t.idleTimeout, func() { t.expire(pc) })
	} else {
		pc.timer.Reset(t.idleTimeout)
	}
	t.idle = append(t.idle, pc)
	t.mu.Unlock()
}

// expire closes pc if it is still idle.
func (t *transport) expire(pc *conn) {
	t.mu.Lock()
	i := slices.Index(t.idle, pc)
	if i < 0 {
		t.mu.Unlock()
		return
	}
	t.idle = slices.Delete(t.idle, i, i+1)
	t.mu.Unlock()
	t.discard(pc)
}

// discard closes pc and frees its place.
func (t *transport) discard(pc *conn) {
	pc.nc.Close()
	t.free()
}

// free gives a closed connection's place to the first waiter, who dials, or frees it.
func (t *transport) free() {
	t.mu.Lock()
	if w := t.nextWaiter(); w != nil {
		t.mu.Unlock()
		w <- nil
		return
	}
	t.open--
	t.mu.Unlock()
}

// nextWaiter removes and returns the urgent request that has waited longest for a connection, else the other request that
// has, or nil; t.mu is held.
func (t *transport) nextWaiter() chan *conn {
	queue := &t.urgent
	if len(*queue) == 0 {
		queue = &t.waiters
	}
	if len(*queue) == 0 {
		return nil
	}
	w := (*queue)[0]
	*queue = (*queue)[1:]
	return w
}

// warm dials connections until n are open (or max), one after another, and makes them idle, so that the first burst of
// requests after a connect finds them open instead of dialing (and the server accepting) while calls wait. It stops at
// the first error, or when ctx ends. Those left unused close after the idle timeout and are not dialed again until
// requests need them.
func (t *transport) warm(ctx context.Context, n int) error {
	for {
		t.mu.Lock()
		if t.open >= min(n, t.max) {
			t.mu.Unlock()
			return nil
		}
		t.open++
		t.mu.Unlock()
		pc, err := t.dialConn(ctx)
		if err != nil {
			return err
		}
		t.put(pc)
	}
}

// CloseIdleConnections closes the idle connections (http.Client.CloseIdleConnections calls it).
func (t *transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	t.mu.Unlock()
	for _, pc := range idle {
		pc.timer.Stop()
		t.discard(pc)
	}
}

// writeRequest writes req to w as req.Write does, byte for byte (FuzzWriteRequest), without its formatting, transfer
// writer and header sorting (a fifth of the transport's CPU) when req has the shape of this package's requests: the host
// and path of its URL, no Close or Trailer, only the Authorization and Content-Type headers with plain values, and no
// body or one of known length. Any other request is written by req.Write.
func writeRequest(w *bytes.Buffer, req *http.Request) error {
	u := req.URL
	hasBody := req.Body != nil && req.Body != http.NoBody
	if req.Host != "" && req.Host != u.Host || req.Close || req.Trailer != nil || len(req.TransferEncoding) > 0 || u.Opaque != "" ||
		(hasBody && req.ContentLength <= 0) || (!hasBody && req.ContentLength != 0) || !plainHost(u.Host) ||
		len(req.Header) > len(simpleHeaders) {
		return req.Write(w)
	}
	for k, vs := range req.Header {
		if !slices.Contains(simpleHeaders[:], k) {
			return req.Write(w)
		}
		for _, v := range vs {
			if !plainValue(v) {
				return req.Write(w)
			}
		}
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	if hasCTL(path) || hasCTL(u.RawQuery) {
		return req.Write(w) // its error
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	w.WriteString(method)
	w.WriteByte(' ')
	w.WriteString(path)
	if u.ForceQuery || u.RawQuery != "" {
		w.WriteByte('?')
		w.WriteString(u.RawQuery)
	}
	w.WriteString(" HTTP/1.1\r\nHost: ")
	w.WriteString(u.Host)
	w.WriteString("\r\nUser-Agent: Go-http-client/1.1\r\n")
	// net/http sends a length for a body, and a zero one for the methods whose servers expect one.
	if hasBody || method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch {
		w.WriteString("Content-Length: ")
		w.Write(strconv.AppendInt(w.AvailableBuffer(), req.ContentLength, 10))
		w.WriteString("\r\n")
	}
	for _, k := range simpleHeaders { // in net/http's order: sorted
		for _, v := range req.Header[k] {
			w.WriteString(k)
			w.WriteString(": ")
			w.WriteString(v)
			w.WriteString("\r\n")
		}
	}
	w.WriteString("\r\n")
	if !hasBody {
		return nil
	}
	n, err := io.Copy(w, req.Body)
	req.Body.Close()
	if err == nil && n != req.ContentLength {
		err = fmt.Errorf("http: ContentLength=%d with Body length %d", req.ContentLength, n)
	}
	return err
}

// simpleHeaders are the headers writeRequest writes itself, sorted.
var simpleHeaders = [...]string{"Authorization", "Content-Type"}

// plainHost: net/http writes such a host as it is (no zone, no Unicode to convert).
func plainHost(h string) bool {
	if h == "" {
		return false
	}
	for i := range len(h) {
		c := h[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == ':' ||
			c == '[' || c == ']') {
			return false
		}
	}
	return true
}

// plainValue: net/http writes such a header value as it is (no line break to replace, nothing to trim).
func plainValue(v string) bool {
	return !hasCTL(v) && !strings.HasPrefix(v, " ") && !strings.HasSuffix(v, " ")
}

func hasCTL(s string) bool {
	for i := range len(s) {
		if s[i] < ' ' || s[i] == 0x7f {
			return true
		}
	}
	return false
}
