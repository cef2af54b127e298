package queue

import (
	"container/heap"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

type simEvent struct {
	at time.Time
	ev Event
}

type simQueue []simEvent

func (q simQueue) Len() int           { return len(q) }
func (q simQueue) Less(i, j int) bool { return q[i].at.Before(q[j].at) }
func (q simQueue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *simQueue) Push(x any)        { *q = append(*q, x.(simEvent)) }
func (q *simQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// TestEWTError simulates an M/M/c queue (Poisson arrivals, exponential handle
// times, agents answering at once) and compares the EWT announced on arrival
// with the wait each call then had.
func TestEWTError(t *testing.T) {
	for _, tc := range []struct {
		agents int
		load   float64
	}{{10, 0.90}, {10, 0.97}, {30, 0.95}} {
		t.Run(fmt.Sprintf("c%d_rho%.2f", tc.agents, tc.load), func(t *testing.T) {
			mae, meanWait, bias, n := simulateEWT(t, tc.agents, tc.load, 1)
			t.Logf("calls %d: mean wait %.1fs, EWT mean absolute error %.1fs (%.0f%% of mean wait), bias %+.1fs",
				n, meanWait, mae, 100*mae/meanWait, bias)
			if mae > 0.6*meanWait {
				t.Errorf("EWT error %.1fs exceeds 60%% of the mean wait %.1fs", mae, meanWait)
			}
		})
	}
}

func simulateEWT(tb testing.TB, agents int, load float64, seed uint64) (mae, meanWait, bias float64, n int) {
	const aht = 180.0 // seconds
	rng := rand.New(rand.NewPCG(seed, 99))
	cfg := Config{Queues: []QueueConfig{{Name: "q"}}}
	for i := range agents {
		cfg.Agents = append(cfg.Agents, AgentConfig{ID: fmt.Sprintf("a%d", i), Queues: []string{"q"}})
	}
	r := mustNew(tb, cfg)
	exp := func(mean float64) time.Duration { return time.Duration(rng.ExpFloat64() * mean * float64(time.Second)) }
	var pq simQueue
	push := func(at time.Time, ev Event) { heap.Push(&pq, simEvent{at, ev}) }
	for i := range agents {
		id := fmt.Sprintf("a%d", i)
		mustApply(tb, r, 0, Event{Kind: AgentLogin, Agent: id})
		mustApply(tb, r, 0, Event{Kind: SetState, Agent: id, Ready: true})
	}
	lambda := load * float64(agents) / aht
	at := t0
	for i := range int(8 * 3600 * lambda) {
		at = at.Add(exp(1 / lambda))
		push(at, Event{Kind: CallArrived, Call: fmt.Sprint(i), Arrival: &Arrival{Queue: "q"}})
	}
	warmup := t0.Add(time.Hour)
	arrived := map[string]time.Time{}
	ewt := map[string]time.Duration{}
	var sumAbs, sumErr, sumWait float64
	for pq.Len() > 0 {
		e := heap.Pop(&pq).(simEvent)
		ds, err := r.Apply(e.at, e.ev)
		if err != nil {
			tb.Fatal(err)
		}
		if e.ev.Kind == CallArrived {
			arrived[e.ev.Call] = e.at
			ewt[e.ev.Call] = 0 // answered at once unless announced
		}
		for _, d := range ds {
			switch d.Kind {
			case Announce:
				if _, seen := arrived[d.Call]; seen && ewt[d.Call] == 0 {
					ewt[d.Call] = d.EWT
				}
			case Offer:
				push(e.at, Event{Kind: OfferAccepted, Agent: d.Agent, Call: d.Call})
				push(e.at.Add(exp(aht)), Event{Kind: CallEnded, Call: d.Call})
				if arr := arrived[d.Call]; arr.After(warmup) {
					wait := e.at.Sub(arr).Seconds()
					est := max(ewt[d.Call].Seconds(), 0)
					sumAbs += math.Abs(est - wait)
					sumErr += est - wait
					sumWait += wait
					n++
				}
			}
		}
	}
	return sumAbs / float64(n), sumWait / float64(n), sumErr / float64(n), n
}
