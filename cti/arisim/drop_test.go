package arisim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// DropConnections cuts the controller's websocket: the app is unregistered, its calls stay, and a new connection takes the
// app again.
func TestDropConnections(t *testing.T) {
	h := newHarness(t, testConfig())
	ws := h.dial("contact-center", "")
	waitApp(t, h, 200)
	id, err := h.srv.Call(CallSpec{CallerNumber: "15551230001"})
	if err != nil {
		t.Fatal(err)
	}
	ws.waitType("StasisStart", 0)
	if n := h.srv.DropConnections(); n != 1 {
		t.Fatalf("DropConnections = %d, want 1", n)
	}
	select {
	case <-ws.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the client's websocket is still open")
	}
	waitApp(t, h, 404)
	if _, err := h.srv.Call(CallSpec{CallerNumber: "15551230002"}); err != ErrNoApp {
		t.Errorf("Call with the app unregistered: %v, want ErrNoApp", err)
	}
	if r := h.do("GET", "/channels/"+id, ""); r.status != 200 {
		t.Errorf("GET /channels/%s after the drop = %d, want 200: the call stays", id, r.status)
	}
	h.dial("contact-center", "")
	waitApp(t, h, 200)
	if n := h.srv.DropConnections(); n != 1 {
		t.Errorf("second DropConnections = %d, want 1", n)
	}
}

// waitApp polls GET /applications/contact-center until it answers status: the upgrade is answered before the app is
// registered, as in Asterisk.
func waitApp(t *testing.T, h *harness, status int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; {
		r := h.do("GET", "/applications/contact-center", "")
		if r.status == status {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /applications/contact-center = %d, want %d", r.status, status)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestEventBurstArrivesWhole: a burst of events, written in batches, still
// arrives as one websocket message per event, every one, in order.
func TestEventBurstArrivesWhole(t *testing.T) {
	h := newHarness(t, testConfig())
	ws := h.dial("contact-center", "")
	waitRegistered(t, h, "contact-center")
	var ids []string
	for range 100 {
		id, err := h.srv.Call(CallSpec{CallerNumber: "15551230001"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		h.srv.Hangup(id)
	}
	want := h.srv.Stats().EventsSent
	if !ws.waitCount(want, 10*time.Second) {
		t.Fatalf("got %d events, sent %d", ws.count(), want)
	}
	seen := map[string]string{} // channel → last event type
	for i, raw := range ws.all() {
		var ev struct {
			Type    string `json:"type"`
			Channel struct {
				ID string `json:"id"`
			} `json:"channel"`
		}
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatalf("message %d is not one event: %v: %.200s", i, err, raw)
		}
		switch ev.Type {
		case "StasisStart":
			if seen[ev.Channel.ID] != "" {
				t.Errorf("message %d: StasisStart after %s for %s", i, seen[ev.Channel.ID], ev.Channel.ID)
			}
		case "StasisEnd":
			if seen[ev.Channel.ID] == "" || seen[ev.Channel.ID] == "StasisEnd" {
				t.Errorf("message %d: StasisEnd after %q for %s", i, seen[ev.Channel.ID], ev.Channel.ID)
			}
		}
		seen[ev.Channel.ID] = ev.Type
	}
	for _, id := range ids {
		if seen[id] != "StasisEnd" {
			t.Errorf("channel %s ended with %q, want StasisEnd", id, seen[id])
		}
	}
}

// TestAppendFrame: each length form of RFC 6455 5.2 (7-bit, 16-bit, 64-bit), unmasked, FIN and text opcode set.
func TestAppendFrame(t *testing.T) {
	for _, tc := range []struct {
		n    int
		head []byte
	}{
		{0, []byte{0x81, 0}},
		{125, []byte{0x81, 125}},
		{126, []byte{0x81, 126, 0, 126}},
		{65535, []byte{0x81, 126, 0xff, 0xff}},
		{65536, []byte{0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
	} {
		payload := bytes.Repeat([]byte{'x'}, tc.n)
		got := appendFrame([]byte("prev"), payload)
		want := append(append([]byte("prev"), tc.head...), payload...)
		if !bytes.Equal(got, want) {
			t.Errorf("length %d: header % x, want % x", tc.n, got[4:4+len(tc.head)], tc.head)
		}
	}
}

// TestEventsWaitForASlowReader: a client that stops reading fills the socket; the writes that do not wait leave the rest to
// the writer goroutine, and when the client reads again every event arrives whole and in order.
func TestEventsWaitForASlowReader(t *testing.T) {
	cfg := testConfig()
	cfg.EventQueue = 1 << 20
	h := newHarness(t, cfg)
	u := "ws" + strings.TrimPrefix(h.url, "http") + "/ari/events?api_key=asterisk:asterisk&app=contact-center"
	conn, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	defer conn.Close()
	waitRegistered(t, h, "contact-center")
	// Not reading yet: ≈ 14 MB of StasisStart events (the caller name repeated in each), more than loopback buffers hold.
	var ids []string
	for i := range 1000 {
		id, err := h.srv.Call(CallSpec{CallerNumber: fmt.Sprint(i), CallerName: strings.Repeat("n", 13000)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	sent := h.srv.Stats().EventsSent
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	for i := range sent {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("event %d of %d: %v", i, sent, err)
		}
		var ev struct {
			Type    string `json:"type"`
			Channel struct {
				ID string `json:"id"`
			} `json:"channel"`
		}
		if err := json.Unmarshal(msg, &ev); err != nil {
			t.Fatalf("event %d is not one event: %v", i, err)
		}
		if ev.Type != "StasisStart" || ev.Channel.ID != ids[i] {
			t.Fatalf("event %d: %s for %s, want StasisStart for %s", i, ev.Type, ev.Channel.ID, ids[i])
		}
	}
	if st := h.srv.Stats(); st.SlowConsumers != 0 || st.EventsSent != len(ids) {
		t.Errorf("stats %+v, want %d events and no slow consumer", st, len(ids))
	}
}
