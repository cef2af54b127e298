package engine

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-cc/switchboard/cti"
	"github.com/switchboard-cc/switchboard/ivr"
	"github.com/switchboard-cc/switchboard/queue"
)

// event applies one telephony event.
func (e *Engine) event(ev cti.Event) {
	switch x := ev.(type) {
	case cti.ChannelEntered:
		e.entered(x)
	case cti.ChannelLeft:
		e.channelGone(x.ChannelID, 0)
	case cti.ChannelHangupRequested:
		e.channelGone(x.ChannelID, x.Cause)
	case cti.ChannelDestroyed:
		e.channelGone(x.ChannelID, x.Cause)
	case cti.DTMFReceived:
		if l := e.legs[x.ChannelID]; l != nil && l.role == roleCustomer && l.call.ivr != nil {
			e.ivrStep(l.call, ivr.Digit(x.Digit))
		}
	case cti.PlaybackFinished:
		e.playbackDone(x.PlaybackID)
	case cti.RecordingFinished:
		e.recordingDone(x)
	case cti.TelephonyConnected:
		e.telephonyUp()
	case cti.TelephonyDisconnected:
		e.telephonyDown(x.Reason)
	case cti.TelephonyReplaced:
		e.fatal = errors.New("engine: another controller took the Stasis application over (ApplicationReplaced)")
	}
}

// route feeds the router and carries out its decisions.
func (e *Engine) route(ev queue.Event) error {
	depth := e.routeDepth
	if depth == len(e.decisions) {
		e.decisions = append(e.decisions, nil)
	}
	e.routeDepth++
	defer func() { e.routeDepth-- }()
	ds, err := e.router.ApplyTo(e.decisions[depth][:0], e.now(), ev)
	e.decisions[depth] = ds // keep what it grew to; carried out below, before a later route at this depth reuses it
	if ev.Kind != queue.Tick || len(ds) > 0 {
		e.statsDirty = true
	}
	for _, d := range ds {
		e.decide(d)
	}
	if err != nil {
		e.log.Debug("router refused an event", "event", ev.Kind.String(), "agent", ev.Agent, "call", ev.Call, "err", err)
	}
	return err
}

func (e *Engine) decide(d queue.Decision) {
	switch d.Kind {
	case queue.Offer:
		e.offer(d)
	case queue.DialCallback:
		e.dialCallback(d)
	case queue.CancelOffer:
		e.cancelOffer(d)
	case queue.Overflow:
		e.overflow(d)
	case queue.Announce:
		e.announce(d)
	case queue.AgentStateChanged:
		e.agentChanged(d)
	}
}

// --- inbound ---

func (e *Engine) entered(x cti.ChannelEntered) {
	id := x.Channel.ID
	if l := e.legs[id]; l != nil {
		if e.webEntered(l) {
			return
		}
		e.legEntered(l, x)
		return
	}
	role := ""
	if len(x.Args) > 0 {
		role = x.Args[0]
	}
	if strings.HasPrefix(id, "sb-") || (role != "inbound" && role != "") {
		// One of ours whose call is gone (or from before a restart and not adopted): nobody waits for it.
		e.log.Info("hanging up a leg of no live call", "channel", id, "args", x.Args)
		e.tel("sys", "hangup-stray", func(ctx context.Context, t cti.Telephony) error { return t.Hangup(ctx, id, "normal") }, nil)
		return
	}
	e.inbound(x.Channel)
}

func (e *Engine) inbound(ch cti.ChannelInfo) *call {
	c := &call{id: e.cfg.IDs(), dir: cti.Inbound, channel: cti.ChannelPhone, state: cti.CallIVR, customer: ch.ID,
		caller: ch.Caller, dialed: ch.Dialed, arrived: e.now(), vars: map[string]string{}, ivrTimers: map[string]*timer{}}
	e.calls[c.id] = c
	e.addLeg(&leg{id: ch.ID, call: c, role: roleCustomer, entered: true})
	cid, chID := c.id, ch.ID
	tag := func() {
		e.tel(cid, "set-vars", func(ctx context.Context, t cti.Telephony) error {
			return t.SetVars(ctx, chID, map[string]string{VarCall: cid, VarRole: roleCustomer})
		}, nil)
	}
	// The channel's tags (what a restarted controller rebuilds the call from) go first, unless the IVR queues the call in
	// its first step: then they travel with the queue's variables, one request instead of two, right behind the agent's
	// originate when an agent is free (the originate names the caller, so reconcile rebuilds the call from the agent's leg
	// if the controller stops in between). A crash before the originate leaves an untagged caller in the application,
	// which reconcile adopts as a new caller. When that step plays nothing before it queues, the answer too waits until the
	// originate is out (enqueue sends it, ahead of the bridge): the call's requests run one at a time, and the caller hears
	// nothing earlier either way.
	first, flows := e.firstIVRStep(c)
	if q := slices.IndexFunc(first, func(a ivr.Action) bool { return a.Kind == ivr.ActEnqueue }); q >= 0 {
		c.untagged = true
		c.unanswered = !slices.ContainsFunc(first[:q], func(a ivr.Action) bool { return a.Kind != ivr.ActSetVar })
	} else {
		tag()
	}
	if !c.unanswered {
		e.answer(c)
	}
	e.lookup(c, true)
	if flows {
		e.ivrActions(c, first)
	} else {
		e.play(c, []string{"sound:sb/welcome"}, "", func() { e.enqueue(c, e.cfg.DefaultQueue, nil, -1, nil, nil) })
	}
	if c.untagged && !c.finished { // the enqueue waits (for the caller lookup)
		c.untagged = false
		tag()
	}
	if c.unanswered && !c.finished {
		e.answer(c)
	}
	e.pushCall(c)
	return c
}

// answer answers the caller's channel.
func (e *Engine) answer(c *call) {
	c.unanswered = false
	ch := c.customer
	e.tel(c.id, "answer", func(ctx context.Context, t cti.Telephony) error { return t.Answer(ctx, ch) }, nil)
}

type lookupResult struct {
	cust     *cti.Customer
	timeline []cti.Interaction
}

