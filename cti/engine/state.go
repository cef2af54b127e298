package engine

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/switchboard-cc/switchboard/cti"
	"github.com/switchboard-cc/switchboard/ivr"
	"github.com/switchboard-cc/switchboard/queue"
)

// Channel variables the engine sets on channels, so a restarted engine can rebuild its calls from the PBX.
const (
	VarCall     = "SB_CALL"
	VarRole     = "SB_ROLE"
	VarQueue    = "SB_QUEUE"
	VarEnqueued = "SB_ENQUEUED"
	VarPriority = "SB_PRIORITY"
	VarAgent    = "SB_AGENT"
	// VarCustomer, on an agent leg, is its caller's channel: the caller's own tags go after the agent's originate, so a
	// restarted engine may find the caller untagged and the call named by the leg alone.
	VarCustomer = "SB_CUSTOMER"
)

var snapshotVars = []string{VarCall, VarRole, VarQueue, VarEnqueued, VarPriority, VarAgent, VarCustomer}

// Roles of channels in a call, also the first application argument of legs we originate.
const (
	roleCustomer   = "customer"
	roleAgent      = "agent"
	roleOutbound   = "outbound" // the agent leg of a click-to-call or callback
	roleTransfer   = "transfer"
	roleSupervisor = "supervisor"
	roleSnoop      = "snoop"
)

// agent is the engine's view of one staff member; the router owns the routing state, this mirrors it for the desktops.
type agent struct {
	cfg       cti.AgentConfig
	status    cti.AgentStatus
	call      string // interaction id of the offer or call
	wrapCall  string // interaction in wrap-up
	wrapQueue string
	disposed  bool
	restore   bool // Ready again after an outbound call or a consult
	grace     *timer
	connected bool
}

// leg is one channel of a call.
type leg struct {
	id      string
	call    *call
	role    string
	agentID string // agent and outbound legs, supervisors
	entered bool   // the channel entered our application (answered)
	gone    bool
	// known is 1 + the number of PBX snapshots asked for when the engine first knew the channel was on the PBX (it entered
	// our application, or a snapshot listed it); 0: not known yet. A snapshot judges only the legs known before it was
	// asked for: a channel that entered while it was being taken may be missing from it and is not gone.
	known uint64
}

type playback struct {
	call  *call
	ivrID string // the IVR's playback id, "" for announcements
	done  func()
}

// offer is an agent leg ringing for a call.
type offer struct {
	agentID  string
	leg      string
	deadline time.Time
	at       time.Time
}

// monitor is a supervisor on a call.
type monitor struct {
	supervisor string
	mode       cti.MonitorMode
	legs       []string // supervisor leg, snoop
	bridge     string
}

// call is one live interaction.
type call struct {
	id        string
	parent    string
	dir       cti.Direction
	channel   cti.Channel
	state     cti.CallState
	customer  string // the customer's channel id
	caller    cti.Party
	dialed    string
	n         int    // counter for playback ids
	legN      int    // counter for leg and bridge ids
	tag       string // prefix of the counters after a restart (restartTag); "" for a call of this process
	rebuilt   bool
	started   bool // the interaction is to be started (its start is queued once the caller lookup is done)
	cust      *cti.Customer
	timeline  []cti.Interaction
	lookedUp  bool
	ivrLookup bool // the IVR waits for the caller lookup
	ivr       *ivr.Session
	ivrTimers map[string]*timer
	vars      map[string]string
	// untagged: the caller's channel does not carry its call id and role yet; they travel with the queue's variables when
	// the call is queued in its first turn (one request instead of two, see inbound), else on their own at its end.
	untagged bool
	// tagsDue: the caller's queue variables wait for the router's answer to its enqueue (see sendQueueTags).
	tagsDue bool
	// unanswered: the caller's answer waits for the enqueue of the IVR's first step, behind the agent's originate.
	unanswered bool

	bridge     string
	bridgeMade bool
	mohOn      bool
	leaving    bool          // the caller is about to be hung up (a callback was chosen): nothing more is played to them
	web        *webCall      // a call from the web widget
	ivrPath    []cti.IVRStep // what the caller did in the IVR, for the screen-pop // music on hold is playing on the bridge (or asked to): stopping it otherwise is an error in ARI
	queue      string
	prio       int
	skills     []queue.SkillReq
	attrs      map[string]string
	onWait     *ivr.WaitHook
	waitTimer  *timer
	callback   bool   // waits as a callback
	callbackNo string // number to call back
	dial       bool   // click-to-call: the agent leg first, then the customer
	vm         bool   // recording a voicemail

	offer    *offer
	adopt    *adoption // a leg found after a restart, for the router's next offer of this call
	agentID  string    // the connected agent
	agentLeg string
	// connecting: the request bridging the agent's answered leg is out; leftEarly: the leg went meanwhile (the request's
	// answer decides what that means).
	connecting, leftEarly bool
	// What the engine's maps hold for this call, so that ending it costs its own size rather than a scan of every live call:
	// ids of its legs and playbacks and names of its recordings (an entry may be stale; users check the map).
	legIDs, playbackIDs, recordingNames []string
	pendingStart                        *cti.Interaction // the start waiting for the caller lookup
	outLeg                              string           // trunk leg to the customer (outbound, callback, external transfer)
	xfer                                *transfer
	monitors                            []*monitor

	pop       *cti.ScreenPop // prepared at enqueue
	popReady  bool
	popWanted *offer

	arrived, ivrEnd, queued, offered, answered, ended time.Time
	holdStart                                         time.Time
	hold                                              time.Duration
	recording                                         string // name while recording
	recPaused                                         bool
	voicemail                                         *timer
	outcome                                           cti.Outcome
	finished                                          bool
	linger                                            *timer

	// startQueued: the start went to the interaction writer; until then the call's writes wait in unstarted, in order.
	startQueued bool
	unstarted   []writeReq
}

