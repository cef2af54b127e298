package asterisk

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// connServer is an httptest server that counts the connections it accepted and those open now.
type connServer struct {
	*httptest.Server
	mu          sync.Mutex
	conns       map[net.Conn]struct{}
	opened      int
	requests    atomic.Int64
	postsServed atomic.Int64
}

func newConnServer(t *testing.T, h http.HandlerFunc) *connServer {
	t.Helper()
	s := &connServer{conns: map[net.Conn]struct{}{}}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		if r.Method == http.MethodPost {
			s.postsServed.Add(1)
		}
		h(w, r)
	}))
	s.Config.ConnState = func(c net.Conn, st http.ConnState) {
		s.mu.Lock()
		defer s.mu.Unlock()
		switch st {
		case http.StateNew:
			s.conns[c] = struct{}{}
			s.opened++
		case http.StateClosed, http.StateHijacked:
			delete(s.conns, c)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

// counts returns the connections accepted so far and those open now.
func (s *connServer) counts() (opened, open int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opened, len(s.conns)
}

// closeIdle closes the server's side of every connection, as a server does with connections idle too long.
func (s *connServer) closeIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.Close()
	}
}

// waitOpen polls until the server has n connections open.
func (s *connServer) waitOpen(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, open := s.counts(); open == n {
			return
		}
		if time.Now().After(deadline) {
			_, open := s.counts()
			t.Fatalf("%d connections open, want %d", open, n)
		}
		time.Sleep(time.Millisecond)
	}
}

func testTransport(t *testing.T, s *connServer, max int) *transport {
	t.Helper()
	u, err := url.Parse(s.URL)
	if err != nil {
		t.Fatal(err)
	}
	tr := newTransport(u, (&net.Dialer{Timeout: 5 * time.Second}).DialContext, max, time.Minute)
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// send sends method to the server's path and returns the status and the body read to its end.
func send(ctx context.Context, tr http.RoundTripper, method, u string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func checkNoLeak(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
}

// Requests one after another share one kept-alive connection, whatever their bodies (none, a length, chunked).
func TestTransportReuse(t *testing.T) {
	checkNoLeak(t)
	s := newConnServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/chunked":
			io.WriteString(w, "part one, ")
			w.(http.Flusher).Flush()
			io.WriteString(w, "part two")
		default:
			io.WriteString(w, `{"id":"1"}`)
		}
	})
	tr := testTransport(t, s, 4)
	ctx := context.Background()
	for i := range 30 {
		path, want := []string{"/empty", "/json", "/chunked"}[i%3], []string{"", `{"id":"1"}`, "part one, part two"}[i%3]
		method := []string{http.MethodPost, http.MethodGet, http.MethodDelete}[i%3]
		_, got, err := send(ctx, tr, method, s.URL+path)
		if err != nil || got != want {
			t.Fatalf("request %d %s %s = %q, %v; want %q", i, method, path, got, err, want)
		}
	}
	if opened, _ := s.counts(); opened != 1 {
		t.Errorf("%d connections opened for 30 sequential requests, want 1", opened)
	}
}

