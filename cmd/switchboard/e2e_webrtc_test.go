package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gorilla/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/switchboard-cc/switchboard/agent-ui/uitest"
	"github.com/switchboard-cc/switchboard/crmstore"
	"github.com/switchboard-cc/switchboard/crmstore/pgtest"
	"github.com/switchboard-cc/switchboard/cti"
	"github.com/switchboard-cc/switchboard/cti/arisim"
	"github.com/switchboard-cc/switchboard/cti/webrtcgw"
	"github.com/switchboard-cc/switchboard/cti/webrtcgw/browsersim"
)

// startWebRTCSystem runs the whole contact center with the sample IVR and the media gateway on loopback.
func startWebRTCSystem(t *testing.T, extra ...string) *Main {
	t.Helper()
	return startWebRTCSystemWith(t, func(*Main) {}, extra...)
}

// startWebRTCSystemWith is startWebRTCSystem with set applied to the program before it runs (test hooks).
func startWebRTCSystemWith(t *testing.T, set func(*Main), extra ...string) *Main {
	t.Helper()
	m := NewMain()
	set(m)
	m.simTimeScale = 0.05
	m.Stdout, m.Stderr = io.Discard, io.Discard
	m.Logger = failureLog(t)
	args := append([]string{"--http", "127.0.0.1:0", "--database-url", pgtest.URL(t), "--ivr-flows", "testdata/ivrflows",
		"--demo-calls-per-minute", "0", "--recordings-dir", t.TempDir(), "--webrtc-ips", "127.0.0.1"}, extra...)
	if err := m.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	checkFor(t, 5*time.Second, func() error { return m.sys.ari.Ready() })
	return m
}

// pionPage is a web caller's page played by an in-process pion peer: PCMU on loopback, signalling over /ws/call.
type pionPage struct {
	tb    testing.TB
	pc    *webrtc.PeerConnection
	track *webrtc.TrackLocalStaticRTP
	ws    *websocket.Conn
	msgs  chan webrtcgw.Message
	wg    sync.WaitGroup

	mu  sync.Mutex
	got int // RTP packets heard
}

// webCallToken fetches a page token for site, as the widget does.
func webCallToken(tb testing.TB, base, site string) string {
	tb.Helper()
	req, _ := http.NewRequest("GET", base+"/api/v1/webcall/token?site="+url.QueryEscape(site), nil)
	req.Header.Set("Origin", base)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != 200 || tok.Token == "" {
		tb.Fatalf("token: %d (%v)", resp.StatusCode, err)
	}
	return tok.Token
}

func newPionPage(tb testing.TB, base, site string, attrs url.Values) *pionPage {
	tb.Helper()
	return openPionPage(tb, base, site, attrs, "")
}

// openPionPage is newPionPage for a page that comes back to its call with its resume id (empty: a new call), as the widget
// does after losing its websocket: a fresh page token, a new websocket and a new PeerConnection.
func openPionPage(tb testing.TB, base, site string, attrs url.Values, resume string) *pionPage {
	tb.Helper()
	q := url.Values{"token": {webCallToken(tb, base, site)}}
	for k, v := range attrs {
		q["attr."+k] = v
	}
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/ws/call?"+q.Encode(), http.Header{"Origin": {base}})
	if err != nil {
		tb.Fatal(err)
	}

	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtcgw.PCMU, webrtc.RTPCodecTypeAudio); err != nil {
		tb.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		tb.Fatal(err)
	}
	track, _ := webrtc.NewTrackLocalStaticRTP(webrtcgw.PCMU.RTPCodecCapability, "mic", "page")
	if _, err := pc.AddTrack(track); err != nil {
		tb.Fatal(err)
	}
	p := &pionPage{tb: tb, pc: pc, track: track, ws: ws, msgs: make(chan webrtcgw.Message, 256)}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
			p.mu.Lock()
			p.got++
			p.mu.Unlock()
		}
	})
	p.wg.Go(func() {
		defer close(p.msgs)
		for {
			var m webrtcgw.Message
			if err := ws.ReadJSON(&m); err != nil {
				return
			}
			p.msgs <- m
		}
	})
	tb.Cleanup(func() {
		ws.Close()
		pc.Close()
		p.wg.Wait()
	})
	offer, _ := pc.CreateOffer(nil)
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		tb.Fatal(err)
	}
	<-gathered
	p.send(webrtcgw.Message{Type: webrtcgw.MsgOffer, SDP: pc.LocalDescription().SDP, Resume: resume})
	// Generous: a page back after a restart is answered once the new controller has reconciled with the PBX.
	ans := p.await(15*time.Second, func(m webrtcgw.Message) bool { return m.Type == webrtcgw.MsgAnswer })
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: ans.SDP}); err != nil {
		tb.Fatal(err)
	}
	return p
}

func (p *pionPage) send(m webrtcgw.Message) {
	p.tb.Helper()
	if err := p.ws.WriteJSON(m); err != nil {
		p.tb.Fatal(err)
	}
}

// await returns the first message that satisfies ok; errors from the server fail the test.
func (p *pionPage) await(within time.Duration, ok func(webrtcgw.Message) bool) webrtcgw.Message {
	p.tb.Helper()
	timeout := time.After(within)
	for {
		select {
		case m, open := <-p.msgs:
			if !open {
				p.tb.Fatal("the call's websocket closed")
			}
			if m.Type == webrtcgw.MsgError {
				p.tb.Fatalf("server error: %s %s", m.Code, m.Text)
			}
			if ok(m) {
				return m
			}
		case <-timeout:
			p.tb.Fatalf("no awaited message within %s", within)
		}
	}
}

// talk sends n packets of 20 ms PCMU, paced as a microphone does.
func (p *pionPage) talk(n int) {
	payload := make([]byte, 160)
	for i := range payload {
		payload[i] = 0xff
	}
	for i := range n {
		pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(100 + i), Timestamp: uint32(8000 + 160*i),
			SSRC: 4242}, Payload: payload}
		_ = p.track.WriteRTP(pkt)
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *pionPage) heard() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.got
}

