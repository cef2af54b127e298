package queue

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// naive is the reference implementation: every choice is a linear scan of all
// agents or all calls, taking the minimum under the documented order. The
// benchmarks compare the indexes against it; the property tests check that
// both make exactly the same decisions.
type naive struct{}

func (naive) agentFor(r *Router, c *call) *agent {
	req := r.bucketOf(c).req
	var best *member
	for _, a := range r.agents {
		if a.state != Ready || !naiveMeets(a, req) {
			continue
		}
		m := a.member(r.queueOf(c))
		if m == nil {
			continue
		}
		if best == nil || naiveAgentLess(r.queueOf(c), req, m, best) {
			best = m
		}
	}
	if best == nil {
		return nil
	}
	return best.a
}

func naiveAgentLess(q *queueState, req []SkillReq, a, b *member) bool {
	if q.cfg.Strategy == BestProficiency && len(req) > 0 {
		la, lb := a.a.cfg.Skills[req[0].Skill], b.a.cfg.Skills[req[0].Skill]
		if la != lb {
			return la > lb
		}
	}
	return memberLess(a, b)
}

func (naive) callFor(r *Router, a *agent) *call {
	var best *call
	for _, s := range r.calls.all() {
		c := r.callAt(s)
		if c.st != waiting || !naiveEligible(r, a, c, r.bucketOf(c)) {
			continue
		}
		if best == nil || callLess(c, best) {
			best = c
		}
	}
	return best
}

func naiveEligible(r *Router, a *agent, c *call, b *bucket) bool {
	if r.prefOf(c) != nil {
		return r.prefOf(c) == a
	}
	if a.member(r.queueOf(c)) == nil {
		return false
	}
	if b != nil {
		return naiveMeets(a, b.req)
	}
	return naiveMeets(a, reqFor(r.queueOf(c), int(c.step), r.skillsOf(c)))
}

// naiveMeets checks eligibility on the agent's configuration, by skill name.
func naiveMeets(a *agent, req []SkillReq) bool {
	for _, s := range req {
		if a.cfg.Skills[s.Skill] < s.Min {
			return false
		}
	}
	return true
}

