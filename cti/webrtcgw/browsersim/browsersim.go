// Package browsersim plays the browser's side of WebRTC calls for load measurements: pion PeerConnections that offer PCMU with
// loopback host candidates only, send 20 ms µ-law packets paced like a microphone with their send time stamped in the payload,
// and count what they hear by sequence number. It lives under cti/webrtcgw because that tree is the only importer of pion;
// signalling (tokens, websockets) is the caller's.
package browsersim

import (
	"context"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// pcmu is the gateway's one codec (webrtcgw.PCMU): G.711 µ-law, static payload type 0. It is repeated here because adapters'
// packages do not import each other.
var pcmu = webrtc.RTPCodecParameters{
	RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypePCMU, ClockRate: 8000, Channels: 1},
	PayloadType:        0,
}

// PayloadSize is one packet's µ-law: 20 ms at 8 kHz.
const PayloadSize = 160

var magic = [4]byte{'S', 'B', 'B', 'S'}

// Stamp writes the marker, the measured flag and t into payload (at least 13 bytes).
func Stamp(payload []byte, measured bool, t time.Time) {
	copy(payload, magic[:])
	payload[4] = 0
	if measured {
		payload[4] = 1
	}
	binary.BigEndian.PutUint64(payload[5:], uint64(t.UnixNano()))
}

// ReadStamp reads the stamp of a whole RTP packet as it arrives at the far end; ok is false for packets without one.
func ReadStamp(packet []byte) (sent time.Time, measured, ok bool) {
	if len(packet) < 12 || packet[0]>>6 != 2 {
		return time.Time{}, false, false
	}
	n := 12 + 4*int(packet[0]&0x0f)
	if packet[0]&0x10 != 0 {
		if len(packet) < n+4 {
			return time.Time{}, false, false
		}
		n += 4 + 4*int(binary.BigEndian.Uint16(packet[n+2:]))
	}
	p := packet[min(n, len(packet)):]
	if len(p) < 13 || [4]byte(p[:4]) != magic {
		return time.Time{}, false, false
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(p[5:]))), p[4] == 1, true
}

// Browsers makes peers that share one pion API and one measuring switch.
type Browsers struct {
	api       *webrtc.API
	measuring atomic.Bool
	sent      atomic.Int64 // packets sent while measuring
}

// New returns browsers that gather loopback UDP4 host candidates only (no mDNS), as Chromium does in tests.
func New() (*Browsers, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(pcmu, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	return &Browsers{api: webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se))}, nil
}

// Measure starts or stops the window in which sent packets are flagged and counted, and heard ones counted.
func (b *Browsers) Measure(on bool) { b.measuring.Store(on) }

// Sent is the number of packets sent while measuring, by every peer.
func (b *Browsers) Sent() int64 { return b.sent.Load() }

// Peer is one browser's PeerConnection with a microphone track.
type Peer struct {
	b     *Browsers
	pc    *webrtc.PeerConnection
	track *webrtc.TrackLocalStaticRTP
	stop  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup

	packets atomic.Int64 // every packet heard

	mu                      sync.Mutex
	started                 bool
	first, last, heardCount int64 // extended sequence numbers heard while measuring, and how many
	lastSeq                 uint16
}

// NewPeer creates a peer and returns it with its complete offer (every candidate in the SDP).
func (b *Browsers) NewPeer(ctx context.Context) (*Peer, string, error) {
	pc, err := b.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, "", err
	}
	p := &Peer{b: b, pc: pc, stop: make(chan struct{})}
	if p.track, err = webrtc.NewTrackLocalStaticRTP(pcmu.RTPCodecCapability, "mic", "browsersim"); err != nil {
		pc.Close()
		return nil, "", err
	}
	if _, err := pc.AddTrack(p.track); err != nil {
		pc.Close()
		return nil, "", err
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { p.hear(tr) })
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		pc.Close()
		return nil, "", err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		pc.Close()
		return nil, "", err
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		pc.Close()
		return nil, "", ctx.Err()
	}
	return p, pc.LocalDescription().SDP, nil
}

// Accept applies the gateway's answer and starts the microphone: a packet every 20 ms until Close.
func (p *Peer) Accept(answer string) error {
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		return err
	}
	p.wg.Go(p.talk)
	return nil
}

func (p *Peer) talk() {
	// A random phase, as independent browsers have: no burst of every peer at once.
	select {
	case <-time.After(rand.N(20 * time.Millisecond)):
	case <-p.stop:
		return
	}
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(rand.Uint32()),
		Timestamp: rand.Uint32(), SSRC: rand.Uint32()}, Payload: make([]byte, PayloadSize)}
	for i := range pkt.Payload {
		pkt.Payload[i] = 0xff // µ-law silence
	}
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		measured := p.b.measuring.Load()
		if measured {
			p.b.sent.Add(1) // before the write: the far end can never count a packet not yet counted here
		}
		Stamp(pkt.Payload, measured, time.Now())
		if err := p.track.WriteRTP(pkt); err != nil && measured {
			p.b.sent.Add(-1)
		}
		pkt.SequenceNumber++
		pkt.Timestamp += PayloadSize
	}
}

// hear counts the far end's packets heard while measuring, by sequence number.
func (p *Peer) hear(tr *webrtc.TrackRemote) {
	// This is pion's OnTrack goroutine: it ends when the PeerConnection closes.
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		p.packets.Add(1)
		if !p.b.measuring.Load() {
			continue
		}
		p.mu.Lock()
		if !p.started {
			p.started, p.first, p.last, p.lastSeq = true, 0, 0, pkt.SequenceNumber
		} else {
			ext := p.last + int64(int16(pkt.SequenceNumber-p.lastSeq))
			if ext > p.last {
				p.last, p.lastSeq = ext, pkt.SequenceNumber
			}
			p.first = min(p.first, ext)
		}
		p.heardCount++
		p.mu.Unlock()
	}
}

// Heard returns how many packets the far end sent in the measured window by their sequence numbers, and how many came.
func (p *Peer) Heard() (expected, received int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.started {
		return 0, 0
	}
	return p.last - p.first + 1, p.heardCount
}

// Packets is the number of packets heard since the peer started, measured or not.
func (p *Peer) Packets() int64 { return p.packets.Load() }

// Connected reports whether ICE and DTLS are up.
func (p *Peer) Connected() bool { return p.pc.ConnectionState() == webrtc.PeerConnectionStateConnected }

// Close stops the microphone and the PeerConnection and waits for the peer's goroutines.
func (p *Peer) Close() error {
	var err error
	p.once.Do(func() {
		close(p.stop)
		err = p.pc.Close()
		p.wg.Wait()
	})
	return err
}