// TestE2EWebCallerGoOnly is the web caller's path without a browser: an in-process pion peer takes a page token, connects to
// /ws/call and offers; the engine makes an externalMedia channel toward its gateway leg; the keypad's digits over the websocket
// drive the IVR to the sales queue; the page sees its position; agent1 answers and RTP flows both ways through the emulator's
// externalMedia channel; the caller hangs up and the interaction row is channel "webrtc" with the IVR path.
func TestE2EWebCallerGoOnly(t *testing.T) {
	m := startWebRTCSystem(t)
	ctx := context.Background()
	base, sim, store := m.URL(), m.sys.sim, m.sys.store

	desk := signIn(t, base, "agent1", "demo-agent")
	desk.await("snapshot", 5*time.Second)

	page := newPionPage(t, base, "+18005550100", url.Values{"page": {"https://shop.example.com/help"}, "order": {"A-1001"}})
	st := page.await(5*time.Second, func(m webrtcgw.Message) bool { return m.Type == webrtcgw.MsgState && m.State == "ivr" })
	if st.Resume == "" {
		t.Error("the state message has no resume id")
	}
	var channel string
	checkFor(t, 5*time.Second, func() error {
		for _, c := range sim.Channels() {
			if strings.HasPrefix(c.ID, "sb-web-") && c.InStasis {
				channel = c.ID
				return nil
			}
		}
		return fmt.Errorf("no web caller's externalMedia channel in %+v", sim.Channels())
	})
	// The menu: 1 for sales (the welcome prompt may be interrupted).
	page.send(webrtcgw.Message{Type: webrtcgw.MsgDTMF, Digit: "1"})
	q := page.await(10*time.Second, func(m webrtcgw.Message) bool { return m.Type == webrtcgw.MsgState && m.State == "queued" })
	if q.Position != 1 {
		t.Errorf("queued at position %d, want 1", q.Position)
	}

	desk.post("/api/v1/desk/state", cti.StateRequest{Ready: true})
	offer := desk.await("offer", 10*time.Second)["offer"].(map[string]any)
	if offer["queue"] != "sales" {
		t.Errorf("offered from %v, want sales", offer["queue"])
	}
	if in := fmt.Sprint(offer["inputs"]); !strings.Contains(in, "shop.example.com/help") || !strings.Contains(in, "A-1001") {
		t.Errorf("screen-pop inputs %s lack the page's attributes", in)
	}
	id := offer["interaction_id"].(string)
	desk.post("/api/v1/desk/accept", nil)
	page.await(10*time.Second, func(m webrtcgw.Message) bool { return m.Type == webrtcgw.MsgState && m.State == "connected" })

	// Media both ways: the page's packets reach the emulator's externalMedia channel, the emulator's reach the page.
	page.talk(50)
	checkFor(t, 5*time.Second, func() error {
		sent, recv, err := sim.RTPStats(channel)
		if err != nil || recv < 50 || sent == 0 || page.heard() == 0 {
			return fmt.Errorf("emulator sent %d received %d (%v); the page heard %d", sent, recv, err, page.heard())
		}
		return nil
	})

	page.send(webrtcgw.Message{Type: webrtcgw.MsgHangup})
	checkFor(t, 10*time.Second, func() error {
		in, err := store.Interaction(ctx, id)
		if err != nil {
			return err
		}
		if in.Channel != cti.ChannelWebRTC || in.EndedAt.IsZero() || in.Outcome != cti.OutcomeAnswered {
			return fmt.Errorf("interaction channel %s outcome %s ended %v", in.Channel, in.Outcome, in.EndedAt)
		}
		var menu string
		for _, s := range in.IVRPath {
			if strings.HasSuffix(s.Node, "/menu") {
				menu = s.Input
			}
		}
		if menu != "1" {
			return fmt.Errorf("IVR path %+v: the menu did not get the keypad's 1", in.IVRPath)
		}
		return nil
	})
	checkFor(t, 5*time.Second, func() error {
		if n := m.sys.web.gw.Legs(); n != 0 {
			return fmt.Errorf("%d gateway legs open after the call", n)
		}
		return nil
	})
}

// widgetJS reads a value inside the widget's shadow root.
func widgetJS(expr string) string {
	return `(() => { const w = document.querySelector('#switchboard-widget'); if (!w) return null; const r = w.shadowRoot; return ` + expr + ` })()`
}

