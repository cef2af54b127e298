package asterisk_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/switchboard-cc/switchboard/cti"
	"github.com/switchboard-cc/switchboard/cti/arisim"
	"github.com/switchboard-cc/switchboard/cti/asterisk"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// An inbound caller: StasisStart with ["inbound"], answer, a two-prompt menu in one request, a key, stop, hang-up.
func TestInboundCall(t *testing.T) {
	s, a := harness(t, arisim.Config{})
	ctx := ctxT(t)
	id := call(t, s, arisim.CallSpec{CallerName: "Alice", CallerNumber: "15551230001", Dialed: "5551000"})

	in := next(t, a.ev, func(e cti.ChannelEntered) bool { return e.Channel.ID == id })
	equal(t, "args", in.Args, []string{"inbound"})
	equal(t, "caller", in.Channel.Caller, cti.Party{Number: "15551230001", Name: "Alice"})
	equal(t, "dialed", in.Channel.Dialed, "5551000")
	equal(t, "state", in.Channel.State, "Ring")
	if in.Time.IsZero() || in.Channel.Created.IsZero() {
		t.Errorf("times not set: %+v", in)
	}

	must(t, a.Answer(ctx, id))
	chans, _, err := a.Snapshot(ctx, nil) // the answer shows in the channel, not as an event: nothing consumes ChannelStateChange
	must(t, err)
	if len(chans) != 1 || chans[0].ID != id || chans[0].State != "Up" {
		t.Errorf("Snapshot after Answer = %+v, want %s Up", chans, id)
	}

	must(t, a.Play(ctx, id, "pb-menu", []string{"sound:welcome", "sound:press-1-for-sales-2-for-support"}))
	must(t, s.SendDTMF(id, "2"))
	d := next(t, a.ev, func(e cti.DTMFReceived) bool { return e.ChannelID == id })
	equal(t, "digit", d.Digit, "2")
	if err := a.StopPlayback(ctx, "pb-menu"); err != nil && cti.ErrorCode(err) != cti.ENOTFOUND {
		t.Fatal(err)
	}
	fin := next(t, a.ev, func(e cti.PlaybackFinished) bool { return e.PlaybackID == "pb-menu" })
	equal(t, "finished target", fin.TargetID, id)

	must(t, a.Play(ctx, id, "pb-hold", []string{"sound:please-hold"}))
	fin = next(t, a.ev, func(e cti.PlaybackFinished) bool { return e.PlaybackID == "pb-hold" })
	equal(t, "state", fin.State, "done")

	must(t, s.Hangup(id)) // the caller's BYE
	hr := next(t, a.ev, func(e cti.ChannelHangupRequested) bool { return e.ChannelID == id })
	equal(t, "cause of a remote BYE", hr.Cause, 0)
	next(t, a.ev, func(e cti.ChannelLeft) bool { return e.ChannelID == id })

	wantCode(t, a.Answer(ctx, id), cti.ENOTFOUND)
	wantCode(t, a.Hangup(ctx, id, "normal"), cti.ENOTFOUND)
	if a.Ready() != nil {
		t.Errorf("Ready = %v, want nil", a.Ready())
	}
}