// lookup finds the caller and their latest interactions and, when start is set, queues the interaction's start (after the
// lookup, so the row carries the customer; the call's other writes wait for it, see write).
func (e *Engine) lookup(c *call, start bool) {
	in := cti.Interaction{ID: c.id, Channel: c.channel, Direction: c.dir, CallerNumber: c.caller.Number,
		DialedNumber: c.dialed, ArrivedAt: c.arrived, ChannelID: c.customer, ParentID: c.parent}
	if c.dir == cti.Outbound {
		in.CallerNumber, in.DialedNumber, in.AgentID = "", c.caller.Number, c.agentID
	}
	c.started = c.started || start
	if start {
		c.pendingStart = &in // queued by the lookup's result, or by flushUnstarted if the engine stops first
	}
	// Batched with the lookups of other calls, on an executor of its own: answering, bridging and ringing an agent do not
	// wait for the CRM.
	e.queueLookup(pendingLookup{number: c.caller.Number, preset: c.cust, done: func(r lookupResult, err error) {
		if err != nil {
			e.log.Warn("caller lookup", "call", c.id, "err", err)
		}
		if start {
			if r.cust != nil {
				in.CustomerID = r.cust.ID
			}
			e.startInteraction(c, &in)
		}
		c.cust, c.timeline, c.lookedUp = r.cust, r.timeline, true
		if c.pop != nil {
			c.pop.Customer, c.pop.Timeline = c.cust, c.timeline
		}
		if c.ivrLookup {
			c.ivrLookup = false
			e.ivrStep(c, lookupInput(c.cust))
		}
		if !c.finished {
			e.pushCall(c)
		}
	}})
}

// pendingLookup is a caller lookup waiting for its batch.
type pendingLookup struct {
	number string
	preset *cti.Customer // known already: only the timeline is read
	done   func(lookupResult, error)
}

// phonesLookup is the batch lookup a CustomerLookup may offer (crmstore does).
type phonesLookup interface {
	LookupByPhones(ctx context.Context, raws []string) ([]*cti.Customer, error)
}

// maxLookupBatch bounds the callers looked up in one batch.
const maxLookupBatch = 256

// queueLookup queues a caller lookup. One batch is in flight at a time; the lookups queued meanwhile go together in the
// next, one query for all (a query per caller was 4 % of the controller's CPU under load, and a statement each for the
// database).
func (e *Engine) queueLookup(p pendingLookup) {
	e.lookups = append(e.lookups, p)
	if !e.lookingUp {
		e.flushLookups()
	}
}

// flushLookups sends the queued lookups as one batch; the next batch goes when it is done.
func (e *Engine) flushLookups() {
	n := min(len(e.lookups), maxLookupBatch)
	if n == 0 {
		return
	}
	batch := slices.Clone(e.lookups[:n])
	e.lookups = slices.Delete(e.lookups, 0, n)
	e.lookingUp = true
	crm := e.cfg.Customers
	e.run(lookupsKey, effect{name: "lookup", do: func(ctx context.Context) (any, error) {
		return lookupBatch(ctx, crm, batch), nil
	}, then: func(res any, err error) {
		e.lookingUp = false
		rs, _ := res.([]lookupOutcome)
		for i, p := range batch {
			if rs == nil { // the effect panicked
				p.done(lookupResult{cust: p.preset}, err)
				continue
			}
			p.done(rs[i].lookupResult, rs[i].err)
		}
		e.flushLookups()
	}})
}

// lookupsKey names the executor of the caller lookups.
const lookupsKey = "lookups"

type lookupOutcome struct {
	lookupResult
	err error
}

// lookupBatch finds the callers of batch (one query when crm offers LookupByPhones) and the latest interactions of those
// found, concurrently.
func lookupBatch(ctx context.Context, crm cti.CustomerLookup, batch []pendingLookup) []lookupOutcome {
	out := make([]lookupOutcome, len(batch))
	var numbers []string
	var at []int // index in batch of each number
	for i, p := range batch {
		out[i].cust = p.preset
		if p.preset == nil && p.number != "" {
			numbers = append(numbers, p.number)
			at = append(at, i)
		}
	}
	if bl, ok := crm.(phonesLookup); ok && len(numbers) > 0 {
		found, err := bl.LookupByPhones(ctx, numbers)
		for j, i := range at {
			if err != nil {
				out[i].err = fmt.Errorf("lookup %s: %w", numbers[j], err)
				continue
			}
			out[i].cust = found[j]
		}
	} else {
		for j, i := range at {
			cust, err := crm.LookupByPhone(ctx, numbers[j])
			if code := cti.ErrorCode(err); err != nil && code != cti.ENOTFOUND && code != cti.EINVALID {
				out[i].err = fmt.Errorf("lookup %s: %w", numbers[j], err)
			}
			if err == nil {
				out[i].cust = cust
			}
		}
	}
	var wg sync.WaitGroup
	for i := range out {
		if cust := out[i].cust; cust != nil {
			wg.Go(func() {
				if items, _, err := crm.Timeline(ctx, cust.ID, "", 10); err == nil {
					out[i].timeline = items
				}
			})
		}
	}
	wg.Wait()
	return out
}

func lookupInput(cust *cti.Customer) ivr.Input {
	if cust == nil {
		return ivr.LookupNotFound()
	}
	f := map[string]string{"id": cust.ID, "name": cust.Name, "tier": string(cust.Tier), "company": cust.Company,
		"language": cust.Language}
	for k, v := range cust.Fields {
		if _, ok := f[k]; !ok {
			f[k] = v
		}
	}
	return ivr.LookupFound(f)
}

// --- IVR ---

// firstIVRStep starts the caller's IVR session and returns what its first step does; flows is false when there are none
// (then a welcome prompt leads to the default queue).
func (e *Engine) firstIVRStep(c *call) (acts []ivr.Action, flows bool) {
	if e.flows.p.Load() == nil {
		return nil, false
	}
	c.ivr = ivr.NewSession(&e.flows)
	return c.ivr.Step(ivr.Start(c.caller.Number, c.dialed, nil), e.now()), true
}

func (e *Engine) ivrStep(c *call, in ivr.Input) {
	if c.ivr == nil || c.finished {
		return
	}
	e.ivrActions(c, c.ivr.Step(in, e.now()))
}

// media turns the IVR's sound names into Asterisk media URIs.
func media(sounds []string) []string {
	out := make([]string, len(sounds))
	for i, s := range sounds {
		if strings.Contains(s, ":") {
			out[i] = s
		} else {
			out[i] = "sound:" + s
		}
	}
	return out
}

