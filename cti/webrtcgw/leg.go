package webrtcgw

import (
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/switchboard-cc/switchboard/cti"
)

// LegOptions configures one Leg.
type LegOptions struct {
	// ID names the leg in events and logs: the engine's id for it (its externalMedia channel id, say).
	ID string
	// OnEvent receives the leg's events in order on the leg's own goroutine; it should hand them to the engine's inbox and return.
	OnEvent func(Event)
	// OnCandidate, when set, makes the leg trickle: Answer returns at once and each local candidate is passed here as it is
	// gathered, then one with an empty Candidate string for the end of gathering. When nil, Answer waits for gathering and returns an
	// answer that holds every candidate (host candidates take milliseconds; STUN/TURN up to their timeouts).
	OnCandidate func(Candidate)
	// RTPAddr, when valid, is the address the leg's RTP socket binds instead of an ephemeral port on Config.RTPHost: a restarted
	// controller binds the address an externalMedia channel already sends to (its external_host), so the call's media goes on
	// without touching the channel. EUNAVAILABLE when it cannot be bound (another socket holds it).
	RTPAddr netip.AddrPort
}

// Candidate is an ICE candidate as the browser's RTCIceCandidate.toJSON() writes it.
type Candidate struct {
	Candidate        string  `json:"candidate"`
	SDPMid           *string `json:"sdpMid,omitempty"`
	SDPMLineIndex    *uint16 `json:"sdpMLineIndex,omitempty"`
	UsernameFragment *string `json:"usernameFragment,omitempty"`
}

// Leg is the media of one browser: its PeerConnection and its RTP socket toward Asterisk. Its methods are safe for concurrent use.
type Leg struct {
	g     *Gateway
	id    string
	opts  LegOptions
	conn  *net.UDPConn
	local netip.AddrPort
	track *webrtc.TrackLocalStaticRTP
	clock cti.Clock

	mu          sync.Mutex
	negotiating sync.Mutex // one offer/answer at a time
	pc          *webrtc.PeerConnection
	gen         int // which PeerConnection is current: callbacks of replaced ones are ignored
	state       ConnState
	connectedAt time.Time
	closed      bool

	remote atomic.Pointer[netip.AddrPort] // Asterisk's RTP address; nil until set or latched

	toPBX, toBrowser rewriter // one outgoing stream per direction
	fromBrowser      streamStats
	fromPBX          streamStats
	sentPBX, sentBr  atomic.Uint64
	droppedEvents    atomic.Uint64

	loop      atomic.Bool
	loopDrain atomic.Bool        // StopLoop is waiting for the loop's packets in flight: the browser's new packets are not sent
	sentAt    [1024]atomic.Int64 // loop test: when the packet with this outgoing sequence number (mod 1024) left, unix ns
	loopMu    sync.Mutex
	loopRTT   []time.Duration
	loopRef   [2]uint64 // sentPBX, sentBr when the loop started

	events chan Event
	done   chan struct{}
	wg     sync.WaitGroup
}

// NewLeg opens a leg's RTP socket (on Config.RTPHost, or LegOptions.RTPAddr) and starts its goroutines; the browser connection
// comes with Answer.
func (g *Gateway) NewLeg(o LegOptions) (*Leg, error) {
	bind := netip.AddrPortFrom(g.cfg.RTPHost, 0)
	if o.RTPAddr.IsValid() {
		if o.RTPAddr.Port() == 0 {
			return nil, cti.Invalid("RTPAddr", "needs a port, got %s", o.RTPAddr)
		}
		bind = o.RTPAddr
	}
	conn, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(bind))
	if err != nil {
		return nil, cti.Errorf(cti.EUNAVAILABLE, "RTP socket on %s: %v", bind, err)
	}
	// Room for a few seconds of a stalled reader (a busy machine, a GC) at 50 packets a second: the kernel's default buffer
	// holds little more than a hundred small datagrams. Best effort: the kernel caps it at net.core.rmem_max.
	_ = conn.SetReadBuffer(rtpReadBuffer)
	track, err := webrtc.NewTrackLocalStaticRTP(PCMU.RTPCodecCapability, "audio", "switchboard")
	if err != nil {
		conn.Close()
		return nil, cti.Internal(err, "audio track")
	}
	l := &Leg{
		g: g, id: o.ID, opts: o, conn: conn, track: track, clock: g.cfg.Clock,
		local:     conn.LocalAddr().(*net.UDPAddr).AddrPort(),
		toPBX:     newRewriter(),
		toBrowser: newRewriter(),
		events:    make(chan Event, 64),
		done:      make(chan struct{}),
	}
	if err := g.add(l); err != nil {
		conn.Close()
		return nil, err
	}
	l.wg.Add(2)
	go l.readPBX()
	go l.control()
	return l, nil
}