// checkInvariants verifies the guarantees that must hold after every event.
func checkInvariants(tb testing.TB, r *Router) {
	tb.Helper()
	for id, a := range r.agents {
		switch a.state {
		case Reserved, OnCall:
			want := offered
			if a.state == OnCall {
				want = connected
			}
			if a.call == nil || r.agentOf(a.call) != a || a.call.st != want || r.call(r.callID(a.call)) != a.call {
				tb.Fatalf("agent %s in %s does not hold exactly its call", id, a.state)
			}
			if a.state == Reserved && a.deadline <= r.now {
				tb.Fatalf("agent %s: offer deadline passed and not fired", id)
			}
		default:
			if a.call != nil {
				tb.Fatalf("agent %s in %s holds call %s", id, a.state, r.callID(a.call))
			}
			if a.state == WrapUp && a.deadline <= r.now {
				tb.Fatalf("agent %s: wrap-up deadline passed", id)
			}
		}
		if a.state != LoggedOut && a.state != NotReady && a.hasPending && a.state == Ready {
			tb.Fatalf("agent %s Ready with a pending state", id)
		}
	}
	for _, q := range r.qs {
		if q.w15OK && q.w15 != q.st.window(q.w15Min*minute, 15) {
			tb.Fatalf("queue %s: cached 15-minute window %+v, summed %+v", q.cfg.Name, q.w15, q.st.window(q.w15Min*minute, 15))
		}
	}
	perQueue := map[*queueState]int{}
	for id, s := range r.calls.all() {
		c := r.callAt(s)
		switch c.st {
		case waiting:
			perQueue[r.queueOf(c)]++
			if r.agentOf(c) != nil {
				tb.Fatalf("waiting call %s has an agent", id)
			}
			wait := r.now - c.enq
			step, over := stepAt(r.queueOf(c).cfg.Steps, wait, c.callback)
			if over >= 0 || step != int(c.step) {
				tb.Fatalf("call %s: step %d in force, want %d (overflow %d) after %s", id, c.step, step, over, time.Duration(wait))
			}
			if !c.callback && r.queueOf(c).cfg.MaxWait > 0 && wait >= int64(r.queueOf(c).cfg.MaxWait) {
				tb.Fatalf("call %s: max wait passed", id)
			}
			if r.prefOf(c) != nil && c.prefUntil <= r.now {
				tb.Fatalf("call %s: preference expired but still waiting for %s", id, r.prefOf(c).id)
			}
		default:
			if r.agentOf(c) == nil || r.agentOf(c).call != c {
				tb.Fatalf("call %s %s: agent does not hold it", id, c.st)
			}
		}
	}
	// Positions: 1 + the waiting calls of the queue ahead in the documented
	// order, counted from scratch.
	for id, s := range r.calls.all() {
		c := r.callAt(s)
		if c.st != waiting {
			continue
		}
		want := 1
		for _, s2 := range r.calls.all() {
			d := r.callAt(s2)
			if d.st == waiting && d.qix == c.qix && callLess(d, c) {
				want++
			}
		}
		if pos, _, ok := r.Waiting(id); !ok || pos != want {
			tb.Fatalf("call %s: position %d (%v), recount %d", id, pos, ok, want)
		}
	}
	for name, q := range r.queues {
		if q.line.n != perQueue[q] {
			tb.Fatalf("queue %s: line holds %d calls, want %d", name, q.line.n, perQueue[q])
		}
		// The longest-waiting call found through the index is the naive one.
		var oldest *call
		for _, s := range r.calls.all() {
			c := r.callAt(s)
			if r.queueOf(c) == q && c.st == waiting && (oldest == nil || ageLess(c, oldest)) {
				oldest = c
			}
		}
		if got := q.longest(); got != oldest {
			tb.Fatalf("queue %s: longest waiting %v, want %v", name, got, oldest)
		}
		var by [NumStates]int
		for _, a := range r.agents {
			if a.member(q) != nil {
				by[a.state]++
			}
		}
		if by != q.byState {
			tb.Fatalf("queue %s: agents by state %v, recount %v", name, q.byState, by)
		}
	}
	// Work-conserving: no Ready agent and eligible waiting call coexist
	// (eligibility recomputed from scratch, not from the buckets).
	for _, a := range r.agents {
		if a.state != Ready {
			continue
		}
		for _, s := range r.calls.all() {
			c := r.callAt(s)
			if c.st == waiting && naiveEligible(r, a, c, nil) {
				tb.Fatalf("Ready agent %s and eligible waiting call %s coexist", a.id, r.callID(c))
			}
		}
	}
}

// testConfig is a small but varied world: every strategy, skill steps, any,
// overflow, max wait, max length, no-agents overflow, wrap-up or none.
func testConfig(rng *rand.Rand, nAgents int) Config {
	cfg := Config{TraceLimit: 16, Queues: []QueueConfig{
		{Name: "sales", Strategy: LongestIdle, SLTarget: 20 * time.Second, ShortAbandon: 5 * time.Second,
			WrapUp: 10 * time.Second, OfferTimeout: 15 * time.Second, AnnounceEvery: 30 * time.Second,
			Steps: []Step{{After: 0, Skills: []SkillReq{{"sales", 7}}}, {After: 30 * time.Second, Skills: []SkillReq{{"sales", 4}}},
				{After: 90 * time.Second, Any: true}, {After: 300 * time.Second, Overflow: "general"}}},
		{Name: "billing", Strategy: BestProficiency, MaxWait: 400 * time.Second, Overflow: "voicemail", MaxLength: 15,
			NoAgents: NoAgentsOverflow, WrapUp: 5 * time.Second, SLTarget: 30 * time.Second},
		{Name: "general", Strategy: RoundRobin, OfferTimeout: 10 * time.Second},
		{Name: "vip", Strategy: FewestCalls, WrapUp: 3 * time.Second, Steps: []Step{{After: 20 * time.Second, Any: true}},
			Location: time.FixedZone("X", 3600)},
	}}
	skills := []string{"sales", "billing", "french", "tech"}
	queues := []string{"sales", "billing", "general", "vip"}
	for i := range nAgents {
		ac := AgentConfig{ID: fmt.Sprintf("a%d", i), Skills: map[string]int{}}
		for _, s := range skills {
			if rng.IntN(2) == 0 {
				ac.Skills[s] = 1 + rng.IntN(10)
			}
		}
		for _, q := range queues {
			if rng.IntN(2) == 0 {
				ac.Queues = append(ac.Queues, q)
			}
		}
		cfg.Agents = append(cfg.Agents, ac)
	}
	return cfg
}