// play starts media on the customer's channel; done (may be nil) runs when it ends, failed or not.
func (e *Engine) play(c *call, m []string, ivrID string, done func()) string {
	c.n++
	pb := "sb-" + c.id + "-p" + c.tag + strconv.Itoa(c.n)
	p := &playback{call: c, ivrID: ivrID, done: done}
	e.playbacks[pb] = p
	c.playbackIDs = append(c.playbackIDs, pb)
	ch := c.customer
	e.telOnError(c.id, "play", func(ctx context.Context, t cti.Telephony) error { return t.Play(ctx, ch, pb, m) }, func(err error) {
		e.log.Warn("play", "call", c.id, "err", err)
		e.playbackDone(pb)
	})
	return pb
}

func (e *Engine) playbackDone(id string) {
	p := e.playbacks[id]
	if p == nil {
		return
	}
	delete(e.playbacks, id)
	c := p.call
	if c.finished {
		return
	}
	if p.ivrID != "" {
		e.ivrStep(c, ivr.PlaybackFinished(p.ivrID))
	}
	if p.done != nil {
		p.done()
	}
}

func (e *Engine) ivrActions(c *call, acts []ivr.Action) {
	for _, a := range acts {
		if c.finished {
			return
		}
		switch a.Kind {
		case ivr.ActPlay:
			e.play(c, media(a.Sounds), a.ID, nil)
		case ivr.ActStopPlayback:
			for _, pb := range c.playbackIDs {
				if p := e.playbacks[pb]; p != nil && p.call == c && p.ivrID == a.ID {
					e.tel(c.id, "stop-playback", func(ctx context.Context, t cti.Telephony) error { return t.StopPlayback(ctx, pb) }, nil)
					delete(e.playbacks, pb)
				}
			}
		case ivr.ActStartTimer:
			id := a.ID
			c.ivrTimers[id] = e.after(a.After, func() {
				delete(c.ivrTimers, id)
				e.ivrStep(c, ivr.Timeout(id))
			})
		case ivr.ActCancelTimer:
			e.cancel(c.ivrTimers[a.ID])
			delete(c.ivrTimers, a.ID)
		case ivr.ActLookup:
			e.ivrLookup(c, a)
		case ivr.ActSetVar:
			c.vars[a.Name] = a.Value
		case ivr.ActEnqueue:
			prio := -1
			if _, ok := c.ivr.Vars()["priority"]; ok {
				prio = a.Priority
			}
			hook := a.OnWait
			e.ivrDone(c)
			e.enqueue(c, a.Queue, a.Skills, prio, a.Attributes, hook)
		case ivr.ActVoicemail:
			e.ivrDone(c)
			e.voicemail(c, a.MaxDuration)
		case ivr.ActCallback:
			e.ivrDone(c)
			e.requestCallback(c, a.Number)
		case ivr.ActTransfer:
			e.ivrDone(c)
			e.transferOut(c, a.Number)
		case ivr.ActHangUp:
			e.ivrDone(c)
			e.teardown(c, cti.OutcomeFailed)
		case ivr.ActError:
			e.log.Warn("ivr", "call", c.id, "err", a.Err)
		}
	}
	if c.ivr != nil && c.ivr.Done() && !c.finished {
		switch c.ivr.Outcome() {
		case ivr.OutcomeFailed:
			e.ivrDone(c)
			e.enqueue(c, e.cfg.DefaultQueue, nil, -1, nil, nil)
		case ivr.OutcomeReturned: // a wait flow ended: back to music on hold
			e.ivrDone(c)
			e.moh(c, true)
		}
	}
}

func (e *Engine) ivrLookup(c *call, a ivr.Action) {
	if a.By != "account" {
		if c.lookedUp {
			// Fed on the next loop turn: the IVR is still returning from this Step.
			e.in.put(effectDone{then: func(any, error) { e.ivrStep(c, lookupInput(c.cust)) }})
		} else {
			c.ivrLookup = true
		}
		return
	}
	accounts, key := e.cfg.Accounts, a.Key
	e.run(c.id, effect{name: "lookup-account", do: func(ctx context.Context) (any, error) {
		if accounts == nil {
			return (*cti.Customer)(nil), nil
		}
		cust, err := accounts(ctx, key)
		if cti.ErrorCode(err) == cti.ENOTFOUND {
			err = nil
		}
		return cust, err
	}, then: func(res any, err error) {
		cust, _ := res.(*cti.Customer)
		if err != nil {
			e.log.Warn("account lookup", "call", c.id, "err", err)
			cust = nil
		}
		if cust != nil && c.cust == nil {
			c.cust = cust
			id := cust.ID
			e.update(c, cti.InteractionUpdate{CustomerID: &id})
		}
		e.ivrStep(c, lookupInput(cust))
	}})
}

// ivrDone ends the IVR part: timers and playbacks go, the path and inputs are stored.
func (e *Engine) ivrDone(c *call) {
	s := c.ivr
	if s == nil {
		return
	}
	c.ivr = nil
	for id, t := range c.ivrTimers {
		e.cancel(t)
		delete(c.ivrTimers, id)
	}
	for _, pb := range c.playbackIDs {
		if p := e.playbacks[pb]; p != nil && p.call == c && p.ivrID != "" {
			p.ivrID = "" // let it play out (a goodbye, a "please hold") but no longer feed the session
		}
	}
	if c.ivrEnd.IsZero() {
		c.ivrEnd = e.now()
	}
	path := ivrPath(s.Path())
	inputs := ivrInputs(s.Vars())
	maps.Copy(c.vars, s.Vars())
	c.ivrPath = append(c.ivrPath, path...) // a wait flow (the callback offer) adds to the entry flow's path
	if len(path) > 0 || len(inputs) > 0 {
		e.update(c, cti.InteractionUpdate{IVRPath: path, Inputs: inputs})
	}
	if c.pop != nil {
		c.pop.IVRPath, c.pop.Inputs = c.ivrPath, inputs
	}
}