// A burst of concurrent requests opens at most max connections, and each is reused rather than closed.
func TestTransportBound(t *testing.T) {
	checkNoLeak(t)
	var mu sync.Mutex
	inFlight, most := 0, 0
	s := newConnServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inFlight++
		most = max(most, inFlight)
		mu.Unlock()
		time.Sleep(2 * time.Millisecond)
		mu.Lock()
		inFlight--
		mu.Unlock()
		io.WriteString(w, "ok")
	})
	const limit, requests = 8, 400
	tr := testTransport(t, s, limit)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range requests {
		wg.Go(func() {
			if _, body, err := send(context.Background(), tr, http.MethodGet, s.URL); err != nil || body != "ok" {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d of %d requests failed", n, requests)
	}
	opened, open := s.counts()
	if opened > limit || open > limit {
		t.Errorf("%d connections opened, %d open; want at most %d", opened, open, limit)
	}
	if most < 2 {
		t.Errorf("at most %d request in flight at once: the pool does not work in parallel", most)
	}
	if tr.open != open || len(tr.idle) != open {
		t.Errorf("the pool counts %d open and %d idle; the server sees %d", tr.open, len(tr.idle), open)
	}
}

// A request's context ends it wherever it is: waiting for a connection, or waiting for the response (which closes that
// connection and frees its place).
func TestTransportCancel(t *testing.T) {
	checkNoLeak(t)
	release := make(chan struct{})
	s := newConnServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hang" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		io.WriteString(w, "ok")
	})
	defer close(release)
	tr := testTransport(t, s, 1)

	// In flight: the only connection hangs until the deadline, then is closed.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	holding := make(chan error, 1)
	go func() {
		_, _, err := send(ctx, tr, http.MethodPost, s.URL+"/hang")
		holding <- err
	}()
	s.waitOpen(t, 1)

	// Waiting: the pool is full, so this one waits for the connection and gives up with its own context.
	wctx, wcancel := context.WithCancel(context.Background())
	go func() { time.Sleep(10 * time.Millisecond); wcancel() }()
	if _, _, err := send(wctx, tr, http.MethodGet, s.URL); !errors.Is(err, context.Canceled) {
		t.Errorf("waiting request: %v, want context.Canceled", err)
	}
	if err := <-holding; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("request in flight: %v, want context.DeadlineExceeded", err)
	}
	s.waitOpen(t, 0)

	// The place is free again.
	if _, body, err := send(context.Background(), tr, http.MethodGet, s.URL); err != nil || body != "ok" {
		t.Fatalf("after the cancellations: %q, %v", body, err)
	}
	if tr.open != 1 || len(tr.waiters) != 0 {
		t.Errorf("pool: %d open, %d waiters; want 1 and 0", tr.open, len(tr.waiters))
	}
}

// A request waiting for a connection gets the first one freed, a closed one's place included.
func TestTransportWaitersServed(t *testing.T) {
	checkNoLeak(t)
	s := newConnServer(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Millisecond)
		if r.URL.Path == "/close" {
			w.Header().Set("Connection", "close")
		}
		io.WriteString(w, "ok")
	})
	tr := testTransport(t, s, 2)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for i := range 100 {
		wg.Go(func() {
			path := "/"
			if i%4 == 0 {
				path = "/close"
			}
			if _, body, err := send(context.Background(), tr, http.MethodGet, s.URL+path); err != nil || body != "ok" {
				failed.Add(1)
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d of 100 requests failed", n)
	}
	// 25 responses said Connection: close: each closed its connection, and a new one was dialed in its place.
	if opened, _ := s.counts(); opened < 26 || opened > 27 {
		t.Errorf("%d connections opened, want 26 or 27 (2 and one after each of 25 closes)", opened)
	}
	if _, open := s.counts(); open > 2 {
		t.Errorf("%d connections open, want at most 2", open)
	}
}

// A connection the server closed while it was idle is not used again: GETs and POSTs alike go out on a new one, and no
// POST is sent twice.
func TestTransportServerClosedIdle(t *testing.T) {
	checkNoLeak(t)
	s := newConnServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Method) })
	tr := testTransport(t, s, 4)
	ctx := context.Background()
	for i, method := range []string{http.MethodGet, http.MethodPost, http.MethodPost, http.MethodDelete} {
		if _, body, err := send(ctx, tr, method, s.URL); err != nil || body != method {
			t.Fatalf("%s %d: %q, %v", method, i, body, err)
		}
		s.closeIdle()
		s.waitOpen(t, 0)
	}
	if opened, _ := s.counts(); opened != 4 {
		t.Errorf("%d connections opened, want 4", opened)
	}
	if n := s.postsServed.Load(); n != 2 {
		t.Errorf("%d POSTs served, want 2", n)
	}
}

