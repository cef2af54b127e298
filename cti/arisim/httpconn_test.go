package arisim

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestOwnHTTPServerAnswersAsNetHTTP sends the same raw bytes to Start's
// connection loop and to Handler() behind net/http's server and compares
// what comes back on the wire (the Date aside): keep-alive, pipelining,
// HEAD, bodies left unread, Expect, Connection: close, HTTP/1.0, and the
// requests net/http refuses before any handler runs.
func TestOwnHTTPServerAnswersAsNetHTTP(t *testing.T) {
	const auth = "Authorization: Basic YXN0ZXJpc2s6YXN0ZXJpc2s=\r\n"
	get := func(path string) string { return "GET /ari" + path + " HTTP/1.1\r\nHost: pbx\r\n" + auth + "\r\n" }
	for _, tc := range []struct{ name, req string }{
		{"two requests on one connection", get("/asterisk/ping") + get("/channels")},
		{"pipelined with a 404 between", get("/nothing") + get("/bridges") + get("/endpoints/PJSIP")},
		{"HEAD", "HEAD /ari/asterisk/ping HTTP/1.1\r\nHost: pbx\r\n" + auth + "\r\n" + get("/channels")},
		{"body left unread by a GET", "GET /ari/channels HTTP/1.1\r\nHost: pbx\r\n" + auth + "Content-Length: 5\r\n\r\nhello" + get("/bridges")},
		{"JSON body", "POST /ari/bridges HTTP/1.1\r\nHost: pbx\r\n" + auth +
			"Content-Type: application/json\r\nContent-Length: 35\r\n\r\n{\"type\":\"mixing\",\"bridgeId\":\"b-1\"}\n" + get("/bridges")},
		{"chunked form body", "POST /ari/bridges HTTP/1.1\r\nHost: pbx\r\n" + auth +
			"Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\nb\r\ntype=mixing\r\n0\r\n\r\n"},
		{"no credentials", "GET /ari/channels HTTP/1.1\r\nHost: pbx\r\n\r\n"},
		{"unknown method", "PATCH /ari/channels HTTP/1.1\r\nHost: pbx\r\n" + auth + "\r\n"},
		{"Connection: close", "GET /ari/asterisk/ping HTTP/1.1\r\nHost: pbx\r\nConnection: close\r\n" + auth + "\r\n" + get("/channels")},
		{"HTTP/1.0", "GET /ari/asterisk/ping HTTP/1.0\r\n" + auth + "\r\n"},
		{"HTTP/1.0 keep-alive", "GET /ari/asterisk/ping HTTP/1.0\r\nConnection: keep-alive\r\n" + auth + "\r\n" + get("/channels")},
		{"Expect 100-continue", "POST /ari/bridges HTTP/1.1\r\nHost: pbx\r\n" + auth +
			"Expect: 100-continue\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 11\r\n\r\ntype=mixing"},
		{"unknown Expect", "GET /ari/asterisk/ping HTTP/1.1\r\nHost: pbx\r\nExpect: magic\r\n" + auth + "\r\n"},
		{"no Host", "GET /ari/asterisk/ping HTTP/1.1\r\n" + auth + "\r\n"},
		{"two Hosts", "GET /ari/asterisk/ping HTTP/1.1\r\nHost: a\r\nHost: b\r\n" + auth + "\r\n"},
		{"malformed request line", "GET\r\n\r\n"},
		{"malformed header", "GET /ari/asterisk/ping HTTP/1.1\r\nHost pbx\r\n\r\n"},
		{"header too large", "GET /ari/asterisk/ping HTTP/1.1\r\nHost: pbx\r\nX-Big: " + strings.Repeat("x", 1<<20+8192) + "\r\n\r\n"},
		{"unsupported transfer encoding", "POST /ari/bridges HTTP/1.1\r\nHost: pbx\r\n" + auth + "Transfer-Encoding: gzip\r\n\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := httptest.NewServer(New(testConfig()).Handler())
			defer ref.Close()
			own := New(testConfig())
			defer own.Close()
			addr, err := own.Start(context.Background(), "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			want := exchange(t, strings.TrimPrefix(ref.URL, "http://"), tc.req)
			got := exchange(t, addr, tc.req)
			if !slices.Equal(got, want) {
				t.Errorf("own server:\n%s\nnet/http:\n%s", strings.Join(got, "\n---\n"), strings.Join(want, "\n---\n"))
			}
		})
	}
}

