package queue

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// snapshot is the whole state in JSON. Indexes are not stored: Restore
// rebuilds them from the facts, and every key they order by is stored.
type snapshot struct {
	Version    int         `json:"version"`
	Now        int64       `json:"now"`
	Start      int64       `json:"start"`
	Started    bool        `json:"started"`
	Seq        uint64      `json:"seq"`
	Location   string      `json:"location"`
	TraceLimit int         `json:"trace_limit"`
	TraceNext  int         `json:"trace_next"`
	Traces     []Trace     `json:"traces"`
	Queues     []snapQueue `json:"queues"`
	Agents     []snapAgent `json:"agents"`
	Calls      []snapCall  `json:"calls"`
}

type snapQueue struct {
	Config   QueueConfig `json:"config"`
	Location string      `json:"location"`
	RR       uint64      `json:"rr"`
	Stats    stats       `json:"stats"`
}

type snapMember struct {
	Queue string `json:"queue"`
	RR    uint64 `json:"rr"`
	K1    int64  `json:"k1"`
	K2    int64  `json:"k2"`
}

type snapAgent struct {
	Config     AgentConfig  `json:"config"`
	State      State        `json:"state"`
	Reason     string       `json:"reason,omitempty"`
	HasPending bool         `json:"has_pending,omitempty"`
	PendState  State        `json:"pend_state,omitempty"`
	PendReason string       `json:"pend_reason,omitempty"`
	Deadline   int64        `json:"deadline,omitempty"`
	ReadySince int64        `json:"ready_since"`
	CallsToday int          `json:"calls_today"`
	DayEnd     int64        `json:"day_end"`
	LastQueue  string       `json:"last_queue,omitempty"`
	Answered   int64        `json:"answered,omitempty"`
	Members    []snapMember `json:"members"`
}

type snapCall struct {
	ID        string            `json:"id"`
	Queue     string            `json:"queue"`
	Priority  int               `json:"priority"`
	Skills    []SkillReq        `json:"skills,omitempty"`
	Preferred string            `json:"preferred,omitempty"`
	PrefUntil int64             `json:"pref_until,omitempty"`
	InPref    bool              `json:"in_pref,omitempty"`
	Enqueued  int64             `json:"enqueued"`
	Seq       uint64            `json:"seq"`
	Attrs     map[string]string `json:"attrs,omitempty"`
	State     callState         `json:"state"`
	Callback  bool              `json:"callback,omitempty"`
	Step      int               `json:"step"`
	Agent     string            `json:"agent,omitempty"`
	LastPos   int               `json:"last_pos"`
	LastEWT   int64             `json:"last_ewt"`
	NextAnn   int64             `json:"next_ann"`
}

// Snapshot serializes the whole state, so a restarted controller loses no
// queue position, offer, statistic or trace.
func (r *Router) Snapshot() ([]byte, error) {
	s := snapshot{Version: 1, Now: r.now, Start: r.start, Started: r.started, Seq: r.seq, Location: r.loc.String(),
		TraceLimit: r.traceLimit, TraceNext: r.traceNext, Traces: r.traces}
	for _, name := range sortedKeys(r.queues) {
		q := r.queues[name]
		s.Queues = append(s.Queues, snapQueue{Config: q.cfg, Location: q.cfg.Location.String(), RR: q.rr, Stats: q.st})
	}
	for _, id := range sortedKeys(r.agents) {
		a := r.agents[id]
		sa := snapAgent{Config: a.cfg, State: a.state, Reason: a.reason, HasPending: a.hasPending, PendState: a.pendState,
			PendReason: a.pendReason, Deadline: a.deadline, ReadySince: a.readySince, CallsToday: a.callsToday,
			DayEnd: a.dayEnd, Answered: a.answered}
		if a.lastQ != nil {
			sa.LastQueue = a.lastQ.cfg.Name
		}
		for _, m := range a.members {
			sa.Members = append(sa.Members, snapMember{Queue: m.q.cfg.Name, RR: m.rr, K1: m.k1, K2: m.k2})
		}
		s.Agents = append(s.Agents, sa)
	}
	ids := make([]string, 0, r.calls.len())
	for id := range r.calls.all() {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		c := r.call(id)
		sc := snapCall{ID: r.callID(c), Queue: r.queueOf(c).cfg.Name, Priority: int(c.prio), Skills: r.skillsOf(c), Preferred: r.preferredOf(c),
			PrefUntil: c.prefUntil, InPref: r.prefOf(c) != nil, Enqueued: c.enq, Seq: c.seq, Attrs: r.attrsOf(c), State: c.st,
			Callback: c.callback, Step: int(c.step), LastPos: int(c.lastPos),
			LastEWT: int64(c.lastEWT) * ewtGrain, NextAnn: c.nextAnn}
		if r.agentOf(c) != nil {
			sc.Agent = r.agentOf(c).id
		}
		s.Calls = append(s.Calls, sc)
	}
	return json.Marshal(s)
}

