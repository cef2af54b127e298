package engine

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"maps"
	"strings"
	"sync/atomic"
	"time"

	"github.com/switchboard-cc/switchboard/cti"
	"github.com/switchboard-cc/switchboard/ivr"
	"github.com/switchboard-cc/switchboard/queue"
)

// Web callers and browser agents.
//
// A web call has no PBX channel to start from (ARI cannot create an inbound call), so the engine makes one: an externalMedia
// channel "sb-web-<id>" (format ulaw) toward the gateway leg of the caller's page, entering with args ["webcall", <id>]. That
// channel is the call's customer channel: once it enters the application the IVR runs on it (prompts play to it, the widget's
// keypad digits arrive as DTMF on it), it waits in the call's mixing bridge and is bridged to the agent exactly as a phone
// caller's channel is. The page hears of every state change through cti.WebCallPage.
//
// A browser agent (endpoint "webrtc") keeps a standing gateway leg from the media-verified Ready test on. An offer rings the
// agent's page only (the screen-pop through the Notifier); nothing is originated. On accept, the engine creates the agent's
// externalMedia channel toward that leg with the offer's leg id ("sb-agent-<id>-<n>", args ["agent", <id>]), so the channel
// enters like an answered desk phone and joins the bridge on the usual path.
//
// A web call survives a controller restart: its channel carries the SHA-256 of the page's resume id (VarWebResume) and the
// gateway's RTP address (VarWebMedia) from creation. Reconcile adopts the channel as it does a phone caller's (the call keeps
// its bridge, agent, recording and place in line) and holds the call for the reconnect window; the page that comes back with
// the id gets it through ResumeWebCall, and its new gateway leg binds the address the channel sends to. No page by then: the
// call ends as a call whose caller vanished does.

// Channel variables of a web caller's channel, set at creation, by which a restarted engine gives the call back to its page.
const (
	VarWebResume = "SB_WEB_RESUME" // hex SHA-256 of the page's resume id: the id is a bearer secret and never leaves the process
	VarWebMedia  = "SB_WEB_MEDIA"  // the gateway leg's RTP address, the channel's external_host
)

// Asterisk's variables of an externalMedia channel: its own RTP address.
const (
	varRTPLocalAddress = "UNICASTRTP_LOCAL_ADDRESS"
	varRTPLocalPort    = "UNICASTRTP_LOCAL_PORT"
)

// webCall is what a call from the widget adds to a call.
type webCall struct {
	page   cti.WebCallPage // nil while a call adopted after a restart waits for its page
	attrs  map[string]string
	custID string
	last   cti.WebCallUpdate // what the page was told last

	// An adopted call waiting for its page:
	reading bool          // its channel's variables are being read
	resume  []byte        // the SHA-256 of its page's resume id
	media   cti.WebResume // where its RTP goes
	window  *timer        // no page by then: the call ends
}

// webAgent is a browser agent's media as the engine knows it.
type webAgent struct {
	verified bool   // the loop test passed and the leg is up
	lost     bool   // media lost during a call: the customer hears music on hold
	reason   string // why media is not verified
	window   *timer // the reconnect window of a lost call
}

// webState is the engine's web part, owned by the loop.
type webState struct {
	agents map[string]*webAgent
	// reconciled is set once the PBX's calls are known after the start: before, a page that comes back cannot be told
	// whether its call survived.
	reconciled bool
	waiting    map[string]*call // adopted web calls waiting for their page, by id
	adopted    map[string]*call // adopted web calls whose RTP address is known, until they end
	// reserved holds the RTP addresses of adopted calls (VarWebMedia), read by the gateway's side from any goroutine: a new
	// call's leg must not take an address whose page is about to come back and bind it.
	reserved atomic.Pointer[map[string]bool]
}

// ReconnectWindow is how long a browser agent's call may go without media before the call is requeued (the re-offer /
// reconnect rule of cti/webrtcgw).
const ReconnectWindow = 30 * time.Second

const (
	roleWebCall        = "webcall"
	reasonMediaFailure = "media-failure"
)

var _ cti.WebCalls = (*Engine)(nil)

func isWebRTC(endpoint string) bool { return endpoint == cti.EndpointWebRTC }

func (e *Engine) reconnectWindow() time.Duration {
	if e.cfg.ReconnectWindow > 0 {
		return e.cfg.ReconnectWindow
	}
	return ReconnectWindow
}

