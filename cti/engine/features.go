package engine

import (
	"context"
	"strconv"
	"time"

	"github.com/switchboard-cc/switchboard/cti"
	"github.com/switchboard-cc/switchboard/queue"
)

// --- voicemail ---

// voicemail records the caller into "vm-<id>" through the call's bridge, for at most max.
func (e *Engine) voicemail(c *call, maxDur time.Duration) {
	if c.offer != nil {
		e.dropOffer(c)
	}
	if c.state == cti.CallQueued || c.state == cti.CallRinging {
		e.route(queue.Event{Kind: queue.CallLeft, Call: c.id})
	}
	if maxDur <= 0 {
		maxDur = 2 * time.Minute
	}
	c.vm, c.state = true, cti.CallQueued
	e.ensureBridge(c)
	e.moh(c, false)
	rec := "vm-" + c.id
	c.recording = rec
	e.addRecording(rec, c)
	b := c.bridge
	e.play(c, []string{"sound:beep"}, "", func() {
		e.tel(c.id, "record-voicemail", func(ctx context.Context, t cti.Telephony) error { return t.RecordBridge(ctx, b, rec) }, nil)
	})
	c.voicemail = e.after(maxDur, func() {
		c.voicemail = nil
		e.teardown(c, cti.OutcomeVoicemail)
	})
	e.pushCall(c)
}

// --- callbacks ---

// requestCallback takes the caller out of the line keeping the place; the router dials back (DialCallback) in turn.
func (e *Engine) requestCallback(c *call, number string) {
	if number == "" {
		number = c.caller.Number
	}
	if e.cfg.Trunk == "" {
		e.log.Warn("callback requested but no trunk is configured", "call", c.id)
		e.teardown(c, cti.OutcomeCallbackRequested)
		return
	}
	c.leaving = true // the caller is hung up below: the router's arrival announcement is not for them
	if c.state == cti.CallIVR || c.queue == "" {
		q := c.vars["queue"]
		if _, ok := e.queues[q]; !ok {
			q = e.cfg.DefaultQueue
		}
		c.queue, c.queued, c.ivrEnd = q, e.now(), e.now()
		c.state = cti.CallQueued
		c.pop = nil
		e.arrive(c, e.now())
		e.popAfterRoute(c)
		if c.finished {
			return
		}
		if c.offer != nil {
			// An agent was free: the caller is connected now rather than called back later.
			c.leaving = false
			return
		}
	}
	if c.offer != nil {
		o := c.offer
		e.dropOffer(c)
		e.route(queue.Event{Kind: queue.OfferRejected, Agent: o.agentID, Call: c.id})
	}
	c.callback, c.callbackNo = true, number
	if err := e.route(queue.Event{Kind: queue.CallbackRequested, Call: c.id}); err != nil {
		e.teardown(c, cti.OutcomeCallbackRequested)
		return
	}
	e.hangupLeg(c, c.customer, "normal")
	if c.bridgeMade {
		b := c.bridge
		c.bridgeMade = false
		e.tel(c.id, "destroy-bridge", func(ctx context.Context, t cti.Telephony) error { return t.DestroyBridge(ctx, b) }, nil)
	}
	e.pushCall(c)
}

func (e *Engine) dialCallback(d queue.Decision) {
	c := e.calls[d.Call]
	if c == nil || c.finished {
		e.route(queue.Event{Kind: queue.OfferRejected, Agent: d.Agent, Call: d.Call})
		return
	}
	e.offer(d)
}