// The agent path: caller in a mixing bridge with MOH, the agent originated into the app, bridged, recorded, reconciled.
func TestAgentBridgeRecord(t *testing.T) {
	// The test hangs the agent up itself: the phone's own hang-up (12 s, 240 ms scaled) raced it on a slow run.
	eps := arisim.DefaultEndpoints()
	b := eps["PJSIP/1001"]
	b.HangupAfter = 0
	eps["PJSIP/1001"] = b
	s, a := harness(t, arisim.Config{Endpoints: eps})
	ctx := ctxT(t)
	id := call(t, s, arisim.CallSpec{CallerName: "Bob", CallerNumber: "15551230002"})
	next(t, a.ev, func(e cti.ChannelEntered) bool { return e.Channel.ID == id })
	must(t, a.Answer(ctx, id))
	must(t, a.SetVar(ctx, id, "SB_CALL", "call-1"))
	must(t, a.SetVar(ctx, id, "SB_ROLE", "customer"))
	v, err := a.GetVar(ctx, id, "SB_CALL")
	must(t, err)
	equal(t, "SB_CALL", v, "call-1")
	v, err = a.GetVar(ctx, id, "SB_QUEUE")
	must(t, err)
	equal(t, "unset variable", v, "")

	must(t, a.CreateBridge(ctx, "br-1", cti.BridgeMixing))
	wantCode(t, a.CreateBridge(ctx, "br-x", "party"), cti.EINVALID)
	must(t, a.AddChannel(ctx, "br-1", id, "customer"))
	must(t, a.BridgeMOH(ctx, "br-1", "default"))

	agent := "agent-1001-" + id
	must(t, a.Originate(ctx, cti.Originate{ChannelID: agent, Endpoint: "PJSIP/1001", CallerID: `"Bob" <15551230002>`,
		Timeout: 20 * time.Second, Args: []string{"agent", "call-1"}, Vars: map[string]string{"SB_CALL": "call-1", "SB_ROLE": "agent"}}))
	ag := next(t, a.ev, func(e cti.ChannelEntered) bool { return e.Channel.ID == agent })
	equal(t, "agent args", ag.Args, []string{"agent", "call-1"})

	must(t, a.BridgeMOH(ctx, "br-1", ""))
	must(t, a.AddChannel(ctx, "br-1", agent, "agent"))
	must(t, a.PlayOnBridge(ctx, "br-1", "pb-connected", []string{"sound:agent-connected"}))
	pb := next(t, a.ev, func(e cti.PlaybackFinished) bool { return e.PlaybackID == "pb-connected" })
	equal(t, "bridge playback target", pb.TargetID, "br-1")

	must(t, a.RecordBridge(ctx, "br-1", "rec-call-1"))
	wantCode(t, a.RecordBridge(ctx, "br-1", "rec-call-1"), cti.ECONFLICT) // ifExists=fail while live
	must(t, a.PauseRecording(ctx, "rec-call-1", true))
	must(t, a.PauseRecording(ctx, "rec-call-1", false))

	chans, bridges, err := a.Snapshot(ctx, []string{"SB_CALL", "SB_ROLE", "SB_QUEUE"})
	must(t, err)
	if len(chans) != 2 {
		t.Fatalf("Snapshot channels = %+v, want the caller and the agent", chans)
	}
	for _, ch := range chans {
		want := map[string]string{"SB_CALL": "call-1", "SB_ROLE": "customer"}
		if ch.ID == agent {
			want["SB_ROLE"] = "agent"
		}
		for k, v := range want {
			if ch.Vars[k] != v {
				t.Errorf("Snapshot %s vars = %v, want %s=%s", ch.ID, ch.Vars, k, v)
			}
		}
		if _, ok := ch.Vars["SB_QUEUE"]; ok {
			t.Errorf("Snapshot %s: unset SB_QUEUE reported", ch.ID)
		}
	}
	if len(bridges) != 1 || bridges[0].ID != "br-1" || bridges[0].Kind != cti.BridgeMixing {
		t.Fatalf("Snapshot bridges = %+v", bridges)
	}
	for _, want := range []string{id, agent} {
		if !strings.Contains(strings.Join(bridges[0].Channels, " "), want) {
			t.Errorf("bridge channels %v lack %s", bridges[0].Channels, want)
		}
	}

	time.Sleep(20 * time.Millisecond) // record some (scaled) audio
	must(t, a.StopRecording(ctx, "rec-call-1"))
	rf := next(t, a.ev, func(e cti.RecordingFinished) bool { return e.Name == "rec-call-1" })
	if rf.Failed || rf.Duration < 0 {
		t.Errorf("RecordingFinished = %+v", rf)
	}
	body, err := a.FetchRecording(ctx, "rec-call-1")
	must(t, err)
	wav, err := io.ReadAll(body)
	body.Close()
	must(t, err)
	if !strings.HasPrefix(string(wav), "RIFF") {
		t.Errorf("recording is not a WAV file: % x", wav[:min(len(wav), 12)])
	}
	must(t, a.DeleteRecording(ctx, "rec-call-1"))
	_, err = a.FetchRecording(ctx, "rec-call-1")
	wantCode(t, err, cti.ENOTFOUND)

	must(t, a.RemoveChannel(ctx, "br-1", agent))
	must(t, a.Hangup(ctx, agent, "normal"))
	hr := next(t, a.ev, func(e cti.ChannelHangupRequested) bool { return e.ChannelID == agent })
	equal(t, "cause of DELETE", hr.Cause, 32)
	next(t, a.ev, func(e cti.ChannelDestroyed) bool { return e.ChannelID == agent })
	must(t, a.DestroyBridge(ctx, "br-1"))
	wantCode(t, a.DestroyBridge(ctx, "br-1"), cti.ENOTFOUND)
	must(t, a.Hangup(ctx, id, ""))
	next(t, a.ev, func(e cti.ChannelLeft) bool { return e.ChannelID == id })
}