// ID returns LegOptions.ID.
func (l *Leg) ID() string { return l.id }

// LocalRTPAddr is the leg's Asterisk-facing RTP address: externalMedia's external_host.
func (l *Leg) LocalRTPAddr() netip.AddrPort { return l.local }

// SetRemote sets Asterisk's RTP address ("127.0.0.1:10110", from ExternalMedia or UNICASTRTP_LOCAL_ADDRESS/PORT); from then on only
// packets from there are accepted. An empty hostPort forgets the address: the leg drops what the browser sends and latches on
// the next packet it receives (an agent's standing leg between calls).
func (l *Leg) SetRemote(hostPort string) error {
	if hostPort == "" {
		l.remote.Store(nil)
		return nil
	}
	ap, err := netip.ParseAddrPort(hostPort)
	if err != nil {
		return cti.Invalid("remote", "not an IP address and port: %q", hostPort)
	}
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	l.remote.Store(&ap)
	return nil
}

// Remote returns Asterisk's RTP address, set or latched; invalid when not known yet.
func (l *Leg) Remote() netip.AddrPort {
	if r := l.remote.Load(); r != nil {
		return *r
	}
	return netip.AddrPort{}
}

// State returns the browser connection's state.
func (l *Leg) State() ConnState {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state
}

// Stats returns the leg's traffic so far.
func (l *Leg) Stats() Stats {
	return Stats{
		FromBrowser: l.fromBrowser.get(), FromPBX: l.fromPBX.get(),
		ToPBX: l.sentPBX.Load(), ToBrowser: l.sentBr.Load(),
		DroppedEvents: l.droppedEvents.Load(),
	}
}

// Answer applies the browser's offer and returns the answer SDP. The first offer creates the PeerConnection; a later one on the
// same leg renegotiates it (an ICE restart after "disconnected", rule 1 in the package doc).
func (l *Leg) Answer(ctx context.Context, offer string) (string, error) {
	if err := checkOffer(offer); err != nil {
		return "", err
	}
	l.negotiating.Lock()
	defer l.negotiating.Unlock()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return "", ErrClosed
	}
	pc := l.pc
	if pc == nil {
		var err error
		if pc, err = l.newPC(); err != nil {
			l.mu.Unlock()
			return "", err
		}
	}
	l.mu.Unlock()
	return l.negotiate(ctx, pc, offer)
}

// Reconnect replaces the browser connection with a new one made from offer, keeping the RTP socket and the stream toward
// Asterisk: the page reloaded or its network changed (rule 2 in the package doc).
func (l *Leg) Reconnect(ctx context.Context, offer string) (string, error) {
	if err := checkOffer(offer); err != nil {
		return "", err
	}
	l.negotiating.Lock()
	defer l.negotiating.Unlock()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return "", ErrClosed
	}
	old := l.pc
	l.pc = nil
	pc, err := l.newPC()
	l.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
	if err != nil {
		return "", err
	}
	return l.negotiate(ctx, pc, offer)
}

// AddCandidate adds a browser's trickled candidate; an empty Candidate string marks the end of the browser's candidates.
func (l *Leg) AddCandidate(c Candidate) error {
	l.mu.Lock()
	pc := l.pc
	l.mu.Unlock()
	if pc == nil {
		return cti.Errorf(cti.ECONFLICT, "candidate before offer")
	}
	if err := pc.AddICECandidate(webrtc.ICECandidateInit{
		Candidate: c.Candidate, SDPMid: c.SDPMid, SDPMLineIndex: c.SDPMLineIndex, UsernameFragment: c.UsernameFragment,
	}); err != nil {
		return cti.Invalid("candidate", "%v", err)
	}
	return nil
}

