package webrtcgw_test

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/switchboard-cc/switchboard/cti"
	"github.com/switchboard-cc/switchboard/cti/webrtcgw"
)

// events collects a leg's events for assertions.
type events struct {
	mu  sync.Mutex
	all []webrtcgw.Event
}

func (e *events) add(ev webrtcgw.Event) {
	e.mu.Lock()
	e.all = append(e.all, ev)
	e.mu.Unlock()
}

func (e *events) has(kind webrtcgw.EventKind, match func(webrtcgw.Event) bool) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.ContainsFunc(e.all, func(ev webrtcgw.Event) bool { return ev.Kind == kind && (match == nil || match(ev)) })
}

func (e *events) states() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.all {
		if ev.Kind == webrtcgw.EventState {
			out = append(out, ev.State.String())
		}
	}
	return out
}

// checkStream asserts that pkts are one stream: one SSRC, consecutive sequence numbers, timestamps advancing by step.
func checkStream(t *testing.T, what string, pkts []*rtp.Packet, step uint32) {
	t.Helper()
	for i := 1; i < len(pkts); i++ {
		a, b := pkts[i-1], pkts[i]
		if b.SSRC != a.SSRC || b.SequenceNumber != a.SequenceNumber+1 || b.Timestamp != a.Timestamp+step {
			t.Fatalf("%s: packet %d: ssrc %08x seq %d ts %d after ssrc %08x seq %d ts %d", what, i, b.SSRC, b.SequenceNumber, b.Timestamp,
				a.SSRC, a.SequenceNumber, a.Timestamp)
		}
	}
}

func checkPayloads(t *testing.T, what string, got []*rtp.Packet, want [][]byte) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d packets, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i].PayloadType != 0 || !bytes.Equal(got[i].Payload, want[i]) {
			t.Fatalf("%s: packet %d: payload type %d, payload differs: %v", what, i, got[i].PayloadType, !bytes.Equal(got[i].Payload, want[i]))
		}
	}
}

// The main path: browser ⇄ gateway ⇄ a UDP peer standing in for Asterisk, both ways, one for one, payloads unchanged.
func TestBridgeBothWays(t *testing.T) {
	g := mustGateway(t, testConfig())
	var ev events
	b := newBrowser(t, browserAPI(t))
	leg := dial(t, g, b, webrtcgw.LegOptions{ID: "call-1", OnEvent: ev.add})
	if got := leg.LocalRTPAddr(); got.Addr() != loopback || got.Port() == 0 {
		t.Fatalf("LocalRTPAddr %v", got)
	}
	p := newPBX(t)
	if err := leg.SetRemote(p.addr()); err != nil {
		t.Fatal(err)
	}

	const n = 25 // half a second of audio each way
	var wg sync.WaitGroup
	wg.Go(func() { b.talk(t, n) })
	wg.Go(func() {
		tk := time.NewTicker(30 * time.Millisecond)
		defer tk.Stop()
		for range n {
			p.send(t, leg.LocalRTPAddr())
			<-tk.C
		}
	})
	wg.Wait()
	checkFor(t, 2*time.Second, "every packet", func() bool { return len(p.received()) == n && len(b.received()) == n })

	toPBX := p.received()
	checkPayloads(t, "to asterisk", toPBX, b.sentPayloads())
	checkStream(t, "to asterisk", toPBX, 160)
	p.mu.Lock()
	for _, from := range p.from {
		if from != leg.LocalRTPAddr() {
			t.Fatalf("packet from %v, want the leg's one socket %v (symmetric RTP)", from, leg.LocalRTPAddr())
		}
	}
	p.mu.Unlock()
	toBrowser := b.received()
	checkPayloads(t, "to browser", toBrowser, p.sent)
	checkStream(t, "to browser", toBrowser, 240)

	st := leg.Stats()
	if st.FromBrowser.Packets != n || st.ToPBX != n || st.FromPBX.Packets != n || st.ToBrowser != n {
		t.Errorf("stats %+v", st)
	}
	if st.FromBrowser.Lost != 0 || st.FromPBX.Lost != 0 || st.FromBrowser.Bytes != n*160 || st.FromPBX.Bytes != n*240 {
		t.Errorf("stats %+v", st)
	}
	if st.FromBrowser.Last.IsZero() || st.FromBrowser.Jitter > 20*time.Millisecond {
		t.Errorf("stats %+v", st)
	}
	if got := ev.states(); !slices.Contains(got, "connected") {
		t.Errorf("states %v, want connected among them", got)
	}
}

