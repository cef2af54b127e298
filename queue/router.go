package queue

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Router is the ACD: it owns queues, agents and waiting calls and decides who
// gets what. It is not safe for concurrent use: one goroutine (the engine's)
// drives it, which is what keeps it deterministic.
type Router struct {
	now     int64 // latest time seen, Unix ns; time never runs backwards here
	start   int64 // first time seen, bounds the EWT rate window
	started bool
	seq     uint64 // arrival counter, the last FIFO tie-break
	loc     *time.Location

	queues map[string]*queueState
	qs     []*queueState // by queueState.ix
	agents map[string]*agent
	as     []*agent // by agent.ix
	// Calls live in pages of structs addressed by slot, so indexes hold a
	// uint32, not a pointer, and the GC finds one pointer per call (its id);
	// calls maps an id to its slot.
	calls idIndex
	pages []*[pageSize]call
	extra map[uint32]*callExtra // the rare calls with a preferred agent or attributes
	nslot uint32                // slots ever used
	// Slots free for reuse, and those of calls dropped in this Apply (still
	// read until it returns).
	free, dropped []uint32
	// Requirements interned: a call holds the index of its own skills.
	sigs   []sigInfo
	sigIdx map[string]uint32
	sigBuf []byte
	// Skill names interned to small integers, so eligibility compares
	// integers instead of looking names up in maps.
	skillIx map[string]int32
	timers  timerHeap

	traces     []Trace
	traceNext  int
	traceLimit int
	// Every offer carries its own trace; they and their examples are cut
	// from slabs so an offer does not cost two allocations.
	traceSlab []Trace
	skipSlab  []Skip

	out      []Decision // decisions of the Apply in progress: a window on slab past used, or the caller's buffer
	toCaller bool       // out is ApplyTo's dst
	slab     []Decision // Apply hands out capped slices of it: one allocation per many events
	used     int        // slab[:used] belongs to decisions already handed out
	naive    picker     // test hook: the linear-scan reference replaces the indexes' choices
}

// picker lets the reference implementation in the tests make the choices.
type picker interface {
	agentFor(r *Router, c *call) *agent
	callFor(r *Router, a *agent) *call
}

type queueState struct {
	ix        uint32 // in r.qs
	cfg       QueueConfig
	buckets   map[uint64]*bucket // by bucketKey.id
	bkts      []*bucket          // by bucket.ix
	common    []*bucket          // by step+1: the bucket of calls without skills of their own, or of an Any step
	r         *Router
	heads     btree[head]                    // non-empty buckets by their head call's key
	line      line                           // all waiting calls in line order: their positions
	ready     map[string]*[11]*tree[*member] // skill → level → Ready members holding it
	any       *tree[*member]                 // all Ready members
	byState   [NumStates]int
	members   int
	callbacks int
	rr        uint64
	runs      []int32 // timer runs by kind of deadline (runOffer…)
	st        stats
	// EWT rate cached for one instant: it only changes when time or counts do.
	ewtAt          int64
	ewtOK          bool
	ewtNum, ewtDen int64
	// The last-15-minutes window as of minute w15Min, kept up to date by record.
	w15    counters
	w15Min int64
	w15OK  bool
}

type bucketKey struct {
	step int
	sig  uint32 // the calls' own skills (r.sigs), anySig for an "any" step
}

const anySig = ^uint32(0)

// id packs k in one integer: a map hashes it on the fast path for 64-bit keys.
func (k bucketKey) id() uint64 { return uint64(uint32(k.step+1))<<32 | uint64(k.sig) }

// bucket holds the waiting calls of a queue that share one requirement: the
// same escalation step and the same own skills. Its head is its best call.
type bucket struct {
	ix    int32 // in its queue's bkts
	key   bucketKey
	req   []SkillReq            // empty: any agent of the queue
	need  []level               // req interned, parallel to it
	mask  uint64                // skillMask of need
	rule  string                // req as a trace shows it, made on the first offer
	sets  []*[11]*tree[*member] // parallel to req: q's Ready sets of the skill by level, made on first use
	calls slotSet               // slots by key
	head  *call                 // calls' minimum; its key is the bucket's key in the queue's heads tree
	up    *bucket               // where calls of this bucket went at their last step change (unused for "*")
}

// head is a bucket's entry in its queue's heads tree. It carries the
// bucket's skill mask so a freed agent passes over most buckets it cannot
// serve without reading them.
type head struct {
	b    *bucket
	mask uint64
}

// add and remove keep the bucket's place in its queue's heads tree, so a freed
// agent visits buckets best-head first and stops at the first it may serve.
func (b *bucket) add(q *queueState, c *call) {
	k := c.key()
	c.runPos = b.calls.Insert(k, c.slot)
	if b.head == nil || k < b.head.key() {
		if b.head != nil {
			q.heads.Delete(b.head.key())
		}
		b.head = c
		q.heads.Insert(k, head{b, b.mask})
	}
}

func (b *bucket) remove(q *queueState, c *call) {
	k := c.key()
	b.calls.Delete(k, c.runPos)
	if b.head != c {
		return
	}
	q.heads.Delete(k)
	b.head = nil
	if hk, h, ok := b.calls.Min(); ok {
		b.head = q.r.callAt(h)
		q.heads.Insert(hk, head{b, b.mask})
	}
}

type agent struct {
	ix         uint32 // in r.as
	id         string
	cfg        AgentConfig
	skills     []SkillReq // sorted by skill; Min is the agent's level
	levels     []level    // skills interned, sorted by skill id
	mask       uint64     // skillMask of levels
	members    []*member  // sorted by queue name
	state      State
	linked     bool // in the Ready sets of its queues (Ready, unless being offered a call)
	reason     string
	hasPending bool
	pendState  State // NotReady or LoggedOut
	pendReason string
	call       *call
	deadline   int64
	readySince int64
	callsToday int
	dayEnd     int64
	lastQ      *queueState   // queue of the call being wrapped up
	answered   int64         // when that call was answered
	preferred  btree[uint32] // calls (slots) waiting for this agent only, by key
	tm         timer
}

