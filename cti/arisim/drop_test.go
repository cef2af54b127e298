package arisim

import (
	"testing"
	"time"
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