// Close ends the browser connection, closes the RTP socket and waits for the leg's goroutines. No event is delivered after Close
// returns.
func (l *Leg) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	pc := l.pc
	l.pc = nil
	l.gen++
	l.mu.Unlock()
	var errs []error
	if pc != nil {
		errs = append(errs, pc.Close())
	}
	errs = append(errs, l.conn.Close())
	close(l.done)
	l.wg.Wait()
	l.g.remove(l)
	if err := errors.Join(errs...); err != nil {
		return cti.Internal(err, "close leg")
	}
	return nil
}

// newPC makes a PeerConnection carrying the leg's track; l.mu is held.
func (l *Leg) newPC() (*webrtc.PeerConnection, error) {
	pc, err := l.g.api.NewPeerConnection(webrtc.Configuration{ICEServers: l.g.cfg.webrtcICEServers()})
	if err != nil {
		return nil, cti.Internal(err, "peer connection")
	}
	sender, err := pc.AddTrack(l.track)
	if err != nil {
		_ = pc.Close()
		return nil, cti.Internal(err, "add track")
	}
	l.gen++
	gen := l.gen
	l.pc = pc
	l.state = StateNew
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) { l.onState(gen, s) })
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if tr.Kind() != webrtc.RTPCodecTypeAudio || !l.own(gen) {
			return
		}
		l.readBrowser(tr)
	})
	if cb := l.opts.OnCandidate; cb != nil {
		pc.OnICECandidate(func(c *webrtc.ICECandidate) {
			if !l.own(gen) {
				return
			}
			if c == nil {
				cb(Candidate{})
				return
			}
			j := c.ToJSON()
			cb(Candidate{Candidate: j.Candidate, SDPMid: j.SDPMid, SDPMLineIndex: j.SDPMLineIndex, UsernameFragment: j.UsernameFragment})
		})
	}
	// Read the browser's RTCP so the report interceptor sees its receiver reports; the goroutine ends with the PeerConnection.
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		buf := make([]byte, 1500)
		for {
			if _, _, err := sender.Read(buf); err != nil {
				return
			}
		}
	}()
	return pc, nil
}

func (l *Leg) negotiate(ctx context.Context, pc *webrtc.PeerConnection, offer string) (string, error) {
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", cti.Invalid("sdp", "offer rejected: %v", err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return "", cti.Invalid("sdp", "no answer to this offer: %v", err)
	}
	var gathered <-chan struct{}
	if l.opts.OnCandidate == nil {
		gathered = webrtc.GatheringCompletePromise(pc)
	}
	if err := pc.SetLocalDescription(answer); err != nil {
		return "", cti.Internal(err, "set local description")
	}
	if gathered != nil {
		select {
		case <-gathered:
		case <-ctx.Done():
			return "", cti.Errorf(cti.EUNAVAILABLE, "ICE gathering: %v", ctx.Err())
		case <-l.done:
			return "", ErrClosed
		}
	}
	return pc.LocalDescription().SDP, nil
}

// checkOffer rejects an offer the gateway cannot serve before pion sees it: no audio, or audio without PCMU.
func checkOffer(offer string) error {
	if len(offer) > maxSDP {
		return cti.Invalid("sdp", "offer longer than %d bytes", maxSDP)
	}
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(offer); err != nil {
		return cti.Invalid("sdp", "not an SDP offer: %v", err)
	}
	for _, m := range sd.MediaDescriptions {
		if m.MediaName.Media != "audio" {
			continue
		}
		if slices.Contains(m.MediaName.Formats, "0") {
			return nil
		}
		for _, a := range m.Attributes {
			if a.Key == "rtpmap" && strings.Contains(strings.ToUpper(a.Value), "PCMU/8000") {
				return nil
			}
		}
	}
	return cti.Invalid("sdp", "the offer has no G.711 µ-law (PCMU) audio")
}

func (l *Leg) own(gen int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.closed && gen == l.gen
}