// Without SetRemote the leg latches on the first packet's source and then ignores any other source.
func TestSymmetricRTPLatch(t *testing.T) {
	g := mustGateway(t, testConfig())
	var ev events
	b := newBrowser(t, browserAPI(t))
	leg := dial(t, g, b, webrtcgw.LegOptions{ID: "latch", OnEvent: ev.add})
	p, intruder := newPBX(t), newPBX(t)

	b.send(t) // nowhere to go yet: dropped
	checkFor(t, 2*time.Second, "browser's first packet", func() bool { return leg.Stats().FromBrowser.Packets == 1 })
	p.send(t, leg.LocalRTPAddr())
	checkFor(t, 2*time.Second, "latched", func() bool { return leg.Remote().String() == p.addr() })
	checkFor(t, time.Second, "latch event", func() bool {
		return ev.has(webrtcgw.EventRemoteLatched, func(e webrtcgw.Event) bool { return e.Remote == p.addr() })
	})
	intruder.send(t, leg.LocalRTPAddr())
	p.send(t, leg.LocalRTPAddr())
	b.send(t)
	checkFor(t, 2*time.Second, "browser's second packet", func() bool { return len(p.received()) == 1 })
	checkFor(t, 2*time.Second, "pbx's two packets", func() bool { return len(b.received()) == 2 })
	time.Sleep(50 * time.Millisecond)
	if got := b.received(); len(got) != 2 || !bytes.Equal(got[1].Payload, p.sent[1]) {
		t.Fatalf("browser got %d packets; the intruder's must be dropped", len(got))
	}
	if st := leg.Stats(); st.FromBrowser.Packets != 2 || st.ToPBX != 1 {
		t.Errorf("stats %+v: the packet before the latch is counted and dropped", st)
	}
}

// Media timeout fires when the browser goes quiet after connecting, and resumes when it talks again.
func TestMediaTimeout(t *testing.T) {
	cfg := testConfig()
	cfg.MediaTimeout = 150 * time.Millisecond
	g := mustGateway(t, cfg)
	var ev events
	b := newBrowser(t, browserAPI(t))
	leg := dial(t, g, b, webrtcgw.LegOptions{ID: "quiet", OnEvent: ev.add})
	fromBrowser := func(e webrtcgw.Event) bool { return e.From == webrtcgw.FromBrowser && e.Leg == "quiet" }
	checkFor(t, 2*time.Second, "media timeout", func() bool { return ev.has(webrtcgw.EventMediaTimeout, fromBrowser) })
	if ev.has(webrtcgw.EventMediaTimeout, func(e webrtcgw.Event) bool { return e.From == webrtcgw.FromPBX }) {
		t.Error("the Asterisk side timed out before it ever sent")
	}
	_ = leg
	b.talk(t, 3)
	checkFor(t, 2*time.Second, "media resumed", func() bool { return ev.has(webrtcgw.EventMediaResumed, fromBrowser) })
}

// When the browser goes away without a word, ICE reports disconnected, then failed.
func TestICEStateCallbacks(t *testing.T) {
	cfg := testConfig()
	cfg.ICEDisconnectedTimeout, cfg.ICEFailedTimeout = 300*time.Millisecond, 600*time.Millisecond
	g := mustGateway(t, cfg)
	var ev events
	api, network := cuttableBrowserAPI(t)
	b := newBrowser(t, api)
	leg := dial(t, g, b, webrtcgw.LegOptions{ID: "ice", OnEvent: ev.add})
	network.cut.Store(true) // the browser's network is gone: no consent answers, no DTLS close
	checkFor(t, 5*time.Second, "failed", func() bool { return leg.State() == webrtcgw.StateFailed })
	if got, want := strings.Join(ev.states(), " "), "connecting connected disconnected failed"; got != want {
		t.Errorf("states %q, want %q", got, want)
	}
}

// A browser that hangs up (closes its RTCPeerConnection) is seen at once as closed, by its DTLS close.
func TestBrowserCloses(t *testing.T) {
	g := mustGateway(t, testConfig())
	var ev events
	b := newBrowser(t, browserAPI(t))
	leg := dial(t, g, b, webrtcgw.LegOptions{ID: "bye", OnEvent: ev.add})
	b.pc.Close()
	checkFor(t, 2*time.Second, "closed", func() bool { return leg.State() == webrtcgw.StateClosed })
	checkFor(t, 2*time.Second, "closed event", func() bool {
		return ev.has(webrtcgw.EventState, func(e webrtcgw.Event) bool { return e.State == webrtcgw.StateClosed })
	})
	if got, want := strings.Join(ev.states(), " "), "connecting connected closed"; got != want {
		t.Errorf("states %q, want %q", got, want)
	}
}