// StartWebCall implements cti.WebCalls.
func (e *Engine) StartWebCall(ctx context.Context, wc cti.WebCall) (string, error) {
	if wc.Page == nil || wc.MediaAddr == "" {
		return "", cti.Invalid("media", "a web call needs its page and media address")
	}
	var id string
	err := e.do(ctx, func() error {
		if !e.connected {
			return cti.Errorf(cti.EUNAVAILABLE, "the contact center cannot take calls right now")
		}
		c := &call{id: e.cfg.IDs(), dir: cti.Inbound, channel: cti.ChannelWebRTC, state: cti.CallIVR, caller: wc.Caller,
			dialed: wc.Dialed, arrived: e.now(), vars: map[string]string{}, ivrTimers: map[string]*timer{}}
		c.customer = "sb-web-" + c.id
		c.web = &webCall{page: wc.Page, attrs: maps.Clone(wc.Attributes), custID: wc.CustomerID}
		id = c.id
		e.calls[c.id] = c
		// entered stays false until the channel is in the application: then the IVR starts (webEntered).
		e.addLeg(&leg{id: c.customer, call: c, role: roleCustomer})
		cid, ch, addr, page := c.id, c.customer, wc.MediaAddr, wc.Page
		// The variables a restarted engine adopts the call by, set at creation: the channel is not in the application yet.
		vars := map[string]string{VarCall: cid, VarRole: roleCustomer}
		if wc.Resume != "" {
			sum := sha256.Sum256([]byte(wc.Resume))
			vars[VarWebResume], vars[VarWebMedia] = hex.EncodeToString(sum[:]), addr
		}
		e.run(cid, effect{name: "web-media", do: func(ctx context.Context) (any, error) {
			t := e.cfg.Telephony
			pbx, err := t.ExternalMedia(ctx, ch, addr, "ulaw", []string{roleWebCall, cid}, vars)
			if err != nil {
				return nil, err
			}
			return nil, page.Connect(pbx)
		}, then: func(_ any, err error) {
			if err != nil && !c.finished {
				e.log.Warn("web call media", "call", cid, "err", err)
				if l := e.legs[ch]; l != nil && !l.entered {
					l.gone = true // never created
				}
				e.teardown(c, cti.OutcomeFailed)
			}
		}})
		e.pushCall(c)
		return nil
	})
	return id, err
}

// webEntered starts a web call once its externalMedia channel is in the application; it reports whether x was that channel.
func (e *Engine) webEntered(l *leg) bool {
	c := l.call
	if c.web == nil || l.id != c.customer || l.entered {
		return false
	}
	l.entered = true
	e.legKnown(l)
	if c.finished || l.gone {
		l.gone = false
		e.hangupLeg(c, l.id, "normal")
		return true
	}
	if c.web.custID == "" {
		e.lookup(c, true)
	} else {
		crm, custID := e.cfg.Customers, c.web.custID
		e.run(c.id, effect{name: "web-customer", do: func(ctx context.Context) (any, error) {
			return crm.Customer(ctx, custID)
		}, then: func(res any, err error) {
			if err != nil {
				e.log.Warn("web caller's customer", "call", c.id, "customer", custID, "err", err)
			} else if cust, _ := res.(*cti.Customer); cust != nil && c.cust == nil {
				c.cust = cust
			}
			e.lookup(c, true)
		}})
	}
	vars := map[string]string{}
	for k, v := range c.web.attrs {
		vars["web."+k] = v
	}
	if e.flows.p.Load() == nil {
		maps.Copy(c.vars, vars)
		e.play(c, []string{"sound:sb/welcome"}, "", func() { e.enqueue(c, e.cfg.DefaultQueue, nil, -1, nil, nil) })
		return true
	}
	c.ivr = ivr.NewSession(&e.flows)
	e.ivrActions(c, c.ivr.Step(ivr.Input{Kind: ivr.InputStart, Caller: c.caller.Number, Dialed: c.dialed,
		Attributes: c.web.attrs, Vars: vars}, e.now()))
	e.pushCall(c)
	return true
}

// isWebCustomer reports whether ch is a web caller's channel (found by reconcile after a restart).
func isWebCustomer(ch cti.ChannelInfo) bool {
	return strings.HasPrefix(ch.ID, "sb-web-") && ch.Vars[VarRole] == roleCustomer && ch.Vars[VarCall] != ""
}