// ivrPath turns the session's path into one step per node visited, with what happened there: a node where nothing happens
// (a set, a branch) is a bare step; a menu answered after a timeout is two steps, the timeout and the input.
func ivrPath(p []ivr.PathEntry) []cti.IVRStep {
	out := make([]cti.IVRStep, 0, len(p))
	for _, s := range p {
		node := s.Flow + "/" + s.Node
		switch s.Event {
		case "enter":
			out = append(out, cti.IVRStep{Node: node, At: s.At})
			continue
		case "done":
			continue
		}
		step := cti.IVRStep{Node: node, Event: s.Event, Input: s.Value, Sensitive: s.Value == ivr.Masked, At: s.At}
		if last := len(out) - 1; last >= 0 && out[last].Node == node && out[last].Event == "" {
			step.At = out[last].At
			out[last] = step
			continue
		}
		out = append(out, step)
	}
	return out
}

// ivrInputs are the variables the caller gave (input.*) and those the flow set, without the customer's own fields.
func ivrInputs(vars map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range vars {
		if strings.HasPrefix(k, "customer.") || strings.HasPrefix(k, "call.") || k == "caller.number" || k == "dialed" {
			continue
		}
		out[strings.TrimPrefix(k, "input.")] = v
	}
	return out
}

// --- queue ---

// enqueue puts the caller into a queue: a mixing bridge with music on hold while agents are rung (prio -1: from the tier).
func (e *Engine) enqueue(c *call, q string, skills []ivr.SkillReq, prio int, attrs map[string]string, hook *ivr.WaitHook) {
	if _, ok := e.queues[q]; !ok {
		e.log.Warn("unknown queue, using the default", "call", c.id, "queue", q)
		q = e.cfg.DefaultQueue
		if _, ok := e.queues[q]; !ok {
			e.log.Error("no default queue", "queue", q)
			e.teardown(c, cti.OutcomeFailed)
			return
		}
	}
	if prio < 0 {
		prio = tierPriority(c.cust)
	}
	c.prio = min(max(prio, 0), 9)
	c.skills = c.skills[:0]
	for _, s := range skills {
		c.skills = append(c.skills, queue.SkillReq{Skill: s.Name, Min: min(max(s.Min, 1), 10)})
	}
	c.attrs, c.onWait = attrs, hook
	now := e.now()
	if c.queued.IsZero() {
		c.queued = now
	}
	if c.ivrEnd.IsZero() {
		c.ivrEnd = now
	}
	c.queue, c.state = q, cti.CallQueued
	qn, qa := q, c.queued
	e.update(c, cti.InteractionUpdate{Queue: &qn, QueuedAt: &qa})
	// The router goes before the caller's tags, a new caller's bridge and music, and the screen-pop's read: the call's
	// effects run one after another, so an agent's originate decided now is the call's next request. It carries what a
	// restarted controller needs to rebuild the caller from the agent's leg alone (see queueVars, reconcile), so a crash
	// between it and the tags loses nothing. The agent's leg joins the bridge only once it answered, by requests queued
	// behind these. A caller already in a bridge (a transfer, a requeue) hears the music first.
	if c.bridgeMade {
		e.moh(c, true)
	}
	c.pop = nil
	c.tagsDue = true
	e.arrive(c, now)
	e.sendQueueTags(c)
	e.popAfterRoute(c)
	if !c.finished {
		if c.unanswered {
			e.answer(c)
		}
		e.ensureBridge(c)
		e.moh(c, true)
	}
	if hook != nil && hook.Flow != "" && !c.finished && c.state == cti.CallQueued {
		flow := hook.Flow
		c.waitTimer = e.after(hook.After, func() { e.waitFlow(c, flow) })
	}
	e.pushCall(c)
}

// sendQueueTags sets the caller's queue variables (and its call id and role if not set yet) once the router has had its
// say: right behind the agent's originate when the call was offered at once.
func (e *Engine) sendQueueTags(c *call) {
	if !c.tagsDue {
		return
	}
	c.tagsDue = false
	if c.finished {
		return
	}
	vars := c.queueVars()
	if c.untagged {
		c.untagged = false
		vars[VarCall], vars[VarRole] = c.id, roleCustomer
	}
	ch := c.customer
	e.tel(c.id, "set-queue-vars", func(ctx context.Context, t cti.Telephony) error { return t.SetVars(ctx, ch, vars) }, nil)
}

// queueVars are the variables of a caller's place in line (a restarted controller requeues the caller by them).
func (c *call) queueVars() map[string]string {
	return map[string]string{VarQueue: c.queue, VarEnqueued: strconv.FormatInt(c.queued.UnixMilli(), 10),
		VarPriority: strconv.Itoa(c.prio)}
}

// arrive tells the router about a waiting call.
func (e *Engine) arrive(c *call, now time.Time) {
	ar := &queue.Arrival{Queue: c.queue, Priority: c.prio, Skills: c.skills, Attributes: c.attrs}
	if c.cust != nil && c.cust.OwnerAgentID != "" && e.agents[c.cust.OwnerAgentID] != nil {
		ar.Preferred, ar.PreferredUntil = c.cust.OwnerAgentID, now.Add(e.cfg.PreferFor)
	}
	if err := e.route(queue.Event{Kind: queue.CallArrived, Call: c.id, Arrival: ar}); err != nil {
		e.log.Warn("enqueue refused", "call", c.id, "queue", c.queue, "err", err)
		e.teardown(c, cti.OutcomeFailed)
	}
}

func (e *Engine) ensureBridge(c *call) {
	if c.bridgeMade {
		return
	}
	c.bridgeMade, c.bridge = true, "sb-"+c.id
	b, ch := c.bridge, c.customer
	if l := e.legs[ch]; l == nil || l.gone {
		ch = ""
	}
	e.tel(c.id, "bridge", func(ctx context.Context, t cti.Telephony) error {
		if err := t.CreateBridge(ctx, b, cti.BridgeMixing); err != nil || ch == "" {
			return err
		}
		return t.AddChannel(ctx, b, ch, roleCustomer)
	}, nil)
}

func (e *Engine) moh(c *call, on bool) {
	if !c.bridgeMade || c.mohOn == on {
		return
	}
	c.mohOn = on
	b, class := c.bridge, ""
	if on {
		class = e.cfg.MOHClass
	}
	e.tel(c.id, "bridge-moh", func(ctx context.Context, t cti.Telephony) error { return t.BridgeMOH(ctx, b, class) }, nil)
}

