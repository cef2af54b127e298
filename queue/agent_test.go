package queue

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

func oneQueue(tb testing.TB) *Router {
	tb.Helper()
	return mustNew(tb, Config{
		Queues: []QueueConfig{{Name: "q", WrapUp: 10 * time.Second, OfferTimeout: 15 * time.Second}},
		Agents: []AgentConfig{{ID: "a", Skills: map[string]int{"sales": 5}, Queues: []string{"q"}}},
	})
}

func mustApply(tb testing.TB, r *Router, at time.Duration, ev Event) []Decision {
	tb.Helper()
	ds, err := r.Apply(t0.Add(at), ev)
	if err != nil {
		tb.Fatalf("%+v: %v", ev, err)
	}
	return ds
}

var arriveC1 = Event{Kind: CallArrived, Call: "c1", Arrival: &Arrival{Queue: "q"}}

// into drives agent "a" into state s, returning the router.
func into(tb testing.TB, s State) *Router {
	r := oneQueue(tb)
	steps := map[State][]Event{
		LoggedOut: nil,
		NotReady:  {{Kind: AgentLogin, Agent: "a"}},
		Ready:     {{Kind: AgentLogin, Agent: "a"}, {Kind: SetState, Agent: "a", Ready: true}},
		Reserved:  {{Kind: AgentLogin, Agent: "a"}, {Kind: SetState, Agent: "a", Ready: true}, arriveC1},
		OnCall: {{Kind: AgentLogin, Agent: "a"}, {Kind: SetState, Agent: "a", Ready: true}, arriveC1,
			{Kind: OfferAccepted, Agent: "a", Call: "c1"}},
		WrapUp: {{Kind: AgentLogin, Agent: "a"}, {Kind: SetState, Agent: "a", Ready: true}, arriveC1,
			{Kind: OfferAccepted, Agent: "a", Call: "c1"}, {Kind: CallEnded, Call: "c1"}},
	}[s]
	for _, ev := range steps {
		mustApply(tb, r, 0, ev)
	}
	if v, _ := r.Agent("a"); v.State != s {
		tb.Fatalf("setup: agent in %s, want %s", v.State, s)
	}
	return r
}

func kinds(ds []Decision) []DecisionKind {
	var k []DecisionKind
	for _, d := range ds {
		k = append(k, d.Kind)
	}
	return k
}

// TestAgentStateMachine is the table (state, event) → (state', decisions).
func TestAgentStateMachine(t *testing.T) {
	const ASC, OFF, CAN = AgentStateChanged, Offer, CancelOffer
	login := Event{Kind: AgentLogin, Agent: "a"}
	logout := Event{Kind: AgentLogout, Agent: "a"}
	ready := Event{Kind: SetState, Agent: "a", Ready: true}
	lunch := Event{Kind: SetState, Agent: "a", Reason: "lunch"}
	accept := Event{Kind: OfferAccepted, Agent: "a", Call: "c1"}
	reject := Event{Kind: OfferRejected, Agent: "a", Call: "c1"}
	timedOut := Event{Kind: OfferTimedOut, Agent: "a", Call: "c1"}
	ended := Event{Kind: CallEnded, Call: "c1"}
	left := Event{Kind: CallLeft, Call: "c1"}
	wrapDone := Event{Kind: WrapUpDone, Agent: "a"}
	tick := Event{Kind: Tick}
	tests := []struct {
		from    State
		at      time.Duration
		ev      Event
		to      State
		reason  string
		want    []DecisionKind
		wantErr bool
	}{
		{LoggedOut, 0, login, NotReady, "login", []DecisionKind{ASC}, false},
		{LoggedOut, 0, logout, LoggedOut, "", nil, false},
		{LoggedOut, 0, ready, LoggedOut, "", nil, true},
		{LoggedOut, 0, wrapDone, LoggedOut, "", nil, false},
		{LoggedOut, 0, accept, LoggedOut, "", nil, true},
		{NotReady, 0, login, NotReady, "login", nil, false},
		{NotReady, 0, ready, Ready, "", []DecisionKind{ASC}, false},
		{NotReady, 0, lunch, NotReady, "lunch", []DecisionKind{ASC}, false},
		{NotReady, 0, logout, LoggedOut, "", []DecisionKind{ASC}, false},
		{NotReady, 0, accept, NotReady, "login", nil, true},
		{Ready, 0, ready, Ready, "", nil, false},
		{Ready, 0, lunch, NotReady, "lunch", []DecisionKind{ASC}, false},
		{Ready, 0, logout, LoggedOut, "", []DecisionKind{ASC}, false},
		{Ready, 0, arriveC1, Reserved, "", []DecisionKind{OFF, ASC}, false},
		{Ready, 0, wrapDone, Ready, "", nil, false},
		{Reserved, 0, accept, OnCall, "", []DecisionKind{ASC}, false},
		{Reserved, 0, reject, NotReady, "rejected", []DecisionKind{ASC}, false},
		{Reserved, 0, timedOut, NotReady, "missed", []DecisionKind{ASC}, false},
		{Reserved, 15 * time.Second, tick, NotReady, "missed", []DecisionKind{CAN, ASC}, false},
		{Reserved, 14 * time.Second, tick, Reserved, "", nil, false},
		{Reserved, 0, left, Ready, "", []DecisionKind{CAN, ASC}, false},
		{Reserved, 0, logout, LoggedOut, "", []DecisionKind{CAN, ASC}, false},
		{Reserved, 0, lunch, Reserved, "", nil, false},
		{Reserved, 0, wrapDone, Reserved, "", nil, true},
		{OnCall, 0, accept, OnCall, "", nil, false},
		{OnCall, 0, reject, OnCall, "", nil, true},
		{OnCall, 0, ended, WrapUp, "", []DecisionKind{ASC}, false},
		{OnCall, 0, left, WrapUp, "", []DecisionKind{ASC}, false},
		{OnCall, 0, logout, OnCall, "", nil, false},
		{OnCall, 0, wrapDone, OnCall, "", nil, true},
		{WrapUp, 0, wrapDone, Ready, "", []DecisionKind{ASC}, false},
		{WrapUp, 10 * time.Second, tick, Ready, "", []DecisionKind{ASC}, false},
		{WrapUp, 9 * time.Second, tick, WrapUp, "", nil, false},
		{WrapUp, 0, ready, Ready, "", []DecisionKind{ASC}, false},
		{WrapUp, 0, lunch, NotReady, "lunch", []DecisionKind{ASC}, false},
		{WrapUp, 0, logout, LoggedOut, "", []DecisionKind{ASC}, false},
		{WrapUp, 0, ended, WrapUp, "", nil, false},
	}
	for _, tt := range tests {
		name := tt.from.String() + "/" + tt.ev.Kind.String()
		t.Run(name, func(t *testing.T) {
			r := into(t, tt.from)
			ds, err := r.Apply(t0.Add(tt.at), tt.ev)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				var qe *Error
				if !errors.As(err, &qe) || qe.State != tt.from || qe.Event != tt.ev.Kind ||
					!strings.Contains(err.Error(), tt.from.String()) || !strings.Contains(err.Error(), tt.ev.Kind.String()) {
					t.Fatalf("error %v does not name state %s and event %s", err, tt.from, tt.ev.Kind)
				}
			}
			v, _ := r.Agent("a")
			if v.State != tt.to || v.Reason != tt.reason {
				t.Fatalf("agent in %s(%q), want %s(%q)", v.State, v.Reason, tt.to, tt.reason)
			}
			if got := kinds(ds); !slices.Equal(got, tt.want) {
				t.Fatalf("decisions %v, want %v", got, tt.want)
			}
			// Repeating the event is harmless.
			ds2, err2 := r.Apply(t0.Add(tt.at), tt.ev)
			if v2, _ := r.Agent("a"); v2 != v || (err2 == nil && len(ds2) > 0 && tt.ev.Kind != CallArrived) {
				t.Fatalf("repeat changed state to %+v, decisions %v", v2, kinds(ds2))
			}
			checkInvariants(t, r)
		})
	}
}

