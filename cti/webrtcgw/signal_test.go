package webrtcgw_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/switchboard-cc/switchboard/cti"
	"github.com/switchboard-cc/switchboard/cti/webrtcgw"
)

func TestParseClient(t *testing.T) {
	for _, tc := range []struct {
		in, err string // err: the offending field, "" when valid
	}{
		{`{"type":"offer","sdp":"v=0"}`, ""},
		{`{"type":"offer","sdp":"v=0","restart":true,"future":1}`, ""},
		{`{"type":"offer"}`, "sdp"},
		{`{"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host","sdpMid":"0"}}`, ""},
		{`{"type":"candidate","candidate":{"candidate":""}}`, ""},
		{`{"type":"candidate"}`, "candidate"},
		{`{"type":"dtmf","digit":"5"}`, ""},
		{`{"type":"dtmf","digit":"#"}`, ""},
		{`{"type":"dtmf","digit":"55"}`, "digit"},
		{`{"type":"dtmf","digit":"x"}`, "digit"},
		{`{"type":"hangup","reason":"caller"}`, ""},
		{`{"type":"loop_start"}`, ""},
		{`{"type":"loop_stop"}`, ""},
		{`{"type":"answer","sdp":"v=0"}`, "type"},
		{`{"type":"state"}`, "type"},
		{`{"sdp":"v=0"}`, "type"},
		{`[1,2]`, "message"},
		{`{"type":"offer","sdp":"` + strings.Repeat("a", webrtcgw.MaxMessage) + `"}`, "message"},
	} {
		_, err := webrtcgw.ParseClient([]byte(tc.in))
		var ce *cti.Error
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%.60s: %v", tc.in, err)
		case tc.err != "" && (err == nil || !asError(err, &ce) || ce.Code != cti.EINVALID || ce.Field != tc.err):
			t.Errorf("%.60s: %v, want EINVALID on %s", tc.in, err, tc.err)
		}
	}
}

func asError(err error, target **cti.Error) bool {
	e, ok := err.(*cti.Error)
	*target = e
	return ok
}

// A page speaks the signalling protocol over a real websocket: offer → answer, the loop test of media-verified Ready, a DTMF digit
// for the engine, and an invalid message answered with an error.
func TestSignalling(t *testing.T) {
	g := mustGateway(t, testConfig())
	digits := make(chan string, 4)
	srvCtx, stop := context.WithCancel(context.Background())
	served := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(served)
		// Authentication would happen here, before the upgrade: the agent's session or the widget's page token.
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		leg, err := g.NewLeg(webrtcgw.LegOptions{ID: "agent-1001"})
		if err != nil {
			return
		}
		defer leg.Close()
		s := webrtcgw.NewSignaller(ws, webrtcgw.SignalConfig{PingInterval: time.Second})
		s.Run(srvCtx, func(m webrtcgw.Message) {
			if handled, _ := leg.HandleSignal(srvCtx, m, func(r webrtcgw.Message) { s.Send(r) }); !handled && m.Type == webrtcgw.MsgDTMF {
				digits <- m.Digit
			}
		})
	}))
	defer srv.Close()
	defer func() { stop(); <-served }()

	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	b := newBrowser(t, browserAPI(t))
	must(t, ws.WriteJSON(webrtcgw.Message{Type: webrtcgw.MsgOffer, SDP: b.offer(t)}))
	answer := read(t, ws)
	if answer.Type != webrtcgw.MsgAnswer || answer.Seq != 1 || !strings.Contains(answer.SDP, "PCMU/8000") {
		t.Fatalf("answer %+v", answer)
	}
	b.accept(t, answer.SDP)
	<-b.connected

	must(t, ws.WriteJSON(webrtcgw.Message{Type: webrtcgw.MsgLoopStart}))
	// The loop starts when the server reads the message; what the page sent before that is not counted.
	b.talk(t, webrtcgw.MinLoopPackets+5)
	checkFor(t, 2*time.Second, "echo", func() bool { return len(b.received()) >= webrtcgw.MinLoopPackets })
	must(t, ws.WriteJSON(webrtcgw.Message{Type: webrtcgw.MsgLoopStop}))
	res := read(t, ws)
	if res.Type != webrtcgw.MsgLoopResult || res.Seq != 2 || res.Loop == nil || !res.Loop.OK || res.Loop.Returned != uint64(len(b.received())) {
		t.Fatalf("loop result %+v %+v", res, res.Loop)
	}

	must(t, ws.WriteJSON(webrtcgw.Message{Type: webrtcgw.MsgDTMF, Digit: "7"}))
	select {
	case d := <-digits:
		if d != "7" {
			t.Errorf("digit %q", d)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no digit")
	}
	must(t, ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"dtmf","digit":"Z"}`)))
	if e := read(t, ws); e.Type != webrtcgw.MsgError || e.Code != cti.EINVALID || !strings.Contains(e.Text, "digit") {
		t.Errorf("error %+v", e)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, ws *websocket.Conn) webrtcgw.Message {
	t.Helper()
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, data, err := ws.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	var m webrtcgw.Message
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// What is sent just before Close reaches the page before the close frame: a hang-up's reason is not lost.
func TestSignallerCloseFlushes(t *testing.T) {
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		ws, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		s := webrtcgw.NewSignaller(ws, webrtcgw.SignalConfig{})
		s.Run(context.Background(), func(m webrtcgw.Message) {
			s.Send(webrtcgw.Message{Type: webrtcgw.MsgHangup, Reason: webrtcgw.ReasonMediaLost})
			s.Close()
		})
	}))
	defer srv.Close()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	must(t, ws.WriteJSON(webrtcgw.Message{Type: webrtcgw.MsgDTMF, Digit: "1"}))
	if m := read(t, ws); m.Type != webrtcgw.MsgHangup || m.Reason != webrtcgw.ReasonMediaLost {
		t.Fatalf("got %+v before the close, want the hang-up", m)
	}
	if _, _, err := ws.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		t.Errorf("after the hang-up: %v, want a normal close", err)
	}
	<-done
}
