package webrtcgw

import (
	"slices"
	"time"
)

// LoopReport is the outcome of a loop test: what the browser sent, what came back through the gateway's RTP path, and how long
// it took.
type LoopReport struct {
	// Sent is how many of the browser's packets left through the RTP socket; Returned how many came back and were sent to the
	// browser. Equal counts over a second or two (50 packets/s) prove the microphone is allowed and media flows both ways.
	Sent, Returned uint64
	// LoopP50 and LoopMax are the times a packet took from the gateway's RTP socket back to itself (the UDP hop an Asterisk
	// bridge adds at least).
	LoopP50, LoopMax time.Duration
	// ICERoundTrip is the browser ↔ gateway round trip measured by ICE consent checks (0 when not measured yet). The audio round
	// trip the agent will experience is about ICERoundTrip + LoopP50 + Asterisk's own jitter buffer.
	ICERoundTrip time.Duration
}

// loopDrainMax bounds how long StopLoop waits for the packets still in the loop; a packet a loopback UDP hop has not returned in
// that time is lost.
const loopDrainMax = 200 * time.Millisecond

// StartLoop turns the leg into a loop test: the browser's audio is sent to the leg's own RTP socket and comes back to the browser
// over the path a call uses (browser → gateway → UDP → gateway → browser). It replaces Asterisk's address until StopLoop.
func (l *Leg) StartLoop() {
	l.loopMu.Lock()
	l.loopRTT = l.loopRTT[:0]
	l.loopRef = [2]uint64{l.sentPBX.Load(), l.sentBr.Load()}
	l.loopMu.Unlock()
	for i := range l.sentAt {
		l.sentAt[i].Store(0)
	}
	self := l.local
	l.remote.Store(&self)
	l.loop.Store(true)
}

// StopLoop ends the loop test and reports it. The leg then forgets the remote address: it waits for SetRemote or Asterisk's first
// packet, as a new leg does.
func (l *Leg) StopLoop() LoopReport {
	// The browser's packets stop entering the loop first, and those still on their way come back before the counts are read:
	// otherwise the packet in flight at the moment of the stop counts as lost and a sound phone fails its test.
	l.loopDrain.Store(true)
	sent := func() uint64 { return l.sentPBX.Load() - l.loopRef[0] }
	returned := func() uint64 { return l.sentBr.Load() - l.loopRef[1] }
	for deadline := time.Now().Add(loopDrainMax); returned() < sent() && time.Now().Before(deadline); {
		time.Sleep(2 * time.Millisecond)
	}
	l.loop.Store(false)
	l.remote.Store(nil)
	l.loopDrain.Store(false)
	l.loopMu.Lock()
	rtt := slices.Clone(l.loopRTT)
	rep := LoopReport{Sent: sent(), Returned: returned()}
	l.loopMu.Unlock()
	if len(rtt) > 0 {
		slices.Sort(rtt)
		rep.LoopP50, rep.LoopMax = rtt[len(rtt)/2], rtt[len(rtt)-1]
	}
	rep.ICERoundTrip = l.iceRoundTrip()
	return rep
}

// iceRoundTrip reads the selected candidate pair's round-trip time from the ICE transport (not PeerConnection.GetStats, which
// races with a close the browser starts).
func (l *Leg) iceRoundTrip() time.Duration {
	l.mu.Lock()
	pc := l.pc
	l.mu.Unlock()
	if pc == nil {
		return 0
	}
	for _, s := range pc.GetSenders() {
		if t := s.Transport(); t != nil && t.ICETransport() != nil {
			if cp, ok := t.ICETransport().GetSelectedCandidatePairStats(); ok {
				return time.Duration(cp.CurrentRoundTripTime * float64(time.Second))
			}
		}
	}
	return 0
}