// callbackAgentUp: the agent answered a callback or click-to-call; now the customer is dialled and bridged with them.
func (e *Engine) callbackAgentUp(c *call, l *leg, o *offer) {
	now := e.now()
	c.agentID, c.agentLeg, c.state = o.agentID, l.id, cti.CallConnected
	if a := e.agents[o.agentID]; a != nil {
		a.call = c.id
	}
	c.bridgeMade = false
	e.ensureBridge(c)
	b, agentLeg := c.bridge, l.id
	number := c.callbackNo
	if number == "" {
		number = c.caller.Number
	}
	out := c.nextID("sb-cust")
	c.outLeg = out
	e.addLeg(&leg{id: out, call: c, role: roleCustomer})
	org := cti.Originate{ChannelID: out, Endpoint: trunkEndpoint(e.cfg.Trunk, number), CallerID: e.cfg.CallerID,
		Timeout: 45 * time.Second, Args: []string{roleCustomer, c.id}, Vars: map[string]string{VarCall: c.id, VarRole: roleCustomer}}
	e.tel(c.id, "dial-customer", func(ctx context.Context, t cti.Telephony) error {
		if err := t.AddChannel(ctx, b, agentLeg, roleAgent); err != nil {
			return err
		}
		return t.Originate(ctx, org)
	}, func(err error) {
		if err != nil && c.outLeg == out && !c.finished {
			e.log.Info("customer cannot be dialled", "call", c.id, "err", err)
			e.endOutbound(c)
		}
	})
	agentID := o.agentID
	e.update(c, cti.InteractionUpdate{AgentID: &agentID, OfferedAt: &now})
	e.pushCall(c)
}

// customerAnswered: the customer we dialled picked up.
func (e *Engine) customerAnswered(c *call, l *leg) {
	now := e.now()
	c.customer, c.answered, c.state = l.id, now, cti.CallConnected
	b, rec := c.bridge, "interaction-"+c.id
	c.recording = rec
	e.addRecording(rec, c)
	ch := l.id
	e.tel(c.id, "connect-customer", func(ctx context.Context, t cti.Telephony) error {
		if err := t.AddChannel(ctx, b, ch, roleCustomer); err != nil {
			return err
		}
		return t.RecordBridge(ctx, b, rec)
	}, nil)
	e.update(c, cti.InteractionUpdate{AnsweredAt: &now, BridgeID: &b, ChannelID: &ch})
	e.pushCall(c)
}

func (e *Engine) outLegGone(c *call, _ *leg) {
	if c.answered.IsZero() {
		e.endOutbound(c)
		return
	}
	e.customerGone(c)
}

// endOutbound ends a callback or click-to-call, answered or not.
func (e *Engine) endOutbound(c *call) {
	if c.agentID != "" && c.callback {
		e.route(queue.Event{Kind: queue.CallEnded, Call: c.id})
	}
	outcome := cti.OutcomeFailed
	if c.callback {
		outcome = cti.OutcomeCallbackRequested
	}
	a := e.agents[c.agentID]
	e.teardown(c, answeredOr(c, outcome))
	if c.dial && a != nil {
		e.restoreAgent(a)
	}
}

// --- click-to-call ---

// Dial implements cti.Desk: the agent's phone rings first, then the customer's number; the agent is NotReady("outbound")
// meanwhile so the router offers them nothing else.
func (e *Engine) Dial(ctx context.Context, agentID, number, customerID string) error {
	return e.do(ctx, func() error {
		a, err := e.agentOf(agentID)
		if err != nil {
			return err
		}
		if number == "" {
			return cti.Invalid("number", "required")
		}
		if e.cfg.Trunk == "" {
			return cti.Errorf(cti.EUNAVAILABLE, "no trunk is configured for outbound calls")
		}
		if !e.connected {
			return cti.Errorf(cti.EUNAVAILABLE, "the phone system is not reachable")
		}
		v, _ := e.router.Agent(agentID)
		if v.State != queue.Ready && v.State != queue.NotReady || a.call != "" {
			return cti.Errorf(cti.ECONFLICT, "you are %s", agentState(v.State))
		}
		a.restore = v.State == queue.Ready
		e.route(queue.Event{Kind: queue.SetState, Agent: agentID, Reason: "outbound"})
		now := e.now()
		c := &call{id: e.cfg.IDs(), dir: cti.Outbound, channel: cti.ChannelPhone, state: cti.CallRinging,
			caller: cti.Party{Number: number}, arrived: now, ivrEnd: now, vars: map[string]string{}, ivrTimers: map[string]*timer{},
			dial: true, agentID: agentID, callbackNo: number}
		if customerID != "" {
			c.cust = &cti.Customer{ID: customerID}
		}
		e.calls[c.id] = c
		a.call = c.id
		e.lookup(c, true)
		legID := c.nextID("sb-agent")
		c.offer = &offer{agentID: agentID, leg: legID, at: now, deadline: now.Add(30 * time.Second)}
		e.addLeg(&leg{id: legID, call: c, role: roleOutbound, agentID: agentID})
		org := cti.Originate{ChannelID: legID, Endpoint: a.cfg.Endpoint, CallerID: number, Timeout: 30 * time.Second,
			Args: []string{roleOutbound, c.id}, Vars: map[string]string{VarCall: c.id, VarRole: roleOutbound, VarAgent: agentID}}
		e.tel(c.id, "originate-agent", func(ctx context.Context, t cti.Telephony) error { return t.Originate(ctx, org) }, func(err error) {
			if err != nil && !c.finished {
				e.endOutbound(c)
			}
		})
		e.pushCall(c)
		return nil
	})
}

