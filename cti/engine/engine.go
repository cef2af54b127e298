package engine

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-cc/switchboard/cti"
	"github.com/switchboard-cc/switchboard/ivr"
	"github.com/switchboard-cc/switchboard/queue"
)

// Recordings keeps call recordings and voicemails outside the PBX; cmd implements it with a folder.
type Recordings interface {
	Save(ctx context.Context, name string, r io.Reader) (cti.RecordingRef, error)
}

// Softphones answers offers on endpoints the agent's browser drives (emulated or WebRTC phones). Nil means agents answer on
// their own phones.
type Softphones interface {
	Answer(ctx context.Context, endpoint, channelID string) error
}

// AccountLookup finds a customer by an account number collected in the IVR; ENOTFOUND when there is none.
type AccountLookup func(ctx context.Context, account string) (*cti.Customer, error)

// Observer receives the engine's metrics; cmd implements it with prometheus. Its methods run on the loop and must not block.
type Observer interface {
	// Handled reports how long the loop spent on one inbox item of a kind ("event", "command", "effect", "timer").
	Handled(kind string, d time.Duration)
	// Effect reports one effect run by an executor, with its error (nil on success).
	Effect(name string, d time.Duration, err error)
	// CallEnded reports a finished call with its queue ("" if it never queued) and outcome.
	CallEnded(queue string, outcome cti.Outcome)
}

// DefaultWriteWindow is Config.WriteWindow's default, measured in docs/performance.md ("PostgreSQL per call").
const DefaultWriteWindow = 10 * time.Millisecond

// Config builds an Engine. Telephony, Customers, Interactions, Settings, Notifier and IDs are required.
type Config struct {
	Telephony    cti.Telephony
	Customers    cti.CustomerLookup
	Interactions cti.InteractionWriter
	Settings     cti.Config
	// Open reads the interactions a stopped controller left open, for the first reconcile after a start (reconcile.go); nil:
	// none are resumed or finished.
	Open       OpenInteractions
	Auditor    cti.Auditor // nil: monitoring is not audited (tests only)
	Notifier   cti.Notifier
	Recordings Recordings // nil: recordings stay on the PBX
	Softphones Softphones
	Accounts   AccountLookup
	// AgentMedia reaches browser agents' gateway legs (endpoint "webrtc"); nil: such agents cannot take calls.
	AgentMedia cti.AgentMedia
	// Flows is the IVR; nil plays "sb/welcome" and queues to DefaultQueue. SetFlows swaps it at run time.
	Flows *ivr.Set
	Clock cti.Clock // nil: the wall clock
	// IDs returns a new UUIDv7 string for each interaction.
	IDs    func() string
	Logger *slog.Logger
	// App is the Stasis application name (informative).
	App string
	// MOHClass is the music-on-hold class for waiting callers and holds ("default").
	MOHClass string
	// DefaultQueue takes calls when there is no IVR or the IVR failed ("general").
	DefaultQueue string
	// Trunk turns an external number into an endpoint, e.g. "PJSIP/{number}@trunk"; empty disables dialling out.
	Trunk string
	// CallerID is shown to customers we call ("" lets the PBX choose).
	CallerID string
	// GraceDisconnect is how long a closed desktop keeps its agent's state (15 s).
	GraceDisconnect time.Duration
	// ReconnectWindow is how long a browser agent's call may go without media before it goes back to its queue (ReconnectWindow).
	ReconnectWindow time.Duration
	// EffectTimeout bounds each effect, and each round of interaction writes (5 s).
	EffectTimeout time.Duration
	// DrainFor is how long Run keeps writing queued interaction writes after its context ended (30 s); what is left then is
	// logged as lost.
	DrainFor time.Duration
	// WriteWindow: a batch of interaction writes starts no sooner than this after the previous one started, so under load a
	// batch carries this long's worth of calls, and the database's cost per call falls with the rows per statement; a write
	// after a quiet spell goes at once. It delays the database write only, never a call (DefaultWriteWindow; negative: none).
	WriteWindow time.Duration
	// TickEvery is the router tick and the statistics period (1 s).
	TickEvery time.Duration
	// AnnounceEvery repeats position and wait announcements to waiting callers (0: on arrival only).
	AnnounceEvery time.Duration
	// PreferFor is how long a customer's own agent is preferred (60 s).
	PreferFor time.Duration
	// LingerFor is how long a finished call waits for its recording before it is forgotten (2 min).
	LingerFor time.Duration
	Observer  Observer

	// RecordAgentStates keeps the agent-state history the reports read, through the interaction writer (so a wrap-up's length
	// lands after its interaction's start); false keeps none.
	RecordAgentStates bool
}