// adoptWeb makes a call that reconcile rebuilt from a web caller's channel a web call again, waiting for its page: the
// channel's resume hash and RTP addresses are read, and a page that does not come back within the reconnect window ends
// the call as a vanished caller's (answered if an agent talked, else failed; channels hung up, the agent to wrap-up).
func (e *Engine) adoptWeb(c *call) {
	c.channel = cti.ChannelWebRTC
	c.web = &webCall{reading: true}
	if e.web.waiting == nil {
		e.web.waiting = map[string]*call{}
	}
	e.web.waiting[c.id] = c
	c.web.window = e.after(e.reconnectWindow(), func() {
		c.web.window = nil
		delete(e.web.waiting, c.id)
		if c.finished || c.web.page != nil {
			return
		}
		e.log.Info("a web caller's page did not come back after the restart: the call ends", "call", c.id)
		e.endLost(c)
	})
	ch := c.customer
	names := []string{VarWebResume, VarWebMedia, varRTPLocalAddress, varRTPLocalPort}
	e.run(c.id, effect{name: "web-adopt", do: func(ctx context.Context) (any, error) {
		vals := make([]string, len(names))
		for i, name := range names {
			v, err := e.cfg.Telephony.GetVar(ctx, ch, name)
			if err != nil {
				return nil, err
			}
			vals[i] = v
		}
		return vals, nil
	}, then: func(res any, err error) {
		c.web.reading = false
		vals, _ := res.([]string)
		if err != nil || len(vals) != len(names) {
			e.log.Warn("a web caller's channel cannot be read: its page cannot come back", "call", c.id, "err", err)
			return
		}
		sum, herr := hex.DecodeString(vals[0])
		if herr != nil || len(sum) != sha256.Size || vals[1] == "" {
			e.log.Warn("a web caller's channel lacks its resume variables: its page cannot come back", "call", c.id)
			return
		}
		c.web.resume = sum
		c.web.media = cti.WebResume{CallID: c.id, MediaAddr: vals[1]}
		if host, port := vals[2], vals[3]; host != "" && port != "" {
			if strings.Contains(host, ":") {
				host = "[" + host + "]" // IPv6 (the engine does no I/O: no package net)
			}
			c.web.media.PBXAddr = host + ":" + port
		}
		if e.web.adopted == nil {
			e.web.adopted = map[string]*call{}
		}
		e.web.adopted[c.id] = c
		e.publishReserved()
	}})
}

// publishReserved publishes the RTP addresses of the adopted calls that have not ended (on the loop).
func (e *Engine) publishReserved() {
	if len(e.web.adopted) == 0 {
		return
	}
	m := map[string]bool{}
	for id, c := range e.web.adopted {
		if c.finished {
			delete(e.web.adopted, id)
			continue
		}
		m[c.web.media.MediaAddr] = true
	}
	e.web.reserved.Store(&m)
}

// WebMediaReserved reports whether addr (host:port) is the RTP address of a web call adopted after a restart: the gateway
// gives a new call's leg another address, or the adopted call's page could not bind its own when it comes back. It is
// cheap and safe from any goroutine.
func (e *Engine) WebMediaReserved(addr string) bool {
	m := e.web.reserved.Load()
	return m != nil && (*m)[addr]
}

// ResumeWebCall implements cti.WebCalls: the page that presents the resume id of an adopted web call gets the call.
func (e *Engine) ResumeWebCall(ctx context.Context, resume string, page cti.WebCallPage) (cti.WebResume, error) {
	if resume == "" || page == nil {
		return cti.WebResume{}, cti.Invalid("resume", "a resume id and a page are needed")
	}
	sum := sha256.Sum256([]byte(resume))
	var out cti.WebResume
	err := e.do(ctx, func() error {
		if !e.web.reconciled {
			return cti.Errorf(cti.EUNAVAILABLE, "the calls are not known yet: try again")
		}
		var found *call
		reading := false
		for id, c := range e.web.waiting {
			switch {
			case c.finished || c.web.page != nil:
				delete(e.web.waiting, id)
			case c.web.reading:
				reading = true
			case subtle.ConstantTimeCompare(c.web.resume, sum[:]) == 1:
				found = c
			}
		}
		if found == nil {
			if reading {
				return cti.Errorf(cti.EUNAVAILABLE, "the calls are not known yet: try again")
			}
			return cti.Errorf(cti.ENOTFOUND, "no call waits for this page")
		}
		c := found
		delete(e.web.waiting, c.id)
		e.cancel(c.web.window)
		c.web.window = nil
		c.web.page, c.web.last = page, cti.WebCallUpdate{}
		out = c.web.media
		e.log.Info("a web caller's page is back after the restart", "call", c.id)
		e.webPush(c) // the page hears where its call stands
		return nil
	})
	return out, err
}

