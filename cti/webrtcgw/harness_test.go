package webrtcgw_test

import (
	"context"
	"encoding/binary"
	"math"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/switchboard-cc/switchboard/cti/webrtcgw"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var loopback = netip.MustParseAddr("127.0.0.1")

// testConfig is a gateway on loopback only, as every test here runs.
func testConfig() webrtcgw.Config {
	return webrtcgw.Config{AllowLoopback: true, IPs: []netip.Addr{loopback}}
}

// mustGateway starts a gateway closed at the end of the test.
func mustGateway(tb testing.TB, cfg webrtcgw.Config) *webrtcgw.Gateway {
	tb.Helper()
	g, err := webrtcgw.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { g.Close() })
	return g
}

// checkFor polls cond until it holds or d passes.
func checkFor(tb testing.TB, d time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// browser is an in-process pion peer standing in for Chromium: PCMU only, loopback candidates, no mDNS.
type browser struct {
	pc    *webrtc.PeerConnection
	track *webrtc.TrackLocalStaticRTP
	seq   uint16
	ts    uint32
	phase int

	mu        sync.Mutex
	sent      [][]byte // payloads
	got       []*rtp.Packet
	connected chan struct{}
	onPacket  func(*rtp.Packet)
	wg        sync.WaitGroup
}

func browserAPI(tb testing.TB) *webrtc.API {
	tb.Helper()
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtcgw.PCMU, webrtc.RTPCodecTypeAudio); err != nil {
		tb.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se))
}

// cutConn is a browser's network that a test can cut: writes vanish, reads see nothing.
type cutConn struct {
	net.PacketConn
	cut atomic.Bool
}

func (c *cutConn) WriteTo(b []byte, addr net.Addr) (int, error) {
	if c.cut.Load() {
		return len(b), nil
	}
	return c.PacketConn.WriteTo(b, addr)
}

func (c *cutConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(b)
		if err != nil || !c.cut.Load() {
			return n, addr, err
		}
	}
}

// cuttableBrowserAPI is browserAPI with all of the browser's ICE traffic on one socket the test can cut.
func cuttableBrowserAPI(tb testing.TB) (*webrtc.API, *cutConn) {
	tb.Helper()
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtcgw.PCMU, webrtc.RTPCodecTypeAudio); err != nil {
		tb.Fatal(err)
	}
	udp, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	c := &cutConn{PacketConn: udp}
	mux := webrtc.NewICEUDPMux(nil, c)
	tb.Cleanup(func() { mux.Close() })
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEUDPMux(mux)
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se)), c
}

func newBrowser(tb testing.TB, api *webrtc.API) *browser {
	tb.Helper()
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		tb.Fatal(err)
	}
	track, err := webrtc.NewTrackLocalStaticRTP(webrtcgw.PCMU.RTPCodecCapability, "mic", "browser")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := pc.AddTrack(track); err != nil {
		tb.Fatal(err)
	}
	b := &browser{pc: pc, track: track, seq: 1000, ts: 50000, connected: make(chan struct{})}
	var once sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(b.connected) })
		}
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		b.wg.Add(1)
		defer b.wg.Done()
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			b.mu.Lock()
			b.got = append(b.got, p)
			f := b.onPacket
			b.mu.Unlock()
			if f != nil {
				f(p)
			}
		}
	})
	tb.Cleanup(b.close)
	return b
}

func (b *browser) close() {
	b.pc.Close()
	b.wg.Wait()
}

// offer returns a complete (non-trickle) offer.
func (b *browser) offer(tb testing.TB) string {
	tb.Helper()
	o, err := b.pc.CreateOffer(nil)
	if err != nil {
		tb.Fatal(err)
	}
	done := webrtc.GatheringCompletePromise(b.pc)
	if err := b.pc.SetLocalDescription(o); err != nil {
		tb.Fatal(err)
	}
	<-done
	return b.pc.LocalDescription().SDP
}

func (b *browser) accept(tb testing.TB, answer string) {
	tb.Helper()
	if err := b.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		tb.Fatal(err)
	}
}

