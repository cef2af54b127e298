package queue

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

func stripTraces(ds []Decision) []Decision {
	out := make([]Decision, len(ds))
	for i, d := range ds {
		d.Trace = nil
		out[i] = d
	}
	return out
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestPropertyRandomEvents drives random event sequences and checks, after
// every event: the invariants (one offer per call and agent, work-conserving,
// deadlines fired), identical decisions from the indexed engine and the
// linear-scan reference (so priority/FIFO/cross-queue/strategy choices are the
// documented minimum), identical decisions after Snapshot → Restore, and
// statistics equal to those recomputed from the event log.
func TestPropertyRandomEvents(t *testing.T) {
	seeds, steps := 100, 600
	var kinds [numDecisionKinds]int
	var errs int
	if testing.Short() {
		seeds = 10
	}
	for seed := range seeds {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		cfg := testConfig(rng, 8)
		r := mustNew(t, cfg)
		ref := mustNew(t, cfg)
		ref.naive = naive{}
		var restored *Router
		snapAt := rng.IntN(steps)
		w := &world{rng: rng, now: t0}
		for _, a := range cfg.Agents {
			w.agents = append(w.agents, a.ID)
		}
		m := newStatsModel(cfg)
		// The reference appends to one reused buffer (ApplyTo) after a
		// sentinel that must survive: its decisions are compared with Apply's.
		sentinel := Decision{Kind: Announce, Call: "sentinel", Position: seed}
		buf := []Decision{sentinel}
		for i := range steps {
			if i == snapAt {
				data, err := r.Snapshot()
				if err != nil {
					t.Fatal(err)
				}
				if restored, err = Restore(data, func(string) (*time.Location, error) { return time.FixedZone("X", 3600), nil }); err != nil {
					t.Fatal(err)
				}
				again, _ := restored.Snapshot()
				if string(again) != string(data) {
					t.Fatalf("seed %d: snapshot of restored router differs", seed)
				}
			}
			now, ev := w.next(r)
			got, err := r.Apply(now, ev)
			buf, werr := ref.ApplyTo(buf[:1], now, ev)
			if buf[0] != sentinel {
				t.Fatalf("seed %d step %d: ApplyTo overwrote the caller's decisions", seed, i)
			}
			want := buf[1:]
			if errString(err) != errString(werr) || !reflect.DeepEqual(stripTraces(got), stripTraces(want)) {
				t.Fatalf("seed %d step %d %+v: engine and reference differ\nengine: %v %+v\nref:    %v %+v", seed, i, ev, err, stripTraces(got), werr, stripTraces(want))
			}
			if err != nil {
				if _, ok := err.(*Error); !ok {
					t.Fatalf("error of type %T", err)
				}
			}
			if restored != nil {
				rd, rerr := restored.Apply(now, ev)
				if errString(err) != errString(rerr) || !reflect.DeepEqual(got, rd) {
					t.Fatalf("seed %d step %d %+v: restored router differs\norig:     %+v\nrestored: %+v", seed, i, ev, got, rd)
				}
			}
			for _, d := range got {
				kinds[d.Kind]++
			}
			if err != nil {
				errs++
			}
			checkInvariants(t, r)
			m.apply(r.now, ev, err, got)
			if i%50 == 49 || i == steps-1 {
				m.check(t, r, now)
			}
		}
	}
	t.Logf("decisions by kind %v, errors %d", kinds, errs)
	for k, n := range kinds {
		if n == 0 {
			t.Errorf("no %s decision was exercised", DecisionKind(k))
		}
	}
}

// statsModel recomputes queue statistics from the event log and decisions alone.
type statsModel struct {
	cfg      map[string]QueueConfig
	live     map[string]*modelCall
	handling map[string]*modelCall // agent → call being handled
	facts    map[string][]fact     // queue → facts
}

type modelCall struct {
	queue    string
	enq      int64
	agent    string
	answered int64
}

type fact struct {
	at int64
	c  counters
}

func newStatsModel(cfg Config) *statsModel {
	m := &statsModel{cfg: map[string]QueueConfig{}, live: map[string]*modelCall{}, handling: map[string]*modelCall{}, facts: map[string][]fact{}}
	for _, q := range cfg.Queues {
		m.cfg[q.Name] = q
	}
	return m
}

func (m *statsModel) add(q string, at int64, c counters) {
	m.facts[q] = append(m.facts[q], fact{at, c})
}

func (m *statsModel) apply(now int64, ev Event, err error, ds []Decision) {
	// Decisions from timers come before the event's own effects; handle
	// overflows and offers first, then the event, then state changes.
	if err == nil && ev.Kind == CallArrived {
		if _, ok := m.live[ev.Call]; !ok {
			m.live[ev.Call] = &modelCall{queue: ev.Arrival.Queue, enq: now}
			m.add(ev.Arrival.Queue, now, counters{Offered: 1})
		}
	}
	for _, d := range ds {
		switch d.Kind {
		case Offer, DialCallback:
			if c := m.live[d.Call]; c != nil {
				c.agent = d.Agent
			}
		case Overflow:
			delete(m.live, d.Call)
			m.add(d.Queue, now, counters{Overflowed: 1})
		}
	}
	if err == nil {
		switch ev.Kind {
		case OfferAccepted:
			if c := m.live[ev.Call]; c != nil && c.answered == 0 {
				c.answered = now
				wait := now - c.enq
				d := counters{Answered: 1, WaitAnswered: wait}
				if wait <= int64(m.cfg[c.queue].SLTarget) {
					d.AnsweredInSL = 1
				}
				m.add(c.queue, now, d)
			}
		case CallLeft, CallEnded:
			if c := m.live[ev.Call]; c != nil {
				delete(m.live, ev.Call)
				if c.answered != 0 {
					m.handling[c.agent] = c
				} else {
					d := counters{Abandoned: 1}
					if now-c.enq < int64(m.cfg[c.queue].ShortAbandon) {
						d.ShortAbandoned = 1
					}
					m.add(c.queue, now, d)
				}
			}
		}
	}
	for _, d := range ds {
		switch d.Kind {
		case AgentStateChanged:
			if c := m.handling[d.Agent]; c != nil && d.State != WrapUp {
				delete(m.handling, d.Agent)
				m.add(c.queue, now, counters{Handled: 1, Handle: now - c.answered})
			}
		}
	}
}

func (m *statsModel) check(tb testing.TB, r *Router, now time.Time) {
	tb.Helper()
	for name := range m.cfg {
		got, err := r.Stats(name, now)
		if err != nil {
			tb.Fatal(err)
		}
		var day, h, q15 counters
		cur := now.UnixNano() / minute
		for _, f := range m.facts[name] {
			day.add(f.c) // the test spans less than a day
			if f.at/minute > cur-60 {
				h.add(f.c)
			}
			if f.at/minute > cur-15 {
				q15.add(f.c)
			}
		}
		for _, c := range []struct {
			name string
			got  Period
			want counters
		}{{"today", got.Today, day}, {"1h", got.Last1h, h}, {"15m", got.Last15m, q15}} {
			if want := period(c.want); !reflect.DeepEqual(c.got, want) {
				tb.Fatalf("queue %s %s stats:\n got %+v\nwant %+v", name, c.name, c.got, want)
			}
		}
	}
}
