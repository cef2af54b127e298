package queue

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
	"time"
)

// benchWorld is the full size: 10,000 agents over 200 skills and 50
// queues, every agent busy, 100,000 calls waiting.
type benchWorld struct {
	r          *Router
	rng        *rand.Rand
	now        time.Time
	held       []string // call held by agent i
	agents     []string
	next       int // next call id
	step       int
	bytesAgent float64
	bytesCall  float64
}

const (
	benchAgents = 10_000
	benchSkills = 200
	benchQueues = 50
	benchCalls  = 100_000
)

func heapBytes() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func newBenchWorld(tb testing.TB) *benchWorld {
	rng := rand.New(rand.NewPCG(42, 42))
	var cfg Config
	for q := range benchQueues {
		s := fmt.Sprintf("s%d", q*4)
		cfg.Queues = append(cfg.Queues, QueueConfig{
			Name: fmt.Sprintf("q%d", q), Strategy: Strategy(q % 4), WrapUp: 30 * time.Second, OfferTimeout: 20 * time.Second,
			AnnounceEvery: 60 * time.Second, MaxWait: time.Hour, SLTarget: 20 * time.Second,
			Steps: []Step{{After: 0, Skills: []SkillReq{{s, 5}}}, {After: 60 * time.Second, Skills: []SkillReq{{s, 2}}},
				{After: 120 * time.Second, Any: true}},
		})
	}
	before := heapBytes()
	r := mustNew(tb, cfg)
	w := &benchWorld{r: r, rng: rng, now: t0}
	for i := range benchAgents {
		ac := AgentConfig{ID: fmt.Sprintf("agent-%05d", i), Skills: map[string]int{}}
		q1, q2 := rng.IntN(benchQueues), rng.IntN(benchQueues)
		ac.Queues = []string{fmt.Sprintf("q%d", q1), fmt.Sprintf("q%d", q2)}
		ac.Skills[fmt.Sprintf("s%d", q1*4)] = 1 + rng.IntN(10)
		ac.Skills[fmt.Sprintf("s%d", q2*4)] = 1 + rng.IntN(10)
		ac.Skills[fmt.Sprintf("s%d", rng.IntN(benchSkills))] = 1 + rng.IntN(10)
		if err := r.SetAgent(ac); err != nil {
			tb.Fatal(err)
		}
		w.agents = append(w.agents, ac.ID)
	}
	w.held = make([]string, benchAgents)
	idx := map[string]int{}
	for i, id := range w.agents {
		idx[id] = i
		w.apply(tb, Event{Kind: AgentLogin, Agent: id})
	}
	afterAgents := heapBytes()
	w.bytesAgent = float64(afterAgents-before) / benchAgents
	// Every agent takes a call at once, then the line fills.
	for _, id := range w.agents {
		w.apply(tb, Event{Kind: SetState, Agent: id, Ready: true})
	}
	for w.next < benchAgents+benchCalls {
		w.now = w.now.Add(time.Millisecond)
		for _, d := range w.apply(tb, w.arrival()) {
			if d.Kind == Offer {
				w.held[idx[d.Agent]] = d.Call
				w.apply(tb, Event{Kind: OfferAccepted, Agent: d.Agent, Call: d.Call})
			}
		}
	}
	w.bytesCall = float64(heapBytes()-afterAgents) / float64(w.next)
	if n := len(r.calls) - benchAgents; n < benchCalls*9/10 {
		tb.Fatalf("only %d calls waiting", n)
	}
	return w
}

func (w *benchWorld) arrival() Event {
	w.next++
	q := w.rng.IntN(benchQueues)
	ar := &Arrival{Queue: fmt.Sprintf("q%d", q), Priority: w.rng.IntN(3)}
	if w.rng.IntN(4) == 0 {
		ar.Skills = []SkillReq{{fmt.Sprintf("s%d", w.rng.IntN(benchSkills)), 1 + w.rng.IntN(3)}}
	}
	return Event{Kind: CallArrived, Call: fmt.Sprintf("call-%07d", w.next), Arrival: ar}
}

