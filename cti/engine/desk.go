package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard-cc/switchboard/cti"
	"github.com/switchboard-cc/switchboard/queue"
)

// agentChanged mirrors a router state change onto the agent's status and pushes it.
func (e *Engine) agentChanged(d queue.Decision) {
	a := e.agents[d.Agent]
	if a == nil {
		return
	}
	now := e.now()
	prev := a.status.State
	// The router's present view wins over the decision: a nested Apply (an adopted offer accepted at once) may have moved on.
	st, reason := agentState(d.State), d.Reason
	v, ok := e.router.Agent(d.Agent)
	if ok {
		st, reason = agentState(v.State), v.Reason
	}
	busy := st == cti.AgentReserved || st == cti.AgentOnCall
	if st == prev && reason == a.status.Reason && st != cti.AgentWrapUp && (!busy || a.status.CallID == a.call) {
		return
	}
	a.status.State, a.status.Reason, a.status.Since, a.status.Deadline, a.status.Pending = st, reason, now, time.Time{}, ""
	if ok {
		a.status.Deadline = v.Deadline
		if v.Pending {
			a.status.Pending = v.PendingReason
			if v.PendingState == queue.LoggedOut {
				a.status.Pending = "logout"
			}
		}
	}
	switch st {
	case cti.AgentReserved, cti.AgentOnCall:
		a.status.CallID = a.call
	case cti.AgentWrapUp:
		if a.status.CallID != "" {
			a.wrapCall, a.disposed = a.status.CallID, false
			if c := e.calls[a.wrapCall]; c != nil {
				a.wrapQueue = c.queue
			}
		}
		a.call = ""
	default:
		a.call, a.status.CallID = "", ""
		if prev == cti.AgentWrapUp {
			a.wrapCall = ""
		}
	}
	a.status.Connected = a.connected
	e.pushAgent(a)
	if st == cti.AgentReady && !e.connected && e.everUp {
		e.pbxDown(a)
	}
}

// pbxDown makes a Ready agent NotReady while the PBX is away, to be made Ready again when it is back.
func (e *Engine) pbxDown(a *agent) {
	v, ok := e.router.Agent(a.cfg.ID)
	if !ok || (v.State != queue.Ready && !(v.State == queue.NotReady && v.Reason == "rejected")) {
		return
	}
	e.downAgents[a.cfg.ID] = true
	e.route(queue.Event{Kind: queue.SetState, Agent: a.cfg.ID, Reason: "pbx-down"})
}

func (e *Engine) agentOf(id string) (*agent, error) {
	a := e.agents[id]
	if a == nil {
		return nil, cti.Errorf(cti.ENOTFOUND, "no agent %s", id)
	}
	return a, nil
}

// routerError turns a router refusal into the application's error.
func routerError(err error) error {
	if err == nil {
		return nil
	}
	if qe, ok := err.(*queue.Error); ok {
		switch qe.Code {
		case queue.ENotFound:
			return cti.Errorf(cti.ENOTFOUND, "%s", qe.Msg)
		case queue.EConflict:
			return &cti.Error{Code: cti.ECONFLICT, Message: qe.Msg, Err: err}
		}
		return &cti.Error{Code: cti.EINVALID, Message: qe.Msg, Err: err}
	}
	return cti.Internal(err, "routing")
}

// Login implements cti.Desk.
func (e *Engine) Login(ctx context.Context, agentID string) error {
	return e.do(ctx, func() error {
		if _, err := e.agentOf(agentID); err != nil {
			return err
		}
		return routerError(e.route(queue.Event{Kind: queue.AgentLogin, Agent: agentID}))
	})
}

// Logout implements cti.Desk.
func (e *Engine) Logout(ctx context.Context, agentID string) error {
	return e.do(ctx, func() error {
		if _, err := e.agentOf(agentID); err != nil {
			return err
		}
		delete(e.downAgents, agentID)
		return routerError(e.route(queue.Event{Kind: queue.AgentLogout, Agent: agentID}))
	})
}

// SetState implements cti.Desk. Pending or not, a choice made while busy applies after the call (the router's rule).
func (e *Engine) SetState(ctx context.Context, agentID string, s cti.StateRequest) error {
	return e.do(ctx, func() error {
		a, err := e.agentOf(agentID)
		if err != nil {
			return err
		}
		if err := e.webReady(a, s); err != nil {
			return err
		}
		if !s.Ready && s.Reason == "" {
			return cti.Invalid("reason", "a not-ready state needs a reason")
		}
		delete(e.downAgents, agentID)
		if s.Ready && !e.connected && e.everUp {
			e.downAgents[agentID] = true
			return cti.Errorf(cti.EUNAVAILABLE, "the phone system is not reachable; you will be made ready when it is back")
		}
		return routerError(e.route(queue.Event{Kind: queue.SetState, Agent: agentID, Ready: s.Ready, Reason: s.Reason}))
	})
}