// Waiting in a holding bridge with channel MOH, hold and mute, and the errors of operations in the wrong state.
func TestHoldingAndControls(t *testing.T) {
	s, a := harness(t, arisim.Config{})
	ctx := ctxT(t)
	id := call(t, s, arisim.CallSpec{})
	next(t, a.ev, func(e cti.ChannelEntered) bool { return e.Channel.ID == id })
	wantCode(t, a.Mute(ctx, id, "sideways", true), cti.EINVALID)
	must(t, a.Answer(ctx, id))
	must(t, a.CreateBridge(ctx, "hold-1", cti.BridgeHolding))
	must(t, a.AddChannel(ctx, "hold-1", id, "customer"))
	must(t, a.ChannelMOH(ctx, id, "default"))
	must(t, a.ChannelMOH(ctx, id, ""))
	must(t, a.Hold(ctx, id, true))
	must(t, a.Hold(ctx, id, false))
	must(t, a.Mute(ctx, id, "in", true))
	must(t, a.Mute(ctx, id, "", false))
	_, bridges, err := a.Snapshot(ctx, nil)
	must(t, err)
	if len(bridges) != 1 || bridges[0].Kind != cti.BridgeHolding {
		t.Errorf("Snapshot bridges = %+v", bridges)
	}
	wantCode(t, a.AddChannel(ctx, "no-such-bridge", id, "customer"), cti.ENOTFOUND)
	wantCode(t, a.Play(ctx, "no-such-channel", "pb", []string{"sound:welcome"}), cti.ENOTFOUND)
	wantCode(t, a.Play(ctx, id, "pb", nil), cti.EINVALID)
	wantCode(t, a.Hangup(ctx, id, "because"), cti.EINVALID)
	wantCode(t, a.Snoop(ctx, cti.Snoop{ChannelID: id, SnoopID: "s", Spy: "all"}), cti.EINVALID)
	wantCode(t, a.Mute(ctx, id, "both", true), "")
	wantCode(t, a.RemoveChannel(ctx, "hold-1", "no-such-channel"), cti.EINVALID) // 422: not in the bridge
	must(t, a.Hangup(ctx, id, "normal"))
	must(t, a.DestroyBridge(ctx, "hold-1"))
}

// Originate failures: an unregistered or unknown endpoint fails at once with EUNAVAILABLE; busy and no answer are events.
func TestOriginateFailures(t *testing.T) {
	_, a := harness(t, arisim.Config{})
	ctx := ctxT(t)
	for _, ep := range []string{"PJSIP/1003", "PJSIP/9999"} {
		err := a.Originate(ctx, cti.Originate{ChannelID: "leg-" + ep[6:], Endpoint: ep, Timeout: 5 * time.Second, Args: []string{"agent"}})
		wantCode(t, err, cti.EUNAVAILABLE)
		if !strings.Contains(cti.ErrorMessage(err), "cannot be called") {
			t.Errorf("message %q does not say the endpoint cannot be called", cti.ErrorMessage(err))
		}
	}

	must(t, a.Originate(ctx, cti.Originate{ChannelID: "leg-busy", Endpoint: "PJSIP/1004", Timeout: 5 * time.Second, Args: []string{"agent"}}))
	d := next(t, a.ev, func(e cti.ChannelDestroyed) bool { return e.ChannelID == "leg-busy" })
	equal(t, "busy cause", d.Cause, 17)

	must(t, a.Originate(ctx, cti.Originate{ChannelID: "leg-ring", Endpoint: "PJSIP/1002", Timeout: time.Second, Args: []string{"agent"}}))
	wantCode(t, a.Answer(ctx, "leg-ring"), cti.ECONFLICT) // 409: not in Stasis until it answers
	d = next(t, a.ev, func(e cti.ChannelDestroyed) bool { return e.ChannelID == "leg-ring" })
	equal(t, "no-answer cause", d.Cause, 19)
	if d.CauseText == "" {
		t.Error("no cause text")
	}
	wantCode(t, a.Originate(ctx, cti.Originate{Endpoint: "PJSIP/1001"}), cti.EINVALID)
}

