package arisim

import (
	"container/heap"
	"time"
)

// timer is a pending simulated action. Its callback runs with s.mu held.
type timer struct {
	fn        func()
	at        time.Time     // wall-clock deadline; zero for work queued with zero delay
	when      time.Duration // at on the monotonic clock, since monoEpoch: the heap's cheap key
	seq       uint64
	index     int // in s.timerQ; -1 when not there
	cancelled bool
}

// after schedules fn after the simulated duration d. Zero-delay work goes
// into one FIFO queue that unlock runs before it releases the lock, so that
// actions a REST call defers (joining a bridge, starting a playback) happen
// after the handler and in request order, as on a channel's control queue
// in Asterisk (whose REST handlers wait for the queued command), without a
// goroutine hand-off. Delayed work goes into one heap served by one
// goroutine, which runs everything due under a single hold of the lock
// instead of a goroutine and a lock hand-off per timer. Caller holds s.mu.
func (s *Server) after(d time.Duration, fn func()) *timer {
	t := &timer{fn: fn, index: -1}
	if s.closed {
		t.cancelled = true
		return t
	}
	if d <= 0 {
		s.soonQ = append(s.soonQ, t)
		return t
	}
	t.at = time.Now().Add(s.scaled(d))
	t.when = t.at.Sub(monoEpoch)
	t.seq = s.timerSeq
	s.timerSeq++
	heap.Push(&s.timerQ, t)
	if !s.timerLoopOn {
		s.timerLoopOn = true
		s.wg.Add(1)
		go s.timerLoop()
	}
	if s.timerQ[0] == t && t.at.Before(s.timerWakeAt) {
		wake(s.timerWake) // due before the loop would wake
	}
	return t
}

// timerSlack is how late delayed work may run so that work due within the
// same millisecond runs in one wake-up of the timer goroutine.
const timerSlack = time.Millisecond

// wakeTime is when the timer goroutine wakes for work due at at: the end of
// at's millisecond, so that it never runs work early and at most a
// millisecond late. It keeps at's monotonic clock reading.
func wakeTime(at time.Time) time.Time {
	return at.Add(timerSlack - time.Duration(at.Nanosecond())%timerSlack)
}

func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// unlock runs the zero-delay work queued while s.mu was held (and the work
// that work queues), releases s.mu, then sends the events queued meanwhile
// to the websockets without waiting for them. Every holder of s.mu releases
// it this way.
func (s *Server) unlock() {
	for i := 0; i < len(s.soonQ) && !s.closed; i++ {
		t := s.soonQ[i]
		if t.cancelled {
			continue
		}
		t.cancelled = true
		t.fn()
	}
	clear(s.soonQ)
	s.soonQ = s.soonQ[:0]
	var few [4]*wsConn
	dirty := append(few[:0], s.dirty...)
	for _, c := range dirty {
		c.dirty = false
	}
	clear(s.dirty)
	s.dirty = s.dirty[:0]
	s.mu.Unlock()
	for _, c := range dirty {
		c.send(false) //nolint:errcheck // a write that does not wait returns none
	}
}

// timerLoop runs delayed work when it is due, in deadline order (request
// order for equal deadlines), until the server closes.
func (s *Server) timerLoop() {
	defer s.wg.Done()
	clock := time.NewTimer(time.Hour)
	defer clock.Stop()
	for {
		s.mu.Lock()
		now := time.Now()
		for len(s.timerQ) > 0 && !s.closed {
			t := s.timerQ[0]
			if t.at.After(now) {
				break
			}
			heap.Pop(&s.timerQ)
			t.cancelled = true
			t.fn()
		}
		s.timerWakeAt = now.Add(time.Hour)
		if len(s.timerQ) > 0 {
			s.timerWakeAt = wakeTime(s.timerQ[0].at)
		}
		next := s.timerWakeAt.Sub(now)
		s.unlock()
		clock.Reset(next)
		select {
		case <-s.done:
			return
		case <-s.timerWake:
		case <-clock.C:
		}
	}
}

// stopLocked cancels t. Caller holds s.mu.
func (t *timer) stopLocked(s *Server) {
	if t == nil || t.cancelled {
		return
	}
	t.cancelled = true
	if t.index >= 0 {
		heap.Remove(&s.timerQ, t.index)
	}
}

// monoEpoch is the origin of timer.when.
var monoEpoch = time.Now()

// timerHeap orders timers by deadline, then by the order they were set.
type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if h[i].when == h[j].when {
		return h[i].seq < h[j].seq
	}
	return h[i].when < h[j].when
}
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}

func (h *timerHeap) Push(x any) {
	t := x.(*timer)
	t.index = len(*h)
	*h = append(*h, t)
}

func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	t.index = -1
	*h = old[:len(old)-1]
	return t
}
