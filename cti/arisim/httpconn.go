package arisim

import (
	"bufio"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The emulator serves Start's listener with its own HTTP/1.1 connection
// loop: one goroutine per connection that reads a request (a plain one
// itself, httpreq.go; any other with net/http's http.ReadRequest), runs the
// same handler as Handler(), and
// writes the response, flushing when no further request is already
// buffered. net/http's server starts a goroutine and an extra read per
// request to watch for the client going away, which a handler that never
// blocks does not need; under load that was a large share of the
// emulator's CPU. Handler() (net/http) stays for embedding.

// Asterisk's HTTP session timeouts (main/http.c): an idle keep-alive
// connection is closed after http.conf session_keep_alive
// (Config.SessionKeepAlive), a new connection waits for its first request
// at least minInitialRequestWait, and a request must arrive within
// session_inactivity once it has begun. A connection closed for either
// gets no answer.
const (
	defaultSessionKeepAlive = 15 * time.Second
	minInitialRequestWait   = 10 * time.Second
	sessionInactivity       = 30 * time.Second
)

// maxHeaderBytes bounds a request's header, as net/http's default.
const maxHeaderBytes = http.DefaultMaxHeaderBytes + 4096

// maxDrain is how much of an unread request body is read to keep the
// connection; past it the connection is closed (net/http's rule).
const maxDrain = 256 << 10

// httpServer is the accept loop and the connections of Start.
type httpServer struct {
	s       *Server
	ln      net.Listener
	mu      sync.Mutex
	closing bool
	conns   map[*httpConn]bool // → handling a request
}

type httpConn struct {
	nc     net.Conn
	remote string // nc.RemoteAddr().String(), for every request's RemoteAddr
	lr     limitReader
	br     *bufio.Reader
	bw     *bufio.Writer
	w      connResponse // the response being written, reused: a connection serves one request at a time
	date   dateCache
	plain  plainState
	// deadline is nc's read deadline: waiting for a request, the end of the
	// keep-alive wait; reading one, of session_inactivity.
	deadline time.Time
}

// dateCache holds the Date header's text for one second.
type dateCache struct {
	sec  int64
	text []byte
}

// appendDate appends now as http.TimeFormat, formatting it once a second.
func (d *dateCache) appendDate(b []byte, now time.Time) []byte {
	if sec := now.Unix(); sec != d.sec || d.text == nil {
		d.sec, d.text = sec, now.UTC().AppendFormat(d.text[:0], http.TimeFormat)
	}
	return append(b, d.text...)
}

// limitReader reads the connection for its bufio.Reader. It fails reads
// past n bytes (the budget is reset per request), and gives the first read
// for a request that has begun (inRequest) Asterisk's session_inactivity:
// most requests arrive whole with their first read, so most need no
// deadline of their own.
type limitReader struct {
	c         *httpConn
	n         int64
	inRequest bool
}

var errHeaderTooLarge = errors.New("request header too large")

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errHeaderTooLarge
	}
	if l.inRequest {
		l.inRequest = false
		l.c.setReadDeadline(time.Now().Add(sessionInactivity))
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.c.nc.Read(p)
	l.n -= int64(n)
	return n, err
}

// idleSlack is how late an idle connection may be closed, so that its read
// deadline is not moved on every request.
const idleSlack = 100 * time.Millisecond

// armIdle makes sure the connection is closed if no request begins within
// idle from now, and at most idleSlack later.
func (c *httpConn) armIdle(now time.Time, idle time.Duration) {
	if at := now.Add(idle); c.deadline.Before(at) || c.deadline.After(at.Add(idleSlack)) {
		c.setReadDeadline(at.Add(idleSlack))
	}
}

// setReadDeadline sets the connection's read deadline and remembers it.
func (c *httpConn) setReadDeadline(t time.Time) {
	c.deadline = t
	c.nc.SetReadDeadline(t)
}

func (h *httpServer) serve() error {
	for {
		nc, err := h.ln.Accept()
		if err != nil {
			h.mu.Lock()
			closing := h.closing
			h.mu.Unlock()
			if closing {
				return http.ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(5 * time.Millisecond)
				continue
			}
			return err
		}
		c := &httpConn{nc: nc, remote: nc.RemoteAddr().String()}
		c.lr.c = c
		c.br = bufio.NewReaderSize(&c.lr, 4096)
		c.bw = bufio.NewWriterSize(nc, 4096)
		h.mu.Lock()
		if h.closing {
			h.mu.Unlock()
			nc.Close()
			return http.ErrServerClosed
		}
		h.conns[c] = false
		h.s.wg.Add(1)
		h.mu.Unlock()
		go h.serveConn(c)
	}
}

