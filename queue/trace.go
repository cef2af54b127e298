package queue

import (
	"fmt"
	"time"
)

// SkipReason says why an agent or call was passed over.
type SkipReason uint8

// Skip reasons.
const (
	SkipNone             SkipReason = iota
	SkipLacksSkill                  // the agent has not the skill at all
	SkipBelowProficiency            // the agent has it below the minimum in force
)

var skipNames = [...]string{"none", "lacks skill", "below proficiency"}

func (s SkipReason) String() string {
	if int(s) < len(skipNames) {
		return skipNames[s]
	}
	return "SkipReason(?)"
}

// MarshalText writes the reason's name for the supervisor view.
func (s SkipReason) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText accepts the names written by MarshalText.
func (s *SkipReason) UnmarshalText(b []byte) error {
	for i, n := range skipNames {
		if n == string(b) {
			*s = SkipReason(i)
			return nil
		}
	}
	return fmt.Errorf("queue: unknown skip reason %q", b)
}

// Skip names one agent (when a call looked for an agent) or one call (when a
// freed agent looked for a call) that was passed over, and why.
type Skip struct {
	Agent  string     `json:"agent,omitempty"`
	Call   string     `json:"call,omitempty"`
	Reason SkipReason `json:"reason"`
}

// Trace explains one routing decision for the supervisor view. Counting every
// member agent would cost O(agents) per offer, so the counts come from the
// indexes (exact for the first required skill) and at most a few skipped
// agents or calls are named.
type Trace struct {
	At      time.Time `json:"at"`
	Queue   string    `json:"queue"`
	Call    string    `json:"call"`
	Agent   string    `json:"agent"`
	Trigger string    `json:"trigger"` // "call": the call looked for an agent; "agent": a freed agent looked for a call
	Step    int       `json:"step"`    // escalation step in force, -1 before the first
	Rule    string    `json:"rule"`    // requirement in force: "billing>=7", "any", "preferred agent"
	// Agents of the queue by why they were not candidates (when Trigger is "call").
	Ready            int    `json:"ready"` // Ready members, the chosen one included
	LoggedOut        int    `json:"logged_out"`
	NotReady         int    `json:"not_ready"`
	Busy             int    `json:"busy"` // Reserved, OnCall or WrapUp
	LacksSkill       int    `json:"lacks_skill"`
	BelowProficiency int    `json:"below_proficiency"`
	Skipped          []Skip `json:"skipped,omitempty"`
}

func (r *Router) callTrace(c *call, a *agent, trigger string, ex []Skip) *Trace {
	q := r.queueOf(c)
	tr := r.newTrace()
	tr.Trigger, tr.Ready, tr.LoggedOut, tr.Skipped = trigger, q.byState[Ready], q.byState[LoggedOut], ex
	tr.NotReady, tr.Busy = q.byState[NotReady], q.byState[Reserved]+q.byState[OnCall]+q.byState[WrapUp]
	if b := r.bucketOf(c); r.prefOf(c) == nil && len(b.req) > 0 {
		s, sets := b.req[0], b.readySets(q)[0]
		has := readyCount(sets, 1, 10)
		tr.LacksSkill = q.byState[Ready] - has
		tr.BelowProficiency = readyCount(sets, 1, s.Min-1)
	}
	return tr
}

func (r *Router) agentTrace(c *call, a *agent, ex []Skip) *Trace {
	tr := r.newTrace()
	tr.Trigger, tr.Ready, tr.Skipped = "agent", 1, ex
	return tr
}

// newTrace returns a zeroed trace cut from a slab. The caller owns it, as it
// owns the decision that points to it; the slab is never reused.
func (r *Router) newTrace() *Trace {
	if len(r.traceSlab) == 0 {
		r.traceSlab = make([]Trace, slabSize)
	}
	tr := &r.traceSlab[0]
	r.traceSlab = r.traceSlab[1:]
	return tr
}

func (r *Router) addTrace(t Trace) {
	if len(r.traces) < r.traceLimit {
		r.traces = append(r.traces, t)
		return
	}
	r.traces[r.traceNext] = t
	r.traceNext = (r.traceNext + 1) % r.traceLimit
}

// Traces returns the last routing traces, oldest first.
func (r *Router) Traces() []Trace {
	out := make([]Trace, 0, len(r.traces))
	out = append(out, r.traces[r.traceNext:]...)
	return append(out, r.traces[:r.traceNext]...)
}
