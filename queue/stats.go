package queue

import (
	"fmt"
	"time"
)

// counters are the additive facts statistics derive from; keeping sums, not
// averages, lets windows be added up exactly.
type counters struct {
	Offered        int64 `json:"offered,omitempty"`
	Answered       int64 `json:"answered,omitempty"`
	AnsweredInSL   int64 `json:"answered_in_sl,omitempty"`
	Abandoned      int64 `json:"abandoned,omitempty"`
	ShortAbandoned int64 `json:"short_abandoned,omitempty"`
	Overflowed     int64 `json:"overflowed,omitempty"`
	Handled        int64 `json:"handled,omitempty"`
	WaitAnswered   int64 `json:"wait_answered,omitempty"` // ns, sum over answered calls
	Handle         int64 `json:"handle,omitempty"`        // ns, talk + wrap-up, sum over handled calls
}

func (c *counters) add(d counters) {
	c.Offered += d.Offered
	c.Answered += d.Answered
	c.AnsweredInSL += d.AnsweredInSL
	c.Abandoned += d.Abandoned
	c.ShortAbandoned += d.ShortAbandoned
	c.Overflowed += d.Overflowed
	c.Handled += d.Handled
	c.WaitAnswered += d.WaitAnswered
	c.Handle += d.Handle
}

const minute = int64(time.Minute)

type slot struct {
	Minute int64    `json:"minute"`
	C      counters `json:"c"`
}

// stats keeps one slot per minute of the last hour (rolling windows are
// minute-aligned: "last 15 min" is the current minute and the 14 before) and
// the counters since midnight in the queue's time zone.
type stats struct {
	Slots    [60]slot `json:"slots"`
	Day      counters `json:"day"`
	DayStart int64    `json:"day_start"`
	DayEnd   int64    `json:"day_end"`
}

func (r *Router) record(q *queueState, d counters) {
	q.ewtOK = false
	st := &q.st
	m := r.now / minute
	if q.w15OK && q.w15Min == m {
		// The record lands in minute m, inside the cached window: keep it
		// exact without summing the window again on the next announcement.
		q.w15.add(d)
	}
	s := &st.Slots[m%60]
	if s.Minute != m {
		*s = slot{Minute: m}
	}
	s.C.add(d)
	if r.now >= st.DayEnd || r.now < st.DayStart {
		st.Day = counters{}
		st.DayStart, st.DayEnd = dayBounds(r.now, q.cfg.Location)
	}
	st.Day.add(d)
}

func (st *stats) window(now int64, minutes int64) counters {
	var c counters
	m := now / minute
	for i := range st.Slots {
		s := &st.Slots[i]
		if s.Minute > m-minutes && s.Minute <= m {
			c.add(s.C)
		}
	}
	return c
}

// Period is the statistics of one queue over one window. The historical reports count with the same definitions; docs/reports.md
// describes both.
//
// Service level, two common formulas, T = SLTarget and short abandons (waited
// less than ShortAbandon) left out of both:
//
//	ServiceLevel         = AnsweredInSL / (Answered + Abandoned − ShortAbandoned)   abandons count against
//	ServiceLevelAnswered = AnsweredInSL / Answered                                   abandons ignored
//
// AbandonRate = (Abandoned − ShortAbandoned) / (Offered − ShortAbandoned).
// ASA = mean wait of answered calls (enqueued → accepted); AHT = mean talk + wrap-up.
// Ratios are 0 when their denominator is.
type Period struct {
	Offered              int64         `json:"offered"`
	Answered             int64         `json:"answered"`
	AnsweredInSL         int64         `json:"answered_in_sl"`
	Abandoned            int64         `json:"abandoned"`
	ShortAbandoned       int64         `json:"short_abandoned"`
	Overflowed           int64         `json:"overflowed"`
	Handled              int64         `json:"handled"`
	ServiceLevel         float64       `json:"service_level"`
	ServiceLevelAnswered float64       `json:"service_level_answered"`
	AbandonRate          float64       `json:"abandon_rate"`
	ASA                  time.Duration `json:"asa"`
	AHT                  time.Duration `json:"aht"`
}

func ratio(a, b int64) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

