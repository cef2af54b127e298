package queue

import "time"

// agentEvent runs the agent state machine. The table it implements:
//
//	LoggedOut  AgentLogin → NotReady(reason|"login");  Logout, timeouts → no-op
//	NotReady   SetState(Ready) → Ready; SetState(NotReady r) → NotReady(r); Logout → LoggedOut
//	Ready      SetState(NotReady r) → NotReady(r); Logout → LoggedOut; routing → Reserved
//	Reserved   Accepted → OnCall; Rejected → NotReady("rejected"); TimedOut → NotReady("missed");
//	           Logout → LoggedOut (offer cancelled); SetState → pending
//	OnCall     CallEnded → WrapUp (or available if no wrap-up); SetState, Logout → pending
//	WrapUp     WrapUpDone, SetState(Ready) → Ready; SetState(NotReady r) → NotReady(r); Logout → LoggedOut
//
// "Available" means: the pending state if one was chosen, else Ready. A rejected or
// missed offer never overrides a pending choice either.
func (r *Router) agentEvent(a *agent, ev Event) error {
	conflict := func(msg string) error {
		return &Error{Code: EConflict, Event: ev.Kind, Agent: a.id, Call: ev.Call, State: a.state, Msg: msg}
	}
	switch ev.Kind {
	case AgentLogin:
		if a.state == LoggedOut {
			reason := ev.Reason
			if reason == "" {
				reason = "login"
			}
			r.setAgentState(a, NotReady, reason, 0)
		}
		return nil

	case AgentLogout:
		switch a.state {
		case LoggedOut:
		case NotReady, Ready, WrapUp:
			if a.state == WrapUp {
				r.recordHandle(a)
			}
			r.logout(a)
		case Reserved:
			c := a.call
			a.call = nil
			r.emit(Decision{Kind: CancelOffer, Call: r.callID(c), Agent: a.id, Queue: r.queueOf(c).cfg.Name, Reason: "logout"})
			r.requeue(c)
			r.logout(a)
		case OnCall:
			a.hasPending, a.pendState, a.pendReason = true, LoggedOut, ""
		}
		return nil

	case SetState:
		switch a.state {
		case LoggedOut:
			return conflict("log in first")
		case NotReady:
			if ev.Ready {
				r.ready(a)
			} else if ev.Reason != a.reason {
				r.setAgentState(a, NotReady, ev.Reason, 0)
			}
		case Ready:
			if !ev.Ready {
				r.setAgentState(a, NotReady, ev.Reason, 0)
			}
		case Reserved, OnCall:
			if ev.Ready {
				a.hasPending = false
			} else {
				a.hasPending, a.pendState, a.pendReason = true, NotReady, ev.Reason
			}
		case WrapUp:
			r.recordHandle(a)
			a.hasPending = false
			if ev.Ready {
				r.ready(a)
			} else {
				r.setAgentState(a, NotReady, ev.Reason, 0)
			}
		}
		return nil

	case OfferAccepted:
		c := r.call(ev.Call)
		if a.state == OnCall && a.call == c && c != nil {
			return nil
		}
		if a.state != Reserved || c == nil || a.call != c {
			return conflict("no such offer")
		}
		c.st = connected
		wait := r.now - c.enq
		d := counters{Answered: 1, WaitAnswered: wait}
		if wait <= int64(r.queueOf(c).cfg.SLTarget) {
			d.AnsweredInSL = 1
		}
		r.record(r.queueOf(c), d)
		r.countCall(a)
		a.lastQ, a.answered = r.queueOf(c), r.now
		r.setAgentState(a, OnCall, "", 0)
		return nil

	case OfferRejected, OfferTimedOut:
		c := r.call(ev.Call)
		if a.state != Reserved || c == nil || a.call != c {
			if c != nil && a.call == c {
				return conflict("offer already accepted")
			}
			return nil // already resolved: a repeat, or the router's own timeout came first
		}
		reason := "rejected"
		if ev.Kind == OfferTimedOut {
			reason = "missed"
		}
		r.rona(a, reason)
		return nil

	case WrapUpDone:
		switch a.state {
		case WrapUp:
			r.endWrap(a)
		case Reserved, OnCall:
			return conflict("not in wrap-up")
		}
		return nil
	}
	return nil
}

// rona takes an unanswered offer back: the call returns to its place in line
// and the agent goes NotReady(reason) unless they chose a pending state.
func (r *Router) rona(a *agent, reason string) {
	c := a.call
	a.call = nil
	if a.hasPending {
		r.applyPending(a)
	} else {
		r.setAgentState(a, NotReady, reason, 0)
	}
	r.requeue(c)
}

func (r *Router) agentTimer(a *agent) {
	switch {
	case a.state == Reserved && a.deadline <= r.now:
		r.emit(Decision{Kind: CancelOffer, Call: r.callID(a.call), Agent: a.id, Queue: r.queueOf(a.call).cfg.Name, Reason: "timeout"})
		r.rona(a, "missed")
	case a.state == WrapUp && a.deadline <= r.now:
		r.endWrap(a)
	}
}

func (r *Router) recordHandle(a *agent) {
	if a.lastQ != nil {
		r.record(a.lastQ, counters{Handled: 1, Handle: r.now - a.answered})
		a.lastQ = nil
	}
}

func (r *Router) endWrap(a *agent) {
	r.recordHandle(a)
	r.available(a)
}

// available ends a piece of work: the agent's pending choice wins, else Ready.
func (r *Router) available(a *agent) {
	if a.hasPending {
		r.applyPending(a)
		return
	}
	r.ready(a)
}