// Restore rebuilds a Router from Snapshot's output. locate turns the stored
// time-zone names back into locations (loading them is the caller's job);
// nil accepts only "UTC".
func Restore(data []byte, locate func(name string) (*time.Location, error)) (*Router, error) {
	var s snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, invalid("snapshot: %v", err)
	}
	if s.Version != 1 {
		return nil, invalid("snapshot version: unknown %d", s.Version)
	}
	loc := func(name string) (*time.Location, error) {
		if name == "UTC" || name == "" {
			return time.UTC, nil
		}
		if locate == nil {
			return nil, invalid("snapshot: location %q needs a locate function", name)
		}
		return locate(name)
	}
	rl, err := loc(s.Location)
	if err != nil {
		return nil, err
	}
	r, err := New(Config{TraceLimit: s.TraceLimit, Location: rl})
	if err != nil {
		return nil, err
	}
	r.now, r.start, r.started, r.seq = s.Now, s.Start, s.Started, s.Seq
	r.traces, r.traceNext = s.Traces, s.TraceNext
	for _, sq := range s.Queues {
		if sq.Config.Location, err = loc(sq.Location); err != nil {
			return nil, err
		}
		if err := r.SetQueue(sq.Config); err != nil {
			return nil, err
		}
		q := r.queues[sq.Config.Name]
		q.rr, q.st = sq.RR, sq.Stats
		q.ewtOK, q.w15OK = false, false
	}
	for _, sa := range s.Agents {
		if err := r.SetAgent(sa.Config); err != nil {
			return nil, err
		}
		a := r.agents[sa.Config.ID]
		for _, m := range a.members {
			m.q.byState[LoggedOut]--
			m.q.byState[sa.State]++
			m.q.ewtOK = false
			for _, sm := range sa.Members {
				if sm.Queue == m.q.cfg.Name {
					m.rr, m.k1, m.k2 = sm.RR, sm.K1, sm.K2
				}
			}
		}
		a.state, a.reason, a.hasPending, a.pendState, a.pendReason = sa.State, sa.Reason, sa.HasPending, sa.PendState, sa.PendReason
		a.deadline, a.readySince, a.callsToday, a.dayEnd, a.answered = sa.Deadline, sa.ReadySince, sa.CallsToday, sa.DayEnd, sa.Answered
		if sa.LastQueue != "" {
			a.lastQ = r.queues[sa.LastQueue]
		}
		if a.state == Ready {
			r.insertReady(a)
		}
		if a.state == Reserved || a.state == WrapUp {
			r.timers.set(&a.tm, a.deadline, 0)
		}
	}
	slices.SortFunc(s.Calls, func(a, b snapCall) int { return cmp.Compare(a.Seq, b.Seq) })
	for i, sc := range s.Calls {
		q := r.queues[sc.Queue]
		if q == nil {
			return nil, invalid("snapshot: call %q in unknown queue %q", sc.ID, sc.Queue)
		}
		// The indexes order calls by (priority, seq): seq must be unique and
		// follow enqueued-at, as it does in every snapshot this package writes.
		if sc.Priority < 0 || sc.Priority > 9 || sc.Seq == 0 || sc.Seq >= 1<<56 || sc.Seq > s.Seq {
			return nil, invalid("snapshot: call %q priority %d or seq %d out of range", sc.ID, sc.Priority, sc.Seq)
		}
		if i > 0 && (sc.Seq == s.Calls[i-1].Seq || sc.Enqueued < s.Calls[i-1].Enqueued) {
			return nil, invalid("snapshot: call %q out of arrival order", sc.ID)
		}
		if sc.Step >= len(q.cfg.Steps) {
			return nil, invalid("snapshot: call %q step %d out of range", sc.ID, sc.Step)
		}
		c := r.newCall(sc.ID, q, sc.Skills, sc.Preferred, sc.Attrs)
		c.prio, c.prefUntil, c.enq, c.seq, c.st, c.callback = int8(sc.Priority), sc.PrefUntil, sc.Enqueued, sc.Seq, sc.State, sc.Callback
		c.ln = q.line.number(c.prio) // in seq order: the line's order
		c.step, c.lastPos, c.lastEWT, c.nextAnn = int16(sc.Step), int32(sc.LastPos), int32(sc.LastEWT/ewtGrain), sc.NextAnn
		if c.callback {
			q.callbacks++
		}
		switch c.st {
		case waiting:
			if sc.InPref {
				if a := r.agents[sc.Preferred]; a != nil {
					c.prefIx = a.ix + 1
				}
			}
			if a := r.prefOf(c); a != nil {
				a.preferred.Insert(c.key(), c.slot)
			} else {
				b := r.bucketFor(q, int(c.step), c)
				c.bix = b.ix
				b.add(q, c)
			}
			q.line.insert(c.prio, c.ln, c.slot)
			r.scheduleCall(c)
		default:
			a := r.agents[sc.Agent]
			if a == nil {
				return nil, invalid("snapshot: call %q with unknown agent %q", sc.ID, sc.Agent)
			}
			c.agentIx, a.call = a.ix+1, c
		}
	}
	return r, nil
}

func (s callState) String() string {
	switch s {
	case waiting:
		return "waiting"
	case offered:
		return "offered"
	case connected:
		return "connected"
	}
	return fmt.Sprintf("callState(%d)", uint8(s))
}
