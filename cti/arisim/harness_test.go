package arisim

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// harness runs an emulator on its own listener (Start, as the program
// does) and talks to it with a raw HTTP client and raw websockets, like a
// controller would. cti/asterisk's tests serve Handler() with net/http.
type harness struct {
	t   testing.TB
	srv *Server
	url string // http://127.0.0.1:port
}

func testConfig() Config {
	return Config{TimeScale: 0.05}
}

func newHarness(t testing.TB, cfg Config) *harness {
	t.Helper()
	srv := New(cfg)
	addr, err := srv.Start(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return &harness{t: t, srv: srv, url: "http://" + addr}
}

type reply struct {
	status int
	body   []byte
	header http.Header
}

// do sends an authenticated request; query is a raw query string.
func (h *harness) do(method, path, query string) reply {
	h.t.Helper()
	u := h.url + "/ari" + path
	if query != "" {
		u += "?" + query
	}
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	req.SetBasicAuth("asterisk", "asterisk")
	return h.send(req)
}

func (h *harness) doJSON(method, path string, body any) reply {
	h.t.Helper()
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(method, h.url+"/ari"+path, bytes.NewReader(b))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("asterisk", "asterisk")
	return h.send(req)
}

func (h *harness) send(req *http.Request) reply {
	h.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, b, resp.Header}
}

// wsClient is a raw events websocket.
type wsClient struct {
	t      testing.TB
	conn   *websocket.Conn
	mu     sync.Mutex
	events []json.RawMessage
	notify chan struct{}
	done   chan struct{}
}

func (h *harness) dial(app string, extra string) *wsClient {
	h.t.Helper()
	u := "ws" + strings.TrimPrefix(h.url, "http") + "/ari/events?api_key=asterisk:asterisk"
	if app != "" {
		u += "&app=" + url.QueryEscape(app)
	}
	u += extra
	conn, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		h.t.Fatalf("dial events: %v", err)
	}
	resp.Body.Close()
	c := &wsClient{t: h.t, conn: conn, notify: make(chan struct{}, 1), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			_, msg, err := conn.ReadMessage()
			if err != nil {
				return
			}
			c.mu.Lock()
			c.events = append(c.events, json.RawMessage(msg))
			c.mu.Unlock()
			select {
			case c.notify <- struct{}{}:
			default:
			}
		}
	}()
	h.t.Cleanup(c.close)
	return c
}

func (c *wsClient) close() {
	c.conn.Close()
	<-c.done
}

func (c *wsClient) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.events)
}

func (c *wsClient) all() []json.RawMessage {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]json.RawMessage(nil), c.events...)
}

// waitCount waits until at least n events arrived.
func (c *wsClient) waitCount(n int, timeout time.Duration) bool {
	deadline := time.After(timeout)
	for c.count() < n {
		select {
		case <-c.notify:
		case <-deadline:
			return false
		case <-c.done:
			return c.count() >= n
		}
	}
	return true
}

// waitType waits for the next event of typ after index from and returns it.
func (c *wsClient) waitType(typ string, from int) (map[string]any, int) {
	c.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		evs := c.all()
		for i := from; i < len(evs); i++ {
			var m map[string]any
			json.Unmarshal(evs[i], &m)
			if m["type"] == typ {
				return m, i
			}
		}
		select {
		case <-c.notify:
		case <-deadline:
			c.t.Fatalf("no %s event; got %s", typ, typesOf(evs))
		}
	}
}

func typesOf(evs []json.RawMessage) string {
	var out []string
	for _, e := range evs {
		var m map[string]any
		json.Unmarshal(e, &m)
		s := fmt.Sprint(m["type"])
		if v, ok := m["variable"]; ok {
			s += "(" + fmt.Sprint(v) + ")"
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

// sharedARI finds ../shared/ari relative to the module root, or skips.
func sharedARI(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("go.mod not found above the package directory")
		}
		dir = parent
	}
	ari := filepath.Join(dir, "..", "shared", "ari")
	if _, err := os.Stat(filepath.Join(ari, "transcripts")); err != nil {
		t.Skipf("ARI reference data not found at %s (expected ../shared/ari next to the repository): %v", ari, err)
	}
	return ari
}