// Presence implements cti.Desk: a desktop gone for longer than GraceDisconnect makes its agent NotReady("disconnected").
func (e *Engine) Presence(agentID string, connected bool) {
	e.in.put(&command{reply: make(chan error, 1), fn: func() error {
		a := e.agents[agentID]
		if a == nil {
			return nil
		}
		a.connected = connected
		a.status.Connected = connected
		e.cancel(a.grace)
		a.grace = nil
		if !connected {
			a.grace = e.after(e.cfg.GraceDisconnect, func() {
				a.grace = nil
				v, _ := e.router.Agent(agentID)
				if v.State == queue.LoggedOut || (v.State == queue.NotReady && v.Reason == "disconnected") {
					return
				}
				e.route(queue.Event{Kind: queue.SetState, Agent: agentID, Reason: "disconnected"})
			})
		}
		e.pushAgent(a)
		return nil
	}})
}

// AcceptOffer implements cti.Desk: with Softphones, the engine answers the ringing leg for the agent's browser.
func (e *Engine) AcceptOffer(ctx context.Context, agentID string) error {
	var endpoint, legID, callID string
	err := e.do(ctx, func() error {
		a, err := e.agentOf(agentID)
		if err != nil {
			return err
		}
		c := e.calls[a.call]
		if c == nil || c.offer == nil || c.offer.agentID != agentID {
			return cti.Errorf(cti.ECONFLICT, "no call is ringing for you")
		}
		endpoint, legID, callID = a.cfg.Endpoint, c.offer.leg, c.id
		return nil
	})
	if err == nil && isWebRTC(endpoint) {
		ctx, cancel := context.WithTimeout(ctx, e.cfg.EffectTimeout)
		defer cancel()
		return e.acceptWeb(ctx, agentID, legID, callID)
	}
	if err != nil || e.cfg.Softphones == nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, e.cfg.EffectTimeout)
	defer cancel()
	return e.cfg.Softphones.Answer(ctx, endpoint, legID)
}

// RejectOffer implements cti.Desk.
func (e *Engine) RejectOffer(ctx context.Context, agentID string) error {
	return e.do(ctx, func() error {
		a, err := e.agentOf(agentID)
		if err != nil {
			return err
		}
		c := e.calls[a.call]
		if c == nil || c.offer == nil || c.offer.agentID != agentID {
			return cti.Errorf(cti.ECONFLICT, "no call is ringing for you")
		}
		e.offerFailed(c, queue.OfferRejected)
		return nil
	})
}

// callOf returns the agent's connected call.
func (e *Engine) callOf(agentID string) (*call, *agent, error) {
	a, err := e.agentOf(agentID)
	if err != nil {
		return nil, nil, err
	}
	c := e.calls[a.call]
	if c == nil || c.finished || c.agentID != agentID || c.answered.IsZero() {
		return nil, a, cti.Errorf(cti.ECONFLICT, "you have no connected call")
	}
	return c, a, nil
}

// Hold implements cti.Desk: music on hold for the customer, hold time counted.
func (e *Engine) Hold(ctx context.Context, agentID string, on bool) error {
	return e.do(ctx, func() error {
		c, _, err := e.callOf(agentID)
		if err != nil {
			return err
		}
		if on == (c.state == cti.CallHeld) {
			return nil
		}
		if c.state != cti.CallConnected && c.state != cti.CallHeld {
			return cti.Errorf(cti.ECONFLICT, "the call is %s", c.state)
		}
		ch, class := c.customer, ""
		now := e.now()
		if on {
			class = e.cfg.MOHClass
			c.state, c.holdStart = cti.CallHeld, now
		} else {
			c.state = cti.CallConnected
			c.hold += now.Sub(c.holdStart)
			c.holdStart = time.Time{}
		}
		e.tel(c.id, "hold", func(ctx context.Context, t cti.Telephony) error {
			if err := t.ChannelMOH(ctx, ch, class); err != nil {
				return err
			}
			return t.Hold(ctx, ch, on)
		}, nil)
		e.pushCall(c)
		return nil
	})
}

// Hangup implements cti.Desk: the agent ends the call (or their ringing offer or outbound attempt).
func (e *Engine) Hangup(ctx context.Context, agentID string) error {
	return e.do(ctx, func() error {
		a, err := e.agentOf(agentID)
		if err != nil {
			return err
		}
		c := e.calls[a.call]
		if c == nil || c.finished {
			return cti.Errorf(cti.ECONFLICT, "you have no call")
		}
		if c.offer != nil && c.offer.agentID == agentID {
			e.offerFailed(c, queue.OfferRejected)
			return nil
		}
		if c.dial || c.callback {
			e.endOutbound(c)
			return nil
		}
		if c.agentLeg != "" {
			e.hangupLeg(c, c.agentLeg, "normal")
		}
		e.agentGone(c)
		return nil
	})
}