// Engine owns live calls and agents. Create it with New, drive it with Run, feed it with Post; it implements cti.Desk.
type Engine struct {
	cfg   Config
	log   *slog.Logger
	flows liveFlows
	in    inbox

	running atomic.Bool
	done    chan struct{} // closed when Run returns
	runCtx  context.Context
	execWG  sync.WaitGroup
	writer  *interactionWriter

	// Owned by the loop.
	router     *queue.Router
	queues     map[string]cti.QueueConfig
	queueNames []string
	agents     map[string]*agent
	agentIDs   []string
	calls      map[string]*call
	legs       map[string]*leg      // channel id → call and role
	playbacks  map[string]*playback // our playback id → call
	recordings map[string]*call     // recording name → call
	execs      map[string]*executor
	lookups    []pendingLookup // caller lookups waiting for the next batch
	lookingUp  bool            // a batch of caller lookups is in flight
	spare      chan *executor  // idle workers take the next executor with work here (unbuffered)
	timers     timerHeap
	timerSeq   uint64
	wake       *time.Timer
	seq        uint64 // Notifier pushes
	connected  bool
	everUp     bool
	snapshots  uint64          // PBX snapshots asked for (see leg.known)
	born       time.Time       // when New ran: every call this process makes arrived at or after it
	swept      bool            // the interactions left open by an earlier process were resumed or finished
	downAgents map[string]bool // made NotReady because the PBX is down
	statsDirty bool
	// decisions holds a reusable buffer per nesting level of route (a decision may route again), so the router allocates
	// nothing for the decisions it returns.
	decisions  [][]queue.Decision
	routeDepth int
	web        webState
	fatal      error
}

type liveFlows struct{ p atomic.Pointer[ivr.Set] }

func (f *liveFlows) Flow(id string) *ivr.Flow          { return f.p.Load().Flow(id) }
func (f *liveFlows) ForNumber(dialed string) *ivr.Flow { return f.p.Load().ForNumber(dialed) }

// SetFlows swaps the IVR flows; calls in the IVR go on by flow and node id. Safe from any goroutine.
func (e *Engine) SetFlows(s *ivr.Set) { e.flows.p.Store(s) }

var _ cti.Desk = (*Engine)(nil)

