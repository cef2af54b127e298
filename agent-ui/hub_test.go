package agentui_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	agentui "github.com/switchboard-cc/switchboard/agent-ui"
	"github.com/switchboard-cc/switchboard/cti"
)

// hubHarness is a Server over in-memory sessions and a fake desk, for hub tests that need no database.
type hubHarness struct {
	ui   *agentui.Server
	srv  *httptest.Server
	desk *fakeDesk
	sess *memSessions
	reg  *prometheus.Registry
}

func mustHub(tb testing.TB, tweak func(*agentui.Config)) *hubHarness {
	tb.Helper()
	h := &hubHarness{desk: &fakeDesk{}, sess: &memSessions{}, reg: prometheus.NewRegistry()}
	crm := nilCRM{}
	cfg := agentui.Config{Customers: crm, Admin: crm, Interactions: crm, Settings: crm, Sessions: h.sess, Desk: h.desk,
		Registerer: h.reg, GraceDisconnect: -1, StatsEvery: 20 * time.Millisecond}
	if tweak != nil {
		tweak(&cfg)
	}
	ui, err := agentui.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	h.ui = ui
	h.srv = httptest.NewServer(ui.Handler())
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { ui.Run(ctx) })
	h.srv.Config.RegisterOnShutdown(ui.Close)
	tb.Cleanup(func() {
		ui.Close()
		h.srv.Close()
		cancel()
		wg.Wait()
	})
	return h
}

// dial opens a websocket as a new session of agentID with role.
func (h *hubHarness) dial(tb testing.TB, agentID string, role cti.Role) *websocket.Conn {
	tb.Helper()
	token := h.sess.add(agentID, agentID, role)
	hdr := http.Header{"Cookie": {"sb_session=" + token}}
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(h.srv.URL, "http")+"/ws", hdr)
	if err != nil {
		tb.Fatalf("dial: %v", err)
	}
	tb.Cleanup(func() { ws.Close() })
	return ws
}

func readMsg(tb testing.TB, ws *websocket.Conn) agentui.Message {
	tb.Helper()
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	var m agentui.Message
	if err := ws.ReadJSON(&m); err != nil {
		tb.Fatalf("read: %v", err)
	}
	return m
}

func counter(tb testing.TB, reg *prometheus.Registry, name string) float64 {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			total := 0.0
			for _, m := range mf.GetMetric() {
				total += m.GetCounter().GetValue() + m.GetGauge().GetValue()
			}
			return total
		}
	}
	return 0
}

