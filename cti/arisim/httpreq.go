package arisim

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
)

// A Go ARI client (the controller's) sends requests of one plain form: a
// path of plain characters and a query, HTTP/1.1, and the same few headers
// each time. http.ReadRequest spends about twenty allocations on each (a
// string and a slice per header value, the header map, the URL, the body
// reader); under load that was a tenth of the emulator's CPU.
// readPlainRequest reads exactly such a request, whole in the read buffer,
// into what http.ReadRequest would return for the same bytes
// (TestPlainRequestMatchesReadRequest, FuzzPlainRequest), with two or three
// allocations; every other request is left to http.ReadRequest.

// plainHeaders are the header names a plain request may carry, in
// canonical form (as Go's client writes them). Any other header, a
// Connection, Transfer-Encoding, Expect or a websocket upgrade's among
// them, sends the request to http.ReadRequest.
var plainHeaders = [...]string{"Host", "User-Agent", "Content-Length", "Content-Type", "Authorization", "Accept-Encoding", "Accept"}

const (
	hostHeader          = 0 // index in plainHeaders
	contentLengthHeader = 2
)

// plainState is a connection's reusable parts of a plain request.
type plainState struct {
	header http.Header
	vals   [len(plainHeaders)]string // the last value of each header, reused while it repeats
	slots  [len(plainHeaders)][1]string
	body   plainBody
}

// plainBody is a plain request's body: Content-Length bytes of the
// connection's read buffer.
type plainBody struct{ io.LimitedReader }

func (*plainBody) Close() error { return nil }

// plainRequest is a request and its URL in one allocation.
type plainRequest struct {
	r http.Request
	u url.URL
}

// readPlainRequest reads the request at the head of c.br if it is plain
// and its header is all buffered; otherwise it reads nothing and returns
// nil. The request's header map is c's, reused by the next request:
// nothing keeps a request past its response (a websocket upgrade is not
// plain).
func (c *httpConn) readPlainRequest() *http.Request {
	buf, _ := c.br.Peek(c.br.Buffered())
	end := bytes.Index(buf, []byte("\r\n\r\n"))
	if end < 0 {
		return nil
	}
	head := buf[:end+2] // each line with its CRLF
	if bytes.Count(head, []byte("\n")) != bytes.Count(head, []byte("\r\n")) {
		return nil // a line ended by a bare LF (a bare CR fails the checks of what it is in)
	}
	nl := bytes.IndexByte(head, '\n')
	method, target, ok := parsePlainRequestLine(head[:nl-1])
	if !ok {
		return nil
	}
	st := &c.plain
	if st.header == nil {
		st.header = make(http.Header, len(plainHeaders))
	}
	clear(st.header)
	var seen [len(plainHeaders)]bool
	host, length := "", int64(0)
	for rest := head[nl+1:]; len(rest) > 0; {
		nl := bytes.IndexByte(rest, '\n')
		line := rest[:nl-1]
		rest = rest[nl+1:]
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return nil
		}
		i := plainHeaderIndex(line[:colon])
		if i < 0 || seen[i] {
			return nil
		}
		seen[i] = true
		v := bytes.TrimLeft(line[colon+1:], " ")
		if len(v) == 0 || v[len(v)-1] == ' ' || !plainValue(v) {
			return nil
		}
		if string(v) != st.vals[i] {
			st.vals[i] = string(v)
		}
		switch i {
		case hostHeader:
			host = st.vals[i]
			continue // http.ReadRequest moves it into Host
		case contentLengthHeader:
			if length, ok = parseLength(v); !ok {
				return nil
			}
		}
		st.slots[i][0] = st.vals[i]
		st.header[plainHeaders[i]] = st.slots[i][:]
	}
	uri := string(target)
	p := &plainRequest{}
	p.u.Path, p.u.RawQuery, _ = cutByte(uri, '?')
	p.r = http.Request{Method: method, URL: &p.u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: st.header,
		Body: http.NoBody, ContentLength: length, Host: host, RequestURI: uri}
	c.br.Discard(end + 4) //nolint:errcheck // buffered
	if length > 0 {
		st.body = plainBody{io.LimitedReader{R: c.br, N: length}}
		p.r.Body = &st.body
	}
	return &p.r
}

// plainMethods are the methods Asterisk's HTTP server knows (ast_http_method).
var plainMethods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodHead, http.MethodOptions}

// parsePlainRequestLine splits "METHOD /path?query HTTP/1.1" for one of
// Asterisk's methods and a target whose path needs no decoding and is its
// own escaped form (URL.Path is then the path as sent and RawPath empty).
func parsePlainRequestLine(line []byte) (method string, target []byte, ok bool) {
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 {
		return "", nil, false
	}
	for _, m := range plainMethods {
		if string(line[:sp]) == m { // compared without allocating; the constant is what the request keeps
			method = m
			break
		}
	}
	if method == "" {
		return "", nil, false
	}
	target, proto, found := bytes.Cut(line[sp+1:], []byte(" "))
	if !found || string(proto) != "HTTP/1.1" || len(target) == 0 || target[0] != '/' {
		return "", nil, false
	}
	path, query, hasQuery := bytes.Cut(target, []byte("?"))
	for _, b := range path {
		if !plainPathByte(b) {
			return "", nil, false
		}
	}
	if hasQuery && len(query) == 0 {
		return "", nil, false // URL.ForceQuery
	}
	for _, b := range query {
		if b <= ' ' || b >= 0x7f {
			return "", nil, false
		}
	}
	return method, target, true
}

// plainPathByte reports whether b stands for itself in a path: a letter,
// a digit, or one of the characters url.URL.EscapedPath leaves alone.
func plainPathByte(b byte) bool {
	switch {
	case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		return true
	}
	switch b {
	case '-', '.', '_', '~', '/', '$', '&', '+', ',', ':', ';', '=', '@':
		return true
	}
	return false
}

// plainHeaderIndex is name's index in plainHeaders, or -1.
func plainHeaderIndex(name []byte) int {
	for i, h := range plainHeaders {
		if string(name) == h {
			return i
		}
	}
	return -1
}

// plainValue reports whether v is printable ASCII (spaces allowed).
func plainValue(v []byte) bool {
	for _, b := range v {
		if b < ' ' || b >= 0x7f {
			return false
		}
	}
	return true
}

// parseLength reads a Content-Length of at most 18 digits.
func parseLength(v []byte) (int64, bool) {
	if len(v) == 0 || len(v) > 18 {
		return 0, false
	}
	var n int64
	for _, b := range v {
		if b < '0' || b > '9' {
			return 0, false
		}
		n = n*10 + int64(b-'0')
	}
	return n, true
}

func cutByte(s string, sep byte) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