// restoreAgent makes an agent Ready again after an outbound call or a consult, if they were Ready before it.
func (e *Engine) restoreAgent(a *agent) {
	a.call = ""
	if !a.restore {
		return
	}
	a.restore = false
	if v, _ := e.router.Agent(a.cfg.ID); v.State == queue.NotReady {
		e.route(queue.Event{Kind: queue.SetState, Agent: a.cfg.ID, Ready: true})
	}
}

// --- transfers ---

// transferOut sends the caller to an external number through the trunk (the IVR's transfer, a blind transfer to a number).
func (e *Engine) transferOut(c *call, number string) {
	if e.cfg.Trunk == "" || number == "" {
		e.log.Warn("transfer out without a trunk or number", "call", c.id)
		e.teardown(c, cti.OutcomeFailed)
		return
	}
	if c.state == cti.CallIVR {
		c.state = cti.CallQueued
	}
	e.ensureBridge(c)
	e.moh(c, true)
	legID := c.nextID("sb-xfer")
	c.xfer = &transfer{kind: cti.TransferBlind, leg: legID, number: number}
	e.addLeg(&leg{id: legID, call: c, role: roleTransfer})
	org := cti.Originate{ChannelID: legID, Endpoint: trunkEndpoint(e.cfg.Trunk, number), CallerID: callerID(c.caller),
		Timeout: 45 * time.Second, Args: []string{roleTransfer, c.id}, Vars: map[string]string{VarCall: c.id, VarRole: roleTransfer}}
	e.tel(c.id, "originate-transfer", func(ctx context.Context, t cti.Telephony) error { return t.Originate(ctx, org) }, func(err error) {
		if err != nil && c.xfer != nil && c.xfer.leg == legID {
			e.transferGone(c, e.legs[legID])
		}
	})
	e.pushCall(c)
}

// transferAnswered: the transfer or conference target picked up.
func (e *Engine) transferAnswered(c *call, l *leg) {
	x := c.xfer
	x.up = true
	if x.kind == cti.TransferBlind {
		b, ch := c.bridge, l.id
		e.tel(c.id, "connect-transfer", func(ctx context.Context, t cti.Telephony) error {
			if err := t.BridgeMOH(ctx, b, ""); err != nil {
				return err
			}
			return t.AddChannel(ctx, b, ch, roleTransfer)
		}, nil)
		if c.answered.IsZero() {
			now := e.now()
			c.answered = now
			e.update(c, cti.InteractionUpdate{AnsweredAt: &now})
		}
		c.state = cti.CallConnected
		e.pushCall(c)
		return
	}
	b, ch := x.bridge, l.id
	e.tel(c.id, "connect-consult", func(ctx context.Context, t cti.Telephony) error { return t.AddChannel(ctx, b, ch, roleTransfer) }, nil)
	e.pushCall(c)
}

// transferGone: the target hung up (or could not be rung).
func (e *Engine) transferGone(c *call, l *leg) {
	x := c.xfer
	if x == nil || l == nil || x.leg != l.id {
		return
	}
	if l != nil {
		l.gone = true
	}
	switch {
	case x.kind == cti.TransferBlind:
		// The external party ended the call (or never answered): the customer's call is over.
		c.xfer = nil
		e.teardown(c, answeredOr(c, cti.OutcomeFailed))
	case x.conf:
		c.xfer = nil
		c.state = cti.CallConnected
		e.releaseTarget(x)
		e.pushCall(c)
	default:
		e.cancelConsult(c)
	}
}