// An idempotent request that fails on a reused connection before any byte of the response is sent once more on a new
// one; a POST is not: its error is returned, since the server may have acted on it.
func TestTransportRetry(t *testing.T) {
	checkNoLeak(t)
	var drop atomic.Bool // the next request's connection is closed without a response
	s := newConnServer(t, func(w http.ResponseWriter, r *http.Request) {
		if drop.CompareAndSwap(true, false) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		io.WriteString(w, "ok")
	})
	tr := testTransport(t, s, 4)
	ctx := context.Background()
	if _, _, err := send(ctx, tr, http.MethodGet, s.URL); err != nil {
		t.Fatal(err)
	}
	drop.Store(true)
	if _, body, err := send(ctx, tr, http.MethodDelete, s.URL); err != nil || body != "ok" {
		t.Errorf("DELETE whose reused connection was dropped: %q, %v; want it sent again", body, err)
	}
	before := s.requests.Load()
	drop.Store(true)
	if _, _, err := send(ctx, tr, http.MethodPost, s.URL); err == nil {
		t.Error("POST whose reused connection was dropped succeeded; want its error")
	}
	if n := s.requests.Load() - before; n != 1 {
		t.Errorf("the POST reached the server %d times, want once", n)
	}
	// A new connection that fails is not retried either: the failure is not an idle connection's.
	tr.CloseIdleConnections()
	before = s.requests.Load()
	drop.Store(true)
	if _, _, err := send(ctx, tr, http.MethodGet, s.URL); err == nil {
		t.Error("GET on a new connection that was dropped succeeded")
	}
	if n := s.requests.Load() - before; n != 1 {
		t.Errorf("the GET reached the server %d times, want once", n)
	}
}

// A streamed body holds its connection until its end, then frees it for the next request; a body closed before its
// end, or whose context ends, closes its connection.
func TestTransportStreamedBody(t *testing.T) {
	checkNoLeak(t)
	file := bytes.Repeat([]byte("0123456789abcdef"), 64<<10) // 1 MiB
	s := newConnServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/chunked" {
			w.(http.Flusher).Flush()
		}
		w.Write(file)
	})
	tr := testTransport(t, s, 1)
	get := func(ctx context.Context, path string) *http.Response {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+path, nil)
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}

	// Read to the end: the connection is reused.
	for _, path := range []string{"/", "/chunked"} {
		resp := get(context.Background(), path)
		got, err := io.ReadAll(resp.Body)
		if err != nil || !bytes.Equal(got, file) {
			t.Fatalf("%s: %d bytes, %v", path, len(got), err)
		}
		resp.Body.Close()
	}
	if opened, _ := s.counts(); opened != 1 {
		t.Errorf("%d connections for two whole bodies, want 1", opened)
	}

	// While a body is being read, its connection is the body's: another request waits for it.
	resp := get(context.Background(), "/")
	if _, err := io.ReadFull(resp.Body, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	if _, _, err := send(wctx, tr, http.MethodGet, s.URL); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("request while the only connection streams a body: %v, want to wait until its deadline", err)
	}
	cancel()

	// Closed early: the connection is closed, not drained, and reads after Close fail.
	resp.Body.Close()
	if _, err := resp.Body.Read(make([]byte, 10)); err == nil {
		t.Error("Read after Close succeeded")
	}
	s.waitOpen(t, 0)

	// The context ends mid-body: Read fails with the context's error and the connection is closed.
	ctx, cancel := context.WithCancel(context.Background())
	resp = get(ctx, "/chunked")
	if _, err := io.ReadFull(resp.Body, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	cancel()
	_, err := io.ReadAll(resp.Body)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("reading on after the context ended: %v, want context.Canceled", err)
	}
	resp.Body.Close()
	s.waitOpen(t, 0)
	if _, body, err := send(context.Background(), tr, http.MethodGet, s.URL); err != nil || len(body) != len(file) {
		t.Fatalf("after: %d bytes, %v", len(body), err)
	}
}