// PauseRecording implements cti.Desk (e.g. while the customer reads a card number).
func (e *Engine) PauseRecording(ctx context.Context, agentID string, paused bool) error {
	return e.do(ctx, func() error {
		c, _, err := e.callOf(agentID)
		if err != nil {
			return err
		}
		if c.recording == "" {
			return cti.Errorf(cti.ECONFLICT, "the call is not being recorded")
		}
		if c.recPaused == paused {
			return nil
		}
		c.recPaused = paused
		rec := c.recording
		e.tel(c.id, "pause-recording", func(ctx context.Context, t cti.Telephony) error { return t.PauseRecording(ctx, rec, paused) }, nil)
		e.pushCall(c)
		return nil
	})
}

// WrapUp implements cti.Desk: records the disposition and notes, and with Done ends the wrap-up.
func (e *Engine) WrapUp(ctx context.Context, agentID string, w cti.WrapUpRequest) error {
	return e.do(ctx, func() error {
		a, err := e.agentOf(agentID)
		if err != nil {
			return err
		}
		if a.wrapCall == "" || (w.InteractionID != "" && w.InteractionID != a.wrapCall) {
			if w.InteractionID != "" && a.wrapCall != "" {
				return cti.Errorf(cti.EFORBIDDEN, "interaction %s is not yours to wrap up", w.InteractionID)
			}
			return cti.Errorf(cti.ECONFLICT, "you are not in wrap-up")
		}
		if w.Done && w.Disposition == "" && !a.disposed && e.queues[a.wrapQueue].RequireDisposition {
			return cti.Invalid("disposition", "choose a disposition first")
		}
		if w.Extend > 0 {
			return cti.Errorf(cti.ENOTIMPLEMENTED, "extending wrap-up is not supported")
		}
		id, queueName := a.wrapCall, a.wrapQueue
		if w.Disposition != "" || w.Notes != "" {
			a.disposed = a.disposed || w.Disposition != ""
			dw := cti.InteractionWrite{ID: id, Disposition: &cti.DispositionWrite{AgentID: agentID, Code: w.Disposition, Notes: w.Notes}}
			then := func(err error) {
				if err != nil {
					e.log.Warn("disposition", "call", id, "queue", queueName, "err", err)
				}
			}
			if c := e.calls[id]; c != nil {
				e.write(c, dw, then)
			} else {
				e.writer.put(writeReq{w: dw, then: then})
			}
		}
		if w.Done {
			return routerError(e.route(queue.Event{Kind: queue.WrapUpDone, Agent: agentID}))
		}
		return nil
	})
}

// Snapshot implements cti.Desk.
func (e *Engine) Snapshot(ctx context.Context) (cti.DeskSnapshot, error) {
	var s cti.DeskSnapshot
	err := e.do(ctx, func() error {
		s = e.snapshot()
		return nil
	})
	return s, err
}

// Trace implements cti.Desk: the newest routing trace of the call.
func (e *Engine) Trace(ctx context.Context, callID string) (*cti.RoutingTrace, error) {
	var out *cti.RoutingTrace
	err := e.do(ctx, func() error {
		ts := e.router.Traces()
		for i := len(ts) - 1; i >= 0; i-- {
			t := ts[i]
			if t.Call != callID {
				continue
			}
			rt := &cti.RoutingTrace{CallID: t.Call, AgentID: t.Agent, Queue: t.Queue, At: t.At, Step: t.Step,
				Summary: fmt.Sprintf("%s by %s under %s: %d ready, %d not ready, %d busy, %d logged out, %d lacking the skill, %d below proficiency",
					t.Agent, t.Trigger, t.Rule, t.Ready, t.NotReady, t.Busy, t.LoggedOut, t.LacksSkill, t.BelowProficiency)}
			for _, s := range t.Skipped {
				who := s.Agent
				if who == "" {
					who = s.Call
				}
				rt.Skipped = append(rt.Skipped, who+": "+s.Reason.String())
			}
			out = rt
			return nil
		}
		return cti.Errorf(cti.ENOTFOUND, "no routing trace for call %s", callID)
	})
	return out, err
}

// audit records a supervisor's action on a call.
func (e *Engine) audit(actor, action, target string) {
	au := e.cfg.Auditor
	if au == nil {
		return
	}
	login := actor
	if a := e.agents[actor]; a != nil {
		login = a.cfg.Login
	}
	entry := cti.AuditEntry{ID: e.cfg.IDs(), At: e.now(), Actor: login, Action: action, Target: target}
	e.run("sys", effect{name: "audit", do: func(ctx context.Context) (any, error) { return nil, au.Audit(ctx, entry) },
		then: func(_ any, err error) {
			if err != nil {
				e.log.Error("audit", "action", action, "err", err)
			}
		}})
}

func trunkEndpoint(tmpl, number string) string {
	return strings.ReplaceAll(tmpl, "{number}", number)
}