type member struct {
	a      *agent
	q      *queueState
	rr     uint64 // q.rr when this agent was last offered a call of q
	k1, k2 int64  // strategy key, frozen while Ready
	anyN   tnode[*member]
	nodes  []tnode[*member] // parallel to a.skills
	sets   []*tree[*member] // parallel to a.skills: q's Ready set for each, made on first use
}

type callState uint8

const (
	waiting callState = iota
	offered
	connected
)

// call is laid out for the timer path: what a due timer reads (announcement,
// escalation step) fills its first 64 bytes, the rest the next 64, and the
// struct is 128 bytes so that in its page (a large allocation, page-aligned)
// each call sits on exactly two cache lines and a timer touches one. A due
// timer is most of the work per event, and the call it reads was last
// touched a minute earlier: a cache miss per line. TestCallLayout holds the
// layout. Its only pointer is its id (queue, bucket and agents by index,
// skills apart): every announcement carries the id, which in a slice apart
// cost a miss of its own, and the GC's mark of the whole heap took as long
// with the pointer as without (15–21 ms in the benchmark's world).
type call struct {
	tm       timer
	enq      int64
	seq      uint64
	nextAnn  int64
	qix      uint32 // r.qs
	bix      int32  // q.bkts, -1 none
	prefIx   uint32 // r.as+1 while waiting for the preferred agent only, 0 none
	lastPos  int32
	lastEWT  int32 // the last EWT announced, in ewtGrain: only that is compared
	step     int16 // ValidateSteps bounds the number of steps
	prio     int8
	callback bool
	// second cache line
	st        callState
	live      bool
	agentIx   uint32 // r.as+1 of the agent offered or connected, 0 none
	sig       uint32 // r.sigs: the call's own skills
	slot      uint32
	prefUntil int64
	ln        uint64 // the call's number in its queue's line (at its priority)
	id        string
	runPos    uint32   // where its bucket's run holds it: a hint that spares the search when it leaves
	_         [12]byte // to 128 bytes
}

// callExtra holds what few calls have.
type callExtra struct {
	preferred string
	attrs     map[string]string
}

// sigInfo is one interned requirement: the skills and their signature.
type sigInfo struct {
	skills []SkillReq
	sig    string
}

const (
	pageShift = 10
	pageSize  = 1 << pageShift
)

// callAt returns the call in slot s; pages never move, so the pointer stays valid.
func (r *Router) callAt(s uint32) *call { return &r.pages[s>>pageShift][s&(pageSize-1)] }

// call returns the live call with id, or nil.
func (r *Router) call(id string) *call {
	s, ok := r.calls.get(id)
	if !ok {
		return nil
	}
	return r.callAt(s)
}

func (r *Router) callID(c *call) string       { return c.id }
func (r *Router) queueOf(c *call) *queueState { return r.qs[c.qix] }
func (r *Router) skillsOf(c *call) []SkillReq { return r.sigs[c.sig].skills }
func (r *Router) prefOf(c *call) *agent       { return r.agentIx(c.prefIx) }
func (r *Router) agentOf(c *call) *agent      { return r.agentIx(c.agentIx) }
func (r *Router) agentIx(ix uint32) *agent {
	if ix == 0 {
		return nil
	}
	return r.as[ix-1]
}

// bucketOf returns the bucket the waiting call sits in, nil if none.
func (r *Router) bucketOf(c *call) *bucket {
	if c.bix < 0 {
		return nil
	}
	return r.qs[c.qix].bkts[c.bix]
}

func (r *Router) preferredOf(c *call) string {
	if e := r.extra[c.slot]; e != nil {
		return e.preferred
	}
	return ""
}

func (r *Router) attrsOf(c *call) map[string]string {
	if e := r.extra[c.slot]; e != nil {
		return e.attrs
	}
	return nil
}

func (r *Router) timer(kind uint8, own uint32) *timer {
	if kind == 0 {
		return &r.as[own].tm
	}
	return &r.callAt(own).tm
}

// ownerLess orders agents by id and calls by arrival: a call's seq sits in
// the cache line its timer reads anyway, where comparing ids reads their
// bytes, elsewhere in memory.
func (r *Router) ownerLess(kind uint8, a, b uint32) bool {
	if kind == 0 {
		return r.as[a].id < r.as[b].id
	}
	return r.callAt(a).seq < r.callAt(b).seq
}

// internSig returns the index of skills' interned copy, adding it if new.
// Most calls have no skills of their own: they share index 0, interned by New.
func (r *Router) internSig(skills []SkillReq) uint32 {
	if len(skills) == 0 && len(r.sigs) > 0 {
		return 0
	}
	b := r.sigBuf[:0]
	for _, s := range skills {
		b = strconv.AppendInt(b, int64(len(s.Skill)), 10)
		b = append(b, ':')
		b = append(b, s.Skill...)
		b = append(b, byte(s.Min))
	}
	r.sigBuf = b
	if i, ok := r.sigIdx[string(b)]; ok {
		return i
	}
	i := uint32(len(r.sigs))
	r.sigs = append(r.sigs, sigInfo{skills: slices.Clone(skills), sig: reqSig(skills)})
	r.sigIdx[string(b)] = i
	return i
}

// key orders calls as callLess does, in one integer: priority, then arrival.
// Arrival order (seq) is also enqueued-at order, because both grow with each
// arrival and time never runs backwards; Restore checks that it holds.
func (c *call) key() uint64 { return uint64(9-c.prio)<<56 | c.seq }