// A body read to its end frees its connection even if the caller never closes it, and Close while another goroutine
// reads ends that read.
func TestTransportBodyEOFAndConcurrentClose(t *testing.T) {
	checkNoLeak(t)
	block := make(chan struct{})
	s := newConnServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			io.WriteString(w, "first")
			w.(http.Flusher).Flush()
			select {
			case <-block:
			case <-r.Context().Done():
			}
			return
		}
		io.WriteString(w, "ok")
	})
	defer close(block)
	tr := testTransport(t, s, 1)
	req, _ := http.NewRequest(http.MethodGet, s.URL, nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if b, err := io.ReadAll(resp.Body); err != nil || string(b) != "ok" {
		t.Fatalf("%q, %v", b, err)
	}
	// Not closed, yet the only connection is free.
	if _, body, err := send(context.Background(), tr, http.MethodGet, s.URL); err != nil || body != "ok" {
		t.Fatalf("after a body read to its end but not closed: %q, %v", body, err)
	}
	resp.Body.Close() // after its connection was reused: must not touch it

	req, _ = http.NewRequest(http.MethodGet, s.URL+"/slow", nil)
	if resp, err = tr.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	readErr := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(resp.Body)
		readErr <- err
	}()
	time.Sleep(10 * time.Millisecond) // let the read block; either order must end it
	resp.Body.Close()
	if err := <-readErr; err == nil {
		t.Error("a read blocked when the body was closed returned no error")
	}
	s.waitOpen(t, 0)
	if tr.open != 0 {
		t.Errorf("pool counts %d open, want 0", tr.open)
	}
}

// The transport sends only to its ARI host.
func TestTransportOtherHost(t *testing.T) {
	s := newConnServer(t, func(w http.ResponseWriter, r *http.Request) {})
	tr := testTransport(t, s, 1)
	_, _, err := send(context.Background(), tr, http.MethodGet, "http://example.invalid/ari/channels")
	if err == nil || !strings.Contains(err.Error(), "example.invalid") {
		t.Errorf("request to another host: %v", err)
	}
	if n := s.requests.Load(); n != 0 {
		t.Errorf("%d requests reached the ARI host", n)
	}
}

// Idle connections are closed after the idle timeout.
func TestTransportIdleTimeout(t *testing.T) {
	checkNoLeak(t)
	s := newConnServer(t, func(w http.ResponseWriter, r *http.Request) {})
	tr := testTransport(t, s, 2)
	tr.idleTimeout = 20 * time.Millisecond
	if _, _, err := send(context.Background(), tr, http.MethodGet, s.URL); err != nil {
		t.Fatal(err)
	}
	s.waitOpen(t, 0)
	tr.mu.Lock()
	open, idle := tr.open, len(tr.idle)
	tr.mu.Unlock()
	if open != 0 || idle != 0 {
		t.Errorf("after the idle timeout the pool counts %d open, %d idle", open, idle)
	}
}