func period(c counters) Period {
	p := Period{Offered: c.Offered, Answered: c.Answered, AnsweredInSL: c.AnsweredInSL, Abandoned: c.Abandoned,
		ShortAbandoned: c.ShortAbandoned, Overflowed: c.Overflowed, Handled: c.Handled}
	p.ServiceLevel = ratio(c.AnsweredInSL, c.Answered+c.Abandoned-c.ShortAbandoned)
	p.ServiceLevelAnswered = ratio(c.AnsweredInSL, c.Answered)
	p.AbandonRate = ratio(c.Abandoned-c.ShortAbandoned, c.Offered-c.ShortAbandoned)
	if c.Answered > 0 {
		p.ASA = time.Duration(c.WaitAnswered / c.Answered)
	}
	if c.Handled > 0 {
		p.AHT = time.Duration(c.Handle / c.Handled)
	}
	return p
}

// QueueStats is a queue's live picture.
type QueueStats struct {
	Queue       string         `json:"queue"`
	At          time.Time      `json:"at"`
	Waiting     int            `json:"waiting"` // including callbacks
	Callbacks   int            `json:"callbacks"`
	LongestWait time.Duration  `json:"longest_wait"`
	Agents      [NumStates]int `json:"agents"` // member agents by State
	Last15m     Period         `json:"last_15m"`
	Last1h      Period         `json:"last_1h"`
	Today       Period         `json:"today"`
	SLTarget    time.Duration  `json:"sl_target"`
	SLPercent   float64        `json:"sl_percent"`
}

// Stats reports a queue's statistics as of now (which should not precede the last Apply).
func (r *Router) Stats(queue string, now time.Time) (QueueStats, error) {
	q := r.queues[queue]
	if q == nil {
		return QueueStats{}, &Error{Code: ENotFound, Msg: fmt.Sprintf("unknown queue %q", queue)}
	}
	t := now.UnixNano()
	s := QueueStats{Queue: queue, At: ts(t), Waiting: q.line.n, Callbacks: q.callbacks, Agents: q.byState,
		SLTarget: q.cfg.SLTarget, SLPercent: q.cfg.SLPercent}
	if c := q.longest(); c != nil {
		s.LongestWait = time.Duration(t - c.enq)
	}
	s.Last15m = period(q.st.window(t, 15))
	s.Last1h = period(q.st.window(t, 60))
	if t >= q.st.DayStart && t < q.st.DayEnd {
		s.Today = period(q.st.Day)
	}
	return s, nil
}

// ewt estimates the wait of the call at position pos, in ns (-1: unknown).
//
// Method: the k-th call in line is answered after about k departures from the
// head, so EWT = k / μ. μ is the queue's observed answer rate over the last 15
// minutes when at least ewtMinAnswers calls were answered in it (this accounts
// for agents shared with other queues); otherwise the capacity estimate
// N / AHT, with N the member agents at work (Ready, Reserved, OnCall, WrapUp)
// and AHT from the last hour (DefaultHandle before any call). The observed
// rate underestimates μ when agents idle, which only happens when few wait.
func (r *Router) ewt(q *queueState, pos int) int64 {
	if q.ewtAt != r.now || !q.ewtOK {
		q.ewtAt, q.ewtOK = r.now, true
		q.ewtNum, q.ewtDen = r.ewtRate(q)
	}
	if q.ewtDen == 0 {
		return -1
	}
	return int64(pos) * q.ewtNum / q.ewtDen
}

// ewtRate returns the time per departure as a fraction num/den (den 0: unknown).
func (r *Router) ewtRate(q *queueState) (num, den int64) {
	// The 15-minute window only changes with the minute or a record, so it is
	// summed once per minute and record rather than on every announcement.
	if m := r.now / minute; !q.w15OK || q.w15Min != m {
		q.w15, q.w15Min, q.w15OK = q.st.window(r.now, 15), m, true
	}
	w := q.w15
	span := 14*minute + r.now%minute
	if el := r.now - r.start; el < span {
		span = el
	}
	if w.Answered >= ewtMinAnswers && span > 0 {
		return span, w.Answered
	}
	working := int64(q.byState[Ready] + q.byState[Reserved] + q.byState[OnCall] + q.byState[WrapUp])
	if working == 0 {
		return 0, 0
	}
	aht := int64(q.cfg.DefaultHandle)
	if aht == 0 {
		aht = int64(3 * time.Minute)
	}
	if h := q.st.window(r.now, 60); h.Handled > 0 {
		aht = h.Handle / h.Handled
	}
	return aht, working
}

const ewtMinAnswers = 10

// longest returns the queue's longest-waiting call: the first in arrival
// order among the first calls of each priority.
func (q *queueState) longest() *call {
	var best *call
	q.line.first(func(s uint32) {
		if c := q.r.callAt(s); best == nil || c.seq < best.seq {
			best = c
		}
	})
	return best
}