func (w *benchWorld) apply(tb testing.TB, ev Event) []Decision {
	ds, err := w.r.Apply(w.now, ev)
	if err != nil {
		tb.Fatalf("%+v: %v", ev, err)
	}
	return ds
}

// event returns the next event of the steady workload, a cycle of seven per
// agent in turn: its call ends, its wrap-up ends (it takes the best call
// across its queues), it answers, two calls arrive, a random waiting call
// abandons, a tick. Two calls leave the line per cycle and two arrive, so the
// line stays at its full size; time advances 1 ms per event.
func (w *benchWorld) event() Event {
	w.now = w.now.Add(time.Millisecond)
	i := (w.step / benchCycle) % benchAgents
	id := w.agents[i]
	w.step++
	switch w.step % benchCycle {
	case 1:
		if c := w.held[i]; c != "" {
			return Event{Kind: CallEnded, Call: c}
		}
	case 2:
		return Event{Kind: WrapUpDone, Agent: id}
	case 3:
		if a := w.r.agents[id]; a.state == Reserved {
			w.held[i] = a.call.id
			return Event{Kind: OfferAccepted, Agent: id, Call: a.call.id}
		}
	case 4, 5:
		return w.arrival()
	case 6:
		for {
			id := fmt.Sprintf("call-%07d", benchAgents+1+w.rng.IntN(w.next-benchAgents))
			if c := w.r.calls[id]; c != nil && c.st == waiting {
				return Event{Kind: CallLeft, Call: id}
			}
		}
	}
	return Event{Kind: Tick}
}

const benchCycle = 7

func (w *benchWorld) waiting() int {
	n := 0
	for _, c := range w.r.calls {
		if c.st == waiting {
			n++
		}
	}
	return n
}

func percentile(d []time.Duration, p float64) float64 {
	slices.Sort(d)
	return float64(d[int(p*float64(len(d)-1))].Nanoseconds())
}

// BenchmarkApply measures the engine per event at full size.
func BenchmarkApply(b *testing.B) {
	w := newBenchWorld(b)
	lat := make([]time.Duration, 0, 1<<20)
	var total time.Duration
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		ev := w.event()
		start := time.Now()
		_, _ = w.r.Apply(w.now, ev)
		d := time.Since(start)
		total += d
		lat = append(lat, d)
	}
	// CPU time of the whole loop (event generation included) per event: on a
	// shared machine it moves less than wall-clock figures when others run.
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(len(lat)), "cpu-ns/event")
	b.ReportMetric(percentile(lat, 0.50), "p50-ns/event")
	b.ReportMetric(percentile(lat, 0.99), "p99-ns/event")
	b.ReportMetric(float64(len(lat))/total.Seconds(), "events/s")
	b.ReportMetric(w.bytesCall, "B/call")
	b.ReportMetric(w.bytesAgent, "B/agent")
	b.ReportMetric(float64(w.waiting()), "waiting-at-end")
}

// BenchmarkApplyNaive runs the same workload with the linear-scan reference
// making the choices, and reports how much faster the engine is.
func BenchmarkApplyNaive(b *testing.B) {
	w := newBenchWorld(b)
	const warm = 3000
	start := time.Now()
	for range warm {
		ev := w.event()
		_, _ = w.r.Apply(w.now, ev)
	}
	engine := time.Since(start) / warm
	w.r.naive = naive{}
	var n int
	var total time.Duration
	b.ResetTimer()
	for b.Loop() {
		ev := w.event()
		s := time.Now()
		_, _ = w.r.Apply(w.now, ev)
		total += time.Since(s)
		n++
	}
	ref := total / time.Duration(n)
	b.ReportMetric(float64(ref.Nanoseconds()), "naive-ns/event")
	b.ReportMetric(float64(engine.Nanoseconds()), "engine-ns/event")
	b.ReportMetric(float64(ref)/float64(engine), "speedup-x")
	b.Logf("naive %v/event, engine %v/event: engine %.0fx faster", ref, engine, float64(ref)/float64(engine))
}
