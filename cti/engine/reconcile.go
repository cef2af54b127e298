package engine

import (
	"context"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-cc/switchboard/cti"
	"github.com/switchboard-cc/switchboard/queue"
)

// OpenInteractions reads the interactions not ended that arrived before a time (crmstore implements it).
type OpenInteractions interface {
	OpenInteractions(ctx context.Context, before time.Time) ([]cti.Interaction, error)
}

// adoption is a leg found on the PBX after a restart, waiting for the router to give its call to its agent again.
type adoption struct {
	leg       string
	agentID   string
	connected bool
	up        bool // answered (in our application) but not bridged: it entered while we were away
}

func (e *Engine) telephonyDown(reason string) {
	if !e.connected {
		return
	}
	e.connected = false
	e.log.Warn("telephony down: no new offers until it is back", "reason", reason)
	for _, id := range e.agentIDs {
		e.pbxDown(e.agents[id])
	}
}

func (e *Engine) telephonyUp() {
	e.connected, e.everUp = true, true
	e.snapshots++
	asked := e.snapshots
	t := e.cfg.Telephony
	type snap struct {
		chans   []cti.ChannelInfo
		bridges []cti.BridgeInfo
		open    []cti.Interaction
		sweep   bool
		openErr error
	}
	// Until a reconcile has done it, the interactions earlier processes left open are read after the channels (so a call
	// still on the PBX is in the snapshot), in one query for all of them, and resumed or finished by reconcile.
	open, born, sweep := e.cfg.Open, e.born, !e.swept && e.cfg.Open != nil
	e.run("sys", effect{name: "snapshot", do: func(ctx context.Context) (any, error) {
		ch, br, err := t.Snapshot(ctx, snapshotVars)
		if err != nil || !sweep {
			return snap{chans: ch, bridges: br}, err
		}
		ins, oerr := open.OpenInteractions(ctx, born)
		return snap{chans: ch, bridges: br, open: ins, sweep: oerr == nil, openErr: oerr}, nil
	}, then: func(res any, err error) {
		if err != nil {
			e.log.Error("telephony snapshot failed; reconciling on the next connect", "err", err)
		} else {
			s := res.(snap)
			if s.openErr != nil {
				e.log.Error("reading the interactions left open failed; they are resumed or finished after the next connect",
					"err", s.openErr)
			}
			e.reconcile(s.chans, s.bridges, asked, s.open, s.sweep && !e.swept)
		}
		if !e.connected {
			return
		}
		ids := make([]string, 0, len(e.downAgents))
		for id := range e.downAgents {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		clear(e.downAgents)
		for _, id := range ids {
			if v, ok := e.router.Agent(id); ok && v.State == queue.NotReady && v.Reason == "pbx-down" {
				e.route(queue.Event{Kind: queue.SetState, Agent: id, Ready: true})
			}
		}
	}})
}

// reconcile makes the engine's calls match the PBX's channels after a (re)connect or a restart; asked numbers the snapshot
// (see leg.known). With sweep, open holds the interactions earlier processes left open (read after chans): an untagged caller
// whose row is among them resumes that call, and the rows of calls no longer on the PBX are finished (finishOrphans).
func (e *Engine) reconcile(chans []cti.ChannelInfo, bridges []cti.BridgeInfo, asked uint64, open []cti.Interaction, sweep bool) {
	byID := make(map[string]cti.ChannelInfo, len(chans))
	for _, ch := range chans {
		byID[ch.ID] = ch
	}
	bridgeOf := map[string]string{}
	for _, b := range bridges {
		for _, ch := range b.Channels {
			bridgeOf[ch] = b.ID
		}
	}
	// Calls we know whose channels are gone ended while we could not see it.
	ids := make([]string, 0, len(e.calls))
	for id := range e.calls {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		c := e.calls[id]
		if c.finished {
			continue
		}
		if l := e.legs[c.customer]; l != nil && !l.gone && l.known != 0 && l.known <= asked {
			if _, ok := byID[c.customer]; !ok {
				l.gone = true
				e.endLost(c)
				continue
			}
		}
		if l := e.legs[c.agentLeg]; l != nil && !l.gone && c.agentLeg != "" && l.known != 0 && l.known <= asked {
			if _, ok := byID[c.agentLeg]; !ok {
				l.gone = true
				e.agentGone(c)
			}
		}
	}
	// Channels we do not know: callers who arrived while we were away, and calls from before a restart.
	namedBy := namingLegs(chans)
	var rowOf map[string]*cti.Interaction
	if sweep {
		rowOf = openRows(open)
	}
	retag := map[string]bool{}
	var customers, legs []cti.ChannelInfo
	for _, ch := range chans {
		if e.legs[ch.ID] != nil {
			continue
		}
		if l, ok := namedBy[ch.ID]; ok && untaggedCaller(ch) {
			// The previous controller stopped between an agent's originate and the caller's tags: the leg names the
			// call and the caller's place in line.
			ch.Vars = map[string]string{VarCall: l.Vars[VarCall], VarRole: roleCustomer, VarQueue: l.Vars[VarQueue],
				VarEnqueued: l.Vars[VarEnqueued], VarPriority: l.Vars[VarPriority]}
			retag[ch.ID] = true
		} else if in := rowOf[ch.ID]; in != nil && untaggedCaller(ch) && e.calls[in.ID] == nil {
			// The previous controller stopped before the caller's tags, and the agent leg that named the call (if there was
			// one) is gone; the call's row, written before the stop, names it: the call goes on, not a second one.
			ch.Vars = map[string]string{VarCall: in.ID, VarRole: roleCustomer, VarQueue: in.Queue}
			if !in.QueuedAt.IsZero() {
				ch.Vars[VarEnqueued] = strconv.FormatInt(in.QueuedAt.UnixMilli(), 10)
			}
			retag[ch.ID] = true
			e.log.Info("resuming the open interaction of an untagged caller", "channel", ch.ID, "call", in.ID)
		}
		role := ch.Vars[VarRole]
		switch {
		case role == roleCustomer && !strings.HasPrefix(ch.ID, "sb-"), isWebCustomer(ch),
			role == "" && ch.Vars[VarCall] == "" && !strings.HasPrefix(ch.ID, "sb-"):
			customers = append(customers, ch)
		default:
			legs = append(legs, ch)
		}
	}
	sort.Slice(customers, func(i, j int) bool {
		a, b := customers[i], customers[j]
		if ea, eb := enqueuedAt(a), enqueuedAt(b); !ea.Equal(eb) {
			return ea.Before(eb)
		}
		if !a.Created.Equal(b.Created) {
			return a.Created.Before(b.Created)
		}
		return a.ID < b.ID
	})
	agentLegs := map[string][]cti.ChannelInfo{}
	for _, l := range legs {
		if r := l.Vars[VarRole]; (r == roleAgent || strings.HasPrefix(l.ID, "sb-agent-")) && l.Vars[VarCall] != "" {
			agentLegs[l.Vars[VarCall]] = append(agentLegs[l.Vars[VarCall]], l)
		}
	}
	adopted := map[string]bool{}
	var waiting []*call
	// Connected calls first, so their agents are taken before waiting callers are matched.
	slices.SortStableFunc(customers, func(a, b cti.ChannelInfo) int {
		ca, cb := e.connectedLeg(a, agentLegs, bridgeOf) != "", e.connectedLeg(b, agentLegs, bridgeOf) != ""
		switch {
		case ca && !cb:
			return -1
		case cb && !ca:
			return 1
		}
		return 0
	})
	for _, ch := range customers {
		id := ch.Vars[VarCall]
		if id == "" {
			e.log.Info("adopting a caller who arrived while we were away", "channel", ch.ID)
			e.inbound(ch)
			continue
		}
		c := e.rebuild(ch, bridgeOf[ch.ID], retag[ch.ID])
		if isWebCustomer(ch) {
			e.adoptWeb(c)
		}
		if legID := e.connectedLeg(ch, agentLegs, bridgeOf); legID != "" {
			lc := byIDLeg(agentLegs[id], legID)
			adopted[legID] = true
			e.adoptConnected(c, lc)
			continue
		}
		for _, l := range agentLegs[id] {
			if bridgeOf[l.ID] == "" && l.Vars[VarAgent] != "" && c.adopt == nil {
				c.adopt = &adoption{leg: l.ID, agentID: l.Vars[VarAgent], up: l.State == "Up"}
				adopted[l.ID] = true
				e.addLeg(&leg{id: l.ID, call: c, role: roleAgent, agentID: l.Vars[VarAgent]})
				e.legKnown(e.legs[l.ID]) // listed by the snapshot
			}
		}
		waiting = append(waiting, c)
	}
	for _, c := range waiting {
		e.requeue(c)
	}
	// Legs of calls that are gone, or of calls connected to another leg, are hung up.
	for _, l := range legs {
		if adopted[l.ID] || e.legs[l.ID] != nil {
			continue
		}
		id := l.ID
		if c := e.calls[l.Vars[VarCall]]; c != nil && !c.finished && (c.offer != nil && c.offer.leg == id) {
			continue
		}
		e.log.Info("hanging up a leg of no live call", "channel", id)
		e.tel("sys", "hangup-stray", func(ctx context.Context, t cti.Telephony) error { return t.Hangup(ctx, id, "normal") }, nil)
	}
	if sweep {
		e.finishOrphans(open)
	}
	e.web.reconciled = true
}

// openRows maps a channel to the open interaction that names it, the latest arrived if several do (a transfer's parent and
// child share the caller's channel; the child is the call).
func openRows(open []cti.Interaction) map[string]*cti.Interaction {
	out := make(map[string]*cti.Interaction, len(open))
	for i := range open { // oldest first
		if in := &open[i]; in.ChannelID != "" {
			out[in.ChannelID] = in
		}
	}
	return out
}

// finishOrphans finishes the interactions earlier processes left open whose calls ended while no controller saw them: those
// that arrived before this process started (so none of its own calls, whose rows may still be on their way to the database),
// of no call the engine now holds (reconcile has rebuilt or resumed every call still on the PBX) and whose channel is no
// call's (a transfer's parent row shares its caller's channel with the call that goes on; a leg reconcile hangs up as a
// stray, an outbound call's customer, is no call's). One database serves one application: the rows are all of calls this
// application took. The agents' states are left alone; the finish goes through the interaction writer like any call's, with
// its events, after any write still queued for the row.
func (e *Engine) finishOrphans(open []cti.Interaction) {
	e.swept = true
	now := e.now()
	for i := range open {
		in := &open[i]
		if e.calls[in.ID] != nil || !in.ArrivedAt.Before(e.born) {
			continue
		}
		if in.ChannelID != "" && e.legs[in.ChannelID] != nil {
			continue
		}
		// When the call really ended is unknowable: it ended by now, when this controller found out.
		c := &call{id: in.ID, dir: in.Direction, channel: in.Channel, arrived: in.ArrivedAt, queued: in.QueuedAt,
			ivrEnd: in.QueuedAt, answered: in.AnsweredAt, ended: latest(now, in.ArrivedAt, in.QueuedAt, in.AnsweredAt)}
		outcome := cti.OutcomeAbandoned
		switch {
		case !in.AnsweredAt.IsZero():
			outcome = cti.OutcomeAnswered
		case in.Direction == cti.Outbound:
			outcome = cti.OutcomeFailed // a customer we dialled who never answered, as endOutbound records it
		}
		f := cti.InteractionFinish{Outcome: outcome, EndedAt: c.ended, Durations: c.durations()}
		id := in.ID
		e.log.Info("finishing an interaction whose call ended while no controller ran", "call", id, "outcome", outcome)
		e.writer.put(writeReq{w: cti.InteractionWrite{ID: id, Finish: &f}, then: func(err error) {
			if err != nil {
				e.log.Warn("could not finish an interaction left open", "call", id, "err", err)
			}
		}})
	}
}

func latest(ts ...time.Time) time.Time {
	var m time.Time
	for _, t := range ts {
		if t.After(m) {
			m = t
		}
	}
	return m
}

// namingLegs maps a caller's channel to the agent leg that names it (VarCustomer), the first by id if several do.
func namingLegs(chans []cti.ChannelInfo) map[string]cti.ChannelInfo {
	out := map[string]cti.ChannelInfo{}
	for _, l := range chans { // sorted by id
		cust := l.Vars[VarCustomer]
		if cust == "" || l.Vars[VarCall] == "" || l.Vars[VarRole] != roleAgent || !strings.HasPrefix(l.ID, "sb-agent-") {
			continue
		}
		if _, ok := out[cust]; !ok {
			out[cust] = l
		}
	}
	return out
}

// untaggedCaller reports whether ch looks like a caller's channel that carries none of our tags.
func untaggedCaller(ch cti.ChannelInfo) bool {
	return ch.Vars[VarRole] == "" && ch.Vars[VarCall] == "" && !strings.HasPrefix(ch.ID, "sb-") && !isWebCustomer(ch)
}

func byIDLeg(ls []cti.ChannelInfo, id string) cti.ChannelInfo {
	for _, l := range ls {
		if l.ID == id {
			return l
		}
	}
	return cti.ChannelInfo{ID: id}
}

// connectedLeg returns the agent leg sharing the customer's bridge, if any.
func (e *Engine) connectedLeg(ch cti.ChannelInfo, agentLegs map[string][]cti.ChannelInfo, bridgeOf map[string]string) string {
	b := bridgeOf[ch.ID]
	if b == "" {
		return ""
	}
	for _, l := range agentLegs[ch.Vars[VarCall]] {
		if bridgeOf[l.ID] == b {
			return l.ID
		}
	}
	return ""
}

func enqueuedAt(ch cti.ChannelInfo) time.Time {
	ms, err := strconv.ParseInt(ch.Vars[VarEnqueued], 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// restartTag marks the ids of legs, bridges and playbacks a rebuilt call creates, so they never collide with those its previous
// controller created (a playback still playing, a leg still up): the counters start again from one. It takes the random tail of
// a fresh UUID.
func restartTag(id string) string {
	if len(id) < 4 {
		return "r"
	}
	return "r" + id[len(id)-4:] + "."
}

// rebuild makes a call again from a customer channel of before a restart; retag sets the channel's tags, which were
// taken from the call's agent leg.
func (e *Engine) rebuild(ch cti.ChannelInfo, bridge string, retag bool) *call {
	now := e.now()
	c := &call{id: ch.Vars[VarCall], dir: cti.Inbound, channel: cti.ChannelPhone, state: cti.CallQueued, customer: ch.ID,
		caller: ch.Caller, dialed: ch.Dialed, arrived: ch.Created, rebuilt: true, vars: map[string]string{},
		ivrTimers: map[string]*timer{}, queue: ch.Vars[VarQueue], tag: restartTag(e.cfg.IDs())}
	if c.arrived.IsZero() {
		c.arrived = now
	}
	if t := enqueuedAt(ch); !t.IsZero() {
		c.queued, c.ivrEnd = t, t
	}
	c.prio, _ = strconv.Atoi(ch.Vars[VarPriority])
	if bridge != "" {
		c.bridge, c.bridgeMade = bridge, true
	}
	e.calls[c.id] = c
	e.addLeg(&leg{id: ch.ID, call: c, role: roleCustomer, entered: true})
	if retag {
		vars := map[string]string{VarCall: c.id, VarRole: roleCustomer}
		for _, k := range []string{VarQueue, VarEnqueued, VarPriority} {
			if v := ch.Vars[k]; v != "" {
				vars[k] = v
			}
		}
		id := ch.ID
		e.tel(c.id, "set-vars", func(ctx context.Context, t cti.Telephony) error { return t.SetVars(ctx, id, vars) }, nil)
	}
	if ch.State != "" && ch.State != "Up" {
		// Tagged but not answered: the previous controller stopped between the tags and the answer (which a call queued
		// at once sends after the agent's originate).
		e.answer(c)
	}
	e.lookup(c, false)
	return c
}

// requeue puts a rebuilt waiting caller back in line at their original enqueued-at when the router allows it (a fresh router
// takes the earliest times first; callers are re-enqueued in enqueued-at order either way, so they keep their order).
func (e *Engine) requeue(c *call) {
	if _, ok := e.queues[c.queue]; !ok || c.queued.IsZero() {
		c.queue = e.cfg.DefaultQueue
		e.enqueue(c, c.queue, nil, -1, nil, nil)
		return
	}
	c.state = cti.CallQueued
	e.ensureBridge(c)
	e.moh(c, true)
	c.pop = nil
	ar := &queue.Arrival{Queue: c.queue, Priority: min(max(c.prio, 0), 9)}
	if c.adopt != nil {
		ar.Preferred, ar.PreferredUntil = c.adopt.agentID, e.now().Add(e.cfg.PreferFor)
		e.makeReady(c.adopt.agentID)
	}
	ds, err := e.router.Apply(c.queued, queue.Event{Kind: queue.CallArrived, Call: c.id, Arrival: ar})
	e.statsDirty = true
	for _, d := range ds {
		e.decide(d)
	}
	if err != nil {
		e.log.Warn("re-enqueue refused", "call", c.id, "err", err)
		e.teardown(c, cti.OutcomeFailed)
		return
	}
	e.popAfterRoute(c)
	e.pushCall(c)
}

// adoptConnected rebuilds a call that was connected before a restart: its agent is made OnCall through the router.
func (e *Engine) adoptConnected(c *call, l cti.ChannelInfo) {
	agentID := l.Vars[VarAgent]
	c.adopt = &adoption{leg: l.ID, agentID: agentID, connected: true}
	e.addLeg(&leg{id: l.ID, call: c, role: roleAgent, agentID: agentID, entered: true})
	c.recording = "interaction-" + c.id
	e.addRecording(c.recording, c)
	if _, ok := e.queues[c.queue]; !ok || e.agents[agentID] == nil {
		// Not routable: keep the conversation going without the router.
		c.adopt = nil
		c.state, c.agentID, c.agentLeg, c.answered = cti.CallConnected, agentID, l.ID, e.now()
		e.pushCall(c)
		return
	}
	e.makeReady(agentID)
	e.route(queue.Event{Kind: queue.CallArrived, Call: c.id, Arrival: &queue.Arrival{Queue: c.queue,
		Priority: min(max(c.prio, 0), 9), Preferred: agentID, PreferredUntil: e.now().Add(e.cfg.PreferFor)}})
}

// makeReady logs an agent in and makes them Ready so the router can give them back their call.
func (e *Engine) makeReady(agentID string) {
	v, ok := e.router.Agent(agentID)
	if !ok {
		return
	}
	if v.State == queue.LoggedOut {
		e.route(queue.Event{Kind: queue.AgentLogin, Agent: agentID})
	}
	if v, _ := e.router.Agent(agentID); v.State == queue.NotReady {
		e.route(queue.Event{Kind: queue.SetState, Agent: agentID, Ready: true})
	}
}

// adoptOffer takes the router's offer of a rebuilt call to the agent whose leg exists already: no second originate.
func (e *Engine) adoptOffer(c *call, a *agent, d queue.Decision) *leg {
	ad := c.adopt
	if ad == nil {
		return nil
	}
	c.adopt = nil
	l := e.legs[ad.leg]
	if ad.agentID != a.cfg.ID || l == nil {
		if l != nil {
			e.hangupLeg(c, ad.leg, "normal")
		}
		return nil
	}
	now := e.now()
	o := &offer{agentID: a.cfg.ID, leg: ad.leg, deadline: d.Deadline, at: now}
	c.offer, c.state, a.call = o, cti.CallRinging, c.id
	if !ad.connected {
		if ad.up {
			// Its StasisStart came while we were away: it is answered now.
			l.entered = true
			e.answered(c, l)
			return l
		}
		e.pushCall(c)
		return l
	}
	if err := e.route(queue.Event{Kind: queue.OfferAccepted, Agent: a.cfg.ID, Call: c.id}); err != nil {
		e.log.Warn("could not give a rebuilt call back to its agent", "call", c.id, "err", err)
	}
	c.offer = nil
	c.state, c.agentID, c.agentLeg, c.answered = cti.CallConnected, a.cfg.ID, ad.leg, now
	if c.offered.IsZero() {
		c.offered = now
	}
	e.pushCall(c)
	return l
}

// endLost ends a call whose customer channel vanished while we could not see it.
func (e *Engine) endLost(c *call) {
	switch {
	case c.callback && c.agentID == "":
		return // nobody is on the line by design
	case c.state == cti.CallIVR:
		e.teardown(c, cti.OutcomeFailed)
	case c.state == cti.CallQueued || c.state == cti.CallRinging:
		e.route(queue.Event{Kind: queue.CallLeft, Call: c.id})
		e.teardown(c, cti.OutcomeFailed)
	default:
		if c.agentID != "" {
			e.route(queue.Event{Kind: queue.CallEnded, Call: c.id})
		}
		e.teardown(c, answeredOr(c, cti.OutcomeFailed))
	}
}