// writeRequest writes what req.Write writes, byte for byte, whatever the request: the package's own requests take its
// short path, any other goes to req.Write.
func FuzzWriteRequest(f *testing.F) {
	auth := "Basic " + "YXN0ZXJpc2s6YXN0ZXJpc2s="
	for _, tc := range []struct{ method, url, body, ctype, auth string }{
		{http.MethodPost, "http://127.0.0.1:8088/ari/channels/1795351316.3/answer", "", "", auth},
		{http.MethodDelete, "http://127.0.0.1:8088/ari/channels/1795351316.3?reason=normal", "", "", auth},
		{http.MethodGet, "http://127.0.0.1:8088/ari/recordings/stored/interaction-1/file", "", "", auth},
		{http.MethodPost, "http://asterisk.example:8088/ari/channels/1/variables", `{"variables":{"SB_CALL":"x"}}`, "application/json", auth},
		{http.MethodPost, "http://[::1]:8088/ari/channels?endpoint=PJSIP%2F9001&callerId=%22Caller%22+%3C%2B15550100%3E", `{"variables":{}}`, "application/json", auth},
		{http.MethodPut, "http://127.0.0.1:8088/ari/x", "", "", ""},
		{http.MethodPatch, "http://127.0.0.1:8088/ari/x%2Fy?", "b", "", " padded "},
		{http.MethodHead, "http://127.0.0.1/", "", "text/plain\r\nX: y", auth},
		{"", "http://127.0.0.1/a%20b?q=%00", "", "", "tab\there"},
		{"GET", "http://bücher.example/", "", "", ""},
	} {
		f.Add(tc.method, tc.url, tc.body, tc.ctype, tc.auth)
	}
	f.Fuzz(func(t *testing.T, method, rawURL, body, ctype, auth string) {
		mk := func() *http.Request {
			var b io.Reader
			if body != "" {
				b = strings.NewReader(body)
			}
			req, err := http.NewRequest(method, rawURL, b)
			if err != nil {
				return nil
			}
			req.Header = http.Header{}
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			if ctype != "" {
				req.Header["Content-Type"] = []string{ctype}
			}
			return req
		}
		want, got := mk(), mk()
		if want == nil {
			return
		}
		var wb, gb bytes.Buffer
		werr := want.Write(&wb)
		gerr := writeRequest(&gb, got)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("req.Write error %v, writeRequest error %v", werr, gerr)
		}
		if werr == nil && !bytes.Equal(wb.Bytes(), gb.Bytes()) {
			t.Fatalf("req.Write:\n%q\nwriteRequest:\n%q", wb.Bytes(), gb.Bytes())
		}
	})
}