// The loop test of media-verified Ready: the browser's audio comes back to it through the gateway's RTP socket.
func TestLoop(t *testing.T) {
	g := mustGateway(t, testConfig())
	b := newBrowser(t, browserAPI(t))
	leg := dial(t, g, b, webrtcgw.LegOptions{ID: "agent-7"})
	leg.StartLoop()
	const n = 20
	b.talk(t, n)
	checkFor(t, 2*time.Second, "echo", func() bool { return len(b.received()) == n })
	rep := leg.StopLoop()
	t.Logf("loop report %+v", rep)
	if rep.Sent != n || rep.Returned != n || rep.LoopP50 <= 0 || rep.LoopMax < rep.LoopP50 || rep.LoopMax > time.Second {
		t.Errorf("report %+v", rep)
	}
	checkPayloads(t, "echo", b.received(), b.sentPayloads())
	checkStream(t, "echo", b.received(), 160)
	if leg.Remote().IsValid() {
		t.Error("StopLoop kept the loop address")
	}
	// The standing leg is then bridged to a call.
	p := newPBX(t)
	leg.SetRemote(p.addr())
	b.talk(t, 2)
	checkFor(t, 2*time.Second, "after the loop", func() bool { return len(p.received()) == 2 })
}

// A reconnect replaces the browser connection; Asterisk keeps seeing one stream from one socket.
func TestReconnectKeepsStream(t *testing.T) {
	g := mustGateway(t, testConfig())
	api := browserAPI(t)
	b1 := newBrowser(t, api)
	leg := dial(t, g, b1, webrtcgw.LegOptions{ID: "re"})
	p := newPBX(t)
	leg.SetRemote(p.addr())
	b1.talk(t, 5)
	checkFor(t, 2*time.Second, "first browser", func() bool { return len(p.received()) == 5 })

	b2 := newBrowser(t, api)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	answer, err := leg.Reconnect(ctx, b2.offer(t))
	if err != nil {
		t.Fatal(err)
	}
	b2.accept(t, answer)
	<-b2.connected
	checkFor(t, 5*time.Second, "connected again", func() bool { return leg.State() == webrtcgw.StateConnected })
	b2.talk(t, 5)
	checkFor(t, 2*time.Second, "second browser", func() bool { return len(p.received()) == 10 })
	got := p.received()
	for i := 1; i < len(got); i++ {
		if got[i].SSRC != got[0].SSRC || got[i].SequenceNumber != got[i-1].SequenceNumber+1 || got[i].Timestamp <= got[i-1].Timestamp {
			t.Fatalf("packet %d: ssrc %08x seq %d ts %d after seq %d ts %d", i, got[i].SSRC, got[i].SequenceNumber, got[i].Timestamp,
				got[i-1].SequenceNumber, got[i-1].Timestamp)
		}
	}
	if !got[5].Marker {
		t.Error("the first packet of the new source should carry the marker bit")
	}
}

// A restarted controller's leg binds the address the PBX already sends to (LegOptions.RTPAddr): the PBX's side is untouched
// and media flows both ways with the new browser connection. An address that another socket holds is refused.
func TestRebindRTPAddr(t *testing.T) {
	g1 := mustGateway(t, testConfig())
	b1 := newBrowser(t, browserAPI(t))
	leg1 := dial(t, g1, b1, webrtcgw.LegOptions{ID: "before"})
	addr := leg1.LocalRTPAddr()
	p := newPBX(t)
	if err := leg1.SetRemote(p.addr()); err != nil {
		t.Fatal(err)
	}
	p.send(t, addr)
	checkFor(t, 2*time.Second, "first browser hears the pbx", func() bool { return len(b1.received()) == 1 })
	if err := g1.Close(); err != nil { // the process ends
		t.Fatal(err)
	}

	g2 := mustGateway(t, testConfig())
	b2 := newBrowser(t, browserAPI(t))
	leg2 := dial(t, g2, b2, webrtcgw.LegOptions{ID: "after", RTPAddr: addr})
	if got := leg2.LocalRTPAddr(); got != addr {
		t.Fatalf("LocalRTPAddr %v, want the old leg's %v", got, addr)
	}
	if err := leg2.SetRemote(p.addr()); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		p.send(t, addr) // the PBX sends where it always did
	}
	b2.talk(t, 5)
	checkFor(t, 2*time.Second, "both ways through the rebound address", func() bool {
		return len(b2.received()) == 5 && len(p.received()) == 5
	})
	p.mu.Lock()
	for _, from := range p.from {
		if from != addr {
			t.Errorf("packet from %v, want %v", from, addr)
		}
	}
	p.mu.Unlock()

	if _, err := g2.NewLeg(webrtcgw.LegOptions{ID: "taken", RTPAddr: addr}); cti.ErrorCode(err) != cti.EUNAVAILABLE {
		t.Errorf("NewLeg on a held address: %v, want %s", err, cti.EUNAVAILABLE)
	}
	if _, err := g2.NewLeg(webrtcgw.LegOptions{ID: "noport", RTPAddr: netip.AddrPortFrom(loopback, 0)}); cti.ErrorCode(err) != cti.EINVALID {
		t.Errorf("NewLeg without a port: %v, want %s", err, cti.EINVALID)
	}
	if g2.Legs() != 1 {
		t.Errorf("Legs %d after the refusals, want 1", g2.Legs())
	}
}