// ready makes a Ready and gives them the best call eligible for them. An
// agent who takes a call at once is never linked into the Ready sets (one
// per queue and skill it has), which saves linking and unlinking them there
// on almost every call in a busy center; one still Ready after is linked.
func (r *Router) ready(a *agent) {
	r.setAgentState(a, Ready, "", 0)
	r.matchAgent(a)
	if a.state == Ready {
		r.readyAgent(a)
	}
}

func (r *Router) applyPending(a *agent) {
	a.hasPending = false
	if a.pendState == LoggedOut {
		r.logout(a)
		return
	}
	r.setAgentState(a, NotReady, a.pendReason, 0)
}

func (r *Router) logout(a *agent) {
	a.hasPending = false
	r.setAgentState(a, LoggedOut, "", 0)
	for _, m := range a.members {
		q := m.q
		if q.cfg.NoAgents != NoAgentsOverflow || q.byState[LoggedOut] != q.members {
			continue
		}
		// The last agent left: callers would wait for nobody.
		var calls []*call
		q.line.each(func(s uint32) bool {
			c := r.callAt(s)
			if !c.callback {
				calls = append(calls, c)
			}
			return true
		})
		for _, c := range calls {
			r.overflow(c, q.cfg.Overflow, "no agents")
		}
	}
}

func (r *Router) countCall(a *agent) {
	if r.now >= a.dayEnd {
		a.callsToday = 0
		_, a.dayEnd = dayBounds(r.now, r.loc)
	}
	a.callsToday++
}

// setAgentState moves a to s, keeping the per-queue counts in step and
// taking a out of the Ready sets, schedules its deadline, and tells the
// engine. Linking a Ready agent into the sets is the caller's (see ready).
func (r *Router) setAgentState(a *agent, s State, reason string, deadline int64) {
	r.unreadyAgent(a)
	for _, m := range a.members {
		m.q.byState[a.state]--
		m.q.byState[s]++
		m.q.ewtOK = false
	}
	a.state, a.reason, a.deadline = s, reason, deadline
	if s == Ready {
		a.readySince = r.now
	}
	switch {
	case s == Reserved && a.call != nil:
		r.timers.set(&a.tm, deadline, r.run(r.queueOf(a.call), runOffer))
	case s == WrapUp && a.lastQ != nil:
		r.timers.set(&a.tm, deadline, r.run(a.lastQ, runWrapUp))
	case s == Reserved || s == WrapUp:
		r.timers.set(&a.tm, deadline, 0)
	default:
		r.timers.remove(&a.tm)
	}
	d := r.decision()
	d.Kind, d.Agent, d.State, d.Reason = AgentStateChanged, a.id, s, reason
}

// readyAgent inserts a Ready agent in the sets of all its queues under each
// queue's strategy key.
func (r *Router) readyAgent(a *agent) {
	calls := int64(a.callsToday)
	if r.now >= a.dayEnd {
		calls = 0
	}
	for _, m := range a.members {
		switch m.q.cfg.Strategy {
		case FewestCalls:
			m.k1, m.k2 = calls, a.readySince
		case RoundRobin:
			m.k1, m.k2 = int64(m.rr), 0
		default:
			m.k1, m.k2 = a.readySince, 0
		}
	}
	r.insertReady(a)
}

// insertReady links a into the Ready sets under the keys already in its members.
func (r *Router) insertReady(a *agent) {
	a.linked = true
	for _, m := range a.members {
		q := m.q
		q.any.Insert(&m.anyN, m)
		if m.sets == nil {
			m.sets = make([]*tree[*member], len(a.skills))
			for i, s := range a.skills {
				m.sets[i] = q.readySet(s.Skill, s.Min)
			}
		}
		for i, t := range m.sets {
			t.Insert(&m.nodes[i], m)
		}
	}
}

// readyLevels returns q's Ready sets of skill by level, creating the array:
// it lives as long as the queue, so buckets keep pointers to theirs.
func (q *queueState) readyLevels(skill string) *[11]*tree[*member] {
	sets := q.ready[skill]
	if sets == nil {
		sets = new([11]*tree[*member])
		q.ready[skill] = sets
	}
	return sets
}

// readySet returns the set of q's Ready members holding skill at level,
// creating it. Sets live as long as the queue, so members keep pointers to theirs.
func (q *queueState) readySet(skill string, level int) *tree[*member] {
	sets := q.readyLevels(skill)
	if sets[level] == nil {
		sets[level] = newTree(memberLess)
	}
	return sets[level]
}

// unreadyAgent unlinks a from the Ready sets, if it is in them.
func (r *Router) unreadyAgent(a *agent) {
	if !a.linked {
		return
	}
	a.linked = false
	for _, m := range a.members {
		q := m.q
		q.any.Delete(m)
		for _, t := range m.sets {
			t.Delete(m)
		}
	}
}

func dayBounds(ns int64, loc *time.Location) (start, end int64) {
	t := time.Unix(0, ns).In(loc)
	y, m, d := t.Date()
	s := time.Date(y, m, d, 0, 0, 0, 0, loc)
	return s.UnixNano(), s.AddDate(0, 0, 1).UnixNano()
}

// AgentView is an agent's state as the router sees it.
type AgentView struct {
	ID            string
	State         State
	Reason        string
	Pending       bool
	PendingState  State
	PendingReason string
	Call          string
	Deadline      time.Time
	ReadySince    time.Time
}

// Agent reports one agent's state.
func (r *Router) Agent(id string) (AgentView, bool) {
	a := r.agents[id]
	if a == nil {
		return AgentView{}, false
	}
	v := AgentView{ID: a.id, State: a.state, Reason: a.reason, Pending: a.hasPending, PendingState: a.pendState,
		PendingReason: a.pendReason, ReadySince: ts(a.readySince)}
	if a.call != nil {
		v.Call = r.callID(a.call)
	}
	if a.deadline != 0 {
		v.Deadline = ts(a.deadline)
	}
	return v, true
}