// The package's requests take writeRequest's short path, which allocates nothing (req.Write allocates).
func TestWriteRequestShortPath(t *testing.T) {
	hdr := http.Header{"Authorization": {"Basic YXN0ZXJpc2s6YXN0ZXJpc2s="}}
	hdrJSON := http.Header{"Authorization": hdr["Authorization"], "Content-Type": {"application/json"}}
	vars := []byte(`{"variables":{"SB_CALL":"01a20567-844d-7633-90ef-f914e07db0b7"}}`)
	for _, tc := range []struct {
		method, url string
		body        []byte
	}{
		{http.MethodPost, "http://127.0.0.1:8088/ari/channels/1795351316.3/answer", nil},
		{http.MethodDelete, "http://127.0.0.1:8088/ari/channels/1795351316.3?reason=normal", nil},
		{http.MethodGet, "http://[::1]:8088/ari/recordings/stored/interaction-1/file", nil},
		{http.MethodPost, "http://127.0.0.1:8088/ari/channels/1795351316.3/variables", vars},
	} {
		var body rewinder
		req, err := http.NewRequest(tc.method, tc.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header = hdr
		if tc.body != nil {
			req.Body, req.ContentLength, req.Header = &body, int64(len(tc.body)), hdrJSON
		}
		var w bytes.Buffer
		allocs := testing.AllocsPerRun(100, func() {
			w.Reset()
			body.Reset(tc.body)
			if err := writeRequest(&w, req); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s %s: %v allocations: not the short path", tc.method, tc.url, allocs)
		}
	}
}

// rewinder is a request body that can be sent again.
type rewinder struct{ bytes.Reader }

func (*rewinder) Close() error { return nil }

// When every connection is busy, an urgent request (an originate) gets the next one before requests that waited longer;
// an urgent request that gives up leaves the others' order alone.
func TestTransportUrgentFirst(t *testing.T) {
	checkNoLeak(t)
	release := make(chan struct{})
	var mu sync.Mutex
	var order []string
	s := newConnServer(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		order = append(order, r.URL.Path)
		mu.Unlock()
		if r.URL.Path == "/hold" {
			<-release
		}
	})
	tr := testTransport(t, s, 1)
	waiting := func(n int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			tr.mu.Lock()
			w := len(tr.waiters) + len(tr.urgent)
			tr.mu.Unlock()
			if w == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d requests waiting, want %d", w, n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	var wg sync.WaitGroup
	sendGo := func(ctx context.Context, path string) {
		wg.Go(func() {
			if _, _, err := send(ctx, tr, http.MethodPost, s.URL+path); err != nil && ctx.Err() == nil {
				t.Errorf("%s: %v", path, err)
			}
		})
	}
	sendGo(context.Background(), "/hold")
	s.waitOpen(t, 1)
	waiting(0)
	sendGo(context.Background(), "/first")
	waiting(1)
	sendGo(context.Background(), "/second")
	waiting(2)
	gone, giveUp := context.WithCancel(urgent(context.Background()))
	sendGo(gone, "/gave-up")
	waiting(3)
	sendGo(urgent(context.Background()), "/urgent")
	waiting(4)
	giveUp()
	waiting(3)
	close(release)
	wg.Wait()
	want := []string{"/hold", "/urgent", "/first", "/second"}
	if !slices.Equal(order, want) {
		t.Errorf("served %v, want %v", order, want)
	}
}

// warm opens connections up to its count (never past max) ahead of requests, which then use them without dialing; a
// second warm with as many open dials nothing.
func TestTransportWarm(t *testing.T) {
	checkNoLeak(t)
	s := newConnServer(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	tr := testTransport(t, s, 3)
	if err := tr.warm(context.Background(), 2); err != nil {
		t.Fatal(err)
	}
	s.waitOpen(t, 2)
	if len(tr.idle) != 2 || tr.open != 2 {
		t.Fatalf("after warm(2): %d idle, %d open; want 2 and 2", len(tr.idle), tr.open)
	}
	if err := tr.warm(context.Background(), 8); err != nil { // bounded by max
		t.Fatal(err)
	}
	s.waitOpen(t, 3)
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if _, body, err := send(context.Background(), tr, http.MethodPost, s.URL); err != nil || body != "ok" {
				t.Errorf("%q, %v", body, err)
			}
		})
	}
	wg.Wait()
	if err := tr.warm(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	if opened, open := s.counts(); opened != 3 || open != 3 {
		t.Errorf("%d connections opened, %d open; want 3 and 3", opened, open)
	}

	// A server that cannot be reached: warm returns the dial's error and frees the places it took.
	u, _ := url.Parse("http://127.0.0.1:1")
	down := newTransport(u, (&net.Dialer{Timeout: time.Second}).DialContext, 4, time.Minute)
	if err := down.warm(context.Background(), 2); err == nil {
		t.Error("warm to a closed port: no error")
	}
	if down.open != 0 {
		t.Errorf("%d places taken after failed dials, want 0", down.open)
	}
}

// readResponse reads what http.ReadResponse reads from the same bytes — the same error or none, status, length, close,
// Content-Type, body, and the bytes left after the body — whether it parses the head itself or leaves it to net/http.
func FuzzReadResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 204 No Content\r\nServer: Asterisk/22.5.0\r\nDate: Sun, 22 Nov 2026 12:41:56 GMT\r\nCache-Control: no-cache, no-store\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-type: application/json\r\nContent-Length: 13\r\n\r\n{\"id\":\"sb-1\"}HTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 38\r\nConnection: close\r\n\r\n{\"message\": \"Channel not found\"}\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.0 200 OK\r\n\r\nbody to the close",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
		"HTTP/1.1 204\r\nContent-Length: x\r\n\r\n",
		"HTTP/1.1 200 OK\r\nX-A: b\r\n c\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 20x OK\r\n\r\n",
		"HTTP/1.1 304 Not Modified\r\nConnection: keep-alive\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		req := &http.Request{Method: http.MethodPost}
		mine := bufio.NewReaderSize(bytes.NewReader(raw), 64<<10)
		mine.Peek(1) // as roundTrip does: the first segment is buffered
		got, known, gotErr := readResponse(mine, req)
		theirs := bufio.NewReaderSize(bytes.NewReader(raw), 64<<10)
		want, wantErr := http.ReadResponse(theirs, req)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("error %v, net/http's %v", gotErr, wantErr)
		}
		if gotErr != nil {
			return
		}
		if got.StatusCode != want.StatusCode || got.Status != want.Status || got.ContentLength != want.ContentLength ||
			got.Close != want.Close || got.Header.Get("Content-Type") != want.Header.Get("Content-Type") ||
			got.ProtoMajor != want.ProtoMajor || got.ProtoMinor != want.ProtoMinor {
			t.Fatalf("got %d %q length %d close %v type %q; net/http %d %q length %d close %v type %q", got.StatusCode,
				got.Status, got.ContentLength, got.Close, got.Header.Get("Content-Type"), want.StatusCode, want.Status,
				want.ContentLength, want.Close, want.Header.Get("Content-Type"))
		}
		var body io.Reader = got.Body
		if known {
			body = &lengthBody{br: mine, n: got.ContentLength}
		}
		gb, gerr := io.ReadAll(body)
		wb, werr := io.ReadAll(want.Body)
		if !bytes.Equal(gb, wb) || (gerr == nil) != (werr == nil) {
			t.Fatalf("body %q, %v; net/http %q, %v", gb, gerr, wb, werr)
		}
		if gerr == nil {
			gr, _ := io.ReadAll(mine)
			wr, _ := io.ReadAll(theirs)
			if !bytes.Equal(gr, wr) {
				t.Fatalf("left after the body %q; net/http %q", gr, wr)
			}
		}
	})
}