var t0 = time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC)

// world generates plausible random events against a router's current state.
type world struct {
	rng    *rand.Rand
	agents []string
	nCalls int
	now    time.Time
}

func (w *world) next(r *Router) (time.Time, Event) {
	rng := w.rng
	if rng.IntN(3) == 0 {
		w.now = w.now.Add(time.Duration(rng.IntN(20000)) * time.Millisecond)
	}
	ag := w.agents[rng.IntN(len(w.agents))]
	anyCall := func() string {
		if w.nCalls == 0 {
			return "c0"
		}
		return fmt.Sprintf("c%d", rng.IntN(w.nCalls))
	}
	held := func() (string, string) { // an agent holding a call, if any
		ids := sortedKeys(r.agents)
		start := rng.IntN(len(ids))
		for i := range ids {
			a := r.agents[ids[(start+i)%len(ids)]]
			if a.call != nil {
				return a.id, r.callID(a.call)
			}
		}
		return ag, anyCall()
	}
	switch n := rng.IntN(100); {
	case n < 12:
		return w.now, Event{Kind: Tick}
	case n < 32:
		id := fmt.Sprintf("c%d", w.nCalls)
		w.nCalls++
		ar := &Arrival{Queue: []string{"sales", "billing", "general", "vip"}[rng.IntN(4)], Priority: rng.IntN(10) * rng.IntN(2)}
		for _, s := range []string{"sales", "billing", "french"} {
			if rng.IntN(4) == 0 {
				ar.Skills = append(ar.Skills, SkillReq{s, 1 + rng.IntN(10)})
			}
		}
		if rng.IntN(8) == 0 {
			ar.Preferred = w.agents[rng.IntN(len(w.agents))]
			ar.PreferredUntil = w.now.Add(time.Duration(rng.IntN(60)) * time.Second)
		}
		return w.now, Event{Kind: CallArrived, Call: id, Arrival: ar}
	case n < 37:
		return w.now, Event{Kind: AgentLogin, Agent: ag}
	case n < 40:
		return w.now, Event{Kind: AgentLogout, Agent: ag}
	case n < 55:
		return w.now, Event{Kind: SetState, Agent: ag, Ready: rng.IntN(10) < 7, Reason: []string{"lunch", "break"}[rng.IntN(2)]}
	case n < 70:
		a, c := held()
		return w.now, Event{Kind: OfferAccepted, Agent: a, Call: c}
	case n < 73:
		a, c := held()
		return w.now, Event{Kind: OfferRejected, Agent: a, Call: c}
	case n < 76:
		a, c := held()
		return w.now, Event{Kind: OfferTimedOut, Agent: a, Call: c}
	case n < 86:
		_, c := held()
		return w.now, Event{Kind: CallEnded, Call: c}
	case n < 91:
		return w.now, Event{Kind: CallLeft, Call: anyCall()}
	case n < 95:
		return w.now, Event{Kind: WrapUpDone, Agent: ag}
	case n < 98:
		return w.now, Event{Kind: CallbackRequested, Call: anyCall()}
	default:
		return w.now, Event{Kind: OfferAccepted, Agent: "nobody", Call: anyCall()}
	}
}

func mustNew(tb testing.TB, cfg Config) *Router {
	tb.Helper()
	r, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func ageLess(a, b *call) bool {
	if a.enq != b.enq {
		return a.enq < b.enq
	}
	return a.seq < b.seq
}
