package queue

import (
	"slices"
	"testing"
	"time"
)

func readyAgents(tb testing.TB, r *Router, ids ...string) {
	tb.Helper()
	for _, id := range ids {
		mustApply(tb, r, 0, Event{Kind: AgentLogin, Agent: id})
		mustApply(tb, r, 0, Event{Kind: SetState, Agent: id, Ready: true})
	}
}

func find(ds []Decision, k DecisionKind) *Decision {
	for i := range ds {
		if ds[i].Kind == k {
			return &ds[i]
		}
	}
	return nil
}

// TestEscalation: billing ≥ 7, then ≥ 4 after 30 s, any after 90 s, overflow after 180 s,
// applied to a call already waiting.
func TestEscalation(t *testing.T) {
	r := mustNew(t, Config{
		Queues: []QueueConfig{{Name: "billing", Steps: []Step{
			{After: 0, Skills: []SkillReq{{"billing", 7}}}, {After: 30 * time.Second, Skills: []SkillReq{{"billing", 4}}},
			{After: 90 * time.Second, Any: true}, {After: 180 * time.Second, Overflow: "general"}}}},
		Agents: []AgentConfig{{ID: "mid", Skills: map[string]int{"billing": 5}, Queues: []string{"billing"}}},
	})
	readyAgents(t, r, "mid")
	ds := mustApply(t, r, 0, Event{Kind: CallArrived, Call: "c1", Arrival: &Arrival{Queue: "billing"}})
	if find(ds, Offer) != nil || find(ds, Announce) == nil {
		t.Fatalf("offered before the step allows it: %+v", ds)
	}
	if ds := mustApply(t, r, 29*time.Second, Event{Kind: Tick}); find(ds, Offer) != nil {
		t.Fatal("offered before 30 s")
	}
	ds = mustApply(t, r, 30*time.Second, Event{Kind: Tick})
	o := find(ds, Offer)
	if o == nil || o.Agent != "mid" || o.Trace.Step != 1 || o.Trace.Rule != "billing>=4" {
		t.Fatalf("want offer to mid under step 1, got %+v", ds)
	}
	// RONA puts it back; at 180 s it overflows.
	mustApply(t, r, 31*time.Second, Event{Kind: OfferTimedOut, Agent: "mid", Call: "c1"})
	ds = mustApply(t, r, 180*time.Second, Event{Kind: Tick})
	if o := find(ds, Overflow); o == nil || o.Target != "general" || o.Reason != "escalation" {
		t.Fatalf("want overflow to general, got %+v", ds)
	}
}