// Transfer implements cti.Desk.
func (e *Engine) Transfer(ctx context.Context, agentID string, t cti.TransferRequest) error {
	return e.do(ctx, func() error {
		c, _, err := e.callOf(agentID)
		if err != nil {
			return err
		}
		if c.xfer != nil {
			return cti.Errorf(cti.ECONFLICT, "a transfer is in progress")
		}
		n := 0
		for _, s := range []string{t.Queue, t.AgentID, t.Number} {
			if s != "" {
				n++
			}
		}
		if n != 1 {
			return cti.Invalid("target", "name exactly one of queue, agent_id, number")
		}
		if t.Kind == cti.TransferConsult {
			return e.consult(c, t)
		}
		switch {
		case t.Queue != "":
			if _, ok := e.queues[t.Queue]; !ok {
				return cti.Errorf(cti.ENOTFOUND, "no queue %s", t.Queue)
			}
			e.blindToQueue(c, t.Queue, "")
		case t.AgentID != "":
			v, ok := e.router.Agent(t.AgentID)
			if !ok {
				return cti.Errorf(cti.ENOTFOUND, "no agent %s", t.AgentID)
			}
			if v.State != queue.Ready {
				return cti.Errorf(cti.ECONFLICT, "%s is not ready", t.AgentID)
			}
			e.blindToQueue(c, c.queue, t.AgentID)
		default:
			if e.cfg.Trunk == "" {
				return cti.Errorf(cti.EUNAVAILABLE, "no trunk is configured for external transfers")
			}
			e.agentLeaves(c)
			e.transferOut(c, t.Number)
		}
		return nil
	})
}

// agentLeaves takes the agent out of a call that goes on without them: their leg hangs up, they go to wrap-up.
func (e *Engine) agentLeaves(c *call) {
	if c.agentLeg != "" {
		e.hangupLeg(c, c.agentLeg, "normal")
	}
	if a := e.agents[c.agentID]; a != nil {
		a.status.CallID = c.id
	}
	e.route(queue.Event{Kind: queue.CallEnded, Call: c.id})
	c.agentLeg = ""
	if !c.holdStart.IsZero() {
		c.hold += e.now().Sub(c.holdStart)
		c.holdStart = time.Time{}
		e.tel(c.id, "unhold", func(ctx context.Context, t cti.Telephony) error {
			return t.ChannelMOH(ctx, c.customer, "")
		}, nil)
	}
}

// blindToQueue hands the customer to a queue (or a named agent) as a new interaction whose parent is c.
func (e *Engine) blindToQueue(c *call, q, agentID string) {
	nc := &call{id: e.cfg.IDs(), parent: c.id, dir: c.dir, channel: c.channel, state: cti.CallQueued, customer: c.customer,
		caller: c.caller, dialed: c.dialed, arrived: e.now(), vars: c.vars, ivrTimers: map[string]*timer{}, cust: c.cust,
		timeline: c.timeline, lookedUp: true, bridge: c.bridge, bridgeMade: c.bridgeMade}
	nc.ivrEnd = nc.arrived
	// The customer's channel and bridge move to the new interaction; the old one ends for the agent.
	if l := e.legs[c.customer]; l != nil {
		l.call = nc
		nc.legIDs = append(nc.legIDs, l.id)
	}
	e.calls[nc.id] = nc
	c.customer, c.bridgeMade = "", false
	e.agentLeaves(c)
	e.teardown(c, cti.OutcomeAnswered)
	ch, id := nc.customer, nc.id
	e.tel(nc.id, "set-vars", func(ctx context.Context, t cti.Telephony) error { return t.SetVar(ctx, ch, VarCall, id) }, nil)
	e.lookup(nc, true)
	if agentID != "" && nc.cust != nil {
		cust := *nc.cust
		cust.OwnerAgentID = agentID
		nc.cust = &cust
	} else if agentID != "" {
		nc.cust = &cti.Customer{OwnerAgentID: agentID}
	}
	e.enqueue(nc, q, nil, -1, nil, nil)
}

