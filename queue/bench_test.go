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
	if n := r.calls.len() - benchAgents; n < benchCalls*9/10 {
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
	be := w.gen()
	w.resolve(&be)
	return be.ev
}

// benchEvent is an event generated ahead of its Apply, with its time and the
// index of the agent whose cycle it belongs to.
type benchEvent struct {
	ev    Event
	now   time.Time
	agent int
}

// gen generates the next event of the workload. An answer and an abandon
// depend on what the events before them do, so resolve completes them just
// before their Apply.
func (w *benchWorld) gen() benchEvent {
	w.now = w.now.Add(time.Millisecond)
	i := (w.step / benchCycle) % benchAgents
	id := w.agents[i]
	w.step++
	be := benchEvent{ev: Event{Kind: Tick}, now: w.now, agent: i}
	switch w.step % benchCycle {
	case 1:
		if c := w.held[i]; c != "" {
			be.ev = Event{Kind: CallEnded, Call: c}
		}
	case 2:
		be.ev = Event{Kind: WrapUpDone, Agent: id}
	case 3:
		be.ev = Event{Kind: OfferAccepted, Agent: id} // the call: see resolve
	case 4, 5:
		be.ev = w.arrival()
	case 6:
		be.ev = Event{Kind: CallLeft, Call: w.waitingCall()}
	}
	return be
}

// resolve completes an event generated ahead: the agent answers the call it
// is offered now (a tick if none), and an abandoning call that was offered
// meanwhile is replaced by one still waiting.
func (w *benchWorld) resolve(be *benchEvent) {
	switch be.ev.Kind {
	case OfferAccepted:
		if a := w.r.agents[be.ev.Agent]; a.state == Reserved {
			w.held[be.agent] = w.r.callID(a.call)
			be.ev.Call = w.r.callID(a.call)
		} else {
			be.ev = Event{Kind: Tick}
		}
	case CallLeft:
		if c := w.r.call(be.ev.Call); c == nil || c.st != waiting {
			be.ev.Call = w.waitingCall()
		}
	}
}

// waitingCall picks a random waiting call.
func (w *benchWorld) waitingCall() string {
	for {
		id := fmt.Sprintf("call-%07d", benchAgents+1+w.rng.IntN(w.next-benchAgents))
		if c := w.r.call(id); c != nil && c.st == waiting {
			return id
		}
	}
}

const benchCycle = 7

func (w *benchWorld) waiting() int {
	n := 0
	for _, s := range w.r.calls.all() {
		if c := w.r.callAt(s); c.st == waiting {
			n++
		}
	}
	return n
}

func percentile(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return float64(d[int(p*float64(len(d)-1))].Nanoseconds())
}

// BenchmarkApply measures the engine per event at full size.
//
// Throughput is timed over batches of benchBatch events generated just
// before the batch, so the clock is read twice per batch rather than per
// event; the batch time includes completing the answer and abandon events
// (see resolve) and everything the runtime does meanwhile (GC included).
// Latency percentiles come from every benchSample-th event timed on its own:
// the stride is coprime with the workload's cycle of seven, so every kind of
// event is sampled alike.
func BenchmarkApply(b *testing.B) { benchApply(b, false) }

// BenchmarkApplyTo is BenchmarkApply with the caller reusing one buffer for
// the decisions (ApplyTo), as an engine that carries them out at once can.
func BenchmarkApplyTo(b *testing.B) { benchApply(b, true) }

func benchApply(b *testing.B, to bool) {
	w := newBenchWorld(b)
	var buf []Decision
	apply := func(be *benchEvent) {
		if to {
			buf, _ = w.r.ApplyTo(buf[:0], be.now, be.ev)
			return
		}
		_, _ = w.r.Apply(be.now, be.ev)
	}
	lat := make([]time.Duration, 0, 1<<17)
	batch := make([]benchEvent, 0, benchBatch)
	var total time.Duration
	var events, k int
	var start time.Time
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		if k == len(batch) {
			if k > 0 {
				total += time.Since(start)
			}
			batch, k = batch[:0], 0
			for range benchBatch {
				batch = append(batch, w.gen())
			}
			start = time.Now()
		}
		be := &batch[k]
		k++
		events++
		w.resolve(be)
		if events%benchSample == 0 {
			s := time.Now()
			apply(be)
			lat = append(lat, time.Since(s))
			continue
		}
		apply(be)
	}
	total += time.Since(start)
	// CPU time of the whole loop (event generation included) per event: on a
	// shared machine it moves less than wall-clock figures when others run.
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(events), "cpu-ns/event")
	b.ReportMetric(percentile(lat, 0.50), "p50-ns/event")
	b.ReportMetric(percentile(lat, 0.99), "p99-ns/event")
	b.ReportMetric(float64(events)/total.Seconds(), "events/s")
	b.ReportMetric(w.bytesCall, "B/call")
	b.ReportMetric(w.bytesAgent, "B/agent")
	b.ReportMetric(float64(w.waiting()), "waiting-at-end")
}

const (
	benchBatch  = 64
	benchSample = 8
)

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

// BenchmarkNoiseFloor times a pure compute loop of about the engine's cost
// per event the way BenchmarkApply samples latencies: no memory traffic, no
// allocation, no GC. Its tail is what the machine adds to any figure (VM
// preemption, timer interrupts, neighbours), the floor under the engine's p99.
func BenchmarkNoiseFloor(b *testing.B) {
	x := uint64(88172645463325252)
	spin := func() {
		for range 1200 { // ≈ 2–3 µs here
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
		}
	}
	lat := make([]time.Duration, 0, 1<<17)
	var n int
	for b.Loop() {
		n++
		if n%benchSample == 0 {
			s := time.Now()
			spin()
			lat = append(lat, time.Since(s))
			continue
		}
		spin()
	}
	b.ReportMetric(percentile(lat, 0.50), "p50-ns/op")
	b.ReportMetric(percentile(lat, 0.99), "p99-ns/op")
	b.ReportMetric(percentile(lat, 0.999), "p99.9-ns/op")
	if x == 0 {
		b.Log(x)
	}
}