// DropWebCall ends a web call whose page came back after a restart but cannot be given its media (the gateway could not bind
// the channel's RTP address): as when the page does not come back, not as a caller's hang-up, since the fault is ours.
func (e *Engine) DropWebCall(callID string) {
	e.in.put(&command{reply: make(chan error, 1), fn: func() error {
		if c := e.calls[callID]; c != nil && c.web != nil && !c.finished {
			e.log.Warn("a web caller's page came back but its media could not: the call ends", "call", c.id)
			e.endLost(c)
		}
		return nil
	}})
}

// WebDTMF implements cti.WebCalls: the digit reaches the IVR as the caller's DTMF on the call's channel.
func (e *Engine) WebDTMF(callID, digit string) {
	e.in.put(&command{reply: make(chan error, 1), fn: func() error {
		if c := e.calls[callID]; c != nil && c.web != nil && !c.finished {
			e.event(cti.DTMFReceived{At: cti.At{Time: e.now()}, ChannelID: c.customer, Digit: digit})
		}
		return nil
	}})
}

// EndWebCall implements cti.WebCalls: the caller hung up; the call ends as when a phone caller hangs up.
func (e *Engine) EndWebCall(callID string) {
	e.in.put(&command{reply: make(chan error, 1), fn: func() error {
		c := e.calls[callID]
		if c == nil || c.web == nil || c.finished {
			return nil
		}
		ch := c.customer
		if l := e.legs[ch]; l != nil && !l.gone {
			e.channelGone(ch, 0)
			e.tel(c.id, "hangup", func(ctx context.Context, t cti.Telephony) error { return t.Hangup(ctx, ch, "normal") }, nil)
		}
		return nil
	}})
}

// webPush tells a web caller's page about a change of its call (from pushCall).
func (e *Engine) webPush(c *call) {
	if c.web == nil || c.web.page == nil {
		return
	}
	if l := e.legs[c.customer]; l != nil && !l.entered && c.state != cti.CallEnded {
		return // the channel is not in the application yet: the IVR has not started, digits would be lost
	}
	u := cti.WebCallUpdate{State: string(c.state)}
	switch c.state {
	case cti.CallQueued:
		if pos, ewt, ok := e.router.Waiting(c.id); ok {
			u.Position, u.EWT = pos, ewt
		}
	case cti.CallConsulting, cti.CallConference:
		u.State = string(cti.CallConnected)
		if c.state == cti.CallConsulting {
			u.State = string(cti.CallHeld)
		}
	case cti.CallEnded:
		switch c.outcome {
		case cti.OutcomeAbandoned:
			u.Reason = "caller"
		case cti.OutcomeAnswered:
			u.Reason = "agent"
		default:
			u.Reason = "closed" // the IVR or the queue turned the call away: hours, a full queue, no agents
		}
	}
	if u.EWT > 0 {
		u.EWT = u.EWT.Round(time.Second)
	}
	if u == c.web.last {
		return
	}
	c.web.last = u
	c.web.page.Update(u)
}

// webTick refreshes waiting web callers' position and estimated wait (from tick).
func (e *Engine) webTick() {
	e.publishReserved() // forget the addresses of adopted calls that ended
	for _, c := range e.calls {
		if c.web != nil && c.state == cti.CallQueued && !c.finished {
			e.webPush(c)
		}
	}
}

// --- browser agents ---

func (e *Engine) webAgent(id string) *webAgent {
	if e.web.agents == nil {
		e.web.agents = map[string]*webAgent{}
	}
	w := e.web.agents[id]
	if w == nil {
		w = &webAgent{reason: "the audio test has not run"}
		e.web.agents[id] = w
	}
	return w
}

// webReady refuses Ready to a browser agent whose media is not verified (from SetState).
func (e *Engine) webReady(a *agent, s cti.StateRequest) error {
	if !s.Ready || !isWebRTC(a.cfg.Endpoint) || e.cfg.AgentMedia == nil {
		return nil
	}
	if w := e.webAgent(a.cfg.ID); !w.verified {
		return &cti.Error{Code: cti.EPRECONDITION, Field: "media", Message: "test your audio before going ready: " + w.reason}
	}
	return nil
}