// waitFlow runs a wait flow (e.g. a callback offer) for a caller still waiting; the caller keeps the place in line.
func (e *Engine) waitFlow(c *call, flow string) {
	c.waitTimer = nil
	if c.finished || c.state != cti.CallQueued || c.ivr != nil || e.flows.p.Load() == nil {
		return
	}
	e.moh(c, false)
	c.ivr = ivr.NewSession(&e.flows)
	vars := map[string]string{}
	for k, v := range c.vars {
		vars[k] = v
	}
	e.ivrActions(c, c.ivr.Step(ivr.Input{Kind: ivr.InputStart, Flow: flow, Caller: c.caller.Number, Dialed: c.dialed,
		Vars: vars}, e.now()))
}

// stopWaitFlow ends a wait flow at once (an agent was found): its playback stops, the bridge music comes back.
func (e *Engine) stopWaitFlow(c *call) {
	if c.ivr == nil {
		return
	}
	for _, pb := range c.playbackIDs {
		if p := e.playbacks[pb]; p != nil && p.call == c {
			e.tel(c.id, "stop-playback", func(ctx context.Context, t cti.Telephony) error { return t.StopPlayback(ctx, pb) }, nil)
			delete(e.playbacks, pb)
		}
	}
	s := c.ivr
	c.ivr = nil
	for id, t := range c.ivrTimers {
		e.cancel(t)
		delete(c.ivrTimers, id)
	}
	_ = s
}

func (e *Engine) announce(d queue.Decision) {
	c := e.calls[d.Call]
	if c == nil || c.finished || c.customer == "" || c.state != cti.CallQueued || c.ivr != nil || c.leaving {
		return
	}
	m := []string{"sound:sb/you-are-number", "number:" + strconv.Itoa(d.Position)}
	if d.EWT > 0 {
		mins := int((d.EWT + time.Minute - 1) / time.Minute)
		m = append(m, "sound:sb/estimated-wait", "number:"+strconv.Itoa(mins), "sound:sb/minutes")
	}
	e.play(c, m, "", nil)
}

func (e *Engine) overflow(d queue.Decision) {
	c := e.calls[d.Call]
	if c == nil || c.finished {
		return
	}
	if c.offer != nil {
		e.dropOffer(c)
	}
	target := d.Target
	switch {
	case target == "voicemail":
		e.voicemail(c, 2*time.Minute)
	case target == "callback":
		if c.customer == "" || c.callback {
			e.teardown(c, cti.OutcomeOverflowed)
			return
		}
		e.requestCallback(c, c.caller.Number)
	case target != "" && target != d.Queue && e.queues[target].Name != "":
		c.queue = target
		q := target
		e.update(c, cti.InteractionUpdate{Queue: &q})
		c.pop = nil
		e.arrive(c, e.now())
		e.popAfterRoute(c)
		e.pushCall(c)
	default:
		if c.callback {
			e.teardown(c, cti.OutcomeOverflowed)
			return
		}
		e.log.Info("overflow without a target", "call", c.id, "queue", d.Queue, "reason", d.Reason)
		e.play(c, []string{"sound:sb/goodbye"}, "", func() { e.teardown(c, cti.OutcomeOverflowed) })
	}
}

// --- offers ---

// popAfterRoute prepares the screen-pop of a call the router has just taken, unless an offer did (offer prepares it behind
// the agent's originate). The caller clears c.pop before the route, so the originate never waits on the call's executor
// for the pop's read: a database round trip whenever the configuration cache has let the queue's script expire.
func (e *Engine) popAfterRoute(c *call) {
	if c.pop == nil && !c.finished {
		e.preparePop(c)
	}
}

// preparePop reads what the screen-pop needs besides the customer: the queue's script and dispositions.
func (e *Engine) preparePop(c *call) {
	c.pop = &cti.ScreenPop{InteractionID: c.id, Queue: c.queue, Caller: c.caller, Customer: c.cust, Timeline: c.timeline,
		IVRPath: c.ivrPath}
	if c.ivr == nil && len(c.vars) > 0 {
		c.pop.Inputs = ivrInputs(c.vars)
	}
	c.popReady = false
	pop, settings, q := c.pop, e.cfg.Settings, c.queue
	tier := cti.Tier("")
	if c.cust != nil {
		tier = c.cust.Tier
	}
	type prepared struct {
		script *cti.Script
		disp   []cti.Disposition
	}
	e.run(c.id, effect{name: "screen-pop", do: func(ctx context.Context) (any, error) {
		var p prepared
		var err1, err2 error
		p.script, err1 = settings.Script(ctx, q, tier)
		if cti.ErrorCode(err1) == cti.ENOTFOUND {
			err1 = nil
		}
		p.disp, err2 = settings.Dispositions(ctx, q)
		return p, errors.Join(err1, err2)
	}, then: func(res any, err error) {
		if err != nil {
			e.log.Warn("screen-pop", "call", c.id, "err", err)
		}
		if c.pop != pop {
			return
		}
		p, _ := res.(prepared)
		pop.Dispositions = p.disp
		if p.script != nil {
			vars := cti.ScriptVars(c.cust, ivrVars(c.vars))
			pop.Script = &cti.RenderedScript{ScriptID: p.script.ID, Version: p.script.Version, Title: p.script.Title,
				Body: cti.RenderScript(p.script.Body, vars)}
		}
		c.popReady = true
		// The read goes behind the agent's originate, so the agent may have answered meanwhile: the pop still goes to them.
		if o := c.popWanted; o != nil && (c.offer == o || c.agentID == o.agentID && c.state == cti.CallConnected) {
			e.sendPop(c, o)
		}
		c.popWanted = nil
	}})
}

// ivrVars are the IVR variables scripts may use as ivr.<name>.
func ivrVars(vars map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range vars {
		if !strings.HasPrefix(k, "customer.") {
			out[strings.TrimPrefix(k, "input.")] = v
		}
	}
	return out
}

func (e *Engine) sendPop(c *call, o *offer) {
	p := *c.pop
	p.Customer, p.Timeline = c.cust, c.timeline
	p.Wait = o.at.Sub(c.queued)
	p.Deadline = o.deadline
	if c.pop.Script != nil && p.Script.ScriptID != "" {
		sid, sv := p.Script.ScriptID, p.Script.Version
		e.update(c, cti.InteractionUpdate{ScriptID: &sid, ScriptVersion: &sv})
	}
	e.pushOffer(o.agentID, p)
}