// consult puts the customer on music on hold and rings the target into a second bridge with the agent.
func (e *Engine) consult(c *call, t cti.TransferRequest) error {
	endpoint := ""
	var target *agent
	switch {
	case t.AgentID != "":
		v, ok := e.router.Agent(t.AgentID)
		if !ok || e.agents[t.AgentID] == nil {
			return cti.Errorf(cti.ENOTFOUND, "no agent %s", t.AgentID)
		}
		if v.State != queue.Ready {
			return cti.Errorf(cti.ECONFLICT, "%s is not ready", t.AgentID)
		}
		target = e.agents[t.AgentID]
		endpoint = target.cfg.Endpoint
		target.restore = true
		e.route(queue.Event{Kind: queue.SetState, Agent: t.AgentID, Reason: "transfer"})
		target.call = c.id
	case t.Number != "":
		if e.cfg.Trunk == "" {
			return cti.Errorf(cti.EUNAVAILABLE, "no trunk is configured for external transfers")
		}
		endpoint = trunkEndpoint(e.cfg.Trunk, t.Number)
	default:
		return cti.Errorf(cti.ENOTIMPLEMENTED, "consult a queue: transfer blind instead")
	}
	legID := c.nextID("sb-xfer")
	x := &transfer{kind: cti.TransferConsult, leg: legID, number: t.Number, agent: t.AgentID, bridge: "sb-" + c.id + "-consult"}
	c.xfer, c.state = x, cti.CallConsulting
	e.addLeg(&leg{id: legID, call: c, role: roleTransfer, agentID: t.AgentID})
	main, cb, agentLeg, cls := c.bridge, x.bridge, c.agentLeg, e.cfg.MOHClass
	org := cti.Originate{ChannelID: legID, Endpoint: endpoint, CallerID: callerID(c.caller), Timeout: 30 * time.Second,
		Args: []string{roleTransfer, c.id}, Vars: map[string]string{VarCall: c.id, VarRole: roleTransfer, VarAgent: t.AgentID}}
	e.tel(c.id, "consult", func(ctx context.Context, t cti.Telephony) error {
		if err := t.CreateBridge(ctx, cb, cti.BridgeMixing); err != nil {
			return err
		}
		if err := t.RemoveChannel(ctx, main, agentLeg); err != nil {
			return err
		}
		if err := t.BridgeMOH(ctx, main, cls); err != nil {
			return err
		}
		if err := t.AddChannel(ctx, cb, agentLeg, roleAgent); err != nil {
			return err
		}
		return t.Originate(ctx, org)
	}, func(err error) {
		if err != nil && c.xfer == x {
			e.log.Info("consult failed", "call", c.id, "err", err)
			e.cancelConsult(c)
		}
	})
	e.pushCall(c)
	return nil
}

// releaseTarget makes a consulted agent available again.
func (e *Engine) releaseTarget(x *transfer) {
	if a := e.agents[x.agent]; a != nil {
		e.restoreAgent(a)
	}
}

// cancelConsult hangs the target up and brings the agent back to the customer.
func (e *Engine) cancelConsult(c *call) {
	x := c.xfer
	if x == nil {
		return
	}
	c.xfer = nil
	c.state = cti.CallConnected
	e.hangupLeg(c, x.leg, "normal")
	e.releaseTarget(x)
	main, cb, agentLeg := c.bridge, x.bridge, c.agentLeg
	e.tel(c.id, "cancel-consult", func(ctx context.Context, t cti.Telephony) error {
		if agentLeg != "" {
			if err := t.RemoveChannel(ctx, cb, agentLeg); err != nil && cti.ErrorCode(err) != cti.ENOTFOUND {
				return err
			}
		}
		if err := t.BridgeMOH(ctx, main, ""); err != nil {
			return err
		}
		if agentLeg != "" {
			if err := t.AddChannel(ctx, main, agentLeg, roleAgent); err != nil {
				return err
			}
		}
		return t.DestroyBridge(ctx, cb)
	}, nil)
	e.pushCall(c)
}

