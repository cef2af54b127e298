package queue

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// decodeEvents turns bytes into an event stream over a small fixed world:
// each event is 3 bytes (kind, agent/call selector, time step).
func decodeEvents(data []byte, agents []string) []struct {
	at time.Time
	ev Event
} {
	var out []struct {
		at time.Time
		ev Event
	}
	now := t0
	queues := []string{"sales", "billing", "general", "vip"}
	for len(data) >= 3 {
		k, x, dt := data[0], data[1], data[2]
		data = data[3:]
		now = now.Add(time.Duration(dt) * 500 * time.Millisecond)
		ag := agents[int(x)%len(agents)]
		cl := fmt.Sprintf("c%d", x%16)
		var ev Event
		switch k % 12 {
		case 0:
			ev = Event{Kind: Tick}
		case 1:
			ev = Event{Kind: AgentLogin, Agent: ag}
		case 2:
			ev = Event{Kind: AgentLogout, Agent: ag}
		case 3:
			ev = Event{Kind: SetState, Agent: ag, Ready: x&0x80 == 0, Reason: "break"}
		case 4:
			ar := &Arrival{Queue: queues[int(x>>4)%4], Priority: int(dt) % 10}
			if dt&1 == 1 {
				ar.Skills = []SkillReq{{"sales", 1 + int(k>>4)%10}}
			}
			if dt&6 == 6 {
				ar.Preferred, ar.PreferredUntil = agents[int(k>>4)%len(agents)], now.Add(30*time.Second)
			}
			ev = Event{Kind: CallArrived, Call: cl, Arrival: ar}
		case 5:
			ev = Event{Kind: CallLeft, Call: cl}
		case 6, 7, 8:
			ev = Event{Kind: []EventKind{OfferAccepted, OfferRejected, OfferTimedOut}[k%12-6], Agent: ag, Call: cl}
		case 9:
			ev = Event{Kind: CallEnded, Call: cl}
		case 10:
			ev = Event{Kind: WrapUpDone, Agent: ag}
		case 11:
			ev = Event{Kind: CallbackRequested, Call: cl}
		}
		out = append(out, struct {
			at time.Time
			ev Event
		}{now, ev})
	}
	return out
}

// FuzzEvents checks the invariants after every event of a byte-decoded stream,
// that the reference makes the same decisions, and that snapshots round-trip.
func FuzzEvents(f *testing.F) {
	f.Add([]byte{1, 0, 0, 3, 0, 0, 4, 0, 1, 6, 0, 2, 9, 0, 3, 0, 0, 40})
	f.Add([]byte{4, 1, 2, 4, 2, 3, 1, 1, 0, 3, 1, 0, 0, 0, 200, 0, 0, 200})
	cfg := testConfig(rand.New(rand.NewPCG(1, 2)), 6)
	var agents []string
	for _, a := range cfg.Agents {
		agents = append(agents, a.ID)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := mustNew(t, cfg)
		ref := mustNew(t, cfg)
		ref.naive = naive{}
		for _, e := range decodeEvents(data, agents) {
			got, err := r.Apply(e.at, e.ev)
			want, werr := ref.Apply(e.at, e.ev)
			if errString(err) != errString(werr) || fmt.Sprint(stripTraces(got)) != fmt.Sprint(stripTraces(want)) {
				t.Fatalf("%+v: engine %v %+v, reference %v %+v", e.ev, err, got, werr, want)
			}
			checkInvariants(t, r)
		}
		data1, err := r.Snapshot()
		if err != nil {
			t.Fatal(err)
		}
		r2, err := Restore(data1, func(string) (*time.Location, error) { return time.FixedZone("X", 3600), nil })
		if err != nil {
			t.Fatal(err)
		}
		checkInvariants(t, r2)
		if data2, _ := r2.Snapshot(); string(data2) != string(data1) {
			t.Fatal("snapshot does not round-trip")
		}
	})
}