func (e *Engine) offer(d queue.Decision) {
	c, a := e.calls[d.Call], e.agents[d.Agent]
	if c == nil || c.finished || a == nil {
		e.log.Error("offer for an unknown call or agent", "call", d.Call, "agent", d.Agent)
		return
	}
	if !e.connected {
		// No originate while the PBX is away: the call keeps its place, the agent waits for the PBX.
		e.route(queue.Event{Kind: queue.OfferRejected, Agent: a.cfg.ID, Call: c.id})
		e.pbxDown(a)
		return
	}
	if l := e.adoptOffer(c, a, d); l != nil {
		return
	}
	e.stopWaitFlow(c)
	now := e.now()
	o := &offer{agentID: a.cfg.ID, leg: c.nextID("sb-agent"), deadline: d.Deadline, at: now}
	c.offer, c.state, a.call = o, cti.CallRinging, c.id
	if c.offered.IsZero() {
		c.offered = now
	}
	role := roleAgent
	if c.callback {
		role = roleOutbound
	}
	e.addLeg(&leg{id: o.leg, call: c, role: role, agentID: a.cfg.ID})
	vars := map[string]string{VarCall: c.id, VarRole: role, VarAgent: a.cfg.ID}
	if role == roleAgent && c.customer != "" && c.queue != "" && !c.queued.IsZero() {
		// The caller's own tags may still be behind this request: the leg names its caller and place in line.
		maps.Copy(vars, c.queueVars())
		vars[VarCustomer] = c.customer
	}
	org := cti.Originate{ChannelID: o.leg, Endpoint: a.cfg.Endpoint, CallerID: callerID(c.caller), Timeout: d.Deadline.Sub(now),
		Args: []string{role, c.id}, Vars: vars}
	web := isWebRTC(a.cfg.Endpoint) // rung through the page; the channel is made on accept (acceptWeb)
	e.telOnError(c.id, "originate-agent", func(ctx context.Context, t cti.Telephony) error {
		if web {
			return nil
		}
		return t.Originate(ctx, org)
	}, func(err error) {
		if c.offer == o {
			e.log.Info("agent cannot be rung", "call", c.id, "agent", o.agentID, "err", err)
			if l := e.legs[o.leg]; l != nil {
				l.gone = true // never placed: nothing to hang up
			}
			e.offerFailed(c, queue.OfferRejected)
		}
	})
	e.sendQueueTags(c)
	if c.pop != nil && c.popReady {
		e.sendPop(c, o)
	} else {
		c.popWanted = o
		if c.pop == nil {
			e.preparePop(c)
			c.popWanted = o
		}
	}
	e.pushCall(c)
}

func callerID(p cti.Party) string {
	if p.Name != "" {
		return fmt.Sprintf("%q <%s>", p.Name, p.Number)
	}
	return p.Number
}

// offerFailed: the agent leg ended before answering (or could not be placed); the router puts the call back in line.
func (e *Engine) offerFailed(c *call, kind queue.EventKind) {
	o := c.offer
	if o == nil {
		return
	}
	e.dropOffer(c)
	e.route(queue.Event{Kind: kind, Agent: o.agentID, Call: c.id})
	e.pushCall(c)
}

// dropOffer forgets the ringing leg, hanging it up if it may still ring.
func (e *Engine) dropOffer(c *call) {
	o := c.offer
	if o == nil {
		return
	}
	c.offer = nil
	if c.state == cti.CallRinging {
		c.state = cti.CallQueued
	}
	if a := e.agents[o.agentID]; a != nil && a.call == c.id {
		a.call = ""
	}
	e.hangupLeg(c, o.leg, "normal")
}

func (e *Engine) cancelOffer(d queue.Decision) {
	c := e.calls[d.Call]
	if c == nil || c.offer == nil || c.offer.agentID != d.Agent {
		return
	}
	e.dropOffer(c)
	if !c.finished {
		e.pushCall(c)
	}
}

// hangupLeg hangs a leg up and forgets it.
func (e *Engine) hangupLeg(c *call, id, reason string) {
	l := e.legs[id]
	if l == nil || l.gone {
		return
	}
	l.gone = true
	e.tel(c.id, "hangup", func(ctx context.Context, t cti.Telephony) error { return t.Hangup(ctx, id, reason) }, nil)
}

// legEntered: a channel we created answered.
func (e *Engine) legEntered(l *leg, x cti.ChannelEntered) {
	c := l.call
	if l.entered && (l.role == roleCustomer || l.id == c.agentLeg) {
		return // a repeat, or an agent's leg adopted as answered after a restart whose StasisStart comes late
	}
	l.entered = true
	e.legKnown(l)
	if c.finished || l.gone {
		l.gone = false
		e.hangupLeg(c, l.id, "normal")
		return
	}
	switch l.role {
	case roleAgent, roleOutbound:
		if c.offer != nil && c.offer.leg == l.id {
			e.answered(c, l)
			return
		}
	case roleCustomer:
		if c.outLeg == l.id {
			e.customerAnswered(c, l)
			return
		}
	case roleTransfer:
		if c.xfer != nil && c.xfer.leg == l.id {
			e.transferAnswered(c, l)
			return
		}
	case roleSupervisor:
		if m := c.monitorOf(l.id); m != nil {
			e.monitorAnswered(c, m, l)
			return
		}
	case roleSnoop:
		return
	}
	e.hangupLeg(c, l.id, "normal")
}

// answered: the agent picked the offer up.
func (e *Engine) answered(c *call, l *leg) {
	o := c.offer
	if c.dial { // click-to-call: the router does not know the call
		c.offer = nil
		e.callbackAgentUp(c, l, o)
		return
	}
	if err := e.route(queue.Event{Kind: queue.OfferAccepted, Agent: o.agentID, Call: c.id}); err != nil {
		e.dropOffer(c)
		return
	}
	c.offer = nil
	if c.callback {
		e.callbackAgentUp(c, l, o)
		return
	}
	e.connectAgent(c, l, o)
}