// completeTransfer moves the target into the customer's bridge and drops the agent.
func (e *Engine) completeTransfer(c *call) {
	x := c.xfer
	main, cb, target := c.bridge, x.bridge, x.leg
	c.xfer = &transfer{kind: cti.TransferBlind, leg: x.leg, number: x.number, agent: x.agent, up: true}
	e.agentLeaves(c)
	e.tel(c.id, "complete-transfer", func(ctx context.Context, t cti.Telephony) error {
		if err := t.RemoveChannel(ctx, cb, target); err != nil && cti.ErrorCode(err) != cti.ENOTFOUND {
			return err
		}
		if err := t.BridgeMOH(ctx, main, ""); err != nil {
			return err
		}
		if err := t.AddChannel(ctx, main, target, roleTransfer); err != nil {
			return err
		}
		return t.DestroyBridge(ctx, cb)
	}, nil)
	if x.agent != "" {
		if a := e.agents[x.agent]; a != nil {
			a.call = c.id
		}
		c.agentID = x.agent
		agentID := x.agent
		e.update(c, cti.InteractionUpdate{AgentID: &agentID})
	}
	c.state = cti.CallConnected
	e.pushCall(c)
}

// CompleteTransfer implements cti.Desk.
func (e *Engine) CompleteTransfer(ctx context.Context, agentID string) error {
	return e.do(ctx, func() error {
		c, _, err := e.callOf(agentID)
		if err != nil {
			return err
		}
		if c.xfer == nil || c.xfer.kind != cti.TransferConsult || !c.xfer.up || c.xfer.conf {
			return cti.Errorf(cti.ECONFLICT, "no answered consult to complete")
		}
		e.completeTransfer(c)
		return nil
	})
}

// CancelTransfer implements cti.Desk.
func (e *Engine) CancelTransfer(ctx context.Context, agentID string) error {
	return e.do(ctx, func() error {
		c, _, err := e.callOf(agentID)
		if err != nil {
			return err
		}
		if c.xfer == nil || c.xfer.kind != cti.TransferConsult {
			return cti.Errorf(cti.ECONFLICT, "no consult in progress")
		}
		e.cancelConsult(c)
		return nil
	})
}

// Conference implements cti.Desk: the consulted target joins the customer's bridge with the agent.
func (e *Engine) Conference(ctx context.Context, agentID string) error {
	return e.do(ctx, func() error {
		c, _, err := e.callOf(agentID)
		if err != nil {
			return err
		}
		x := c.xfer
		if x == nil || x.kind != cti.TransferConsult || !x.up || x.conf {
			return cti.Errorf(cti.ECONFLICT, "consult a target first")
		}
		x.conf = true
		c.state = cti.CallConference
		main, cb, target, agentLeg := c.bridge, x.bridge, x.leg, c.agentLeg
		e.tel(c.id, "conference", func(ctx context.Context, t cti.Telephony) error {
			for _, ch := range []string{agentLeg, target} {
				if err := t.RemoveChannel(ctx, cb, ch); err != nil && cti.ErrorCode(err) != cti.ENOTFOUND {
					return err
				}
			}
			if err := t.BridgeMOH(ctx, main, ""); err != nil {
				return err
			}
			if err := t.AddChannel(ctx, main, agentLeg, roleAgent); err != nil {
				return err
			}
			if err := t.AddChannel(ctx, main, target, roleTransfer); err != nil {
				return err
			}
			return t.DestroyBridge(ctx, cb)
		}, nil)
		x.bridge = ""
		e.pushCall(c)
		return nil
	})
}

// --- monitoring ---

func (c *call) monitorOf(legID string) *monitor {
	for _, m := range c.monitors {
		for _, l := range m.legs {
			if l == legID {
				return m
			}
		}
	}
	return nil
}