func (l *Leg) onState(gen int, s webrtc.PeerConnectionState) {
	var cs ConnState
	switch s {
	case webrtc.PeerConnectionStateConnecting:
		cs = StateConnecting
	case webrtc.PeerConnectionStateConnected:
		cs = StateConnected
	case webrtc.PeerConnectionStateDisconnected:
		cs = StateDisconnected
	case webrtc.PeerConnectionStateFailed:
		cs = StateFailed
	case webrtc.PeerConnectionStateClosed:
		cs = StateClosed
	default:
		cs = StateNew
	}
	now := l.clock.Now()
	l.mu.Lock()
	if l.closed || gen != l.gen || cs == l.state {
		l.mu.Unlock()
		return
	}
	l.state = cs
	if cs == StateConnected {
		l.connectedAt = now
	}
	l.mu.Unlock()
	l.emit(Event{Kind: EventState, State: cs, At: now})
}

// emit queues an event for the control goroutine; a full queue drops it (the owner is too slow) and counts the drop.
func (l *Leg) emit(e Event) {
	e.Leg = l.id
	select {
	case l.events <- e:
	default:
		l.droppedEvents.Add(1)
		l.g.log.Warn("webrtcgw: event dropped", "leg", l.id, "kind", e.Kind.String())
	}
}

// readBrowser forwards the browser's RTP to Asterisk until the track ends. It runs on pion's OnTrack goroutine.
func (l *Leg) readBrowser(tr *webrtc.TrackRemote) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.wg.Add(1)
	l.mu.Unlock()
	defer l.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		l.forwardToPBX(buf[:n])
	}
}

func (l *Leg) forwardToPBX(b []byte) {
	hl, ok := rtpHeaderLen(b)
	if !ok || b[1]&0x7f != 0 {
		return // not RTP, or not PCMU
	}
	now := l.clock.Now()
	seq, ts, ssrc := binary.BigEndian.Uint16(b[2:]), binary.BigEndian.Uint32(b[4:]), binary.BigEndian.Uint32(b[8:])
	l.fromBrowser.record(ssrc, seq, ts, len(b)-hl, now)
	out := l.toPBX.rewrite(b, now)
	r := l.remote.Load()
	if r == nil {
		return // Asterisk's address is not known yet
	}
	if l.loop.Load() {
		if l.loopDrain.Load() {
			return
		}
		l.sentAt[out%uint16(len(l.sentAt))].Store(time.Now().UnixNano())
	}
	if _, err := l.conn.WriteToUDPAddrPort(b, *r); err == nil {
		l.sentPBX.Add(1)
	}
}

// readPBX forwards Asterisk's RTP to the browser until the socket is closed.
func (l *Leg) readPBX() {
	defer l.wg.Done()
	buf := make([]byte, 1500)
	for {
		n, src, err := l.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
		if r := l.remote.Load(); r == nil {
			if l.remote.CompareAndSwap(nil, &src) {
				l.emit(Event{Kind: EventRemoteLatched, Remote: src.String(), At: l.clock.Now()})
			}
		} else if *r != src {
			continue // not Asterisk: symmetric RTP accepts one source
		}
		b := buf[:n]
		hl, ok := rtpHeaderLen(b)
		if !ok || b[1]&0x7f != 0 {
			continue // comfort noise or anything that is not PCMU
		}
		now := l.clock.Now()
		seq, ts, ssrc := binary.BigEndian.Uint16(b[2:]), binary.BigEndian.Uint32(b[4:]), binary.BigEndian.Uint32(b[8:])
		l.fromPBX.record(ssrc, seq, ts, n-hl, now)
		if l.loop.Load() {
			if at := l.sentAt[seq%uint16(len(l.sentAt))].Load(); at != 0 {
				l.loopMu.Lock()
				if len(l.loopRTT) < maxLoopSamples {
					l.loopRTT = append(l.loopRTT, time.Duration(time.Now().UnixNano()-at))
				}
				l.loopMu.Unlock()
			}
		}
		l.toBrowser.rewrite(b, now)
		if _, err := l.track.Write(b); err == nil {
			l.sentBr.Add(1)
		}
	}
}