func (e *Engine) connectAgent(c *call, l *leg, o *offer) {
	now := e.now()
	c.agentID, c.agentLeg, c.state, c.answered = o.agentID, l.id, cti.CallConnected, now
	if a := e.agents[o.agentID]; a != nil {
		a.call = c.id
	}
	e.ensureBridge(c)
	b, leg, rec := c.bridge, l.id, "interaction-"+c.id
	c.recording = rec
	e.addRecording(rec, c)
	moh := c.mohOn
	c.mohOn = false
	c.connecting, c.leftEarly = true, false
	e.tel(c.id, "connect-agent", func(ctx context.Context, t cti.Telephony) error {
		if moh {
			if err := t.BridgeMOH(ctx, b, ""); err != nil && cti.ErrorCode(err) != cti.ENOTFOUND {
				return err
			}
		}
		if err := t.AddChannel(ctx, b, leg, roleAgent); err != nil {
			return fmt.Errorf("%w: %w", errNotBridged, err)
		}
		return t.RecordBridge(ctx, b, rec)
	}, func(err error) {
		if c.agentLeg != leg || c.finished {
			return
		}
		c.connecting = false
		if err != nil {
			e.log.Warn("connect agent", "call", c.id, "err", err)
		}
		if errors.Is(err, errNotBridged) {
			e.agentLost(c)
			return
		}
		if c.leftEarly {
			e.agentGone(c)
		}
	})
	agentID, offered, q := o.agentID, c.offered, c.queue
	e.update(c, cti.InteractionUpdate{AgentID: &agentID, AnsweredAt: &now, BridgeID: &b, OfferedAt: &offered, Queue: &q})
	e.pushCall(c)
}

// --- the end ---

// channelGone: a channel hung up, left or was destroyed; the first report counts.
func (e *Engine) channelGone(id string, cause int) {
	l := e.legs[id]
	if l == nil {
		return
	}
	if l.gone {
		return
	}
	l.gone = true
	c := l.call
	if c.finished {
		return
	}
	switch l.role {
	case roleCustomer:
		if id == c.customer {
			e.customerGone(c)
		} else if id == c.outLeg {
			e.outLegGone(c, l)
		}
	case roleAgent, roleOutbound:
		switch {
		case c.offer != nil && c.offer.leg == id:
			kind := queue.OfferRejected
			if cause == 19 || cause == 0 || cause == 18 {
				kind = queue.OfferTimedOut
			}
			e.offerFailed(c, kind)
		case c.agentLeg == id:
			e.agentGone(c)
		}
	case roleTransfer:
		e.transferGone(c, l)
	case roleSupervisor, roleSnoop:
		e.monitorGone(c, l)
	}
}

func (e *Engine) customerGone(c *call) {
	switch c.state {
	case cti.CallIVR:
		e.ivrStep(c, ivr.HangUp())
		e.ivrDone(c)
		e.teardown(c, cti.OutcomeAbandoned)
	case cti.CallQueued, cti.CallRinging:
		if c.voicemail != nil || c.recording != "" && strings.HasPrefix(c.recording, "vm-") {
			e.teardown(c, cti.OutcomeVoicemail)
			return
		}
		e.route(queue.Event{Kind: queue.CallLeft, Call: c.id})
		e.teardown(c, cti.OutcomeAbandoned)
	default:
		if c.agentID != "" {
			e.route(queue.Event{Kind: queue.CallEnded, Call: c.id})
		}
		e.teardown(c, answeredOr(c, cti.OutcomeAbandoned))
	}
}

// errNotBridged: the agent's leg could not be put into the call's bridge (it hung up meanwhile, most often).
var errNotBridged = errors.New("agent leg not bridged")

// agentLost: the agent's leg went, or could not be bridged, before the conversation began. The caller is never dropped for
// it: the agent is released as after a call, the leg hung up, and the caller waits again in their place (same interaction;
// a later answer overwrites the agent and answer time).
func (e *Engine) agentLost(c *call) {
	e.log.Warn("the agent's leg went before the bridge: the caller waits again", "call", c.id, "agent", c.agentID, "leg", c.agentLeg)
	if c.agentLeg != "" {
		e.hangupLeg(c, c.agentLeg, "normal")
	}
	e.route(queue.Event{Kind: queue.CallEnded, Call: c.id})
	if a := e.agents[c.agentID]; a != nil && a.call == c.id {
		a.call = ""
	}
	delete(e.recordings, c.recording)
	c.recording, c.agentID, c.agentLeg, c.answered = "", "", "", time.Time{}
	c.connecting, c.leftEarly = false, false
	e.requeue(c)
}

func (e *Engine) agentGone(c *call) {
	if c.connecting {
		c.leftEarly = true // the bridge request decides: not bridged → agentLost, bridged → a call that ended
		return
	}
	if c.xfer != nil && c.xfer.up && !c.xfer.conf {
		// The agent left a consult: the target stays with the customer (an implicit complete).
		e.completeTransfer(c)
		return
	}
	e.route(queue.Event{Kind: queue.CallEnded, Call: c.id})
	e.teardown(c, answeredOr(c, cti.OutcomeAbandoned))
}

func answeredOr(c *call, o cti.Outcome) cti.Outcome {
	if !c.answered.IsZero() {
		return cti.OutcomeAnswered
	}
	return o
}