// TestCrossQueue: a freed agent takes the highest priority, then longest wait, across queues.
func TestCrossQueue(t *testing.T) {
	r := mustNew(t, Config{
		Queues: []QueueConfig{{Name: "a"}, {Name: "b"}},
		Agents: []AgentConfig{{ID: "x", Queues: []string{"a", "b"}}},
	})
	mustApply(t, r, 0, Event{Kind: CallArrived, Call: "old-low", Arrival: &Arrival{Queue: "a", Priority: 1}})
	mustApply(t, r, time.Second, Event{Kind: CallArrived, Call: "new-high", Arrival: &Arrival{Queue: "b", Priority: 5}})
	mustApply(t, r, 2*time.Second, Event{Kind: CallArrived, Call: "old-high", Arrival: &Arrival{Queue: "a", Priority: 5}})
	var got []string
	for i := range 3 {
		at := time.Duration(10+i) * time.Second
		mustApply(t, r, at, Event{Kind: AgentLogin, Agent: "x"})
		ds := mustApply(t, r, at, Event{Kind: SetState, Agent: "x", Ready: true})
		o := find(ds, Offer)
		got = append(got, o.Call)
		mustApply(t, r, at, Event{Kind: OfferRejected, Agent: "x", Call: o.Call})
		mustApply(t, r, at, Event{Kind: CallLeft, Call: o.Call})
	}
	if want := []string{"new-high", "old-high", "old-low"}; !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

// TestPreferredAgent: the call waits for its agent until the preference expires.
func TestPreferredAgent(t *testing.T) {
	r := mustNew(t, Config{
		Queues: []QueueConfig{{Name: "q"}},
		Agents: []AgentConfig{{ID: "own", Queues: []string{"q"}}, {ID: "other", Queues: []string{"q"}}},
	})
	readyAgents(t, r, "other")
	ds := mustApply(t, r, 0, Event{Kind: CallArrived, Call: "c", Arrival: &Arrival{Queue: "q", Preferred: "own", PreferredUntil: t0.Add(20 * time.Second)}})
	if find(ds, Offer) != nil {
		t.Fatal("offered to another agent during the preference")
	}
	ds = mustApply(t, r, 20*time.Second, Event{Kind: Tick})
	if o := find(ds, Offer); o == nil || o.Agent != "other" {
		t.Fatalf("after expiry want offer to other, got %+v", ds)
	}
}

// TestCallbackKeepsPlace: a callback keeps its place and reserves the agent with DialCallback.
func TestCallbackKeepsPlace(t *testing.T) {
	r := mustNew(t, Config{Queues: []QueueConfig{{Name: "q", MaxWait: time.Minute}}, Agents: []AgentConfig{{ID: "x", Queues: []string{"q"}}}})
	mustApply(t, r, 0, Event{Kind: CallArrived, Call: "first", Arrival: &Arrival{Queue: "q"}})
	mustApply(t, r, time.Second, Event{Kind: CallArrived, Call: "second", Arrival: &Arrival{Queue: "q"}})
	mustApply(t, r, 2*time.Second, Event{Kind: CallbackRequested, Call: "first"})
	if ds := mustApply(t, r, 2*time.Minute, Event{Kind: Tick}); find(ds, Overflow).Call != "second" {
		t.Fatalf("want only the caller on the line to overflow, got %+v", ds)
	}
	mustApply(t, r, 2*time.Minute, Event{Kind: AgentLogin, Agent: "x"})
	ds := mustApply(t, r, 2*time.Minute, Event{Kind: SetState, Agent: "x", Ready: true})
	if d := find(ds, DialCallback); d == nil || d.Call != "first" || d.Agent != "x" {
		t.Fatalf("want DialCallback, got %+v", ds)
	}
}

func TestMaxLengthAndNoAgents(t *testing.T) {
	r := mustNew(t, Config{
		Queues: []QueueConfig{{Name: "small", MaxLength: 1, Overflow: "vm"}, {Name: "staffed", NoAgents: NoAgentsOverflow, Overflow: "vm"}},
		Agents: []AgentConfig{{ID: "x", Queues: []string{"staffed"}}},
	})
	mustApply(t, r, 0, Event{Kind: CallArrived, Call: "1", Arrival: &Arrival{Queue: "small"}})
	if o := find(mustApply(t, r, 0, Event{Kind: CallArrived, Call: "2", Arrival: &Arrival{Queue: "small"}}), Overflow); o == nil || o.Reason != "full" {
		t.Fatal("want overflow when full")
	}
	if o := find(mustApply(t, r, 0, Event{Kind: CallArrived, Call: "3", Arrival: &Arrival{Queue: "staffed"}}), Overflow); o == nil || o.Reason != "no agents" {
		t.Fatal("want overflow when nobody is logged in")
	}
	mustApply(t, r, 0, Event{Kind: AgentLogin, Agent: "x"})
	mustApply(t, r, 0, Event{Kind: CallArrived, Call: "4", Arrival: &Arrival{Queue: "staffed"}})
	if o := find(mustApply(t, r, 0, Event{Kind: AgentLogout, Agent: "x"}), Overflow); o == nil || o.Call != "4" {
		t.Fatal("want waiting calls to overflow when the last agent logs out")
	}
}

func TestStrategies(t *testing.T) {
	agents := []AgentConfig{
		{ID: "a1", Skills: map[string]int{"s": 3}, Queues: []string{"q"}},
		{ID: "a2", Skills: map[string]int{"s": 9}, Queues: []string{"q"}},
		{ID: "a3", Skills: map[string]int{"s": 6}, Queues: []string{"q"}},
	}
	for _, tt := range []struct {
		s    Strategy
		want []string
	}{
		{LongestIdle, []string{"a1", "a2", "a3"}},
		{BestProficiency, []string{"a2", "a3", "a1"}},
		{RoundRobin, []string{"a1", "a2", "a3"}},
	} {
		r := mustNew(t, Config{Queues: []QueueConfig{{Name: "q", Strategy: tt.s}}, Agents: agents})
		for i, id := range []string{"a1", "a2", "a3"} {
			mustApply(t, r, time.Duration(i)*time.Second, Event{Kind: AgentLogin, Agent: id})
			mustApply(t, r, time.Duration(i)*time.Second, Event{Kind: SetState, Agent: id, Ready: true})
		}
		var got []string
		for i := range 3 {
			ds := mustApply(t, r, 10*time.Second, Event{Kind: CallArrived, Call: string(rune('x' + i)), Arrival: &Arrival{Queue: "q", Skills: []SkillReq{{"s", 1}}}})
			got = append(got, find(ds, Offer).Agent)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: order %v, want %v", tt.s, got, tt.want)
		}
	}
}