// TestE2EWebCallerInChromium is the web caller end to end: a company page on another origin embeds the widget with one script
// tag; Chromium (fake microphone) calls; the widget's keypad drives the IVR to the sales queue and shows the position; agent1
// answers; RTP flows both ways between Chromium, the gateway and the emulator's externalMedia channel; the widget hangs up.
func TestE2EWebCallerInChromium(t *testing.T) {
	company := httptest.NewServer(nil)
	t.Cleanup(company.Close)
	m := startWebRTCSystem(t, "--webcall-origins", company.URL)
	ctx := context.Background()
	base, sim, store := m.URL(), m.sys.sim, m.sys.store
	company.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><head><title>Example Shop</title></head><body><h1>Example Shop — help</h1>
<form id="contact"><input name="order" value="B-2002"></form>
<script type="module" src="%s/static/widget/widget.js" data-switchboard="+18005550100" data-form="#contact"></script>
</body></html>`, base)
	})

	desk := signIn(t, base, "agent1", "demo-agent")
	desk.await("snapshot", 5*time.Second)

	br := uitest.BrowserWith(t, uitest.MediaFlags)
	tab := uitest.NewTab(t, br)
	uitest.Browse(t, tab, chromedp.Navigate(company.URL+"/help"))
	uitest.WaitJS(t, tab, "the call button", widgetJS(`!!r.querySelector('[data-testid=sb-call]')`), 10*time.Second)
	uitest.EvalJS[bool](t, tab, widgetJS(`(r.querySelector('[data-testid=sb-call]').click(), true)`))
	uitest.WaitJS(t, tab, "the IVR", widgetJS(`w.dataset.callState === 'ivr'`), 15*time.Second)
	uitest.EvalJS[bool](t, tab, widgetJS(`(r.querySelector('[data-testid=sb-key-1]').click(), true)`))
	uitest.WaitJS(t, tab, "the queue position", widgetJS(`w.dataset.state === 'queued' && r.querySelector('[data-testid=sb-wait]').dataset.position === '1'`), 15*time.Second)
	uitest.Screenshot(t, tab, "webcall-widget-queued")

	desk.post("/api/v1/desk/state", cti.StateRequest{Ready: true})
	offer := desk.await("offer", 10*time.Second)["offer"].(map[string]any)
	if in := fmt.Sprint(offer["inputs"]); !strings.Contains(in, company.URL+"/help") || !strings.Contains(in, "B-2002") {
		t.Errorf("screen-pop inputs %s lack the page and its form", in)
	}
	id := offer["interaction_id"].(string)
	desk.post("/api/v1/desk/accept", nil)
	uitest.WaitJS(t, tab, "the connected call", widgetJS(`w.dataset.state === 'connected'`), 10*time.Second)

	channel := "sb-web-" + id
	checkFor(t, 10*time.Second, func() error {
		sent, recv, err := sim.RTPStats(channel)
		st := uitest.EvalJS[map[string]float64](t, tab, `document.querySelector('#switchboard-widget').rtpStats()`)
		var legs []string
		m.sys.web.mu.Lock()
		for _, w := range m.sys.web.resumes {
			s := w.leg.Stats()
			if s.ToPBX == 0 || s.ToBrowser == 0 {
				legs = append(legs, fmt.Sprintf("%+v", s))
			}
		}
		m.sys.web.mu.Unlock()
		if err != nil || sent < 20 || recv < 20 || st["sent"] < 20 || st["received"] < 20 || len(legs) > 0 {
			return fmt.Errorf("emulator sent %d received %d (%v); Chromium %v; idle legs %v", sent, recv, err, st, legs)
		}
		return nil
	})
	uitest.Screenshot(t, tab, "webcall-widget-connected")

	uitest.EvalJS[bool](t, tab, widgetJS(`(r.querySelector('[data-testid=sb-hangup]').click(), true)`))
	checkFor(t, 10*time.Second, func() error {
		in, err := store.Interaction(ctx, id)
		if err != nil {
			return err
		}
		if in.Channel != cti.ChannelWebRTC || in.EndedAt.IsZero() {
			return fmt.Errorf("interaction channel %s ended %v", in.Channel, in.EndedAt)
		}
		for _, s := range in.IVRPath {
			if strings.HasSuffix(s.Node, "/menu") && s.Input == "1" {
				return nil
			}
		}
		return fmt.Errorf("IVR path %+v lacks the keypad's 1 at the menu", in.IVRPath)
	})
}

// webAgentDB seeds the demo data into a fresh test database and makes agent1 a browser agent (endpoint "webrtc"); the system
// then starts with --seed=false so the engine loads agent1 as such.
func webAgentDB(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	u := pgtest.URL(t)
	db, err := crmstore.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := crmstore.Migrate(ctx, db.Pool); err != nil {
		t.Fatal(err)
	}
	if _, err := crmstore.Seed(ctx, db, crmstore.SeedOptions{Customers: 20, Rand: 1, Demo: true, Region: "CN"}); err != nil {
		t.Fatal(err)
	}
	store := crmstore.NewStore(db, crmstore.Options{Region: "CN"})
	agents, err := store.Agents(ctx) // with skills and queues, which PutAgent writes too
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(agents, func(a cti.AgentConfig) bool { return a.Login == "agent1" })
	if i < 0 {
		t.Fatal("no agent1 in the demo data")
	}
	a := agents[i]
	a.Endpoint = cti.EndpointWebRTC
	if err := store.PutAgent(ctx, &a, ""); err != nil {
		t.Fatal(err)
	}
	return u
}

// setSkill gives login the skill at level in the database at u.
func setSkill(t *testing.T, u, login, skill string, level int) {
	t.Helper()
	ctx := context.Background()
	db, err := crmstore.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	store := crmstore.NewStore(db, crmstore.Options{Region: "CN"})
	agents, err := store.Agents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(agents, func(a cti.AgentConfig) bool { return a.Login == login })
	if i < 0 {
		t.Fatalf("no %s", login)
	}
	a := agents[i]
	a.Skills = slices.DeleteFunc(a.Skills, func(s cti.AgentSkill) bool { return s.Skill == skill })
	a.Skills = append(a.Skills, cti.AgentSkill{Skill: skill, Proficiency: level})
	if err := store.PutAgent(ctx, &a, ""); err != nil {
		t.Fatal(err)
	}
}

// TestE2EBrowserAgent: agent1 works with nothing but Chromium (fake microphone). Going Ready is refused until the desk's loop
// test through the gateway passed, which the desk runs by itself; an emulated phone caller picks sales in the IVR; the offer
// rings in the page only; accepting bridges an externalMedia channel toward the agent's standing gateway leg, and audio flows
// both ways between Chromium and the emulator.
func TestE2EBrowserAgent(t *testing.T) {
	m := startWebRTCSystem(t, "--database-url", webAgentDB(t), "--seed=false")
	base, sim := m.URL(), m.sys.sim
	ctx := context.Background()

	// Without the page's audio test, Ready is refused.
	agent1, err := m.sys.store.AgentByLogin(ctx, "agent1")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.sys.engine.Login(ctx, agent1.ID); err != nil {
		t.Fatal(err)
	}
	if err := m.sys.engine.SetState(ctx, agent1.ID, cti.StateRequest{Ready: true}); cti.ErrorCode(err) != cti.EPRECONDITION {
		t.Fatalf("Ready before the audio test: %v, want %s", err, cti.EPRECONDITION)
	}

	br := uitest.BrowserWith(t, uitest.MediaFlags)
	tab := uitest.NewTab(t, br)
	uitest.SignIn(t, tab, base, "agent1", crmstore.DemoAgentPassword, "/desk")
	uitest.WaitJS(t, tab, "the passed audio test", `document.querySelector('[data-testid=phone]')?.dataset.state === 'ok'`, 20*time.Second)
	uitest.Screenshot(t, tab, "webrtc-agent-audio-ok")
	uitest.Click(t, tab, "state-button")
	uitest.WaitJS(t, tab, "Ready", `document.querySelector('[data-testid=state]')?.dataset.state === 'ready'`, 10*time.Second)

	caller, err := sim.Call(arisim.CallSpec{CallerNumber: "+8613900000077", CallerName: "Phone Caller", Dialed: "+18005550100",
		HangupAfter: time.Hour, DTMF: []arisim.Step{{Digits: "1", After: 100 * time.Millisecond, OnMedia: "sound:sb/main-menu"}}})
	if err != nil {
		t.Fatal(err)
	}
	uitest.WaitJS(t, tab, "the ringing offer", `!document.querySelector('[data-testid=offer-banner]').hidden`, 15*time.Second)
	for _, c := range sim.Channels() {
		if strings.HasPrefix(c.ID, "sb-agent-") {
			t.Fatalf("a browser agent's offer originated %s; it should ring the page only", c.ID)
		}
	}
	uitest.Click(t, tab, "accept")
	uitest.WaitJS(t, tab, "the connected call", `!!document.querySelector('[data-testid=hangup]')`, 10*time.Second)

	var leg string
	checkFor(t, 10*time.Second, func() error {
		for _, c := range sim.Channels() {
			if strings.HasPrefix(c.ID, "sb-agent-") && strings.HasPrefix(c.Name, "UnicastRTP/") && c.BridgeID != "" {
				leg = c.ID
				return nil
			}
		}
		return fmt.Errorf("no bridged externalMedia channel for the agent in %+v", sim.Channels())
	})
	checkFor(t, 10*time.Second, func() error {
		sent, recv, err := sim.RTPStats(leg)
		st := uitest.EvalJS[map[string]float64](t, tab, `(async () => { const out = { sent: 0, received: 0 };
			(await window.__phone.pc.getStats()).forEach(r => { if (r.type === 'outbound-rtp') out.sent += r.packetsSent;
				if (r.type === 'inbound-rtp') out.received += r.packetsReceived; }); return out })()`)
		if err != nil || sent < 20 || recv < 20 || st["received"] < 20 {
			return fmt.Errorf("emulator sent %d received %d (%v); Chromium %v", sent, recv, err, st)
		}
		return nil
	})
	uitest.Screenshot(t, tab, "webrtc-agent-on-call")

	if err := sim.Hangup(caller); err != nil {
		t.Fatal(err)
	}
	uitest.WaitJS(t, tab, "the wrap-up", `!document.querySelector('[data-testid=wrapup-panel]').hidden`, 10*time.Second)
	checkFor(t, 5*time.Second, func() error {
		if _, _, err := sim.RTPStats(leg); err == nil {
			return fmt.Errorf("the agent's externalMedia channel %s outlived the call", leg)
		}
		return nil
	})
}

// failureLog collects the system's log and prints it only when the test fails, so a failure on a busy machine says why.
func failureLog(t *testing.T) *slog.Logger {
	var mu sync.Mutex
	var buf bytes.Buffer
	t.Cleanup(func() {
		if t.Failed() {
			mu.Lock()
			defer mu.Unlock()
			t.Logf("system log:\n%s", buf.String())
		}
	})
	return slog.New(slog.NewTextHandler(lockedWriter{&mu, &buf}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// pionPhone is a browser agent's desk phone played by a pion peer: /ws/media with the desk's session cookie, the offer, and
// the media-verified Ready test the desk runs.
type pionPhone struct {
	peer *browsersim.Peer
	ws   *websocket.Conn
	msgs chan webrtcgw.Message
	done chan struct{}
	once sync.Once
}

func newPionPhone(t *testing.T, d *desktop) *pionPhone {
	t.Helper()
	u, _ := url.Parse(d.base)
	hdr := http.Header{"Origin": {d.base}}
	for _, c := range d.http.Jar.Cookies(u) {
		hdr.Add("Cookie", c.Name+"="+c.Value)
	}
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(d.base, "http")+"/ws/media", hdr)
	if err != nil {
		t.Fatalf("/ws/media: %v", err)
	}
	bs, err := browsersim.New()
	if err != nil {
		t.Fatal(err)
	}
	peer, offer, err := bs.NewPeer(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p := &pionPhone{peer: peer, ws: ws, msgs: make(chan webrtcgw.Message, 64), done: make(chan struct{})}
	go func() { // ends when close closes the websocket
		defer close(p.done)
		for {
			var m webrtcgw.Message
			if err := ws.ReadJSON(&m); err != nil {
				return
			}
			select {
			case p.msgs <- m:
			default: // the test reads only what it awaits
			}
		}
	}()
	t.Cleanup(p.close)
	p.send(t, webrtcgw.Message{Type: webrtcgw.MsgOffer, SDP: offer})
	if err := peer.Accept(p.await(t, webrtcgw.MsgAnswer).SDP); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 10*time.Second, func() error {
		if !peer.Connected() {
			return errors.New("the agent's phone is not connected")
		}
		return nil
	})
	// The loop test, as the desk runs it: 1.5 s of the microphone through the gateway and back.
	p.send(t, webrtcgw.Message{Type: webrtcgw.MsgLoopStart})
	<-time.After(1500 * time.Millisecond)
	p.send(t, webrtcgw.Message{Type: webrtcgw.MsgLoopStop})
	if r := p.await(t, webrtcgw.MsgLoopResult).Loop; r == nil || !r.OK {
		t.Fatalf("the loop test failed: %+v", r)
	}
	return p
}

func (p *pionPhone) send(t *testing.T, m webrtcgw.Message) {
	t.Helper()
	if err := p.ws.WriteJSON(m); err != nil {
		t.Fatal(err)
	}
}

func (p *pionPhone) await(t *testing.T, typ webrtcgw.MessageType) webrtcgw.Message {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m := <-p.msgs:
			if m.Type == webrtcgw.MsgError {
				t.Fatalf("server error: %s %s", m.Code, m.Text)
			}
			if m.Type == typ {
				return m
			}
		case <-p.done:
			t.Fatalf("the phone's websocket closed while waiting for %s", typ)
		case <-timeout:
			t.Fatalf("no %s within 10 s", typ)
		}
	}
}

// close is the desk's tab going away: the websocket and the PeerConnection end.
func (p *pionPhone) close() {
	p.once.Do(func() {
		p.ws.Close()
		<-p.done
		_ = p.peer.Close()
	})
}

// TestE2EBrowserAgentMediaLost is rule 3 of the re-offer / reconnect rule: a browser agent's media dies in a call (the desk's
// tab closes); the customer hears music on hold at once, and when the reconnect window passes without media the call goes
// back to its queue and reaches another agent. The first interaction ends answered by agent1; the rest of the call is a
// child interaction linked by parent_id (reports keep each agent's part), answered by agent3.
func TestE2EBrowserAgentMediaLost(t *testing.T) {
	const window = 3 * time.Second
	db := webAgentDB(t)
	// agent3 meets sales' first escalation step (sales ≥ 7), so the requeued call need not wait for the 30 s step.
	setSkill(t, db, "agent3", "sales", 8)
	m := startWebRTCSystemWith(t, func(m *Main) { m.reconnectWindow = window }, "--database-url", db, "--seed=false")
	ctx := context.Background()
	base, sim, store := m.URL(), m.sys.sim, m.sys.store

	desk1 := signIn(t, base, "agent1", crmstore.DemoAgentPassword)
	desk1.await("snapshot", 5*time.Second)
	phone := newPionPhone(t, desk1)
	desk1.post("/api/v1/desk/state", cti.StateRequest{Ready: true})
	desk3 := signIn(t, base, "agent3", crmstore.DemoAgentPassword)
	desk3.await("snapshot", 5*time.Second)

	caller, err := sim.Call(arisim.CallSpec{CallerNumber: "+8613900000078", CallerName: "Phone Caller", Dialed: "+18005550100",
		HangupAfter: time.Hour, DTMF: []arisim.Step{{Digits: "1", After: 100 * time.Millisecond, OnMedia: "sound:sb/main-menu"}}})
	if err != nil {
		t.Fatal(err)
	}
	first := desk1.await("offer", 15*time.Second)["offer"].(map[string]any)["interaction_id"].(string)
	desk1.post("/api/v1/desk/accept", nil)
	checkFor(t, 10*time.Second, func() error {
		for _, c := range sim.Channels() {
			if strings.HasPrefix(c.ID, "sb-agent-") && c.BridgeID != "" {
				return nil
			}
		}
		return errors.New("the agent's externalMedia channel is not bridged")
	})

	lost := time.Now()
	phone.close()
	// Music on hold at once: the caller's bridge peers include the MOH announcer.
	checkFor(t, 5*time.Second, func() error {
		peer, err := m.sys.ari.GetVar(ctx, caller, "BRIDGEPEER")
		if err != nil || !strings.Contains(peer, "Announcer/ARI_MOH") {
			return fmt.Errorf("the caller's bridge peers are %q (%v), want the MOH announcer", peer, err)
		}
		return nil
	})
	if time.Since(lost) >= window {
		t.Fatalf("music on hold came only after %s", time.Since(lost))
	}

	desk3.post("/api/v1/desk/state", cti.StateRequest{Ready: true})
	second := desk3.await("offer", 15*time.Second)["offer"].(map[string]any)["interaction_id"].(string)
	if took := time.Since(lost); took < window {
		t.Errorf("requeued after %s, before the %s reconnect window", took, window)
	}
	desk3.post("/api/v1/desk/accept", nil)
	checkFor(t, 10*time.Second, func() error {
		peer, err := m.sys.ari.GetVar(ctx, caller, "BRIDGEPEER")
		if err != nil || strings.Contains(peer, "Announcer/ARI_MOH") || !strings.Contains(peer, "PJSIP/1003") {
			return fmt.Errorf("the caller's bridge peers are %q (%v), want agent3's phone without MOH", peer, err)
		}
		return nil
	})

	agent1, _ := store.AgentByLogin(ctx, "agent1")
	agent3, _ := store.AgentByLogin(ctx, "agent3")
	checkFor(t, 5*time.Second, func() error {
		in1, err := store.Interaction(ctx, first)
		if err != nil {
			return err
		}
		if in1.Outcome != cti.OutcomeAnswered || in1.EndedAt.IsZero() || in1.AgentID != agent1.ID {
			return fmt.Errorf("first interaction: outcome %q, ended %v, agent %s; want answered and ended by agent1",
				in1.Outcome, in1.EndedAt, in1.AgentID)
		}
		return nil
	})
	checkFor(t, 5*time.Second, func() error {
		in2, err := store.Interaction(ctx, second)
		if err != nil {
			return err
		}
		if second == first || in2.ParentID != first || in2.AgentID != agent3.ID {
			return fmt.Errorf("requeued interaction %s: parent %q, agent %s; want a child of %s answered by agent3", second,
				in2.ParentID, in2.AgentID, first)
		}
		return nil
	})
}

// webCallOnAgent1 starts a system whose web caller (a pion page) talks with agent1's desk phone; it returns the page's resume
// id, the call, the web caller's externalMedia channel, agent1's leg and the number of interaction rows before the call.
func webCallOnAgent1(t *testing.T) (s *ctiSys, page *pionPage, resume, id, web, leg string, rows int) {
	t.Helper()
	s = startCTI(t, ctiOptions{})
	rows = interactionRows(t, s)
	s.ready("agent1")
	page = newPionPage(t, s.m.URL(), "201", nil)
	resume = page.await(10*time.Second, func(m webrtcgw.Message) bool { return m.Type == webrtcgw.MsgState && m.Resume != "" }).Resume
	leg = s.accept("agent1")
	checkFor(t, 10*time.Second, func() error {
		snap, err := s.m.sys.engine.Snapshot(context.Background())
		if err != nil {
			return err
		}
		for _, c := range snap.Calls {
			if c.Channel == cti.ChannelWebRTC && c.State == cti.CallConnected {
				id, web = c.ID, "sb-web-"+c.ID
				return nil
			}
		}
		return errors.New("the web call is not connected")
	})
	s.waitBridged(id, web, leg)
	// The answer is written (agent_id) before the stop: these tests are about what the next controller does, not about a
	// write in flight when the first one stops.
	s.waitRow(id, func(in *cti.Interaction) error {
		if in.AgentID != s.ids["agent1"] {
			return fmt.Errorf("row's agent %q, want agent1", in.AgentID)
		}
		return nil
	})
	return s, page, resume, id, web, leg, rows
}

func interactionRows(t *testing.T, s *ctiSys) int {
	t.Helper()
	var n int
	if err := s.store.DB().Pool.QueryRow(context.Background(), "SELECT count(*) FROM interactions").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// rtpBothWays waits until the page has sent n packets that reached the emulator's externalMedia channel and heard the
// emulator's.
func rtpBothWays(t *testing.T, sim *arisim.Server, channel string, page *pionPage, n int) {
	t.Helper()
	_, recv0, err := sim.RTPStats(channel)
	if err != nil {
		t.Fatal(err)
	}
	heard0 := page.heard()
	// The call's "connected" is not the PeerConnection's: a page back after a restart may still be finishing DTLS.
	checkFor(t, 10*time.Second, func() error {
		if st := page.pc.ConnectionState(); st != webrtc.PeerConnectionStateConnected {
			return fmt.Errorf("the page's PeerConnection is %s", st)
		}
		return nil
	})
	page.talk(n)
	checkFor(t, 10*time.Second, func() error {
		sent, recv, err := sim.RTPStats(channel)
		if err != nil || recv < recv0+int64(n) || sent == 0 || page.heard() <= heard0 {
			return fmt.Errorf("emulator sent %d received %d (from %d, %v); the page heard %d (from %d)", sent, recv, recv0, err,
				page.heard(), heard0)
		}
		return nil
	})
}

// TestE2EWebCallerWebsocketLost is rule 2 within one process: the page's websocket drops mid-call and the page comes back with
// its resume id on a new websocket and PeerConnection; the same gateway leg (Leg.Reconnect) carries RTP both ways again.
func TestE2EWebCallerWebsocketLost(t *testing.T) {
	s, page, resume, id, web, leg, _ := webCallOnAgent1(t)
	if err := page.ws.Close(); err != nil {
		t.Fatal(err)
	}
	back := openPionPage(t, s.m.URL(), "201", nil, resume)
	back.await(10*time.Second, func(m webrtcgw.Message) bool { return m.Type == webrtcgw.MsgState && m.State == "connected" })
	rtpBothWays(t, s.sim, web, back, 25)
	if n := s.m.sys.web.gw.Legs(); n != 1 {
		t.Errorf("%d gateway legs, want the call's one", n)
	}
	back.send(webrtcgw.Message{Type: webrtcgw.MsgHangup})
	s.waitGone(web, leg)
	if in := s.waitEnded(id, false); in.Outcome != cti.OutcomeAnswered {
		t.Errorf("outcome %q, want answered", in.Outcome)
	}
}

// TestE2EWebCallerControllerRestart: a web caller talks with agent1's desk phone when the controller stops (a crash or an
// upgrade) and a new one starts on the same database and PBX. The PBX keeps the call (the web caller's externalMedia channel,
// the bridge, agent1's leg, the recording); the new controller adopts it, the page comes back with its resume id on a new
// websocket and PeerConnection, its new gateway leg binds the address the channel sends to, and RTP flows both ways again
// through the same call and agent. When the page hangs up, the one interaction ends answered by agent1 with its recording.
func TestE2EWebCallerControllerRestart(t *testing.T) {
	s, page, resume, id, web, leg, rows := webCallOnAgent1(t)
	rtpBothWays(t, s.sim, web, page, 25)

	if err := s.m.Close(); err != nil {
		t.Fatal(err)
	}
	s.m = s.runMain()
	s.store = s.m.sys.store

	back := openPionPage(t, s.m.URL(), "201", nil, resume)
	back.await(10*time.Second, func(m webrtcgw.Message) bool { return m.Type == webrtcgw.MsgState && m.State == "connected" })
	rtpBothWays(t, s.sim, web, back, 50)
	s.waitBridged(id, web, leg)
	if c, ok := s.callView(id); !ok || c.State != cti.CallConnected || c.AgentID != s.ids["agent1"] {
		t.Fatalf("call after the restart = %+v (found %v), want connected to agent1", c, ok)
	}
	for _, r := range ctiRequestsSince(s.key, 0) {
		if r.Method == "DELETE" && (strings.HasSuffix(r.Path, "/"+web) || strings.HasSuffix(r.Path, "/"+leg)) ||
			strings.HasPrefix(r.Path, "/recordings/live/") && strings.HasSuffix(r.Path, "/stop") {
			t.Fatalf("the call was touched across the restart: %s %s", r.Method, r.Path)
		}
	}

	back.send(webrtcgw.Message{Type: webrtcgw.MsgHangup})
	s.waitGone(web, leg)
	in := s.waitEnded(id, true)
	if in.Outcome != cti.OutcomeAnswered || in.AgentID != s.ids["agent1"] || in.Channel != cti.ChannelWebRTC {
		t.Errorf("row = outcome %q agent %q channel %q; want answered by agent1, webrtc", in.Outcome, in.AgentID, in.Channel)
	}
	s.checkRecording(in, "interaction-"+id)
	if n := interactionRows(t, s); n != rows+1 {
		t.Errorf("%d interaction rows were written for the call, want 1", n-rows)
	}
}

// TestE2EWebCallerRestartQueued: a web caller waits in the general queue, first in line ahead of a phone caller, when the
// controller restarts. The new controller keeps the call's place; the page comes back with its resume id and is told its
// position again; when agent1 goes Ready the web caller is offered first, and once answered RTP flows both ways.
func TestE2EWebCallerRestartQueued(t *testing.T) {
	s := startCTI(t, ctiOptions{})
	rows := interactionRows(t, s)
	page := newPionPage(t, s.m.URL(), "201", nil)
	st := page.await(10*time.Second, func(m webrtcgw.Message) bool { return m.Type == webrtcgw.MsgState && m.State == "queued" })
	if st.Position != 1 || st.Resume == "" {
		t.Fatalf("queued state %+v, want position 1 and a resume id", st)
	}
	phone, phoneID := s.call(arisim.CallSpec{CallerNumber: "15551230001", CallerName: "Phone Caller", Dialed: "201",
		HangupAfter: time.Hour})
	var id string
	checkFor(t, 10*time.Second, func() error {
		snap, err := s.m.sys.engine.Snapshot(context.Background())
		if err != nil {
			return err
		}
		queued := 0
		for _, c := range snap.Calls {
			if c.State == cti.CallQueued {
				queued++
				if c.Channel == cti.ChannelWebRTC {
					id = c.ID
				}
			}
		}
		if queued != 2 || id == "" {
			return fmt.Errorf("%d calls queued (web call %q), want the web and the phone caller", queued, id)
		}
		return nil
	})
	web := "sb-web-" + id

	if err := s.m.Close(); err != nil {
		t.Fatal(err)
	}
	s.m = s.runMain()
	s.store = s.m.sys.store

	back := openPionPage(t, s.m.URL(), "201", nil, st.Resume)
	if q := back.await(10*time.Second, func(m webrtcgw.Message) bool { return m.Type == webrtcgw.MsgState }); q.State != "queued" || q.Position != 1 {
		t.Fatalf("the page back is told %+v, want queued at position 1", q)
	}
	s.ready("agent1")
	leg := s.accept("agent1")
	s.waitBridged(id, web, leg)
	back.await(10*time.Second, func(m webrtcgw.Message) bool { return m.Type == webrtcgw.MsgState && m.State == "connected" })
	rtpBothWays(t, s.sim, web, back, 50)
	if c, ok := s.callView(phoneID); !ok || c.State != cti.CallQueued {
		t.Errorf("the phone caller = %+v (found %v), want still queued behind the web caller", c, ok)
	}

	back.send(webrtcgw.Message{Type: webrtcgw.MsgHangup})
	s.waitGone(web, leg)
	in := s.waitEnded(id, false)
	if in.Outcome != cti.OutcomeAnswered || in.AgentID != s.ids["agent1"] || in.Channel != cti.ChannelWebRTC {
		t.Errorf("row = outcome %q agent %q channel %q; want answered by agent1, webrtc", in.Outcome, in.AgentID, in.Channel)
	}
	if err := s.sim.Hangup(phone); err != nil {
		t.Fatal(err)
	}
	s.waitEnded(phoneID, false)
	if n := interactionRows(t, s); n != rows+2 {
		t.Errorf("%d interaction rows for the two calls, want 2", n-rows)
	}
}

// TestE2EWebCallerRestartPageGone: after a restart the web caller's page does not come back within the reconnect window; the
// new controller then ends the call cleanly as before: the web caller's channel and agent1's leg are hung up, the row ends
// answered (agent1 had talked), agent1 goes to wrap-up, and a page that turns up later is told its call was cut off.
func TestE2EWebCallerRestartPageGone(t *testing.T) {
	s, _, resume, id, web, leg, _ := webCallOnAgent1(t)
	if err := s.m.Close(); err != nil {
		t.Fatal(err)
	}
	s.tune = func(m *Main) { m.reconnectWindow = 2 * time.Second }
	s.m = s.runMain()
	s.store = s.m.sys.store
	s.waitGone(web, leg)
	s.waitRow(id, func(in *cti.Interaction) error {
		if in.Outcome != cti.OutcomeAnswered || in.EndedAt.IsZero() || in.AgentID != s.ids["agent1"] {
			return fmt.Errorf("outcome %q, ended %v, agent %q; want answered and ended by agent1", in.Outcome, in.EndedAt, in.AgentID)
		}
		return nil
	})
	s.waitAgent("agent1", cti.AgentWrapUp, "")

	// The page comes back too late, with a fresh token and its resume id.
	base := s.m.URL()
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/ws/call?"+url.Values{"token": {webCallToken(t, base, "201")}}.Encode(),
		http.Header{"Origin": {base}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	bs, err := browsersim.New()
	if err != nil {
		t.Fatal(err)
	}
	peer, offer, err := bs.NewPeer(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	if err := ws.WriteJSON(webrtcgw.Message{Type: webrtcgw.MsgOffer, SDP: offer, Resume: resume}); err != nil {
		t.Fatal(err)
	}
	ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var m webrtcgw.Message
		if err := ws.ReadJSON(&m); err != nil {
			t.Fatalf("no hang-up for the late page: %v", err)
		}
		if m.Type == webrtcgw.MsgHangup {
			if m.Reason != webrtcgw.ReasonMediaLost {
				t.Errorf("hang-up reason %q, want %q", m.Reason, webrtcgw.ReasonMediaLost)
			}
			break
		}
	}
}

// TestE2EBrowserSupervisor: a supervisor whose endpoint is webrtc listens to and barges into agent1's call through the gateway.
// Without a tested phone the monitor ends at once; once the supervisor's phone passed its audio test the supervisor's leg is an externalMedia
// channel toward their standing gateway leg (nothing is originated to a SIP endpoint): for listen it shares a bridge with the
// snoop on agent1's leg, for barge it joins the call's bridge, and audio flows both ways between the emulator and the
// supervisor's browser.
func TestE2EBrowserSupervisor(t *testing.T) {
	m := startWebRTCSystem(t)
	ctx := context.Background()
	base, sim, eng, store := m.URL(), m.sys.sim, m.sys.engine, m.sys.store
	agent1, _ := store.AgentByLogin(ctx, "agent1")
	sup, _ := store.AgentByLogin(ctx, "supervisor")

	supDesk := signIn(t, base, "supervisor", crmstore.DemoSupervisorPassword)
	caller := agent1OnCall(t, m, "+8613900000079")

	// Before the supervisor's phone passed its audio test the leg cannot be made: the monitor ends, nothing is left behind.
	if err := eng.Monitor(ctx, sup.ID, agent1.ID, cti.MonitorListen); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 10*time.Second, func() error {
		snap, err := eng.Snapshot(ctx)
		if err != nil {
			return err
		}
		for _, c := range snap.Calls {
			if len(c.Monitors) > 0 {
				return fmt.Errorf("call %s still has monitors %+v", c.ID, c.Monitors)
			}
		}
		for _, c := range sim.Channels() {
			if strings.HasPrefix(c.ID, "sb-sup-") || strings.HasPrefix(c.ID, "sb-snoop-") {
				return fmt.Errorf("%s outlived the failed monitor", c.ID)
			}
		}
		return nil
	})
	phone := newPionPhone(t, supDesk)

	// supLeg finds the supervisor's externalMedia channel in a bridge with want's channel, and checks RTP both ways.
	supLeg := func(with string) {
		t.Helper()
		var leg string
		checkFor(t, 10*time.Second, func() error {
			chans := sim.Channels()
			bridgeOf := map[string]string{}
			for _, c := range chans {
				bridgeOf[c.ID] = c.BridgeID
			}
			for _, c := range chans {
				if strings.HasPrefix(c.ID, "sb-sup-") && strings.HasPrefix(c.Name, "UnicastRTP/") && c.BridgeID != "" {
					for _, o := range chans {
						if strings.HasPrefix(o.ID, with) && o.BridgeID == c.BridgeID {
							leg = c.ID
							return nil
						}
					}
				}
			}
			return fmt.Errorf("no supervisor externalMedia channel bridged with %s* in %+v", with, chans)
		})
		heard := phone.peer.Packets()
		checkFor(t, 10*time.Second, func() error {
			sent, recv, err := sim.RTPStats(leg)
			if err != nil || sent < 10 || recv < 10 || phone.peer.Packets()-heard < 10 {
				return fmt.Errorf("emulator sent %d received %d (%v) on %s; the supervisor's browser heard %d more",
					sent, recv, err, leg, phone.peer.Packets()-heard)
			}
			return nil
		})
	}
	if err := eng.Monitor(ctx, sup.ID, agent1.ID, cti.MonitorListen); err != nil {
		t.Fatal(err)
	}
	supLeg("sb-snoop-")
	for _, c := range sim.Channels() {
		if strings.HasPrefix(c.ID, "sb-sup-") && !strings.HasPrefix(c.Name, "UnicastRTP/") {
			t.Fatalf("a browser supervisor's leg was originated: %+v", c)
		}
	}
	if err := eng.Monitor(ctx, sup.ID, agent1.ID, cti.MonitorStop); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 10*time.Second, func() error {
		for _, c := range sim.Channels() {
			if strings.HasPrefix(c.ID, "sb-sup-") || strings.HasPrefix(c.ID, "sb-snoop-") {
				return fmt.Errorf("%s outlived the monitoring", c.ID)
			}
		}
		return nil
	})
	if err := eng.Monitor(ctx, sup.ID, agent1.ID, cti.MonitorBarge); err != nil {
		t.Fatal(err)
	}
	supLeg(caller)
}

// TestE2EBrowserSupervisorWallboard: the wallboard carries the browser phone of a supervisor whose endpoint is webrtc; once its
// audio test passed in Chromium, the supervisor's barge button puts their externalMedia leg into agent1's call and RTP flows both
// ways between the emulator and the page.
func TestE2EBrowserSupervisorWallboard(t *testing.T) {
	m := startWebRTCSystem(t)
	base, sim := m.URL(), m.sys.sim

	caller := agent1OnCall(t, m, "+8613900000080")

	br := uitest.BrowserWith(t, uitest.MediaFlags)
	wall := uitest.NewTab(t, br)
	uitest.SignIn(t, wall, base, "supervisor", crmstore.DemoSupervisorPassword, "/wall")
	uitest.WaitJS(t, wall, "the supervisor's passed audio test", `document.querySelector('[data-testid=phone]')?.dataset.state === 'ok'`,
		20*time.Second)
	uitest.WaitJS(t, wall, "agent1's barge button", `!!document.querySelector('[data-testid=barge-agent1]')`, 10*time.Second)
	uitest.Click(t, wall, "barge-agent1")
	var leg string
	checkFor(t, 10*time.Second, func() error {
		chans := sim.Channels()
		callerBridge := ""
		for _, c := range chans {
			if c.ID == caller {
				callerBridge = c.BridgeID
			}
		}
		for _, c := range chans {
			if strings.HasPrefix(c.ID, "sb-sup-") && strings.HasPrefix(c.Name, "UnicastRTP/") && c.BridgeID != "" && c.BridgeID == callerBridge {
				leg = c.ID
				return nil
			}
		}
		return fmt.Errorf("no supervisor externalMedia channel in the caller's bridge: %+v", chans)
	})
	checkFor(t, 10*time.Second, func() error {
		sent, recv, err := sim.RTPStats(leg)
		if err != nil || sent < 10 || recv < 10 {
			return fmt.Errorf("RTP on %s: sent %d, received %d (%v)", leg, sent, recv, err)
		}
		return nil
	})
	uitest.Screenshot(t, wall, "webrtc-supervisor-barge")
}

// agent1OnCall signs agent1 (a desk phone, PJSIP/1001) in, makes them Ready, places a phone call from number through the main
// menu and has agent1 accept it; it returns the caller's channel once agent1's phone shares its bridge.
func agent1OnCall(t *testing.T, m *Main, number string) string {
	t.Helper()
	desk1 := signIn(t, m.URL(), "agent1", crmstore.DemoAgentPassword)
	desk1.await("snapshot", 5*time.Second)
	desk1.post("/api/v1/desk/state", cti.StateRequest{Ready: true})
	caller, err := m.sys.sim.Call(arisim.CallSpec{CallerNumber: number, CallerName: "Phone Caller", Dialed: "+18005550100",
		HangupAfter: time.Hour, DTMF: []arisim.Step{{Digits: "1", After: 100 * time.Millisecond, OnMedia: "sound:sb/main-menu"}}})
	if err != nil {
		t.Fatal(err)
	}
	desk1.await("offer", 15*time.Second)
	desk1.post("/api/v1/desk/accept", nil)
	checkFor(t, 10*time.Second, func() error {
		if a, err := m.sys.ari.GetVar(context.Background(), caller, "BRIDGEPEER"); err != nil || !strings.Contains(a, "PJSIP/1001") {
			return fmt.Errorf("the caller's bridge peers are %q (%v), want agent1's phone", a, err)
		}
		return nil
	})
	return caller
}