// teardown ends a call: every leg hangs up, the recording stops, bridges go, the interaction is finished.
func (e *Engine) teardown(c *call, outcome cti.Outcome) {
	if c.finished {
		return
	}
	if c.ivr != nil {
		e.ivrDone(c)
	}
	if c.offer != nil {
		o := c.offer
		e.dropOffer(c)
		e.route(queue.Event{Kind: queue.OfferRejected, Agent: o.agentID, Call: c.id})
	}
	if c.state == cti.CallQueued || c.state == cti.CallRinging {
		e.route(queue.Event{Kind: queue.CallLeft, Call: c.id})
	}
	now := e.now()
	c.finished, c.state, c.ended, c.outcome = true, cti.CallEnded, now, outcome
	e.cancel(c.waitTimer)
	e.cancel(c.voicemail)
	c.voicemail = nil
	if !c.holdStart.IsZero() {
		c.hold += now.Sub(c.holdStart)
		c.holdStart = time.Time{}
	}
	for _, id := range e.legsOf(c) {
		if !e.legs[id].gone {
			e.hangupLeg(c, id, "normal")
		}
	}
	if x := c.xfer; x != nil {
		// A consulted agent (ringing, consulting, conferenced or handed the call) is made Ready again: their legs are gone
		// with the call, so no ChannelLeft will do it.
		c.xfer = nil
		e.releaseTarget(x)
	}
	if c.recording != "" {
		rec := c.recording
		e.tel(c.id, "stop-recording", func(ctx context.Context, t cti.Telephony) error { return t.StopRecording(ctx, rec) }, nil)
	}
	bridges := []string{}
	if c.bridgeMade {
		bridges = append(bridges, c.bridge)
	}
	if c.xfer != nil && c.xfer.bridge != "" {
		bridges = append(bridges, c.xfer.bridge)
	}
	for _, m := range c.monitors {
		if m.bridge != "" {
			bridges = append(bridges, m.bridge)
		}
	}
	for _, b := range bridges {
		e.tel(c.id, "destroy-bridge", func(ctx context.Context, t cti.Telephony) error { return t.DestroyBridge(ctx, b) }, nil)
	}
	if a := e.agents[c.agentID]; a != nil {
		a.status.CallID = c.id // kept through wrap-up for the disposition
	}
	f := cti.InteractionFinish{Outcome: outcome, EndedAt: now, Durations: c.durations()}
	e.write(c, cti.InteractionWrite{Finish: &f}, nil)
	if o := e.cfg.Observer; o != nil {
		o.CallEnded(c.queue, outcome)
	}
	e.pushCall(c)
	if c.recording == "" || e.cfg.Recordings == nil {
		e.forget(c)
		return
	}
	c.linger = e.after(e.cfg.LingerFor, func() { e.forget(c) })
}

func (c *call) durations() cti.Durations {
	var d cti.Durations
	end := c.ended
	ivrEnd := c.ivrEnd
	if ivrEnd.IsZero() {
		ivrEnd = end
	}
	if c.dir == cti.Inbound && c.channel == cti.ChannelPhone {
		d.IVR = ivrEnd.Sub(c.arrived)
	}
	if !c.queued.IsZero() {
		stop := c.answered
		if stop.IsZero() {
			stop = end
		}
		d.Wait = max(stop.Sub(c.queued), 0)
	}
	if !c.answered.IsZero() {
		d.Talk = max(end.Sub(c.answered)-c.hold, 0)
	}
	d.Hold = c.hold
	return d
}

// forget drops a finished call from the engine's state and lets its executor drain and stop.
func (e *Engine) forget(c *call) {
	e.cancel(c.linger)
	if e.calls[c.id] != c {
		return
	}
	delete(e.calls, c.id)
	for _, id := range e.legsOf(c) {
		delete(e.legs, id)
	}
	for _, id := range c.playbackIDs {
		if p := e.playbacks[id]; p != nil && p.call == c {
			delete(e.playbacks, id)
		}
	}
	for _, name := range c.recordingNames {
		if e.recordings[name] == c {
			delete(e.recordings, name)
		}
	}
	e.stopExec(c.id)
}

func (e *Engine) update(c *call, u cti.InteractionUpdate) {
	e.write(c, cti.InteractionWrite{Update: &u}, nil)
}

// startInteraction queues the start of c's interaction, then the writes that waited for it.
func (e *Engine) startInteraction(c *call, in *cti.Interaction) {
	if c.startQueued {
		return
	}
	c.startQueued = true
	e.writer.put(writeReq{w: cti.InteractionWrite{ID: in.ID, Start: in}})
	for _, r := range c.unstarted {
		e.writer.put(r)
	}
	c.unstarted = nil
}

// write queues a change of c's interaction for the interaction writer; the call's telephony never waits for it. then (may be
// nil) runs on the loop once the change is stored, or with the error that made the store refuse it. A change of an interaction
// never started (nor rebuilt after a restart) is not written. One whose start waits for the caller lookup waits on the call.
func (e *Engine) write(c *call, w cti.InteractionWrite, then func(error)) {
	if !c.started && !c.rebuilt {
		if then != nil {
			then(cti.Errorf(cti.ENOTFOUND, "interaction %s was never started", c.id))
		}
		return
	}
	w.ID = c.id
	r := writeReq{w: w, then: then}
	if c.started && !c.rebuilt && !c.startQueued {
		c.unstarted = append(c.unstarted, r)
		return
	}
	e.writer.put(r)
}

// recordingDone: a recording is stored on the PBX; it is copied out, linked to the interaction and deleted on the PBX.
func (e *Engine) recordingDone(x cti.RecordingFinished) {
	c := e.recordings[x.Name]
	if c == nil {
		return
	}
	delete(e.recordings, x.Name)
	if c.recording == x.Name {
		c.recording = ""
	}
	vm := strings.HasPrefix(x.Name, "vm-")
	if vm && !c.finished {
		e.teardown(c, cti.OutcomeVoicemail)
	}
	done := func(any, error) {
		if c.finished && c.recording == "" {
			e.forget(c)
		}
	}
	if x.Failed || e.cfg.Recordings == nil {
		done(nil, nil)
		return
	}
	t, store, name, id, dur := e.cfg.Telephony, e.cfg.Recordings, x.Name, c.id, x.Duration
	e.run(c.id, effect{name: "save-recording", do: func(ctx context.Context) (any, error) {
		r, err := t.FetchRecording(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("fetch recording %s: %w", name, err)
		}
		ref, err := store.Save(ctx, name, r)
		r.Close()
		if err != nil {
			return nil, fmt.Errorf("save recording %s: %w", name, err)
		}
		ref.Duration = dur
		return ref, nil
	}, then: func(res any, err error) {
		if err != nil {
			e.log.Error("recording", "call", id, "err", err)
			done(res, err)
			return
		}
		ref := res.(cti.RecordingRef)
		// The PBX's copy goes only once the interaction links the saved one.
		e.write(c, cti.InteractionWrite{Update: &cti.InteractionUpdate{Recording: &ref}}, func(err error) {
			if err != nil {
				e.log.Error("recording", "call", id, "err", fmt.Errorf("link recording %s: %w", name, err))
				done(nil, err)
				return
			}
			key := id
			if e.calls[id] != c {
				key = "sys" // forgotten meanwhile: its executor is gone
			}
			e.tel(key, "delete-recording", func(ctx context.Context, t cti.Telephony) error { return t.DeleteRecording(ctx, name) }, nil)
			done(nil, nil)
		})
	}})
}