// close stops accepting, closes idle connections at once and the others
// after their current response.
func (h *httpServer) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return
	}
	h.closing = true
	h.ln.Close()
	for c, busy := range h.conns {
		if !busy {
			c.nc.Close()
		}
	}
}

// setBusy marks c as handling a request or not; it reports false when the
// server is closing and c must stop.
func (h *httpServer) setBusy(c *httpConn, busy bool) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return false
	}
	h.conns[c] = busy
	return true
}

func (h *httpServer) serveConn(c *httpConn) {
	defer h.s.wg.Done()
	hijacked := false
	defer func() {
		// As net/http: a handler's panic costs its connection, not the process.
		if v := recover(); v != nil && v != http.ErrAbortHandler {
			h.s.log.Error("arisim: panic serving "+c.nc.RemoteAddr().String(), "err", v, "stack", string(debug.Stack()))
		}
		h.mu.Lock()
		delete(h.conns, c)
		h.mu.Unlock()
		if !hijacked {
			c.nc.Close()
		}
	}()
	idle := max(h.s.cfg.SessionKeepAlive, minInitialRequestWait)
	for {
		c.lr.n = maxHeaderBytes
		if c.br.Buffered() == 0 {
			if c.bw.Flush() != nil {
				return
			}
			// Idle until the next request, or close the connection as Asterisk does.
			c.lr.inRequest = false
			c.armIdle(time.Now(), idle)
			if _, err := c.br.Peek(1); err != nil {
				return
			}
		}
		c.lr.inRequest = true
		idle = h.s.cfg.SessionKeepAlive
		if !h.setBusy(c, true) {
			return
		}
		req := c.readPlainRequest()
		if req == nil {
			var err error
			if req, err = http.ReadRequest(c.br); err != nil {
				c.reject(err)
				return
			}
		}
		c.lr.n = math.MaxInt64
		if code, msg := checkRequest(req); code != 0 {
			c.writeStatusError(code, msg)
			return
		}
		req.RemoteAddr = c.remote
		w := c.newResponse(req)
		switch expect := req.Header.Get("Expect"); {
		case expect == "":
		case strings.EqualFold(expect, "100-continue") && req.ProtoAtLeast(1, 1):
			if req.ContentLength != 0 {
				c.bw.WriteString("HTTP/1.1 100 Continue\r\n\r\n")
				if c.bw.Flush() != nil {
					return
				}
			}
		default:
			w.header.Set("Connection", "close")
			w.WriteHeader(http.StatusExpectationFailed)
			w.finish()
			c.bw.Flush()
			return
		}
		h.s.serveHTTP(w, req)
		if w.hijacked {
			hijacked = true
			return
		}
		keep := w.finish()
		// Read what the handler left of the body so the next request can be
		// read, up to a bound.
		if req.Body != http.NoBody {
			if n, _ := io.CopyN(io.Discard, req.Body, maxDrain+1); n > maxDrain {
				keep = false
			}
		}
		if !keep || !h.setBusy(c, false) {
			c.bw.Flush()
			return
		}
	}
}

// checkRequest applies the checks net/http's server makes after parsing.
func checkRequest(req *http.Request) (int, string) {
	if req.ProtoMajor != 1 {
		return http.StatusHTTPVersionNotSupported, "unsupported protocol version"
	}
	// http.ReadRequest moved the Host header into req.Host.
	if req.ProtoAtLeast(1, 1) && req.Host == "" && req.Method != http.MethodConnect {
		return http.StatusBadRequest, "missing required Host header"
	}
	return 0, ""
}

// reject answers a request that could not be read, as net/http does.
func (c *httpConn) reject(err error) {
	var ne net.Error
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed), errors.As(err, &ne):
		return // the client went away
	case errors.Is(err, errHeaderTooLarge):
		c.writeError("431 Request Header Fields Too Large", "431 Request Header Fields Too Large")
	case strings.Contains(err.Error(), "unsupported transfer encoding"):
		c.writeError("501 Not Implemented", "Unsupported transfer encoding")
	default:
		c.writeError("400 Bad Request", "400 Bad Request")
	}
}