// callLess is the order of eligible calls everywhere: priority desc, enqueued asc, arrival seq.
func callLess(a, b *call) bool {
	if a.prio != b.prio {
		return a.prio > b.prio
	}
	if a.enq != b.enq {
		return a.enq < b.enq
	}
	return a.seq < b.seq
}

func memberLess(a, b *member) bool {
	if a.k1 != b.k1 {
		return a.k1 < b.k1
	}
	if a.k2 != b.k2 {
		return a.k2 < b.k2
	}
	return a.a.id < b.a.id
}

// New builds a Router from its configuration.
func New(cfg Config) (*Router, error) {
	r := &Router{
		loc:        cfg.Location,
		queues:     map[string]*queueState{},
		agents:     map[string]*agent{},
		extra:      map[uint32]*callExtra{},
		sigIdx:     map[string]uint32{},
		skillIx:    map[string]int32{},
		traceLimit: cfg.TraceLimit,
	}
	r.timers.owners = r
	r.calls = newIDIndex(func(s uint32) string { return r.callAt(s).id })
	r.internSig(nil)
	if r.loc == nil {
		r.loc = time.UTC
	}
	if r.traceLimit <= 0 {
		r.traceLimit = 100
	}
	for _, q := range cfg.Queues {
		if err := r.SetQueue(q); err != nil {
			return nil, err
		}
	}
	for _, a := range cfg.Agents {
		if err := r.SetAgent(a); err != nil {
			return nil, err
		}
	}
	clear(r.out) // decisions of the setup are dropped; their slots are reused zeroed
	r.out = r.out[:0]
	return r, nil
}

func invalid(format string, args ...any) error {
	return &Error{Code: EInvalid, Msg: fmt.Sprintf(format, args...)}
}

func validateQueue(q QueueConfig) error {
	switch {
	case strings.TrimSpace(q.Name) == "":
		return invalid("queue name: required")
	case q.Strategy > BestProficiency:
		return invalid("queue %q strategy: unknown %d", q.Name, q.Strategy)
	case q.NoAgents > NoAgentsOverflow:
		return invalid("queue %q no_agents: unknown %d", q.Name, q.NoAgents)
	case q.SLTarget < 0, q.ShortAbandon < 0, q.WrapUp < 0, q.OfferTimeout < 0, q.MaxWait < 0, q.AnnounceEvery < 0, q.DefaultHandle < 0:
		return invalid("queue %q: durations must not be negative", q.Name)
	case q.SLPercent < 0 || q.SLPercent > 100:
		return invalid("queue %q sl_percent: must be 0–100", q.Name)
	case q.MaxLength < 0:
		return invalid("queue %q max_length: must not be negative", q.Name)
	}
	if err := ValidateSteps(q.Steps); err != nil {
		return invalid("queue %q %v", q.Name, err)
	}
	return nil
}

// SetQueue adds a queue or replaces its configuration. Calls already waiting
// are re-evaluated under the new steps; this costs O(calls and agents of the queue).
func (r *Router) SetQueue(cfg QueueConfig) error {
	if err := validateQueue(cfg); err != nil {
		return err
	}
	cfg.Steps = slices.Clone(cfg.Steps)
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	q := r.queues[cfg.Name]
	if q == nil {
		q = &queueState{
			ix:      uint32(len(r.qs)),
			r:       r,
			cfg:     cfg,
			buckets: map[uint64]*bucket{},
			ready:   map[string]*[11]*tree[*member]{},
			any:     newTree(memberLess),
		}
		r.queues[cfg.Name] = q
		r.qs = append(r.qs, q)
		// Agents configured earlier may name this queue.
		for _, id := range sortedKeys(r.agents) {
			a := r.agents[id]
			if slices.Contains(a.cfg.Queues, cfg.Name) {
				if err := r.SetAgent(a.cfg); err != nil {
					return err
				}
			}
		}
		return nil
	}
	// Take the queue's ready agents and waiting calls out, change, put back.
	var readyAgents []*agent
	q.any.Ascend(func(m *member) bool { readyAgents = append(readyAgents, m.a); return true })
	for _, a := range readyAgents {
		r.unreadyAgent(a)
	}
	var calls []*call
	q.line.each(func(s uint32) bool { calls = append(calls, r.callAt(s)); return true })
	for _, c := range calls {
		r.leaveLine(c)
	}
	q.cfg = cfg
	q.buckets = map[uint64]*bucket{}
	q.bkts, q.common = nil, nil
	q.heads = btree[head]{}
	for _, a := range readyAgents {
		r.readyAgent(a)
	}
	for _, c := range calls {
		r.enterLine(c, false)
	}
	for _, a := range readyAgents {
		if a.state == Ready {
			r.matchAgent(a)
		}
	}
	return nil
}