// A supervisor's snoop and an externalMedia leg enter the app with our args; the media leg reports Asterisk's RTP address.
func TestSnoopAndExternalMedia(t *testing.T) {
	s, a := harness(t, arisim.Config{})
	ctx := ctxT(t)
	id := call(t, s, arisim.CallSpec{})
	next(t, a.ev, func(e cti.ChannelEntered) bool { return e.Channel.ID == id })
	must(t, a.Answer(ctx, id))

	must(t, a.Snoop(ctx, cti.Snoop{ChannelID: id, SnoopID: "snoop-1", Spy: "both", Args: []string{"supervisor", "spy"}}))
	sn := next(t, a.ev, func(e cti.ChannelEntered) bool { return e.Channel.ID == "snoop-1" })
	equal(t, "snoop args", sn.Args, []string{"supervisor", "spy"})

	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	must(t, err)
	defer pc.Close()
	addr, err := a.ExternalMedia(ctx, "media-1", pc.LocalAddr().String(), "ulaw", []string{"webcaller", id}, map[string]string{"SB_CALL": id})
	must(t, err)
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || port == "" || port == "0" {
		t.Fatalf("ExternalMedia address %q", addr)
	}
	em := next(t, a.ev, func(e cti.ChannelEntered) bool { return e.Channel.ID == "media-1" })
	equal(t, "media args", em.Args, []string{"webcaller", id})
	v, err := a.GetVar(ctx, "media-1", "SB_CALL")
	must(t, err)
	equal(t, "media variable from creation", v, id)
	must(t, a.Hangup(ctx, "media-1", ""))
	next(t, a.ev, func(e cti.ChannelDestroyed) bool { return e.ChannelID == "media-1" })
	must(t, a.Hangup(ctx, "snoop-1", ""))
	must(t, a.Hangup(ctx, id, ""))
}

// A cut connection: TelephonyDisconnected, reconnection with backoff, TelephonyConnected, and the next call's events arrive.
func TestReconnect(t *testing.T) {
	s, a := harness(t, arisim.Config{})
	for round := range 2 {
		s.drop()
		dis := next(t, a.ev, func(cti.TelephonyDisconnected) bool { return true })
		if dis.Reason == "" {
			t.Error("no reason")
		}
		next(t, a.ev, func(cti.TelephonyConnected) bool { return true })
		id := call(t, s, arisim.CallSpec{CallerNumber: "1555000000" + string(rune('0'+round))})
		next(t, a.ev, func(e cti.ChannelEntered) bool { return e.Channel.ID == id })
		must(t, a.Hangup(ctxT(t), id, ""))
		next(t, a.ev, func(e cti.ChannelLeft) bool { return e.ChannelID == id })
	}
	if err := a.Ready(); err != nil {
		t.Errorf("Ready after reconnect = %v", err)
	}
}

// A second controller connecting for the same app: ApplicationReplaced → TelephonyReplaced, and Run returns ErrReplaced.
func TestReplaced(t *testing.T) {
	s, a := harness(t, arisim.Config{})
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(s.URL, "http")+"/events?app=contact-center&api_key=asterisk:asterisk", nil)
	must(t, err)
	defer ws.Close()
	next(t, a.ev, func(cti.TelephonyReplaced) bool { return true })
	select {
	case err := <-a.errc:
		if !errors.Is(err, asterisk.ErrReplaced) {
			t.Fatalf("Run = %v, want ErrReplaced", err)
		}
		a.errc <- nil // for the harness's cleanup
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after ApplicationReplaced")
	}
	if !errors.Is(a.Ready(), asterisk.ErrReplaced) {
		t.Errorf("Ready = %v, want ErrReplaced", a.Ready())
	}
}