// TestPendingState: "not ready after this call: lunch" survives the call and wrap-up.
func TestPendingState(t *testing.T) {
	r := into(t, OnCall)
	mustApply(t, r, time.Second, Event{Kind: SetState, Agent: "a", Reason: "lunch"})
	if v, _ := r.Agent("a"); !v.Pending || v.PendingReason != "lunch" || v.State != OnCall {
		t.Fatalf("pending not recorded: %+v", v)
	}
	mustApply(t, r, 2*time.Second, Event{Kind: CallEnded, Call: "c1"})
	ds := mustApply(t, r, 12*time.Second, Event{Kind: Tick})
	want := []Decision{{Kind: AgentStateChanged, Agent: "a", State: NotReady, Reason: "lunch"}}
	if !reflect.DeepEqual(ds, want) {
		t.Fatalf("after wrap-up got %+v, want %+v", ds, want)
	}
}

func TestStepJSON(t *testing.T) {
	in := `[{"after":"0s","skills":[{"skill":"billing","min":7}]},{"after":"30s","skills":[{"skill":"billing","min":4}]},
	        {"after":"90s","any":true},{"after":"180s","overflow":"general"}]`
	steps, err := ParseSteps([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Step{{After: 0, Skills: []SkillReq{{"billing", 7}}}, {After: 30 * time.Second, Skills: []SkillReq{{"billing", 4}}},
		{After: 90 * time.Second, Any: true}, {After: 180 * time.Second, Overflow: "general"}}
	if !reflect.DeepEqual(steps, want) {
		t.Fatalf("got %+v", steps)
	}
	for _, tt := range []struct{ in, field string }{
		{`[{"after":"x","any":true}]`, "steps[0].after"},
		{`[{"any":true}]`, "steps[0].after"},
		{`[{"after":"1s"}]`, "steps[0].step: exactly one"},
		{`[{"after":"1s","any":true,"overflow":"x"}]`, "steps[0].step: exactly one"},
		{`[{"after":"1s","skills":[{"skill":"","min":3}]}]`, "steps[0].skills[0].skill"},
		{`[{"after":"1s","skills":[{"skill":"b","min":11}]}]`, "steps[0].skills[0].min"},
		{`[{"after":"9s","any":true},{"after":"5s","any":true}]`, "steps[1].after"},
		{`[{"after":"1s","any":true,"bogus":1}]`, "bogus"},
	} {
		_, err := ParseSteps([]byte(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.field) {
			t.Errorf("%s: error %v, want it to name %s", tt.in, err, tt.field)
		}
	}
}

func TestValidateStepsBound(t *testing.T) {
	steps := make([]Step, MaxSteps+1)
	for i := range steps {
		steps[i] = Step{After: time.Duration(i) * time.Second, Any: true}
	}
	err := ValidateSteps(steps)
	if err == nil || !strings.Contains(err.Error(), "steps: at most") {
		t.Fatalf("%d steps: got %v, want an error naming steps", len(steps), err)
	}
	if err := ValidateSteps(steps[:MaxSteps]); err != nil {
		t.Fatalf("%d steps: %v", MaxSteps, err)
	}
}
