package arisim

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// plainRequests are requests as Go's client writes them for the controller,
// and near misses that readPlainRequest must leave to http.ReadRequest.
var plainRequests = []string{
	"POST /ari/channels/1795351241.0/answer HTTP/1.1\r\nHost: 127.0.0.1:8088\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: 0\r\nAuthorization: Basic YXN0ZXJpc2s6YXN0ZXJpc2s=\r\nAccept-Encoding: gzip\r\n\r\n",
	"POST /ari/channels/1795351241.0/variables HTTP/1.1\r\nHost: pbx\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: 29\r\nAuthorization: Basic YXN0ZXJpc2s6YXN0ZXJpc2s=\r\nContent-Type: application/json\r\nAccept-Encoding: gzip\r\n\r\n{\"variables\":{\"SB_CALL\":\"1\"}}",
	"POST /ari/channels?endpoint=PJSIP%2F9001&app=contact-center&appArgs=agent%2Cc-1&callerId=%22Load+1%22+%3C15550000001%3E&channelId=sb-agent-1&timeout=15 HTTP/1.1\r\nHost: pbx\r\nContent-Length: 2\r\n\r\n{}",
	"DELETE /ari/channels/1795351241.0?reason=normal HTTP/1.1\r\nHost: pbx\r\nUser-Agent: Go-http-client/1.1\r\nAuthorization: Basic YXN0ZXJpc2s6YXN0ZXJpc2s=\r\nAccept-Encoding: gzip\r\n\r\n",
	"GET /ari/recordings/stored/interaction-1/file HTTP/1.1\r\nHost: pbx\r\nAccept: */*\r\n\r\n",
	"GET /ari/asterisk/ping HTTP/1.1\r\nHost: pbx\r\nContent-Length: 5\r\n\r\nhello",
	"HEAD /ari/asterisk/ping HTTP/1.1\r\nHost: pbx\r\n\r\n",
	"OPTIONS /ari/channels HTTP/1.1\r\nHost: pbx\r\n\r\n",
	"PUT /ari/applications/contact-center/eventFilter HTTP/1.1\r\nHost: pbx\r\nContent-Type: application/json\r\nContent-Length: 007\r\n\r\n{}     ",
	"GET /ari/a//b/./c/$&+,:;=@~_-.x HTTP/1.1\r\nHost: pbx\r\n\r\n",
	"GET /ari/channels HTTP/1.1\r\n\r\n",
	"GET /ari/channels HTTP/1.1\r\nHost:    spaced\r\n\r\n",
	// Not plain:
	"GET /ari/channels/a%2Fb HTTP/1.1\r\nHost: pbx\r\n\r\n",
	"GET /ari/channels? HTTP/1.1\r\nHost: pbx\r\n\r\n",
	"GET /ari/ch(1) HTTP/1.1\r\nHost: pbx\r\n\r\n",
	"GET /ari/channels HTTP/1.0\r\nHost: pbx\r\n\r\n",
	"GET /ari/channels HTTP/1.1 \r\nHost: pbx\r\n\r\n",
	"GET  /ari/channels HTTP/1.1\r\nHost: pbx\r\n\r\n",
	"get /ari/channels HTTP/1.1\r\nHost: pbx\r\n\r\n",
	"PATCH /ari/channels HTTP/1.1\r\nHost: pbx\r\n\r\n",
	"GET http://pbx/ari/channels HTTP/1.1\r\nHost: pbx\r\n\r\n",
	"GET /ari/channels HTTP/1.1\nHost: pbx\n\n",
	"GET /ari/channels HTTP/1.1\r\nhost: pbx\r\n\r\n",
	"GET /ari/channels HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
	"GET /ari/channels HTTP/1.1\r\nHost: pbx\r\nConnection: close\r\n\r\n",
	"GET /ari/channels HTTP/1.1\r\nHost: pbx\r\nPragma: no-cache\r\n\r\n",
	"POST /ari/bridges HTTP/1.1\r\nHost: pbx\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
	"POST /ari/bridges HTTP/1.1\r\nHost: pbx\r\nContent-Length: +5\r\n\r\nhello",
	"POST /ari/bridges HTTP/1.1\r\nHost: pbx\r\nContent-Length: 5 \r\n\r\nhello",
	"GET /ari/channels HTTP/1.1\r\nHost: pbx\r\nUser-Agent: a\tb\r\n\r\n",
	"GET /ari/channels HTTP/1.1\r\nHost: pbx\r\nUser-Agent:\r\n\r\n",
	"GET /ari/channels HTTP/1.1\r\nHost: pbx\r\n folded\r\n\r\n",
	"GET /ari/channels HTTP/1.1\r\nHost: pbx\r\n",
}

// TestPlainRequestMatchesReadRequest: for every request it takes,
// readPlainRequest returns what http.ReadRequest returns for the same
// bytes (and leaves the same bytes unread); the controller's requests are
// all taken.
func TestPlainRequestMatchesReadRequest(t *testing.T) {
	plain := 0
	for _, raw := range plainRequests {
		if checkPlainRequest(t, raw) {
			plain++
		}
	}
	if plain != 12 {
		t.Errorf("%d requests read as plain, want the first 12", plain)
	}
}

// FuzzPlainRequest checks readPlainRequest against http.ReadRequest on any bytes.
func FuzzPlainRequest(f *testing.F) {
	for _, raw := range plainRequests {
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, raw string) { checkPlainRequest(t, raw) })
}

// checkPlainRequest reads raw with both readers, twice in a row on one
// connection when raw is plain so that the reused parts are reused, and
// reports whether it was plain.
func checkPlainRequest(t *testing.T, raw string) bool {
	t.Helper()
	c := &httpConn{br: bufio.NewReaderSize(strings.NewReader(raw+raw+"\x00"), 1<<16)}
	c.br.Peek(1) //nolint:errcheck // fills the buffer: a plain request is read from what is buffered
	ref := bufio.NewReader(strings.NewReader(raw + raw + "\x00"))
	aligned := false // the first request ended where raw does
	for i := range 2 {
		got := c.readPlainRequest()
		if got == nil {
			if aligned {
				t.Fatalf("%q: the second copy is not plain", raw)
			}
			return i > 0
		}
		gotBody, _ := io.ReadAll(got.Body)
		want, err := http.ReadRequest(ref)
		if err != nil {
			t.Fatalf("%q: plain, but http.ReadRequest: %v", raw, err)
		}
		wantBody, _ := io.ReadAll(want.Body)
		if !bytes.Equal(gotBody, wantBody) {
			t.Fatalf("%q: body %q, http.ReadRequest %q", raw, gotBody, wantBody)
		}
		if want.Body == http.NoBody != (got.Body == http.NoBody) {
			t.Fatalf("%q: body NoBody %v, http.ReadRequest %v", raw, got.Body == http.NoBody, want.Body == http.NoBody)
		}
		got.Body, want.Body = nil, nil
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n got %+v\nwant %+v", raw, got, want)
		}
		aligned = c.br.Buffered() == len(raw)+1
	}
	if rest, _ := io.ReadAll(c.br); string(rest) != "\x00" {
		t.Fatalf("%q: left %q unread, want only what follows", raw, rest)
	}
	return true
}