// Asterisk down at start: Run keeps trying with backoff, Ready says why, REST calls fail with EUNAVAILABLE, and Run returns
// promptly on cancel.
func TestAsteriskDown(t *testing.T) {
	defer goleak.VerifyNone(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0") // accepts and hangs up: a port where nothing speaks HTTP
	must(t, err)
	var attempts atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			attempts.Add(1)
			c.Close()
		}
	}()
	defer func() { ln.Close(); <-done }()

	ev := newEvents()
	c := asterisk.New(asterisk.Config{URL: "http://" + ln.Addr().String() + "/ari", User: "asterisk", Password: "secret",
		App: "contact-center", Deliver: ev.deliver, Backoff: asterisk.Backoff{Min: 5 * time.Millisecond, Max: 40 * time.Millisecond}})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for attempts.Load() < 5 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := attempts.Load(); n < 5 {
		t.Fatalf("%d connection attempts, want ≥ 5", n)
	}
	if err := c.Ready(); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("Ready = %v", err)
	}
	wantCode(t, c.Answer(ctxT(t), "1"), cti.EUNAVAILABLE)
	start := time.Now()
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("Run = %v, want nil on cancel", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Run did not return on cancel")
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("Run took %v to return", d)
	}
	ev.mu.Lock()
	defer ev.mu.Unlock()
	if len(ev.evs) != 0 {
		t.Errorf("events while never connected: %v", ev.evs)
	}
}

// A wrong password: Run keeps retrying (the fix may be a config reload away) and Ready reports the 401.
func TestWrongCredentials(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	s := startSim(t, arisim.Config{})
	a := runAdapter(t, s.URL, func(c *asterisk.Config) { c.Password = "wrong" })
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := a.Ready(); err != nil && strings.Contains(err.Error(), "401") {
			if strings.Contains(err.Error(), "wrong") {
				t.Errorf("Ready leaks the password: %v", err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Ready = %v, want a 401", a.Ready())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestBadConfig(t *testing.T) {
	for _, cfg := range []asterisk.Config{
		{User: "u", App: "a"},
		{URL: "ftp://pbx/ari", User: "u", App: "a"},
		{URL: "http://pbx/ari", User: "u"},
	} {
		if err := asterisk.New(cfg).Run(t.Context()); err == nil {
			t.Errorf("Run(%+v) = nil", cfg)
		}
	}
}

// A burst far past the library bus's 100-event buffer: every StasisStart reaches Deliver, in order.
func TestBurstIsNotDropped(t *testing.T) {
	s, a := harness(t, arisim.Config{})
	const n = 400
	ids := make([]string, n)
	for i := range ids {
		ids[i] = call(t, s, arisim.CallSpec{})
	}
	for _, id := range ids {
		next(t, a.ev, func(e cti.ChannelEntered) bool { return e.Channel.ID == id })
	}
	if st := s.Stats(); st.SlowConsumers != 0 || st.EventsDropped != 0 {
		t.Errorf("emulator stats %+v", st)
	}
}

// The default REST transport (no Config.HTTPClient) drives the emulator with concurrent commands, and its connections
// are closed when Run returns.
func TestDefaultTransport(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	s := startSim(t, arisim.Config{})
	ev := newEvents()
	c := asterisk.New(asterisk.Config{URL: s.URL, User: "asterisk", Password: "asterisk", App: "contact-center",
		Deliver: ev.deliver})
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()
	next[cti.TelephonyConnected](t, ev, nil)
	// The sim keeps the events websocket among its connections after the upgrade (it never sees it close): one, plus the
	// REST connections.
	open := func() int {
		s.mu.Lock()
		defer s.mu.Unlock()
		return len(s.conns)
	}
	// Once up, the client opens WarmConns REST connections before any command needs them.
	deadline := time.Now().Add(5 * time.Second)
	for open() != 1+asterisk.WarmConns {
		if time.Now().After(deadline) {
			t.Fatalf("%d REST connections open after the stream came up, want %d", open()-1, asterisk.WarmConns)
		}
		time.Sleep(time.Millisecond)
	}
	ids := make([]string, 20)
	for i := range ids {
		ids[i] = call(t, s, arisim.CallSpec{CallerNumber: "15551230001", Dialed: "5551000"})
	}
	for _, id := range ids {
		next(t, ev, func(e cti.ChannelEntered) bool { return e.Channel.ID == id })
	}
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			if err := c.Answer(ctxT(t), id); err != nil {
				t.Errorf("answer %s: %v", id, err)
			}
			if err := c.SetVars(ctxT(t), id, map[string]string{"SB_CALL": id, "SB_ROLE": "customer"}); err != nil {
				t.Errorf("set variables on %s: %v", id, err)
			}
		})
	}
	wg.Wait()
	for _, id := range ids {
		v, err := c.GetVar(ctxT(t), id, "SB_ROLE")
		if err != nil || v != "customer" {
			t.Fatalf("SB_ROLE of %s = %q, %v", id, v, err)
		}
	}
	// A command whose context has ended fails with the deadline, and the next one works.
	short, stop := context.WithTimeout(context.Background(), time.Nanosecond)
	err := c.Hangup(short, ids[0], "normal")
	stop()
	wantCode(t, err, cti.EUNAVAILABLE)
	must(t, c.Hangup(ctxT(t), ids[1], "normal"))

	if n := open(); n < 2 {
		t.Fatalf("%d connections to the emulator before Run returned, want the websocket and REST connections", n)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("Run: %v", err)
	}
	deadline = time.Now().Add(5 * time.Second)
	for open() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d REST connections to the emulator still open after Run returned", open()-1)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Every command honours its context: a PBX that never answers costs the caller its deadline, not more.
func TestCommandsHonourContext(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	hang := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	t.Cleanup(func() { close(hang); hs.CloseClientConnections(); hs.Close() })
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	c := asterisk.New(asterisk.Config{URL: hs.URL + "/ari", User: "u", Password: "p", App: "contact-center",
		HTTPClient: &http.Client{Transport: tr}})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := c.Answer(ctx, "1")
	wantCode(t, err, cti.EUNAVAILABLE)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %v does not wrap the deadline", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Answer took %v with a 50 ms deadline", d)
	}
}

