package webrtcgw

import (
	"sync"
	"time"
)

// Stats is a leg's traffic so far, per direction.
type Stats struct {
	FromBrowser StreamStats // browser → gateway (→ Asterisk)
	FromPBX     StreamStats // Asterisk → gateway (→ browser)
	// ToPBX and ToBrowser count what was forwarded; the difference with the From counts is what was dropped (no remote yet,
	// a packet that is not PCMU, a send error).
	ToPBX, ToBrowser uint64
	// DroppedEvents counts events lost because the owner's callback fell behind.
	DroppedEvents uint64
}

// StreamStats describes one incoming RTP stream (RFC 3550 section 6.4 definitions).
type StreamStats struct {
	Packets uint64
	Bytes   uint64 // RTP payload bytes
	// Lost is expected minus received from the sequence numbers (negative counts of duplicates clamp at 0).
	Lost   uint64
	Jitter time.Duration // interarrival jitter estimate
	Last   time.Time     // when the last packet arrived; zero before the first
}

// streamStats accumulates StreamStats for one direction. Only one goroutine records; Stats may read at any time.
type streamStats struct {
	mu       sync.Mutex
	s        StreamStats
	started  bool
	ssrc     uint32
	base     uint64 // extended sequence number of the first packet of the current source
	maxSeq   uint64 // highest extended sequence number of the current source
	received uint64 // packets of the current source
	lostPrev uint64 // loss of earlier sources
	baseTS   uint32
	transit  float64
	jitter   float64 // in RTP timestamp units (1/8000 s)
	arrival  time.Time
}

// record counts one packet of payload n bytes with sequence seq, timestamp ts, from source ssrc, arrived at now.
func (st *streamStats) record(ssrc uint32, seq uint16, ts uint32, n int, now time.Time) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.s.Packets++
	st.s.Bytes += uint64(n)
	st.s.Last = now
	if !st.started || ssrc != st.ssrc {
		if st.started {
			st.lostPrev += st.lost()
		}
		st.started, st.ssrc = true, ssrc
		st.base, st.maxSeq, st.received = uint64(seq), uint64(seq), 1
		st.baseTS, st.transit, st.arrival = ts, 0, now
		st.jitter = 0
		return
	}
	st.received++
	// Extend the 16-bit sequence number around the highest seen so far.
	ext := st.maxSeq&^0xffff | uint64(seq)
	switch {
	case ext+0x8000 < st.maxSeq:
		ext += 0x10000
	case ext > st.maxSeq+0x8000 && ext >= 0x10000:
		ext -= 0x10000
	}
	if ext > st.maxSeq {
		st.maxSeq = ext
	}
	// Jitter in timestamp units: D = (Rj - Ri) - (Sj - Si).
	arrivalTS := float64(now.Sub(st.arrival)) / float64(time.Second) * 8000
	transit := arrivalTS - float64(int32(ts-st.baseTS))
	d := transit - st.transit
	if d < 0 {
		d = -d
	}
	st.jitter += (d - st.jitter) / 16
	st.transit = transit
}

func (st *streamStats) lost() uint64 {
	expected := st.maxSeq - st.base + 1
	if expected <= st.received {
		return 0
	}
	return expected - st.received
}

func (st *streamStats) get() StreamStats {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.s
	s.Lost = st.lostPrev + st.lost()
	s.Jitter = time.Duration(st.jitter / 8000 * float64(time.Second))
	return s
}

func (st *streamStats) last() time.Time {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.s.Last
}