// dial connects b to a new leg of g and waits until both ends are connected.
func dial(tb testing.TB, g *webrtcgw.Gateway, b *browser, opts webrtcgw.LegOptions) *webrtcgw.Leg {
	tb.Helper()
	leg, err := g.NewLeg(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { leg.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	answer, err := leg.Answer(ctx, b.offer(tb))
	if err != nil {
		tb.Fatal(err)
	}
	b.accept(tb, answer)
	select {
	case <-b.connected:
	case <-ctx.Done():
		tb.Fatal("browser did not connect")
	}
	checkFor(tb, 5*time.Second, "leg connected", func() bool { return leg.State() == webrtcgw.StateConnected })
	return leg
}

// tone returns n µ-law samples of a 440 Hz tone starting at sample phase.
func tone(phase, n int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = ulaw(int16(3000 * math.Sin(2*math.Pi*440*float64(phase+i)/8000)))
	}
	return out
}

func ulaw(sample int16) byte {
	const bias, clip = 0x84, 32635
	sign, s := byte(0), int(sample)
	if s < 0 {
		s, sign = -s, 0x80
	}
	s = min(s, clip) + bias
	exp := 7
	for mask := 0x4000; s&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	return ^(sign | byte(exp<<4) | byte((s>>(exp+3))&0x0f))
}

// send sends one 20 ms packet of tone (160 samples) and remembers its payload.
func (b *browser) send(tb testing.TB) {
	tb.Helper()
	payload := tone(b.phase, 160)
	b.phase += 160
	if err := b.track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: b.seq, Timestamp: b.ts}, Payload: payload}); err != nil {
		tb.Fatal(err)
	}
	b.seq++
	b.ts += 160
	b.mu.Lock()
	b.sent = append(b.sent, payload)
	b.mu.Unlock()
}

// talk sends n packets paced every 20 ms, as a browser's audio does.
func (b *browser) talk(tb testing.TB, n int) {
	tb.Helper()
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for range n {
		b.send(tb)
		<-t.C
	}
}

func (b *browser) received() []*rtp.Packet {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]*rtp.Packet(nil), b.got...)
}

func (b *browser) sentPayloads() [][]byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([][]byte(nil), b.sent...)
}

// pbx is a plain UDP RTP peer standing in for Asterisk's externalMedia channel.
type pbx struct {
	conn  *net.UDPConn
	mu    sync.Mutex
	got   []*rtp.Packet
	from  []netip.AddrPort
	sent  [][]byte
	seq   uint16
	ts    uint32
	phase int
	wg    sync.WaitGroup
}

func newPBX(tb testing.TB) *pbx {
	tb.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	p := &pbx{conn: conn, seq: 7, ts: 1234}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		buf := make([]byte, 1500)
		for {
			n, from, err := conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			var pkt rtp.Packet
			if err := pkt.Unmarshal(append([]byte(nil), buf[:n]...)); err != nil {
				continue
			}
			p.mu.Lock()
			p.got = append(p.got, &pkt)
			p.from = append(p.from, from)
			p.mu.Unlock()
		}
	}()
	tb.Cleanup(func() { conn.Close(); p.wg.Wait() })
	return p
}

func (p *pbx) addr() string { return p.conn.LocalAddr().String() }

// send sends one packet as Asterisk does to externalMedia: PCMU, 240-byte payload (30 ms).
func (p *pbx) send(tb testing.TB, to netip.AddrPort) {
	tb.Helper()
	payload := tone(p.phase, 240)
	p.phase += 240
	pkt := make([]byte, 12+len(payload))
	pkt[0] = 0x80
	binary.BigEndian.PutUint16(pkt[2:], p.seq)
	binary.BigEndian.PutUint32(pkt[4:], p.ts)
	binary.BigEndian.PutUint32(pkt[8:], 0x28f3b3f5)
	copy(pkt[12:], payload)
	if _, err := p.conn.WriteToUDPAddrPort(pkt, to); err != nil {
		tb.Fatal(err)
	}
	p.seq++
	p.ts += 240
	p.mu.Lock()
	p.sent = append(p.sent, payload)
	p.mu.Unlock()
}

func (p *pbx) received() []*rtp.Packet {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*rtp.Packet(nil), p.got...)
}