// Close releases the RTP socket (the port can be bound again) and the gateway forgets the leg.
func TestCloseReleases(t *testing.T) {
	g := mustGateway(t, testConfig())
	b := newBrowser(t, browserAPI(t))
	leg := dial(t, g, b, webrtcgw.LegOptions{ID: "bye"})
	addr := leg.LocalRTPAddr()
	if g.Legs() != 1 {
		t.Fatalf("Legs %d", g.Legs())
	}
	if err := leg.Close(); err != nil {
		t.Fatal(err)
	}
	if err := leg.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if g.Legs() != 0 {
		t.Fatalf("Legs %d after Close", g.Legs())
	}
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(addr))
	if err != nil {
		t.Fatalf("RTP port still held: %v", err)
	}
	c.Close()
	if _, err := leg.Answer(context.Background(), newBrowser(t, browserAPI(t)).offer(t)); cti.ErrorCode(err) != cti.EUNAVAILABLE {
		t.Errorf("Answer after Close: %v", err)
	}
	g.Close()
	if _, err := g.NewLeg(webrtcgw.LegOptions{}); cti.ErrorCode(err) != cti.EUNAVAILABLE {
		t.Errorf("NewLeg after Close: %v", err)
	}
}

// An offer without PCMU is refused before pion sees it; so are bad configs.
func TestRejects(t *testing.T) {
	g := mustGateway(t, testConfig())
	leg, err := g.NewLeg(webrtcgw.LegOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer leg.Close()
	opusOnly := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\n"
	if _, err := leg.Answer(context.Background(), opusOnly); cti.ErrorCode(err) != cti.EINVALID || !strings.Contains(err.Error(), "PCMU") {
		t.Errorf("opus-only offer: %v", err)
	}
	if _, err := leg.Answer(context.Background(), "hello"); cti.ErrorCode(err) != cti.EINVALID {
		t.Errorf("garbage offer: %v", err)
	}
	if err := leg.SetRemote("asterisk"); cti.ErrorCode(err) != cti.EINVALID {
		t.Errorf("SetRemote: %v", err)
	}
	for _, cfg := range []webrtcgw.Config{
		{UDPPortMin: 20000, UDPPortMax: 10000},
		{UDPPortMax: 10000},
		{ICEServers: []webrtcgw.ICEServer{{}}},
	} {
		if _, err := webrtcgw.New(cfg); cti.ErrorCode(err) != cti.EINVALID {
			t.Errorf("New(%+v): %v", cfg, err)
		}
	}
}

// The port range and the shared mux port both yield host candidates where configured.
func TestCandidatePorts(t *testing.T) {
	t.Run("range", func(t *testing.T) {
		cfg := testConfig()
		cfg.UDPPortMin, cfg.UDPPortMax = 41000, 41999
		g := mustGateway(t, cfg)
		b := newBrowser(t, browserAPI(t))
		leg := dial(t, g, b, webrtcgw.LegOptions{})
		checkCandidatePort(t, b, func(p uint16) bool { return p >= 41000 && p <= 41999 })
		_ = leg
	})
	t.Run("mux", func(t *testing.T) {
		cfg := testConfig()
		cfg.UDPMuxPort = 42123
		g := mustGateway(t, cfg)
		b1, b2 := newBrowser(t, browserAPI(t)), newBrowser(t, browserAPI(t))
		dial(t, g, b1, webrtcgw.LegOptions{})
		dial(t, g, b2, webrtcgw.LegOptions{})
		checkCandidatePort(t, b1, func(p uint16) bool { return p == 42123 })
		checkCandidatePort(t, b2, func(p uint16) bool { return p == 42123 })
	})
}

func checkCandidatePort(t *testing.T, b *browser, ok func(uint16) bool) {
	t.Helper()
	sdp := b.pc.RemoteDescription().SDP
	n := 0
	for line := range strings.SplitSeq(sdp, "\r\n") {
		if !strings.HasPrefix(line, "a=candidate:") {
			continue
		}
		f := strings.Fields(line)
		ap, err := netip.ParseAddrPort(f[4] + ":" + f[5])
		if err != nil {
			t.Fatal(line, err)
		}
		if !ap.Addr().IsLoopback() || !ok(ap.Port()) {
			t.Errorf("candidate %s", line)
		}
		n++
	}
	if n == 0 {
		t.Fatalf("no candidates in the answer:\n%s", sdp)
	}
}