// New checks cfg and builds an Engine; the queue router is built from Settings when Run starts.
func New(cfg Config) (*Engine, error) {
	switch {
	case cfg.Telephony == nil:
		return nil, errors.New("engine: Telephony is required")
	case cfg.Customers == nil || cfg.Interactions == nil || cfg.Settings == nil:
		return nil, errors.New("engine: Customers, Interactions and Settings are required")
	case cfg.Notifier == nil:
		return nil, errors.New("engine: Notifier is required")
	case cfg.IDs == nil:
		return nil, errors.New("engine: IDs is required")
	}
	if cfg.Clock == nil {
		cfg.Clock = cti.ClockFunc(time.Now)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MOHClass == "" {
		cfg.MOHClass = "default"
	}
	if cfg.DefaultQueue == "" {
		cfg.DefaultQueue = "general"
	}
	if cfg.GraceDisconnect <= 0 {
		cfg.GraceDisconnect = 15 * time.Second
	}
	if cfg.EffectTimeout <= 0 {
		cfg.EffectTimeout = 5 * time.Second
	}
	if cfg.DrainFor <= 0 {
		cfg.DrainFor = 30 * time.Second
	}
	if cfg.WriteWindow == 0 {
		cfg.WriteWindow = DefaultWriteWindow
	}
	if cfg.TickEvery <= 0 {
		cfg.TickEvery = time.Second
	}
	if cfg.PreferFor <= 0 {
		cfg.PreferFor = 60 * time.Second
	}
	if cfg.LingerFor <= 0 {
		cfg.LingerFor = 2 * time.Minute
	}
	e := &Engine{
		cfg: cfg, log: cfg.Logger, done: make(chan struct{}),
		agents: map[string]*agent{}, calls: map[string]*call{}, legs: map[string]*leg{},
		playbacks: map[string]*playback{}, recordings: map[string]*call{}, execs: map[string]*executor{},
		downAgents: map[string]bool{}, queues: map[string]cti.QueueConfig{},
	}
	// Truncated as the database stores times, so a call this process makes never reads back as arrived before it.
	e.born = cfg.Clock.Now().Truncate(time.Microsecond)
	e.in.wake = make(chan struct{}, 1)
	e.spare = make(chan *executor)
	e.flows.p.Store(cfg.Flows)
	e.writer = newInteractionWriter(cfg.Interactions, cfg.Logger, cfg.Observer, cfg.EffectTimeout, cfg.WriteWindow,
		func(then func(error), err error) {
			e.in.put(effectDone{key: "writer", name: "write-interactions", then: func(any, error) { then(err) }})
		})
	return e, nil
}

// Post delivers a telephony event. It never blocks and never drops: the inbox grows as needed.
func (e *Engine) Post(ev cti.Event) { e.in.put(ev) }

// Run loads the configuration, then runs the loop until ctx ends (nil error) or the PBX was taken over by another
// controller (an error: the process must stop). It waits for every executor, and drains the interaction writer, before
// returning.
func (e *Engine) Run(ctx context.Context) error {
	if !e.running.CompareAndSwap(false, true) {
		return errors.New("engine: Run called twice")
	}
	defer close(e.done)
	// The writer outlives ctx: it drains after the loop stopped, until DrainFor has passed.
	wctx, wcancel := context.WithCancel(context.WithoutCancel(ctx))
	var writerDone sync.WaitGroup
	writerDone.Go(func() { e.writer.run(wctx) })
	defer func() {
		e.writer.stop()
		drain := time.AfterFunc(e.cfg.DrainFor, wcancel)
		writerDone.Wait()
		drain.Stop()
		wcancel()
		if n := e.writer.pending(); n > 0 {
			e.log.Error("interaction writes lost: the database did not take them before the engine stopped", "writes", n,
				"waited", e.cfg.DrainFor)
		}
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	e.runCtx = ctx
	if err := e.load(ctx); err != nil {
		return err
	}
	e.wake = time.NewTimer(time.Hour)
	defer e.wake.Stop()
	e.every(e.cfg.TickEvery, e.tick)
	err := e.loop(ctx)
	cancel()
	e.execWG.Wait()
	e.flushUnstarted()
	e.failCommands()
	return err
}

func (e *Engine) loop(ctx context.Context) error {
	var batch []any
	for {
		batch = e.in.take(batch[:0])
		for i, it := range batch {
			batch[i] = nil
			e.handle(it)
			if e.fatal != nil {
				return e.fatal
			}
		}
		if len(batch) > 0 {
			continue
		}
		e.resetWake()
		select {
		case <-ctx.Done():
			return nil
		case <-e.in.wake:
		case <-e.wake.C:
			e.fireTimers()
			if e.fatal != nil {
				return e.fatal
			}
		}
	}
}

func (e *Engine) handle(it any) {
	start := time.Now()
	kind := "event"
	switch x := it.(type) {
	case *command:
		kind = "command"
		x.reply <- x.fn()
	case effectDone:
		kind = "effect"
		if x.then != nil {
			x.then(x.res, x.err)
		} else if x.err != nil && cti.ErrorCode(x.err) != cti.ENOTFOUND {
			e.log.Warn("effect failed", "effect", x.name, "call", x.key, "err", x.err)
		}
	case cti.Event:
		e.event(x)
	}
	if o := e.cfg.Observer; o != nil {
		o.Handled(kind, time.Since(start))
	}
}

func (e *Engine) now() time.Time { return e.cfg.Clock.Now() }

// --- inbox ---

// inbox is an unbounded queue: a slice under a mutex and a wake channel of one.
type inbox struct {
	mu    sync.Mutex
	items []any
	wake  chan struct{}
}

func (q *inbox) put(x any) {
	q.mu.Lock()
	q.items = append(q.items, x)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// take swaps the queued items out in exchange for buf (emptied by the caller).
func (q *inbox) take(buf []any) []any {
	q.mu.Lock()
	out := q.items
	q.items = buf
	q.mu.Unlock()
	return out
}

// --- desk commands ---

type command struct {
	fn    func() error
	reply chan error
}

// do runs fn on the loop and waits for its result.
func (e *Engine) do(ctx context.Context, fn func() error) error {
	c := &command{fn: fn, reply: make(chan error, 1)}
	select {
	case <-e.done:
		return cti.Errorf(cti.EUNAVAILABLE, "the engine is stopped")
	default:
	}
	e.in.put(c)
	select {
	case err := <-c.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-e.done:
		select {
		case err := <-c.reply:
			return err
		default:
			return cti.Errorf(cti.EUNAVAILABLE, "the engine is stopped")
		}
	}
}

// failCommands answers the commands left in the inbox after the loop stopped.
func (e *Engine) failCommands() {
	for _, it := range e.in.take(nil) {
		if c, ok := it.(*command); ok {
			c.reply <- cti.Errorf(cti.EUNAVAILABLE, "the engine is stopped")
		}
	}
}

// --- effects ---

// effect is one piece of I/O run by an executor. do must not touch loop state; then runs on the loop with do's result.
type effect struct {
	name string
	do   func(ctx context.Context) (any, error)
	then func(res any, err error)
	// failedOnly: then runs only when do fails; a success needs nothing from the loop, so it does not take a turn of it.
	failedOnly bool
}

type effectDone struct {
	key, name string
	res       any
	err       error
	then      func(any, error)
}

// executor runs the effects of one call (or of the system) in order, one at a time. It has no goroutine of its own: while
// it has effects queued, one worker runs them; then the worker takes the next executor with work. A goroutine per call sat
// idle through most of the call, so the collector shrank its stack and the next request grew it again (stack copying was
// 4.5 % of the controller's CPU under load); a few busy workers keep their stacks.
type executor struct {
	key  string
	mu   sync.Mutex
	q    []effect
	busy bool // a worker owns the executor until its queue is empty
}

// spareFor is how long an idle worker waits for an executor with work before it exits.
const spareFor = 10 * time.Second

// exec returns the executor of key, creating it if needed.
func (e *Engine) exec(key string) *executor {
	if x := e.execs[key]; x != nil {
		return x
	}
	x := &executor{key: key}
	e.execs[key] = x
	return x
}

// run queues an effect on key's executor, and hands the executor to a worker if none runs it.
func (e *Engine) run(key string, ef effect) {
	x := e.exec(key)
	x.mu.Lock()
	x.q = append(x.q, ef)
	idle := !x.busy
	x.busy = true
	x.mu.Unlock()
	if !idle {
		return
	}
	select {
	case e.spare <- x:
	default:
		e.execWG.Add(1)
		go func() {
			defer e.execWG.Done()
			e.work(x)
		}()
	}
}

// stopExec forgets key's executor; effects already queued still run.
func (e *Engine) stopExec(key string) { delete(e.execs, key) }

// work runs x, then each executor handed over on e.spare, until none comes for spareFor or Run ends.
func (e *Engine) work(x *executor) {
	ctx := e.runCtx
	idle := time.NewTimer(spareFor)
	defer idle.Stop()
	for {
		e.runExecutor(x)
		if ctx.Err() != nil {
			return
		}
		idle.Reset(spareFor)
		select {
		case x = <-e.spare:
		case <-idle.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// runExecutor runs x's effects until its queue is empty (or Run ends: what is left is dropped).
func (e *Engine) runExecutor(x *executor) {
	ctx := e.runCtx
	for {
		x.mu.Lock()
		if len(x.q) == 0 {
			x.busy = false
			x.mu.Unlock()
			return
		}
		ef := x.q[0]
		x.q[0] = effect{}
		x.q = x.q[1:]
		x.mu.Unlock()
		if ctx.Err() != nil {
			return
		}
		start := time.Now()
		ectx, cancel := context.WithTimeout(ctx, e.cfg.EffectTimeout)
		res, err := safeDo(ectx, ef.do)
		cancel()
		if o := e.cfg.Observer; o != nil {
			o.Effect(ef.name, time.Since(start), err)
		}
		if err != nil || ef.then != nil && !ef.failedOnly {
			e.in.put(effectDone{key: x.key, name: ef.name, res: res, err: err, then: ef.then})
		}
	}
}

func safeDo(ctx context.Context, do func(context.Context) (any, error)) (res any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return do(ctx)
}

// tel queues a Telephony command on the call's executor; then (may be nil) gets its error on the loop.
func (e *Engine) tel(key, name string, f func(ctx context.Context, t cti.Telephony) error, then func(error)) {
	e.run(key, e.telEffect(name, f, then, false))
}

// telOnError is tel for a command whose success needs nothing from the loop: failed (may be nil) gets its error there.
func (e *Engine) telOnError(key, name string, f func(ctx context.Context, t cti.Telephony) error, failed func(error)) {
	e.run(key, e.telEffect(name, f, failed, true))
}

func (e *Engine) telEffect(name string, f func(ctx context.Context, t cti.Telephony) error, then func(error), failedOnly bool) effect {
	t := e.cfg.Telephony
	ef := effect{name: name, do: func(ctx context.Context) (any, error) { return nil, f(ctx, t) }, failedOnly: failedOnly}
	if then != nil {
		ef.then = func(_ any, err error) { then(err) }
	}
	return ef
}

// --- timers ---

type timer struct {
	at   time.Time
	seq  uint64
	fn   func()
	idx  int
	dead bool
}

type timerHeap []*timer

func (h timerHeap) Len() int { return len(h) }
func (h timerHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h timerHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i]; h[i].idx = i; h[j].idx = j }
func (h *timerHeap) Push(x any)   { t := x.(*timer); t.idx = len(*h); *h = append(*h, t) }
func (h *timerHeap) Pop() (x any) {
	old := *h
	n := len(old)
	x = old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	return x
}

// after runs fn on the loop after d; the returned timer can be cancelled.
func (e *Engine) after(d time.Duration, fn func()) *timer {
	e.timerSeq++
	t := &timer{at: e.now().Add(d), seq: e.timerSeq, fn: fn}
	heap.Push(&e.timers, t)
	return t
}

// every runs fn every d until Run ends.
func (e *Engine) every(d time.Duration, fn func()) {
	var tick func()
	tick = func() {
		fn()
		e.after(d, tick)
	}
	e.after(d, tick)
}

func (e *Engine) cancel(t *timer) {
	if t != nil && !t.dead {
		t.dead = true
		heap.Remove(&e.timers, t.idx)
	}
}

func (e *Engine) fireTimers() {
	now := e.now()
	for len(e.timers) > 0 && !e.timers[0].at.After(now) {
		t := heap.Pop(&e.timers).(*timer)
		t.dead = true
		start := time.Now()
		t.fn()
		if o := e.cfg.Observer; o != nil {
			o.Handled("timer", time.Since(start))
		}
		if e.fatal != nil {
			return
		}
	}
}

func (e *Engine) resetWake() {
	if len(e.timers) == 0 {
		e.wake.Reset(time.Hour)
		return
	}
	e.wake.Reset(max(e.timers[0].at.Sub(e.now()), 0))
}