// SetAgent adds an agent (LoggedOut) or replaces its skills and queues, keeping its state.
func (r *Router) SetAgent(cfg AgentConfig) error {
	if strings.TrimSpace(cfg.ID) == "" {
		return invalid("agent id: required")
	}
	reqs := make([]SkillReq, 0, len(cfg.Skills))
	for _, s := range sortedKeys(cfg.Skills) {
		reqs = append(reqs, SkillReq{Skill: s, Min: cfg.Skills[s]})
	}
	if err := validateSkills("agent "+cfg.ID+" skills", reqs); err != nil {
		return invalid("%v", err)
	}
	qs := slices.Clone(cfg.Queues)
	slices.Sort(qs)
	qs = slices.Compact(qs)
	for _, name := range qs {
		if r.queues[name] == nil {
			return &Error{Code: ENotFound, Agent: cfg.ID, Msg: fmt.Sprintf("queues: unknown queue %q", name)}
		}
	}
	cfg.Skills = maps.Clone(cfg.Skills)
	cfg.Queues = qs
	a := r.agents[cfg.ID]
	if a == nil {
		a = &agent{id: cfg.ID, ix: uint32(len(r.as)), tm: timer{kind: 0, own: uint32(len(r.as))}}
		r.agents[cfg.ID] = a
		r.as = append(r.as, a)
	}
	wasReady := a.state == Ready
	if wasReady {
		r.unreadyAgent(a)
	}
	for _, m := range a.members {
		m.q.byState[a.state]--
		m.q.members--
		m.q.ewtOK = false
	}
	old := map[string]uint64{}
	for _, m := range a.members {
		old[m.q.cfg.Name] = m.rr
	}
	a.cfg = cfg
	a.skills = reqs
	a.levels = r.intern(reqs)
	slices.SortFunc(a.levels, func(x, y level) int { return cmp.Compare(x.skill, y.skill) })
	a.mask = skillMask(a.levels)
	a.members = a.members[:0]
	for _, name := range qs {
		q := r.queues[name]
		m := &member{a: a, q: q, rr: old[name], nodes: make([]tnode[*member], len(reqs))}
		a.members = append(a.members, m)
		q.byState[a.state]++
		q.members++
		q.ewtOK = false
	}
	if wasReady {
		r.readyAgent(a)
		r.matchAgent(a)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func (a *agent) member(q *queueState) *member {
	for _, m := range a.members {
		if m.q == q {
			return m
		}
	}
	return nil
}

// level is a skill interned (Router.skillIx) with a proficiency: an agent's
// level, or a requirement's minimum.
type level struct {
	skill int32
	lvl   int32
}

// intern returns reqs with their skills interned, in the same order.
func (r *Router) intern(reqs []SkillReq) []level {
	out := make([]level, len(reqs))
	for i, s := range reqs {
		ix, ok := r.skillIx[s.Skill]
		if !ok {
			ix = int32(len(r.skillIx))
			r.skillIx[s.Skill] = ix
		}
		out[i] = level{ix, int32(s.Min)}
	}
	return out
}

// skillMask sets bit skill%64 for each skill: if a requirement's mask has a
// bit the agent's lacks, the agent lacks one of its skills.
func skillMask(ls []level) uint64 {
	var m uint64
	for _, l := range ls {
		m |= 1 << (uint(l.skill) & 63)
	}
	return m
}

// level returns the agent's level in skill, 0 if it has not the skill.
func (a *agent) level(skill int32) int32 {
	for _, l := range a.levels {
		if l.skill >= skill {
			if l.skill == skill {
				return l.lvl
			}
			break
		}
	}
	return 0
}

// meets reports whether the agent holds every skill of need at its minimum.
func (a *agent) meets(need []level) bool {
	for _, n := range need {
		if a.level(n.skill) < n.lvl {
			return false
		}
	}
	return true
}

func ts(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// emit appends a decision in place on the slab, so handing the decisions of
// an Apply to the caller copies nothing.
func (r *Router) emit(d Decision) { *r.decision() = d }

// decision returns the next decision of this Apply to fill in, zeroed: a slot
// of the slab (Apply) or of the caller's buffer (ApplyTo), written field by
// field, which is cheaper than copying a whole Decision in.
func (r *Router) decision() *Decision {
	n := len(r.out)
	if n == cap(r.out) {
		if r.toCaller {
			r.out = slices.Grow(r.out, max(8, n))
		} else {
			s := make([]Decision, max(slabSize, 2*n))
			copy(s, r.out)
			r.slab, r.used = s, 0
			r.out = s[:n:len(s)]
		}
	}
	r.out = r.out[:n+1]
	d := &r.out[n]
	if r.toCaller {
		*d = Decision{} // the caller's buffer may hold older decisions
	}
	return d
}

// Apply feeds one event at time now and returns what the engine must do. Due
// timers fire first, so deadlines are honoured whatever event brings the time.
// On error the returned decisions (from timers) are still valid. The returned
// slice is the caller's to keep; ApplyTo avoids allocating it.
func (r *Router) Apply(now time.Time, ev Event) ([]Decision, error) {
	r.begin(now)
	r.runTimers()
	err := r.apply(ev)
	return r.take(), err
}

// ApplyTo is Apply appending the decisions to dst, so a caller that reuses
// its buffer (dst[:0] once it has carried out the last decisions) allocates
// nothing for them. It returns the extended buffer, like append.
func (r *Router) ApplyTo(dst []Decision, now time.Time, ev Event) ([]Decision, error) {
	r.begin(now)
	r.out, r.toCaller = dst, true
	r.runTimers()
	err := r.apply(ev)
	out := r.out
	r.out, r.toCaller = r.slab[r.used:r.used:len(r.slab)], false
	return out, err
}

// begin starts an Apply at now: time advances and calls dropped by the last
// one become reusable.
func (r *Router) begin(now time.Time) {
	t := now.UnixNano()
	if !r.started {
		r.started, r.start, r.now = true, t, t
	}
	if t > r.now {
		r.now = t
	}
	r.reclaim()
	clear(r.out) // decisions emitted outside Apply (SetQueue, SetAgent) are dropped
	r.out = r.slab[r.used:r.used:len(r.slab)]
}

// take hands out the decisions of this Apply: a capped window on the shared
// slab they were emitted into, so the caller may keep or append to it freely.
func (r *Router) take() []Decision {
	n := len(r.out)
	if n == 0 {
		return nil
	}
	out := r.out[:n:n]
	r.used += n
	r.out = r.slab[r.used:r.used:len(r.slab)]
	return out
}

const slabSize = 64

func (r *Router) runTimers() {
	for {
		batch, at := r.timers.due(r.now)
		if len(batch) == 0 {
			return
		}
		for _, t := range batch {
			if !t.on || t.at != at {
				continue // removed or moved by a timer fired before it
			}
			r.timers.remove(t)
			if t.kind == 0 {
				r.agentTimer(r.as[t.own])
			} else {
				r.callTimer(r.callAt(t.own))
			}
		}
	}
}

// reclaim makes the calls dropped by the last Apply reusable: nothing refers to them now.
func (r *Router) reclaim() {
	for _, s := range r.dropped {
		r.callAt(s).id = "" // not kept alive by a free slot
		if r.extra[s] != nil {
			delete(r.extra, s)
		}
	}
	r.free = append(r.free, r.dropped...)
	r.dropped = r.dropped[:0]
}

func (r *Router) apply(ev Event) error {
	switch ev.Kind {
	case Tick:
		return nil
	case CallArrived:
		return r.arrive(ev)
	case CallLeft, CallEnded, CallbackRequested:
		return r.callEvent(ev)
	case AgentLogin, AgentLogout, SetState, OfferAccepted, OfferRejected, OfferTimedOut, WrapUpDone:
		a := r.agents[ev.Agent]
		if a == nil {
			return &Error{Code: ENotFound, Event: ev.Kind, Agent: ev.Agent, Msg: "unknown agent"}
		}
		return r.agentEvent(a, ev)
	}
	return &Error{Code: EInvalid, Event: ev.Kind, Msg: "unknown event kind"}
}

// --- calls ---

func (r *Router) arrive(ev Event) error {
	ar := ev.Arrival
	if ev.Call == "" || ar == nil {
		return &Error{Code: EInvalid, Event: ev.Kind, Call: ev.Call, Msg: "call id and arrival are required"}
	}
	if c := r.call(ev.Call); c != nil {
		if r.queueOf(c).cfg.Name == ar.Queue {
			return nil // a repeat
		}
		return &Error{Code: EConflict, Event: ev.Kind, Call: ev.Call, Msg: "call already in queue " + r.queueOf(c).cfg.Name}
	}
	q := r.queues[ar.Queue]
	if q == nil {
		return &Error{Code: ENotFound, Event: ev.Kind, Call: ev.Call, Msg: fmt.Sprintf("unknown queue %q", ar.Queue)}
	}
	if ar.Priority < 0 || ar.Priority > 9 {
		return &Error{Code: EInvalid, Event: ev.Kind, Call: ev.Call, Msg: fmt.Sprintf("priority: must be 0–9, got %d", ar.Priority)}
	}
	if err := validateSkills("skills", ar.Skills); err != nil {
		return &Error{Code: EInvalid, Event: ev.Kind, Call: ev.Call, Msg: err.Error()}
	}
	r.record(q, counters{Offered: 1})
	if q.cfg.MaxLength > 0 && q.line.n >= q.cfg.MaxLength {
		r.overflowed(q, ev.Call, q.cfg.Overflow, "full")
		return nil
	}
	if q.cfg.NoAgents == NoAgentsOverflow && q.byState[LoggedOut] == q.members {
		r.overflowed(q, ev.Call, q.cfg.Overflow, "no agents")
		return nil
	}
	r.seq++
	c := r.newCall(ev.Call, q, ar.Skills, ar.Preferred, ar.Attributes)
	c.prio, c.enq, c.seq, c.lastPos = int8(ar.Priority), r.now, r.seq, -1
	c.ln = q.line.number(c.prio)
	if !ar.PreferredUntil.IsZero() {
		c.prefUntil = ar.PreferredUntil.UnixNano()
	}
	r.enterLine(c, true)
	return nil
}

func reqSig(req []SkillReq) string {
	if len(req) == 0 {
		return ""
	}
	var b strings.Builder
	for i, s := range req {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s.Skill)
		b.WriteString(">=")
		b.WriteString(strconv.Itoa(s.Min))
	}
	return b.String()
}

func (r *Router) callEvent(ev Event) error {
	c := r.call(ev.Call)
	if c == nil {
		return nil // gone already: repeats are harmless
	}
	switch ev.Kind {
	case CallbackRequested:
		if c.st != waiting {
			return &Error{Code: EConflict, Event: ev.Kind, Call: r.callID(c), Msg: "call is not waiting"}
		}
		if c.callback {
			return nil
		}
		r.leaveLine(c)
		c.callback = true
		r.queueOf(c).callbacks++
		r.enterLine(c, false)
		return nil
	case CallEnded:
		if c.st == connected {
			a := r.agentOf(c)
			r.dropCall(c)
			a.call = nil
			if r.queueOf(c).cfg.WrapUp > 0 {
				r.setAgentState(a, WrapUp, "", r.now+int64(r.queueOf(c).cfg.WrapUp))
			} else {
				r.endWrap(a)
			}
			return nil
		}
	case CallLeft:
		if c.st == connected {
			return r.callEvent(Event{Kind: CallEnded, Call: r.callID(c)})
		}
	}
	// Abandoned while waiting or ringing.
	wait := r.now - c.enq
	d := counters{Abandoned: 1}
	if wait < int64(r.queueOf(c).cfg.ShortAbandon) {
		d.ShortAbandoned = 1
	}
	r.record(r.queueOf(c), d)
	switch c.st {
	case waiting:
		r.leaveLine(c)
		r.dropCall(c)
	case offered:
		a := r.agentOf(c)
		r.dropCall(c)
		a.call = nil
		r.emit(Decision{Kind: CancelOffer, Call: r.callID(c), Agent: a.id, Queue: r.queueOf(c).cfg.Name, Reason: "abandoned"})
		r.available(a)
	}
	return nil
}

// newCall gives a new call with id in q a slot: one freed by an earlier
// Apply if any, so a steady line allocates nothing. Its timer starts off,
// so heap entries left from the slot's former call stay stale.
func (r *Router) newCall(id string, q *queueState, skills []SkillReq, preferred string, attrs map[string]string) *call {
	var s uint32
	if n := len(r.free); n > 0 {
		s = r.free[n-1]
		r.free = r.free[:n-1]
	} else {
		s = r.nslot
		r.nslot++
		if int(s>>pageShift) == len(r.pages) {
			r.pages = append(r.pages, new([pageSize]call))
		}
	}
	c := r.callAt(s)
	*c = call{tm: timer{kind: 1, own: s}, qix: q.ix, bix: -1, slot: s, live: true, sig: r.internSig(skills), id: id}
	r.calls.put(id, s)
	if preferred != "" || attrs != nil {
		r.extra[s] = &callExtra{preferred: preferred, attrs: attrs}
	}
	return c
}

// dropCall removes c from the router; its slot is reused from the next Apply on.
func (r *Router) dropCall(c *call) {
	if c.callback {
		r.queueOf(c).callbacks--
	}
	c.live = false
	r.calls.remove(r.callID(c), c.slot)
	r.timers.remove(&c.tm)
	r.dropped = append(r.dropped, c.slot)
}

func (r *Router) overflowed(q *queueState, id, target, reason string) {
	r.record(q, counters{Overflowed: 1})
	r.emit(Decision{Kind: Overflow, Call: id, Queue: q.cfg.Name, Target: target, Reason: reason})
}

func (r *Router) overflow(c *call, target, reason string) {
	r.leaveLine(c)
	r.dropCall(c)
	r.overflowed(r.queueOf(c), r.callID(c), target, reason)
}

// stepAt returns the step in force after waiting wait, and whether an overflow
// step has been reached (callbacks never overflow: nobody is on the line).
func stepAt(steps []Step, wait int64, callback bool) (idx int, over int) {
	idx = -1
	for i, s := range steps {
		if int64(s.After) > wait {
			break
		}
		if s.Overflow != "" {
			if !callback {
				return idx, i
			}
			continue
		}
		idx = i
	}
	return idx, -1
}

func (r *Router) bucketFor(q *queueState, step int, c *call) *bucket {
	k := bucketKey{step: step, sig: c.sig}
	if step >= 0 && q.cfg.Steps[step].Any {
		k.sig = anySig
	}
	// Most calls land in their step's common bucket: find it without hashing.
	common := k.sig == 0 || k.sig == anySig
	if common && step+1 < len(q.common) && q.common[step+1] != nil {
		return q.common[step+1]
	}
	if b := q.buckets[k.id()]; b != nil {
		return b
	}
	// The benchmark's world still creates buckets after millions of events:
	// what only an offer's trace or a Ready agent reads (the rule's text, the
	// Ready sets) is made on first use.
	b := &bucket{key: k, req: reqFor(q, step, r.skillsOf(c)), ix: int32(len(q.bkts))}
	b.need = r.intern(b.req)
	b.mask = skillMask(b.need)
	q.bkts = append(q.bkts, b)
	q.buckets[k.id()] = b
	if common {
		for len(q.common) <= step+1 {
			q.common = append(q.common, nil)
		}
		q.common[step+1] = b
	}
	return b
}

// reqFor merges the step's skills over the call's own: a step's level for a skill
// replaces the call's, other skills of the call stay, and an Any step drops all.
func reqFor(q *queueState, step int, skills []SkillReq) []SkillReq {
	if step < 0 {
		return slices.Clone(skills)
	}
	s := q.cfg.Steps[step]
	if s.Any {
		return nil
	}
	req := make([]SkillReq, len(s.Skills), len(s.Skills)+len(skills))
	copy(req, s.Skills)
	for _, own := range skills {
		if !slices.ContainsFunc(s.Skills, func(x SkillReq) bool { return x.Skill == own.Skill }) {
			req = append(req, own)
		}
	}
	return req
}

// readySets returns the Ready sets parallel to b.req, made on first use.
func (b *bucket) readySets(q *queueState) []*[11]*tree[*member] {
	if b.sets == nil && len(b.req) > 0 {
		b.sets = make([]*[11]*tree[*member], len(b.req))
		for i, s := range b.req {
			b.sets[i] = q.readyLevels(s.Skill)
		}
	}
	return b.sets
}

// ruleText returns b.req as a trace shows it, made on first use.
func (b *bucket) ruleText() string {
	if b.rule == "" {
		b.rule = ruleString(b.req)
	}
	return b.rule
}

// enterLine puts a waiting call in its structures, then routes it if it can.
func (r *Router) enterLine(c *call, arriving bool) {
	q := r.queueOf(c)
	c.st, c.agentIx = waiting, 0
	step, over := stepAt(q.cfg.Steps, r.now-c.enq, c.callback)
	if over >= 0 {
		r.dropCall(c)
		r.overflowed(q, r.callID(c), q.cfg.Steps[over].Overflow, "escalation")
		return
	}
	if !c.callback && q.cfg.MaxWait > 0 && r.now-c.enq >= int64(q.cfg.MaxWait) {
		r.dropCall(c)
		r.overflowed(q, r.callID(c), q.cfg.Overflow, "max wait")
		return
	}
	c.step = int16(step)
	c.prefIx = 0
	if c.prefUntil > r.now {
		if a := r.agents[r.preferredOf(c)]; a != nil {
			c.prefIx = a.ix + 1
		}
	}
	if a := r.prefOf(c); a != nil {
		c.bix = -1
		a.preferred.Insert(c.key(), c.slot)
	} else {
		b := r.bucketFor(q, step, c)
		c.bix = b.ix
		b.add(q, c)
	}
	q.line.insert(c.prio, c.ln, c.slot)
	if arriving {
		c.nextAnn = r.now
	}
	if r.matchCall(c, "call") {
		return
	}
	if arriving && !c.callback {
		r.announce(c, true)
	}
	r.scheduleCall(c)
}

func (r *Router) leaveLine(c *call) {
	if c.st != waiting {
		return
	}
	if r.prefOf(c) != nil {
		r.prefOf(c).preferred.Delete(c.key())
	} else if r.bucketOf(c) != nil {
		r.bucketOf(c).remove(r.queueOf(c), c)
	}
	r.queueOf(c).line.remove(c.prio, c.ln)
	r.timers.remove(&c.tm)
}

func (r *Router) scheduleCall(c *call) {
	q := r.queueOf(c)
	wait := r.now - c.enq
	at := int64(-1)
	why := -1 // which kind of deadline is the earliest: picks its run
	min := func(t int64, w int) {
		if t > r.now && (at < 0 || t < at) {
			at, why = t, w
		}
	}
	if !c.callback && q.cfg.AnnounceEvery > 0 {
		if c.nextAnn <= r.now {
			c.nextAnn = r.now + int64(q.cfg.AnnounceEvery)
		}
		min(c.nextAnn, runAnnounce)
	}
	for i, s := range q.cfg.Steps {
		if int64(s.After) > wait && (s.Overflow == "" || !c.callback) {
			min(c.enq+int64(s.After), runStep+i)
			break
		}
	}
	if !c.callback && q.cfg.MaxWait > 0 {
		min(c.enq+int64(q.cfg.MaxWait), runMaxWait)
	}
	if r.prefOf(c) != nil {
		min(c.prefUntil, -1)
	}
	r.timers.set(&c.tm, at, r.run(q, why))
}

// Kinds of deadline that come in order within a queue, each with its run in
// the timer heap (see timerHeap).
const (
	runOffer = iota
	runWrapUp
	runAnnounce
	runMaxWait
	runStep // runStep+i: escalation step i
)

// run returns q's run for deadlines of kind why; -1 means none (the heap).
func (r *Router) run(q *queueState, why int) int32 {
	if why < 0 {
		return 0
	}
	for len(q.runs) <= why {
		q.runs = append(q.runs, r.timers.newRun())
	}
	return q.runs[why]
}

func (r *Router) callTimer(c *call) {
	q := r.queueOf(c)
	wait := r.now - c.enq
	if !c.callback && q.cfg.MaxWait > 0 && wait >= int64(q.cfg.MaxWait) {
		r.overflow(c, q.cfg.Overflow, "max wait")
		return
	}
	step, over := stepAt(q.cfg.Steps, wait, c.callback)
	prefOver := r.prefOf(c) != nil && c.prefUntil <= r.now
	switch {
	case over >= 0 || prefOver:
		r.leaveLine(c)
		r.enterLine(c, false)
		if c.st != waiting || !c.live {
			return
		}
	case step != int(c.step) && r.prefOf(c) == nil:
		// Only the requirement changed: move buckets, keep the place in line.
		from := r.bucketOf(c)
		from.remove(q, c)
		c.step = int16(step)
		to := from.up
		if to == nil || to.key.step != step {
			to = r.bucketFor(q, step, c)
			if from.key.sig != anySig {
				from.up = to // every call of from goes there at this step
			}
		}
		c.bix = to.ix
		to.add(q, c)
		if r.matchCall(c, "step") {
			return
		}
	case step != int(c.step):
		c.step = int16(step)
	}
	if !c.callback && q.cfg.AnnounceEvery > 0 && c.nextAnn <= r.now {
		r.announce(c, false)
	}
	r.scheduleCall(c)
}

const ewtGrain = int64(10 * time.Second)

func (r *Router) announce(c *call, force bool) {
	pos := r.queueOf(c).line.rank(c.prio, c.ln) + 1
	ewt := r.ewt(r.queueOf(c), pos)
	if force || int32(pos) != c.lastPos || int32(ewt/ewtGrain) != c.lastEWT {
		d := r.decision()
		d.Kind, d.Call, d.Queue, d.Position, d.EWT = Announce, r.callID(c), r.queueOf(c).cfg.Name, pos, time.Duration(ewt)
	}
	c.lastPos, c.lastEWT = int32(pos), int32(ewt/ewtGrain)
	if e := r.queueOf(c).cfg.AnnounceEvery; e > 0 {
		c.nextAnn = r.now + int64(e)
	}
}

// Waiting reports a waiting call's position (1-based, over the whole queue) and EWT.
func (r *Router) Waiting(callID string) (position int, ewt time.Duration, ok bool) {
	c := r.call(callID)
	if c == nil || c.st != waiting {
		return 0, 0, false
	}
	pos := r.queueOf(c).line.rank(c.prio, c.ln) + 1
	return pos, time.Duration(r.ewt(r.queueOf(c), pos)), true
}

// --- matching ---

// matchCall routes a waiting call to the best Ready agent, if any.
func (r *Router) matchCall(c *call, trigger string) bool {
	if r.prefOf(c) != nil {
		if a := r.prefOf(c); a.state == Ready {
			r.offer(c, a, r.callTrace(c, a, trigger, nil))
			return true
		}
		return false
	}
	if r.naive != nil {
		if a := r.naive.agentFor(r, c); a != nil {
			tr := r.newTrace()
			tr.Trigger = trigger
			r.offer(c, a, tr)
			return true
		}
		return false
	}
	q := r.queueOf(c)
	if q.byState[Ready] == 0 {
		return false // the common case in a busy center: skip the Ready sets
	}
	var ex []Skip
	a := r.findAgent(q, r.bucketOf(c), &ex)
	if a == nil {
		return false
	}
	r.offer(c, a, r.callTrace(c, a, trigger, ex))
	return true
}

const maxExamples = 5

// addSkip appends an example to a trace's list, taken at its full size from
// a slab shared by many traces (one allocation per many offers).
func (r *Router) addSkip(ex []Skip, s Skip) []Skip {
	if ex == nil {
		if len(r.skipSlab) < maxExamples {
			r.skipSlab = make([]Skip, maxExamples*slabSize)
		}
		ex = r.skipSlab[:0:maxExamples]
		r.skipSlab = r.skipSlab[maxExamples:]
	}
	return append(ex, s)
}

func (r *Router) findAgent(q *queueState, b *bucket, ex *[]Skip) *agent {
	req, need, sets := b.req, b.need, b.readySets(q)
	if len(req) == 0 {
		m, ok := q.any.Min()
		if !ok {
			return nil
		}
		return m.a
	}
	// Scan the set of the rarest ready skill; BestProficiency must scan the first.
	pick := 0
	if q.cfg.Strategy != BestProficiency && len(req) > 1 {
		best := -1
		for i, s := range req {
			n := readyCount(sets[i], s.Min, 10)
			if best < 0 || n < best {
				pick, best = i, n
			}
		}
	}
	s, levels := req[pick], sets[pick]
	var best *member
	for lvl := 10; lvl >= s.Min; lvl-- {
		t := levels[lvl]
		if t == nil || t.Len() == 0 {
			continue
		}
		var cand *member
		if len(req) == 1 {
			cand, _ = t.Min()
		} else {
			t.Ascend(func(m *member) bool {
				if best != nil && q.cfg.Strategy != BestProficiency && !memberLess(m, best) {
					return false
				}
				if m.a.mask&b.mask == b.mask && m.a.meets(need) {
					cand = m
					return false
				}
				if len(*ex) < maxExamples {
					*ex = r.addSkip(*ex, Skip{Agent: m.a.id, Reason: skipReason(m.a, need)})
				}
				return true
			})
		}
		if cand == nil {
			continue
		}
		if q.cfg.Strategy == BestProficiency {
			return cand.a
		}
		if best == nil || memberLess(cand, best) {
			best = cand
		}
	}
	if best == nil {
		return nil
	}
	return best.a
}

func skipReason(a *agent, need []level) SkipReason {
	for _, s := range need {
		l := a.level(s.skill)
		if l == 0 {
			return SkipLacksSkill
		}
		if l < s.lvl {
			return SkipBelowProficiency
		}
	}
	return SkipNone
}

// readyCount counts the Ready members in sets (one skill's, by level) at a
// level in [lo, hi].
func readyCount(sets *[11]*tree[*member], lo, hi int) int {
	n := 0
	for l := lo; l <= hi; l++ {
		if sets[l] != nil {
			n += sets[l].Len()
		}
	}
	return n
}

// matchAgent gives a freshly Ready agent the best call eligible for them across
// all their queues: highest priority, then longest wait (the cross-queue rule).
func (r *Router) matchAgent(a *agent) {
	if r.naive != nil {
		if c := r.naive.callFor(r, a); c != nil {
			tr := r.newTrace()
			tr.Trigger = "agent"
			r.offer(c, a, tr)
		}
		return
	}
	var best *call
	if _, s, ok := a.preferred.Min(); ok {
		best = r.callAt(s)
	}
	var ex []Skip
	for _, m := range a.members {
		m.q.heads.Ascend(func(k uint64, h head) bool {
			if best != nil && k >= best.key() {
				return false
			}
			if h.mask&^a.mask != 0 || !a.meets(h.b.need) {
				if len(ex) < maxExamples {
					ex = r.addSkip(ex, Skip{Call: r.callID(h.b.head), Reason: skipReason(a, h.b.need)})
				}
				return true
			}
			best = h.b.head
			return false
		})
	}
	if best != nil {
		r.offer(best, a, r.agentTrace(best, a, ex))
	}
}

func (r *Router) offer(c *call, a *agent, tr *Trace) {
	q := r.queueOf(c)
	tr.At, tr.Queue, tr.Call, tr.Agent, tr.Step = ts(r.now), q.cfg.Name, r.callID(c), a.id, int(c.step)
	tr.Rule = "preferred agent"
	if r.prefOf(c) == nil {
		tr.Rule = r.bucketOf(c).ruleText()
	}
	r.leaveLine(c)
	c.st, c.agentIx, c.prefIx = offered, a.ix+1, 0
	q.rr++
	if m := a.member(q); m != nil {
		m.rr = q.rr
	}
	a.call = c
	deadline := r.now + int64(offerTimeout(q))
	kind := Offer
	if c.callback {
		kind = DialCallback
	}
	r.addTrace(*tr)
	d := r.decision()
	d.Kind, d.Call, d.Agent, d.Queue, d.Deadline, d.Trace = kind, r.callID(c), a.id, q.cfg.Name, ts(deadline), tr
	r.setAgentState(a, Reserved, "", deadline)
}

func offerTimeout(q *queueState) time.Duration {
	if q.cfg.OfferTimeout > 0 {
		return q.cfg.OfferTimeout
	}
	return DefaultOfferTimeout
}

func ruleString(req []SkillReq) string {
	if len(req) == 0 {
		return "any"
	}
	return reqSig(req)
}

// requeue puts a call whose offer failed back in line at its original place.
func (r *Router) requeue(c *call) {
	c.agentIx = 0
	r.enterLine(c, false)
}