// Monitor implements cti.Desk: listen (snoop both ways into a bridge with the supervisor), whisper (the agent hears the
// supervisor), barge (the supervisor joins the customer's bridge) or stop. Every use is audited.
func (e *Engine) Monitor(ctx context.Context, supervisorID, agentID string, mode cti.MonitorMode) error {
	return e.do(ctx, func() error {
		sup, err := e.agentOf(supervisorID)
		if err != nil {
			return err
		}
		c, _, err := e.callOf(agentID)
		if err != nil {
			return err
		}
		var cur *monitor
		for _, m := range c.monitors {
			if m.supervisor == supervisorID {
				cur = m
			}
		}
		if mode == cti.MonitorStop {
			if cur == nil {
				return cti.Errorf(cti.ECONFLICT, "you are not monitoring this call")
			}
			e.stopMonitor(c, cur)
			e.audit(supervisorID, "call.monitor.stop", c.id)
			e.pushCall(c)
			return nil
		}
		if cur != nil {
			return cti.Errorf(cti.ECONFLICT, "you are already on this call; stop first")
		}
		if mode != cti.MonitorListen && mode != cti.MonitorWhisper && mode != cti.MonitorBarge {
			return cti.Invalid("mode", "unknown mode %q", mode)
		}
		if !e.connected {
			return cti.Errorf(cti.EUNAVAILABLE, "the phone system is not reachable")
		}
		endpoint := sup.cfg.Endpoint
		m := &monitor{supervisor: supervisorID, mode: mode}
		supLeg := c.nextID("sb-sup")
		m.legs = append(m.legs, supLeg)
		e.addLeg(&leg{id: supLeg, call: c, role: roleSupervisor, agentID: supervisorID})
		org := cti.Originate{ChannelID: supLeg, Endpoint: sup.cfg.Endpoint, CallerID: callerID(c.caller), Timeout: 30 * time.Second,
			Args: []string{roleSupervisor, c.id}, Vars: map[string]string{VarCall: c.id, VarRole: roleSupervisor, VarAgent: supervisorID}}
		if mode != cti.MonitorBarge {
			snoop := c.nextID("sb-snoop")
			m.legs = append(m.legs, snoop)
			m.bridge = "sb-" + c.id + "-mon-" + c.tag + strconv.Itoa(c.legN)
			e.addLeg(&leg{id: snoop, call: c, role: roleSnoop})
			whisper := "none"
			if mode == cti.MonitorWhisper {
				whisper = "out"
			}
			sn := cti.Snoop{ChannelID: c.agentLeg, SnoopID: snoop, Spy: "both", Whisper: whisper, Args: []string{roleSnoop, c.id}}
			mb := m.bridge
			e.tel(c.id, "snoop", func(ctx context.Context, t cti.Telephony) error {
				if err := t.CreateBridge(ctx, mb, cti.BridgeMixing); err != nil {
					return err
				}
				if err := t.Snoop(ctx, sn); err != nil {
					return err
				}
				return e.supervisorLeg(ctx, t, supervisorID, endpoint, org)
			}, func(err error) {
				if err != nil {
					e.log.Warn("monitor", "call", c.id, "err", err)
					e.stopMonitor(c, m)
				}
			})
		} else {
			e.tel(c.id, "barge", func(ctx context.Context, t cti.Telephony) error {
				return e.supervisorLeg(ctx, t, supervisorID, endpoint, org)
			}, func(err error) {
				if err != nil {
					e.log.Warn("monitor", "call", c.id, "err", err)
					e.stopMonitor(c, m)
				}
			})
		}
		c.monitors = append(c.monitors, m)
		e.audit(supervisorID, "call."+string(mode), c.id)
		e.pushCall(c)
		return nil
	})
}

func (e *Engine) monitorAnswered(c *call, m *monitor, l *leg) {
	ch := l.id
	if m.mode == cti.MonitorBarge {
		b := c.bridge
		e.tel(c.id, "barge-in", func(ctx context.Context, t cti.Telephony) error { return t.AddChannel(ctx, b, ch, roleSupervisor) }, nil)
		return
	}
	mb, snoop := m.bridge, m.legs[1]
	e.tel(c.id, "listen", func(ctx context.Context, t cti.Telephony) error {
		if err := t.AddChannel(ctx, mb, snoop, roleSnoop); err != nil {
			return err
		}
		return t.AddChannel(ctx, mb, ch, roleSupervisor)
	}, nil)
}

func (e *Engine) monitorGone(c *call, l *leg) {
	if m := c.monitorOf(l.id); m != nil {
		e.stopMonitor(c, m)
		e.pushCall(c)
	}
}

func (e *Engine) stopMonitor(c *call, m *monitor) {
	i := -1
	for j, x := range c.monitors {
		if x == m {
			i = j
		}
	}
	if i < 0 {
		return
	}
	c.monitors = append(c.monitors[:i], c.monitors[i+1:]...)
	for _, l := range m.legs {
		e.hangupLeg(c, l, "normal")
	}
	if m.bridge != "" {
		b := m.bridge
		e.tel(c.id, "destroy-bridge", func(ctx context.Context, t cti.Telephony) error { return t.DestroyBridge(ctx, b) }, nil)
	}
}