// varying matches what differs between two emulators' answers: times and generated ids.
var varying = regexp.MustCompile(`\d{4}-\d\d-\d\dT[0-9:.]+[+-]\d{4}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// exchange writes req on a new connection and reads responses until the
// server closes it or is quiet; each response is its status line, its
// header lines but Date (in order) and its body.
func exchange(t *testing.T, addr, req string) []string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() { io.WriteString(c, req) }() //nolint:errcheck // a server that refuses stops reading
	br := bufio.NewReader(c)
	reqs := bufio.NewReader(strings.NewReader(req)) // what each response answers (HEAD has no body)
	next := func() *http.Request {
		r, err := http.ReadRequest(reqs)
		if err != nil {
			return nil
		}
		io.Copy(io.Discard, r.Body) //nolint:errcheck // a string
		return r
	}
	var out []string
	for r, first := next(), true; ; first = false {
		// A response is due for the first request and any request not yet answered: wait long, since a loaded machine is
		// slow (a 1 MB header once took over 300 ms); after that the connection is only watched for a stray response.
		quiet := 300 * time.Millisecond
		if first || r != nil {
			quiet = 10 * time.Second
		}
		c.SetReadDeadline(time.Now().Add(quiet))
		resp, err := http.ReadResponse(br, r)
		if err != nil {
			return out
		}
		if resp.StatusCode >= 200 {
			r = next()
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Header.Del("Date")
		var b strings.Builder
		b.WriteString(resp.Status + "\n")
		resp.Header.Write(&b) //nolint:errcheck // a builder
		b.Write(varying.ReplaceAll(body, []byte("*")))
		out = append(out, b.String())
		if resp.Close {
			return out
		}
	}
}

// TestIdleKeepAliveConnectionClosed: as Asterisk (http.conf
// session_keep_alive), Start's server closes a kept-alive connection idle
// for Config.SessionKeepAlive after a response, without a word, keeps one
// that is busy, and waits session_inactivity for a request that has begun.
func TestIdleKeepAliveConnectionClosed(t *testing.T) {
	if got := New(Config{}).cfg.SessionKeepAlive; got != 15*time.Second {
		t.Errorf("default SessionKeepAlive %v, want Asterisk's 15s", got)
	}
	const keepAlive = 500 * time.Millisecond
	h := newHarness(t, Config{SessionKeepAlive: keepAlive})
	addr := strings.TrimPrefix(h.url, "http://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	ping := func() {
		t.Helper()
		if _, err := io.WriteString(c, "GET /ari/asterisk/ping HTTP/1.1\r\nHost: pbx\r\nAuthorization: Basic YXN0ZXJpc2s6YXN0ZXJpc2s=\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body) //nolint:errcheck // drained
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Close {
			t.Fatalf("ping: %s, close %v", resp.Status, resp.Close)
		}
	}
	// Busy for longer than the keep-alive period: each request restarts the wait.
	for range 8 {
		time.Sleep(keepAlive / 5)
		ping()
	}
	// A request that has begun has session_inactivity (30 s) to arrive whole, however long the keep-alive.
	if _, err := io.WriteString(c, "GET /ari/asterisk/ping HTTP/1.1\r\nHost: pbx\r\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * keepAlive)
	if _, err := io.WriteString(c, "Authorization: Basic YXN0ZXJpc2s6YXN0ZXJpc2s=\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("request sent in two parts %v apart: %v, %v", 2*keepAlive, resp, err)
	} else {
		io.Copy(io.Discard, resp.Body) //nolint:errcheck // drained
		resp.Body.Close()
	}
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := br.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("idle connection: read %d bytes, %v; want EOF", n, err)
	}
	if idle := time.Since(start); idle < keepAlive*3/4 {
		t.Errorf("closed after %v idle, want about %v", idle, keepAlive)
	}
}