// checkFor polls cond until it holds or the deadline passes.
func checkFor(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	end := time.Now().Add(d)
	for !cond() {
		if time.Now().After(end) {
			tb.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestHubRolesAndSequence(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h := mustHub(t, nil)
	h.desk.SetSnapshot(cti.DeskSnapshot{Seq: 7,
		Agents: []cti.AgentStatus{{AgentID: "a1", State: cti.AgentReady}, {AgentID: "a2", State: cti.AgentNotReady}},
		Calls:  []cti.CallView{{ID: "c1", AgentID: "a1"}, {ID: "c2", AgentID: "a2"}, {ID: "c3", State: cti.CallQueued}},
		Queues: []cti.QueueStatus{{Queue: "sales", Waiting: 1}}})
	a1 := h.dial(t, "a1", cti.RoleAgent)
	a2 := h.dial(t, "a2", cti.RoleAgent)
	sup := h.dial(t, "s1", cti.RoleSupervisor)

	s := readMsg(t, a1)
	if s.Seq != 1 || s.Type != agentui.TypeSnapshot || len(s.Snapshot.Agents) != 1 || s.Snapshot.Agents[0].AgentID != "a1" ||
		len(s.Snapshot.Calls) != 1 || s.Snapshot.Calls[0].ID != "c1" || len(s.Snapshot.Queues) != 0 || s.Snapshot.Seq != 7 {
		t.Fatalf("agent snapshot %+v", s.Snapshot)
	}
	readMsg(t, a2)
	ss := readMsg(t, sup)
	if len(ss.Snapshot.Agents) != 2 || len(ss.Snapshot.Calls) != 3 || len(ss.Snapshot.Queues) != 1 {
		t.Fatalf("supervisor snapshot %+v", ss.Snapshot)
	}

	n := h.ui.Notifier()
	n.Offer("a1", cti.ScreenPop{InteractionID: "c9", Queue: "sales"})
	n.Call(cti.CallView{ID: "c9", AgentID: "a1", State: cti.CallRinging})
	n.Agent(cti.AgentStatus{AgentID: "a2", State: cti.AgentReady})
	n.Queues([]cti.QueueStatus{{Queue: "sales", Waiting: 2}})
	n.Queues([]cti.QueueStatus{{Queue: "sales", Waiting: 3}}) // coalesced with the one before

	if m := readMsg(t, a1); m.Seq != 2 || m.Type != agentui.TypeOffer || m.Offer.InteractionID != "c9" {
		t.Fatalf("a1 got %+v", m)
	}
	if m := readMsg(t, a1); m.Seq != 3 || m.Type != agentui.TypeCall || m.Call.ID != "c9" {
		t.Fatalf("a1 got %+v", m)
	}
	// a2 sees only its own state: never a1's offer or call.
	if m := readMsg(t, a2); m.Seq != 2 || m.Type != agentui.TypeAgent || m.Agent.AgentID != "a2" {
		t.Fatalf("a2 got %+v", m)
	}
	// The supervisor sees the call and the agent, not the screen-pop, then one coalesced statistics message.
	want := []agentui.MessageType{agentui.TypeCall, agentui.TypeAgent, agentui.TypeQueues}
	for i, typ := range want {
		m := readMsg(t, sup)
		if m.Seq != uint64(i+2) || m.Type != typ {
			t.Fatalf("supervisor message %d = %+v, want %s", i, m, typ)
		}
		if typ == agentui.TypeQueues && (len(m.Queues) != 1 || m.Queues[0].Waiting != 3) {
			t.Fatalf("queues %+v", m.Queues)
		}
	}

	// A reconnecting agent gets the ringing screen-pop again in its snapshot.
	a1b := h.dial(t, "a1", cti.RoleAgent)
	if m := readMsg(t, a1b); m.Snapshot.Offer == nil || m.Snapshot.Offer.InteractionID != "c9" {
		t.Fatalf("reconnect snapshot %+v", m.Snapshot)
	}
	// Once the agent is free again the pop is forgotten.
	n.Agent(cti.AgentStatus{AgentID: "a1", State: cti.AgentReady})
	readMsg(t, a1b)
	a1c := h.dial(t, "a1", cti.RoleAgent)
	if m := readMsg(t, a1c); m.Snapshot.Offer != nil {
		t.Fatalf("stale pop %+v", m.Snapshot.Offer)
	}
	for _, ws := range []*websocket.Conn{a1, a1b, a1c, a2, sup} {
		ws.Close()
	}
	h.ui.Close()
	h.srv.Close()
}

func TestHubDropsSlowClientWithoutDelayingOthers(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	// The good reader must keep up even on a loaded machine under -race: a roomy queue and a gentle pace. The slow client is
	// dropped all the same, once 20 MB no longer fit in its socket buffers and queue.
	h := mustHub(t, func(c *agentui.Config) { c.SendQueue = 1024; c.WriteWait = 2 * time.Second })
	slow := h.dial(t, "s-slow", cti.RoleSupervisor) // never reads
	good := h.dial(t, "s-good", cti.RoleSupervisor)
	readMsg(t, good)

	const n = 20000
	var got sync.WaitGroup
	got.Go(func() {
		for i := 0; i < n; i++ {
			good.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, _, err := good.ReadMessage(); err != nil {
				t.Errorf("the good client lost its connection after %d messages: %v", i, err)
				return
			}
		}
	})
	big := strings.Repeat("x", 1000) // fills the slow client's socket buffers quickly
	start := time.Now()
	var worst time.Duration
	for i := 0; i < n; i++ {
		t0 := time.Now()
		h.ui.Notifier().Call(cti.CallView{ID: "c", CustomerName: big})
		worst = max(worst, time.Since(t0))
		if i%16 == 0 {
			time.Sleep(time.Millisecond) // a steady pace the good reader keeps up with
		}
	}
	got.Wait()
	t.Logf("%d calls in %s, slowest Notifier call %s", n, time.Since(start), worst)
	// Waiting for the stalled client would take a write deadline (2 s); scheduling jitter on a loaded machine stays far below.
	if worst > time.Second {
		t.Errorf("a Notifier call took %s: the hub blocked its caller", worst)
	}
	checkFor(t, 5*time.Second, "the slow client to be dropped", func() bool {
		return counter(t, h.reg, "switchboard_ws_dropped_total") >= 1
	})
	// The slow client finds its socket closed after the messages the kernel buffered.
	slow.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := slow.ReadMessage(); err != nil {
			break
		}
	}
	slow.Close()
	good.Close()
	h.ui.Close()
	h.srv.Close()
}

func TestHubPresenceGrace(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h := mustHub(t, func(c *agentui.Config) { c.GraceDisconnect = 300 * time.Millisecond })
	ws := h.dial(t, "a1", cti.RoleAgent)
	readMsg(t, ws)
	if got := h.desk.Calls("Presence"); len(got) != 1 || got[0] != "Presence a1 true" {
		t.Fatalf("presence after connect: %q", got)
	}
	// A second tab changes nothing; a reload (close, reopen within the grace) reports nothing either.
	ws2 := h.dial(t, "a1", cti.RoleAgent)
	readMsg(t, ws2)
	ws.Close()
	ws2.Close()
	checkFor(t, 2*time.Second, "both closed", func() bool { return h.ui.Hub().Connections() == 0 })
	ws3 := h.dial(t, "a1", cti.RoleAgent)
	readMsg(t, ws3)
	time.Sleep(400 * time.Millisecond)
	if got := h.desk.Calls("Presence"); len(got) != 1 {
		t.Fatalf("reload reported presence: %q", got)
	}
	// Gone for good: not-present after the grace, not before.
	closed := time.Now()
	ws3.Close()
	checkFor(t, 3*time.Second, "presence false", func() bool { return len(h.desk.Calls("Presence a1 false")) == 1 })
	if d := time.Since(closed); d < 250*time.Millisecond {
		t.Fatalf("reported absent after %s, before the grace", d)
	}
	// Supervisors' pages do not count as presence.
	sup := h.dial(t, "s1", cti.RoleSupervisor)
	readMsg(t, sup)
	sup.Close()
	if got := h.desk.Calls("Presence s1"); len(got) != 0 {
		t.Fatalf("supervisor presence %q", got)
	}
	h.ui.Close()
	h.srv.Close()
}

func TestHubCloseAndOrigin(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	h := mustHub(t, nil)
	ws := h.dial(t, "a1", cti.RoleAgent)
	readMsg(t, ws)

	// A page of another origin may not open the websocket, cookie or not.
	token := h.sess.add("a1", "a1", cti.RoleAgent)
	_, res, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(h.srv.URL, "http")+"/ws",
		http.Header{"Cookie": {"sb_session=" + token}, "Origin": {"http://evil.example"}})
	if err == nil || res == nil || res.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-origin websocket: %v %v", err, res)
	}
	// Without a session: 401 before any upgrade.
	_, res, err = websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(h.srv.URL, "http")+"/ws", nil)
	if err == nil || res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("anonymous websocket: %v %v", err, res)
	}

	// A force logout tells the page why, then closes.
	h.ui.Hub().Offer("a1", cti.ScreenPop{InteractionID: "x"})
	readMsg(t, ws)
	agentuiCloseAgent(t, h, "a1")
	if m := readMsg(t, ws); m.Type != agentui.TypeLogout {
		t.Fatalf("got %+v", m)
	}
	if _, _, err := ws.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		t.Fatalf("after logout: %v", err)
	}

	// Close ends the others and waits for their goroutines.
	other := h.dial(t, "a2", cti.RoleAgent)
	readMsg(t, other)
	h.ui.Close()
	if _, _, err := other.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Fatalf("after Close: %v", err)
	}
	h.srv.Close()
}

// agentuiCloseAgent force-logs-out agentID through the API as a supervisor.
func agentuiCloseAgent(t *testing.T, h *hubHarness, agentID string) {
	t.Helper()
	token := h.sess.add("sup", "sup", cti.RoleSupervisor)
	req, _ := http.NewRequest("POST", h.srv.URL+"/api/v1/agents/"+agentID+"/logout", nil)
	req.Header.Set("Cookie", "sb_session="+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]int
	json.NewDecoder(res.Body).Decode(&body)
	if res.StatusCode != 200 || body["sessions"] < 1 {
		t.Fatalf("force logout: %d %v", res.StatusCode, body)
	}
	if got := h.desk.Calls("Logout " + agentID); len(got) != 1 {
		t.Fatalf("desk logout %q", got)
	}
}