// transfer is a consult transfer or conference in progress.
type transfer struct {
	kind   cti.TransferKind
	leg    string // the target's channel
	number string
	agent  string // target agent id
	bridge string // consult bridge
	up     bool
	conf   bool
}

func (c *call) nextID(prefix string) string {
	c.legN++
	return fmt.Sprintf("%s-%s-%s%d", prefix, c.id, c.tag, c.legN)
}

func (c *call) view(e *Engine) cti.CallView {
	v := cti.CallView{ID: c.id, State: c.state, Direction: c.dir, Channel: c.channel, Queue: c.queue, Caller: c.caller,
		AgentID: c.agentID, ArrivedAt: c.arrived, AnsweredAt: c.answered, Outcome: c.outcome}
	if c.cust != nil {
		v.CustomerID, v.CustomerName, v.Tier = c.cust.ID, c.cust.Name, c.cust.Tier
	}
	if c.offer != nil && v.AgentID == "" {
		v.AgentID = c.offer.agentID
	}
	if c.recording != "" {
		v.Recording = "on"
		if c.recPaused {
			v.Recording = "paused"
		}
	}
	for _, m := range c.monitors {
		v.Monitors = append(v.Monitors, cti.Monitor{SupervisorID: m.supervisor, Mode: m.mode})
	}
	return v
}

// load reads agents and queues and builds the router.
func (e *Engine) load(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 4*e.cfg.EffectTimeout)
	defer cancel()
	qs, err := e.cfg.Settings.Queues(ctx)
	if err != nil {
		return fmt.Errorf("engine: load queues: %w", err)
	}
	as, err := e.cfg.Settings.Agents(ctx)
	if err != nil {
		return fmt.Errorf("engine: load agents: %w", err)
	}
	var rc queue.Config
	for _, q := range qs {
		qc, err := queueConfig(q, e.cfg.AnnounceEvery)
		if err != nil {
			return fmt.Errorf("engine: queue %s: %w", q.Name, err)
		}
		rc.Queues = append(rc.Queues, qc)
		e.queues[q.Name] = q
		e.queueNames = append(e.queueNames, q.Name)
	}
	sort.Strings(e.queueNames)
	for _, a := range as {
		if a.Disabled {
			continue
		}
		skills := make(map[string]int, len(a.Skills))
		for _, s := range a.Skills {
			skills[s.Skill] = s.Proficiency
		}
		var member []string
		for _, q := range a.Queues {
			if _, ok := e.queues[q]; ok {
				member = append(member, q)
			}
		}
		rc.Agents = append(rc.Agents, queue.AgentConfig{ID: a.ID, Skills: skills, Queues: member})
		e.agents[a.ID] = &agent{cfg: a, status: cti.AgentStatus{AgentID: a.ID, Login: a.Login, DisplayName: a.DisplayName,
			State: cti.AgentLoggedOut}}
		e.agentIDs = append(e.agentIDs, a.ID)
	}
	sort.Strings(e.agentIDs)
	r, err := queue.New(rc)
	if err != nil {
		return fmt.Errorf("engine: build router: %w", err)
	}
	e.router = r
	return nil
}

// queueConfig maps the CRM's queue onto the router's.
func queueConfig(q cti.QueueConfig, announce time.Duration) (queue.QueueConfig, error) {
	qc := queue.QueueConfig{Name: q.Name, SLTarget: q.SLThreshold, SLPercent: q.SLTarget * 100, WrapUp: q.WrapUp,
		OfferTimeout: q.RingTimeout, MaxWait: q.MaxWait, Overflow: q.Overflow, MaxLength: q.MaxLength,
		AnnounceEvery: announce, ShortAbandon: cti.ShortAbandon}
	if qc.SLPercent > 100 {
		qc.SLPercent = 100
	}
	if q.Strategy != "" {
		if err := qc.Strategy.UnmarshalText([]byte(q.Strategy)); err != nil {
			return qc, err
		}
	}
	if len(q.Escalation) > 0 && string(q.Escalation) != "null" {
		steps, err := queue.ParseSteps(q.Escalation)
		if err != nil {
			return qc, err
		}
		qc.Steps = steps
	}
	if q.TimeZone != "" {
		loc, err := time.LoadLocation(q.TimeZone)
		if err != nil {
			return qc, err
		}
		qc.Location = loc
	}
	return qc, nil
}