// The responses ARI sends are parsed by readResponse itself.
func TestReadResponseKnown(t *testing.T) {
	for _, s := range []string{
		"HTTP/1.1 204 No Content\r\nServer: Asterisk/22.5.0\r\nDate: Sun, 22 Nov 2026 12:41:56 GMT\r\nCache-Control: no-cache, no-store\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nServer: Asterisk/22.5.0\r\nContent-type: application/json\r\nContent-Length: 13\r\n\r\n{\"id\":\"sb-1\"}",
		"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 32\r\nConnection: close\r\n\r\n{\"message\": \"Channel not found\"}",
	} {
		br := bufio.NewReader(strings.NewReader(s))
		br.Peek(1)
		resp, known, err := readResponse(br, &http.Request{Method: http.MethodPost})
		if err != nil || !known && resp.Body != http.NoBody {
			t.Errorf("%q: known %v, %v", s, known, err)
		}
	}
}

// A request larger than the socket's send buffer is sent whole (the part the first write leaves is written as usual), and
// a TLS connection sends through crypto/tls, never to its socket directly.
func TestTransportSend(t *testing.T) {
	checkNoLeak(t)
	echo := func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(10 * time.Millisecond) // the socket's buffers fill up meanwhile
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "%d %x", len(b), sha256.Sum256(b))
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<18) // 4 MB, more than a loopback socket takes at once
	post := func(tr http.RoundTripper, u string, body []byte) {
		t.Helper()
		for range 2 { // a new connection, then the same one again
			req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if want := fmt.Sprintf("%d %x", len(body), sha256.Sum256(body)); err != nil || string(got) != want {
				t.Fatalf("%q, %v; want %q", got, err, want)
			}
		}
	}
	s := newConnServer(t, echo)
	post(testTransport(t, s, 1), s.URL, big)

	ts := httptest.NewTLSServer(http.HandlerFunc(echo))
	defer ts.Close()
	u, _ := url.Parse(ts.URL)
	tr := newTransport(u, (&net.Dialer{Timeout: 5 * time.Second}).DialContext, 1, time.Minute)
	defer tr.CloseIdleConnections()
	tr.tls.RootCAs = x509.NewCertPool()
	tr.tls.RootCAs.AddCert(ts.Certificate())
	post(tr, ts.URL, []byte("hello"))
	post(tr, ts.URL, big)
}