// Snapshot while the application is not registered (no Run, or between reconnections) is unavailable, not empty.
func TestSnapshotWithoutApplication(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
	s := startSim(t, arisim.Config{})
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	c := asterisk.New(asterisk.Config{URL: s.URL, User: "asterisk", Password: "asterisk", App: "contact-center",
		HTTPClient: &http.Client{Transport: tr}})
	_, _, err := c.Snapshot(ctxT(t), []string{"SB_CALL"})
	wantCode(t, err, cti.EUNAVAILABLE)
	if c.Ready() == nil {
		t.Errorf("Ready before Run = %v", c.Ready())
	}
}

// Run is not reentrant: a second concurrent Run fails at once instead of opening a competing websocket.
func TestRunTwice(t *testing.T) {
	_, a := harness(t, arisim.Config{})
	if err := a.Run(ctxT(t)); err == nil || errors.Is(err, asterisk.ErrReplaced) {
		t.Fatalf("second Run = %v", err)
	}
	a.ev.mu.Lock()
	defer a.ev.mu.Unlock()
	for _, ev := range a.ev.evs {
		if _, ok := ev.(cti.TelephonyReplaced); ok {
			t.Fatal("second Run replaced the first")
		}
	}
}

// SetVars sends one setChannelVars request to an Asterisk that has it (22.10.1, the reference) and one request per variable,
// in name order, to one that does not (20.10.0); either way the variables read back.
func TestSetVars(t *testing.T) {
	for _, tc := range []struct {
		version string
		want    []string // paths of the requests SetVars sends
	}{
		{"22.10.1", []string{"/variables"}},
		{"20.10.0", []string{"/variable?variable=SB_ENQUEUED&value=42", "/variable?variable=SB_QUEUE&value=sales"}},
	} {
		t.Run(tc.version, func(t *testing.T) {
			s, a := harness(t, arisim.Config{Version: tc.version})
			ctx := ctxT(t)
			id := call(t, s, arisim.CallSpec{CallerNumber: "15551230001", Dialed: "5551000"})
			next(t, a.ev, func(e cti.ChannelEntered) bool { return e.Channel.ID == id })
			before := len(a.rec.requests())
			must(t, a.SetVars(ctx, id, map[string]string{"SB_QUEUE": "sales", "SB_ENQUEUED": "42"}))
			var got []string
			for _, r := range a.rec.requests()[before:] {
				p, ok := strings.CutPrefix(r.Path, "/channels/"+id)
				if !ok {
					continue // the event filter, set alongside the first events, may come late
				}
				if r.Query != "" {
					p += "?" + r.Query
				}
				got = append(got, p)
			}
			equal(t, "requests", got, tc.want)
			for name, want := range map[string]string{"SB_QUEUE": "sales", "SB_ENQUEUED": "42"} {
				v, err := a.GetVar(ctx, id, name)
				must(t, err)
				equal(t, name, v, want)
			}
			wantCode(t, a.SetVars(ctx, "no-such-channel", map[string]string{"SB_QUEUE": "x"}), cti.ENOTFOUND)
		})
	}
}