// AgentMedia reports a browser agent's media: ok after a passed loop test or when media resumes, not ok when the page's leg
// failed, lost media or closed. Not ok makes a Ready agent NotReady("media-failure"); during a call the customer hears music
// on hold, and after ReconnectWindow without media the call goes back to the head of its queue. Safe from any goroutine.
func (e *Engine) AgentMedia(agentID string, ok bool, reason string) {
	e.in.put(&command{reply: make(chan error, 1), fn: func() error {
		a := e.agents[agentID]
		if a == nil {
			return nil
		}
		w := e.webAgent(agentID)
		w.verified, w.reason = ok, reason
		c := e.calls[a.call]
		inCall := c != nil && !c.finished && c.agentID == agentID && c.agentLeg != ""
		switch {
		case ok && w.lost:
			w.lost = false
			e.cancel(w.window)
			w.window = nil
			if inCall && c.state == cti.CallConnected {
				e.moh(c, false)
			}
		case !ok && inCall && !w.lost:
			w.lost = true
			if c.state == cti.CallConnected {
				e.moh(c, true)
			}
			w.window = e.after(e.reconnectWindow(), func() {
				w.window, w.lost = nil, false
				if c.finished || c.agentID != agentID {
					return
				}
				e.log.Info("browser agent's media lost: the call goes back to its queue", "call", c.id, "agent", agentID)
				q := c.queue
				if q == "" {
					q = e.cfg.DefaultQueue
				}
				// Not Ready first (pending until the call ends): otherwise the agent is free again the moment the call leaves
				// and the router offers it straight back to the agent whose media is gone.
				e.route(queue.Event{Kind: queue.SetState, Agent: agentID, Reason: reasonMediaFailure})
				e.blindToQueue(c, q, "")
			})
		case !ok:
			if v, found := e.router.Agent(agentID); found && v.State == queue.Ready {
				e.route(queue.Event{Kind: queue.SetState, Agent: agentID, Reason: reasonMediaFailure})
			}
		}
		return nil
	}})
}

// acceptWeb answers a browser agent's offer: the agent's externalMedia channel is created toward their standing leg with the
// offer's leg id, and enters the application like an answered phone (from AcceptOffer, off the loop).
func (e *Engine) acceptWeb(ctx context.Context, agentID, legID, callID string) error {
	am := e.cfg.AgentMedia
	if am == nil {
		return cti.Errorf(cti.EUNAVAILABLE, "browser phones are not enabled")
	}
	addr, err := am.Addr(agentID)
	if err != nil {
		return err
	}
	t := e.cfg.Telephony
	// The variables an originated leg carries, so a restarted engine adopts the call; set at creation, as the channel is not in
	// the application yet.
	pbx, err := t.ExternalMedia(ctx, legID, addr, "ulaw", []string{roleAgent, callID},
		map[string]string{VarCall: callID, VarRole: roleAgent, VarAgent: agentID})
	if err != nil {
		return err
	}
	return am.Connect(agentID, pbx)
}

// --- browser supervisors ---

// supervisorLeg brings a supervisor's leg into the application (off the loop): an originate to a desk phone, or for a browser
// supervisor an externalMedia channel toward their standing gateway leg, carrying the originate's id, args and variables. It
// enters like an answered phone, so listen, whisper and barge bridge it on the usual path: the snoop's audio reaches the
// supervisor's browser through the gateway. Without a connected, tested phone it fails as an unanswered originate does
// (the monitor ends); Monitor does not refuse up front because the wallboard does not carry the phone yet.
func (e *Engine) supervisorLeg(ctx context.Context, t cti.Telephony, supervisorID, endpoint string, org cti.Originate) error {
	if !isWebRTC(endpoint) {
		return t.Originate(ctx, org)
	}
	am := e.cfg.AgentMedia
	if am == nil {
		return cti.Errorf(cti.EUNAVAILABLE, "browser phones are not enabled")
	}
	addr, err := am.Addr(supervisorID)
	if err != nil {
		return err
	}
	pbx, err := t.ExternalMedia(ctx, org.ChannelID, addr, "ulaw", org.Args, org.Vars)
	if err != nil {
		return err
	}
	return am.Connect(supervisorID, pbx)
}