// control delivers events and watches for silence, until Close.
func (l *Leg) control() {
	defer l.wg.Done()
	timeout := l.g.cfg.MediaTimeout
	tick := time.NewTicker(max(timeout/4, 10*time.Millisecond))
	defer tick.Stop()
	var silent [2]bool
	for {
		select {
		case <-l.done:
			return
		case e := <-l.events:
			if l.opts.OnEvent != nil {
				l.opts.OnEvent(e)
			}
		case <-tick.C:
			now := l.clock.Now()
			l.mu.Lock()
			since := map[Side]time.Time{FromBrowser: l.connectedAt}
			l.mu.Unlock()
			if last := l.fromBrowser.last(); last.After(since[FromBrowser]) {
				since[FromBrowser] = last
			}
			since[FromPBX] = l.fromPBX.last()
			for _, side := range []Side{FromBrowser, FromPBX} {
				t := since[side]
				if t.IsZero() {
					continue // not armed: not connected yet, or Asterisk never sent
				}
				quiet := now.Sub(t) >= timeout
				if quiet != silent[side] {
					silent[side] = quiet
					kind := EventMediaResumed
					if quiet {
						kind = EventMediaTimeout
					}
					if l.opts.OnEvent != nil {
						l.opts.OnEvent(Event{Leg: l.id, Kind: kind, From: side, At: now})
					}
				}
			}
		}
	}
}

// rtpHeaderLen returns the length of b's RTP header (with CSRCs and extension) if b is an RTP version 2 packet with a payload.
func rtpHeaderLen(b []byte) (int, bool) {
	if len(b) < 12 || b[0]>>6 != 2 {
		return 0, false
	}
	n := 12 + 4*int(b[0]&0x0f)
	if b[0]&0x10 != 0 {
		if len(b) < n+4 {
			return 0, false
		}
		n += 4 + 4*int(binary.BigEndian.Uint16(b[n+2:]))
	}
	return n, len(b) > n
}

// rewriter makes one outgoing RTP stream (one SSRC, continuous sequence numbers and timestamps) out of incoming ones that
// may change source: a browser that restarts ICE or reconnects, a new externalMedia channel on an agent's standing leg. Gaps and
// reordering inside one source are kept, so the receiver's jitter buffer sees the real loss.
type rewriter struct {
	mu      sync.Mutex
	ssrc    uint32
	started bool
	inSSRC  uint32
	seqOff  uint16
	tsOff   uint32
	lastSeq uint16
	lastTS  uint32
	lastAt  time.Time
}

func newRewriter() rewriter {
	return rewriter{ssrc: rand.Uint32(), lastSeq: uint16(rand.Uint32()), lastTS: rand.Uint32()}
}

// rewrite rewrites b's SSRC, sequence number and timestamp in place and returns the new sequence number.
func (r *rewriter) rewrite(b []byte, now time.Time) uint16 {
	seq, ts, ssrc := binary.BigEndian.Uint16(b[2:]), binary.BigEndian.Uint32(b[4:]), binary.BigEndian.Uint32(b[8:])
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.started || ssrc != r.inSSRC {
		step := uint32(160) // 20 ms at 8 kHz when nothing better is known
		if r.started {
			if gap := now.Sub(r.lastAt); gap > 20*time.Millisecond {
				step = uint32(gap / (time.Second / 8000))
			}
		}
		r.seqOff = r.lastSeq + 1 - seq
		r.tsOff = r.lastTS + step - ts
		r.inSSRC, r.started = ssrc, true
		b[1] |= 0x80 // marker: a new talkspurt
		r.lastSeq, r.lastTS, r.lastAt = seq+r.seqOff-1, ts+r.tsOff, now
	}
	outSeq, outTS := seq+r.seqOff, ts+r.tsOff
	if int16(outSeq-r.lastSeq) > 0 {
		r.lastSeq, r.lastTS, r.lastAt = outSeq, outTS, now
	}
	binary.BigEndian.PutUint16(b[2:], outSeq)
	binary.BigEndian.PutUint32(b[4:], outTS)
	binary.BigEndian.PutUint32(b[8:], r.ssrc)
	return outSeq
}

const (
	rtpReadBuffer  = 1 << 20
	maxSDP         = 64 << 10
	maxLoopSamples = 3000
)