// writeError writes net/http's plain error response (status, then body)
// and leaves the connection to be closed.
func (c *httpConn) writeError(status, body string) {
	c.bw.WriteString("HTTP/1.1 " + status + "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n" + body)
	c.bw.Flush()
}

// writeStatusError is net/http's answer to a request it refuses after
// parsing: the reason in the status line and in the body.
func (c *httpConn) writeStatusError(code int, msg string) {
	text := strconv.Itoa(code) + " " + http.StatusText(code) + ": " + msg
	c.writeError(text, text)
}

// connResponse is the http.ResponseWriter of one request. The body is
// collected and sent with its Content-Length, unless the handler set a
// Content-Length before the header, which streams it (a stored
// recording's file).
type connResponse struct {
	c         *httpConn
	req       *http.Request
	header    http.Header
	status    int
	wroteHead bool // the header is in c.bw (streaming)
	body      []byte
	hijacked  bool
}

// newResponse readies c.w for req, keeping the header map and the body
// buffer of the previous response (nothing holds them once it is sent;
// a hijacked connection serves no further request).
func (c *httpConn) newResponse(req *http.Request) *connResponse {
	header, body := c.w.header, c.w.body
	if header == nil {
		header = http.Header{}
	}
	clear(header)
	if cap(body) > maxKeptBody {
		body = nil
	}
	c.w = connResponse{c: c, req: req, header: header, body: body[:0]}
	return &c.w
}

// maxKeptBody bounds the body buffer a connection keeps between responses.
const maxKeptBody = 64 << 10

func (w *connResponse) Header() http.Header { return w.header }

func (w *connResponse) WriteHeader(code int) {
	if w.status != 0 || w.hijacked {
		return
	}
	w.status = code
	if w.header.Get("Content-Length") != "" && bodyAllowed(code) {
		w.writeHead()
	}
}

func (w *connResponse) Write(p []byte) (int, error) {
	if w.hijacked {
		return 0, http.ErrHijacked
	}
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !bodyAllowed(w.status) {
		return 0, http.ErrBodyNotAllowed
	}
	if w.wroteHead {
		if w.req.Method == http.MethodHead {
			return len(p), nil
		}
		return w.c.bw.Write(p)
	}
	w.body = append(w.body, p...)
	return len(p), nil
}

// Hijack hands the connection over (the events websocket's upgrade).
func (w *connResponse) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.hijacked {
		return nil, nil, http.ErrHijacked
	}
	if err := w.c.bw.Flush(); err != nil {
		return nil, nil, err
	}
	// The session timeouts are the HTTP loop's: a websocket waits for its peer as long as it takes.
	w.c.lr.inRequest = false
	if err := w.c.nc.SetReadDeadline(time.Time{}); err != nil {
		return nil, nil, err
	}
	w.hijacked = true
	return w.c.nc, bufio.NewReadWriter(w.c.br, w.c.bw), nil
}

// finish sends the response and reports whether the connection stays open.
func (w *connResponse) finish() bool {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	keep := !w.req.Close
	if !w.wroteHead {
		if bodyAllowed(w.status) {
			if w.header.Get("Content-Type") == "" && len(w.body) > 0 {
				w.header.Set("Content-Type", http.DetectContentType(w.body))
			}
			w.header.Set("Content-Length", strconv.Itoa(len(w.body)))
		}
		switch {
		case !keep:
			w.header.Set("Connection", "close")
		case !w.req.ProtoAtLeast(1, 1):
			w.header.Set("Connection", "keep-alive")
		}
		w.writeHead()
		if w.req.Method != http.MethodHead {
			w.c.bw.Write(w.body)
		}
	}
	return keep
}

// writeHead writes the status line and the header, with a Date as net/http
// adds it.
func (w *connResponse) writeHead() {
	w.wroteHead = true
	bw := w.c.bw
	b := append(bw.AvailableBuffer(), "HTTP/1.1 "...)
	b = strconv.AppendInt(b, int64(w.status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(w.status)...)
	b = append(b, "\r\n"...)
	if w.header.Get("Date") == "" {
		b = append(b, "Date: "...)
		b = append(w.c.date.appendDate(b, time.Now()), "\r\n"...)
	}
	bw.Write(b)
	w.header.Write(bw)
	bw.WriteString("\r\n")
}

// bodyAllowed reports whether a status may carry a body (RFC 9110).
func bodyAllowed(code int) bool {
	return code >= 200 && code != http.StatusNoContent && code != http.StatusNotModified
}