// tierPriority maps a customer's tier onto a queue priority.
func tierPriority(c *cti.Customer) int {
	if c == nil {
		return 0
	}
	switch c.Tier {
	case cti.TierPlatinum:
		return 8
	case cti.TierGold:
		return 5
	case cti.TierStandard:
		return 2
	}
	return 0
}

func agentState(s queue.State) cti.AgentState {
	switch s {
	case queue.NotReady:
		return cti.AgentNotReady
	case queue.Ready:
		return cti.AgentReady
	case queue.Reserved:
		return cti.AgentReserved
	case queue.OnCall:
		return cti.AgentOnCall
	case queue.WrapUp:
		return cti.AgentWrapUp
	}
	return cti.AgentLoggedOut
}

// --- notifications ---

func (e *Engine) pushCall(c *call) {
	e.seq++
	e.cfg.Notifier.Call(c.view(e))
	e.webPush(c)
}

func (e *Engine) pushAgent(a *agent) {
	e.seq++
	e.cfg.Notifier.Agent(a.status)
	if e.cfg.RecordAgentStates {
		// The history the reports read, in order with the calls' interaction writes; a repeat of the open state is no change.
		st := a.status
		e.writer.put(writeReq{w: cti.InteractionWrite{AgentState: &st}})
	}
}

func (e *Engine) pushOffer(agentID string, pop cti.ScreenPop) {
	e.seq++
	e.cfg.Notifier.Offer(agentID, pop)
}

// tick drives the router's deadlines and pushes queue statistics.
func (e *Engine) tick() {
	e.route(queue.Event{Kind: queue.Tick})
	e.webTick()
	waiting := false
	for _, c := range e.calls {
		if c.state == cti.CallQueued || c.state == cti.CallRinging {
			waiting = true
			break
		}
	}
	if e.statsDirty || waiting {
		e.statsDirty = false
		e.seq++
		e.cfg.Notifier.Queues(e.queueStatus())
	}
}

func (e *Engine) queueStatus() []cti.QueueStatus {
	now := e.now()
	out := make([]cti.QueueStatus, 0, len(e.queueNames))
	for _, name := range e.queueNames {
		s, err := e.router.Stats(name, now)
		if err != nil {
			continue
		}
		qs := cti.QueueStatus{Queue: name, Waiting: s.Waiting, LongestWait: s.LongestWait, Agents: map[cti.AgentState]int{},
			Offered: int(s.Today.Offered), Answered: int(s.Today.Answered), Abandoned: int(s.Today.Abandoned),
			Overflowed: int(s.Today.Overflowed), ServiceLevel: s.Today.ServiceLevel, ServiceLevel15: s.Last15m.ServiceLevel, Offered15: int(s.Last15m.Offered),
			ASA: s.Today.ASA, AHT: s.Today.AHT, AbandonRate: s.Today.AbandonRate, At: now}
		for st, n := range s.Agents {
			if n > 0 {
				qs.Agents[agentState(queue.State(st))] += n
			}
		}
		out = append(out, qs)
	}
	return out
}

func (e *Engine) snapshot() cti.DeskSnapshot {
	s := cti.DeskSnapshot{Seq: e.seq, Queues: e.queueStatus()}
	for _, id := range e.agentIDs {
		s.Agents = append(s.Agents, e.agents[id].status)
	}
	ids := make([]string, 0, len(e.calls))
	for id, c := range e.calls {
		if !c.finished {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		s.Calls = append(s.Calls, e.calls[id].view(e))
	}
	return s
}

// addLeg registers a leg of l.call.
func (e *Engine) addLeg(l *leg) {
	if l.entered {
		e.legKnown(l)
	}
	e.legs[l.id] = l
	l.call.legIDs = append(l.call.legIDs, l.id)
}

// legKnown records that l's channel is on the PBX now (see leg.known).
func (e *Engine) legKnown(l *leg) {
	if l.known == 0 {
		l.known = e.snapshots + 1
	}
}

// legsOf lists the ids of c's registered legs, sorted (each once).
func (e *Engine) legsOf(c *call) []string {
	var ids []string
	for _, id := range c.legIDs {
		if l := e.legs[id]; l != nil && l.call == c {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// addRecording registers a recording of c by name.
func (e *Engine) addRecording(name string, c *call) {
	e.recordings[name] = c
	c.recordingNames = append(c.recordingNames, name)
}
