package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-cc/switchboard/crmstore"
	"github.com/switchboard-cc/switchboard/cti"
	"github.com/switchboard-cc/switchboard/cti/arisim"
	"github.com/switchboard-cc/switchboard/cti/engine"
	"github.com/switchboard-cc/switchboard/ivr/sounds"
)

// The load command runs in two processes so that each one's CPU time is its own: this process is the controller (the real
// engine, ARI adapter, agent-ui and crmstore, wired by Main as serve does), and a child process of the same binary, started with
// loadRoleEnv set, is the ARI emulator that places the calls and times the controller from its side. They talk over the child's
// stdin and stdout, one JSON message a line.
const loadRoleEnv = "SWITCHBOARD_LOAD_ROLE"

func init() {
	register("load", command{
		summary: "measure the controller under N new calls a second from the ARI emulator (a throwaway database, emulated agents)",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			if os.Getenv(loadRoleEnv) == "emulator" {
				return runLoadEmulator(ctx, os.Stdin, stdout, stderr)
			}
			return runLoad(ctx, args, stdout, stderr)
		},
	})
}

// loadFlow sends every caller straight to the queue: no prompt stands between StasisStart and the agent's originate, so the
// measured time is the controller's own.
const loadFlow = `id: load
description: Load test. Every caller goes straight to the general queue.
default: true
start: queue
nodes:
  queue:
    type: queue
    queue: general
`

// loadOptions are the load command's settings.
type loadOptions struct {
	Rate        float64
	Duration    time.Duration
	Agents      int // 0: enough for the rate
	Answer      time.Duration
	Talk        time.Duration
	WriteWindow time.Duration // the engine's interaction-write gathering window (0: none)
	DatabaseURL string
	CPUProfile  string
	// MemProfile is where the controller writes its allocation profile at the end of the run ("" for none).
	MemProfile string
	// Trace is where the controller writes an execution trace of the run ("" for none): go tool trace.
	Trace string
	// EmulatorCPUProfile is where the emulator process writes its CPU profile over the run ("" for none).
	EmulatorCPUProfile string
}

// loadSetup is what the controller sends the emulator first; loadCommand then starts and ends the run.
type loadSetup struct {
	Password  string        `json:"password"`
	Endpoints []string      `json:"endpoints"`
	Answer    time.Duration `json:"answer"`
	Talk      time.Duration `json:"talk"`
	// CPUProfile, if set, is the file the emulator writes its CPU profile to, from the start of the calls to the report.
	CPUProfile string `json:"cpuprofile,omitempty"`
}

type loadCommand struct {
	Cmd      string        `json:"cmd"` // "load" or "report"
	Rate     float64       `json:"rate,omitempty"`
	Duration time.Duration `json:"duration,omitempty"`
	Patience time.Duration `json:"patience,omitempty"` // callers hang up after this long in the application
}

// loadReply is one message from the emulator: its address, the end of the calls, or the report.
type loadReply struct {
	Addr   string              `json:"addr,omitempty"`
	Loaded *arisim.LoadResult  `json:"loaded,omitempty"`
	Report *loadEmulatorReport `json:"report,omitempty"`
	Err    string              `json:"err,omitempty"`
}

// loadEmulatorReport is what the emulator measured.
type loadEmulatorReport struct {
	Stats       arisim.Stats    `json:"stats"`
	Originates  int             `json:"originates"` // first agent originates matched to an inbound StasisStart
	NoOriginate int             `json:"no_originate"`
	Latency     []time.Duration `json:"latency"`  // StasisStart → originate, sorted
	Windows     []latencyWindow `json:"windows"`  // the same by the time of the StasisStart
	CPU         time.Duration   `json:"cpu"`      // the emulator's own CPU time from the start of the calls
	Requests    map[string]int  `json:"requests"` // REST requests by spec operation ("" unmatched), from the start of the calls
}

func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	stderr = lockedWriter{new(sync.Mutex), stderr} // the controller's log and the emulator child's stderr copy share it
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	o := loadOptions{DatabaseURL: DefaultDatabaseURL}
	fs.Float64Var(&o.Rate, "rate", 500, "new calls a `second`, offered at a steady pace")
	fs.DurationVar(&o.Duration, "duration", 60*time.Second, "how long calls are offered")
	fs.IntVar(&o.Agents, "agents", 0, "emulated agents, all Ready (0: enough for the rate, answer and talk times)")
	fs.DurationVar(&o.Answer, "answer", 200*time.Millisecond, "how long an agent's phone rings before it answers")
	fs.DurationVar(&o.Talk, "talk", 2*time.Second, "how long each call talks before the agent hangs up")
	fs.DurationVar(&o.WriteWindow, "write-window", engine.DefaultWriteWindow,
		"the least time between the starts of two batches of interaction writes (0: none)")
	c := Config{DatabaseURL: o.DatabaseURL}
	c.bindDatabaseFlags(fs)
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write the controller's CPU profile over the run to this `file`")
	fs.StringVar(&o.MemProfile, "memprofile", "", "write the controller's allocation profile (from its start) to this `file` at the end")
	fs.StringVar(&o.Trace, "trace", "", "write an execution trace of the controller over the run to this `file` (large: keep runs short)")
	fs.StringVar(&o.EmulatorCPUProfile, "emulator-cpuprofile", "", "write the emulator process's CPU profile over the run to this `file`")
	if err := parseCommandFlags(fs, args, stdout); err != nil {
		return err
	}
	o.DatabaseURL = c.DatabaseURL
	switch {
	case o.Rate <= 0 || math.IsInf(o.Rate, 0) || math.IsNaN(o.Rate):
		return errUsage{fmt.Errorf("invalid -rate %g: must be positive", o.Rate)}
	case o.Duration <= 0:
		return errUsage{fmt.Errorf("invalid -duration %s: must be positive", o.Duration)}
	case o.Agents < 0:
		return errUsage{fmt.Errorf("invalid -agents %d: must not be negative", o.Agents)}
	case o.Answer <= 0 || o.Talk <= 0:
		return errUsage{errors.New("invalid -answer or -talk: must be positive")}
	case o.WriteWindow < 0:
		return errUsage{fmt.Errorf("invalid -write-window %s: must not be negative", o.WriteWindow)}
	}
	if err := validateDatabaseURL(o.DatabaseURL); err != nil {
		return errUsage{err}
	}
	if o.EmulatorCPUProfile != "" {
		// The child's working directory is ours, but an absolute path leaves no doubt where the profile lands.
		abs, err := filepath.Abs(o.EmulatorCPUProfile)
		if err != nil {
			return errUsage{fmt.Errorf("invalid -emulator-cpuprofile %q: %w", o.EmulatorCPUProfile, err)}
		}
		o.EmulatorCPUProfile = abs
	}
	if o.Agents == 0 {
		// Each agent is busy for the ring and the talk; half as many again absorbs the jitter of a busy machine.
		o.Agents = int(math.Ceil(o.Rate*(o.Answer+o.Talk+time.Second).Seconds()*1.5)) + 10
	}
	rep, err := loadRun(ctx, o, stderr)
	if rep != nil {
		rep.print(stdout)
	}
	if err != nil {
		return err
	}
	if rep.Lost > 0 {
		return fmt.Errorf("%d of %d calls were lost or failed", rep.Lost, rep.Offered)
	}
	if !rep.sustained() {
		return fmt.Errorf("the rate was not sustained: %d calls offered of %d intended", rep.Offered, rep.Intended)
	}
	return nil
}

// loadReport is the outcome of a run.
type loadReport struct {
	Opts               loadOptions
	Intended           int
	arisim.LoadResult  // what the emulator counted: offered and rejected when the offering ended, the rest at the end
	Emulator           loadEmulatorReport
	Outcomes           map[string]int // interactions by outcome ("" while not ended)
	Interactions       int
	Recordings         int
	Lost               int
	Drained            bool
	ControllerCPU      time.Duration
	ControllerUser     time.Duration
	ControllerSys      time.Duration
	Window             time.Duration // from the first call to the last one drained
	MachineBusy        float64       // share of all cores busy over the window, every process
	LoadAvg            string        // at the start
	LiveCalls          int
	HeapBase, HeapLive uint64 // heap in use after a GC, before the run and with LiveCalls up
	AllocBase          uint64
	AllocLive          uint64
	GCs                uint32
	GCPause            time.Duration
	WriteBatches       uint64        // the engine's batches of interaction writes over the window (its metrics)
	WriteTime          time.Duration // their database time
	// The controller's PostgreSQL pool over the window: connections opened, open at the end and at most, and acquires that
	// found no idle connection (and their wait).
	PoolOpened        int64
	PoolOpen, PoolMax int32
	PoolEmptyWaits    int64
	PoolEmptyWait     time.Duration
}

func loadRun(ctx context.Context, o loadOptions, stderr io.Writer) (*loadReport, error) {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	rep := &loadReport{Opts: o, Intended: int(o.Rate * o.Duration.Seconds()), LoadAvg: loadAverage()}

	w, err := newLoadWorld(ctx, o.DatabaseURL, o.Agents, "switchboard-load-")
	if err != nil {
		return nil, err
	}
	defer w.close()
	db, dbURL, endpoints, flows, recs := w.db, w.dbURL, w.endpoints, w.flows, w.recs

	// The emulator, in its own process.
	password := randomToken()
	sim, err := startLoadEmulator(ctx, stderr, loadSetup{Password: password, Endpoints: endpoints, Answer: o.Answer, Talk: o.Talk,
		CPUProfile: o.EmulatorCPUProfile})
	if err != nil {
		return nil, err
	}
	defer sim.close()

	// The controller, wired as serve wires it.
	m := NewMain()
	m.Stdout, m.Stderr, m.Logger = io.Discard, stderr, log
	m.Config.HTTPAddr = "127.0.0.1:0"
	m.Config.DatabaseURL, m.Config.Migrate, m.Config.Seed = dbURL, false, false
	m.Config.ARIURL, m.Config.ARIPassword = "http://"+sim.addr+"/ari", password
	m.Config.FlowsDir, m.Config.RecordingsDir, m.Config.DemoCallsPerMinute = flows, recs, 0
	m.writeWindow = o.WriteWindow
	if m.writeWindow == 0 {
		m.writeWindow = -1 // the engine's "none"
	}
	if err := m.Run(ctx); err != nil {
		m.Close()
		return nil, err
	}
	defer m.Close()
	if err := waitFor(ctx, 15*time.Second, m.sys.ari.Ready); err != nil {
		return nil, fmt.Errorf("the controller did not connect to the emulator: %w", err)
	}
	if err := readyLoadAgents(ctx, m.sys.engine, m.sys.store); err != nil {
		return nil, err
	}

	rep.HeapBase, rep.AllocBase = heapAfterGC()
	var ms0 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	if o.Trace != "" {
		f, err := os.Create(o.Trace)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := trace.Start(f); err != nil {
			return nil, err
		}
		defer trace.Stop()
	}
	busy0 := machineCPU()
	user0, sys0 := processCPU()
	batches0, writeTime0 := writeBatches(m.registry)
	pool0 := m.db.Pool.Stat()
	start := time.Now()
	patience := o.Answer + o.Talk + 30*time.Second
	loaded, err := sim.send(loadCommand{Cmd: "load", Rate: o.Rate, Duration: o.Duration, Patience: patience})
	if err != nil {
		return nil, err
	}
	rep.LoadResult = *loaded.Loaded

	// Memory with the calls of the last seconds still up.
	snap, err := m.sys.engine.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range snap.Calls {
		if c.State != cti.CallEnded {
			rep.LiveCalls++
		}
	}
	rep.HeapLive, rep.AllocLive = heapAfterGC()

	// Drain: every call ends and its recording is stored, or the callers' patience runs out.
	drainBy := time.Now().Add(patience + 10*time.Second)
	for {
		if err := countInteractions(ctx, db, rep); err != nil {
			return rep, err
		}
		ended := rep.Interactions - rep.Outcomes[""]
		if ended >= rep.Offered && rep.Recordings >= rep.Outcomes[string(cti.OutcomeAnswered)] {
			rep.Drained = true
			break
		}
		if time.Now().After(drainBy) {
			break
		}
		select {
		case <-ctx.Done():
			return rep, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	rep.Window = time.Since(start)
	user1, sys1 := processCPU()
	batches1, writeTime1 := writeBatches(m.registry)
	rep.WriteBatches, rep.WriteTime = batches1-batches0, writeTime1-writeTime0
	pool1 := m.db.Pool.Stat()
	rep.PoolOpened, rep.PoolOpen, rep.PoolMax = pool1.NewConnsCount()-pool0.NewConnsCount(), pool1.TotalConns(), pool1.MaxConns()
	rep.PoolEmptyWaits = pool1.EmptyAcquireCount() - pool0.EmptyAcquireCount()
	rep.PoolEmptyWait = pool1.EmptyAcquireWaitTime() - pool0.EmptyAcquireWaitTime()
	rep.ControllerUser, rep.ControllerSys = user1-user0, sys1-sys0
	rep.ControllerCPU = rep.ControllerUser + rep.ControllerSys
	rep.MachineBusy = machineCPU().busySince(busy0)
	var ms1 runtime.MemStats
	runtime.ReadMemStats(&ms1)
	rep.GCs, rep.GCPause = ms1.NumGC-ms0.NumGC, time.Duration(ms1.PauseTotalNs-ms0.PauseTotalNs)
	if o.MemProfile != "" {
		if err := writeAllocProfile(o.MemProfile); err != nil {
			return nil, err
		}
	}

	final, err := sim.send(loadCommand{Cmd: "report"})
	if err != nil {
		return rep, err
	}
	rep.Emulator = *final.Report
	// The emulator served only these calls: its final counters are theirs, once every call has ended.
	rep.Answered, rep.Bridged = rep.Emulator.Stats.CallsAnswered, rep.Emulator.Stats.CallsBridged
	answered := rep.Outcomes[string(cti.OutcomeAnswered)]
	rep.Lost = max(rep.Offered-answered, rep.Offered-rep.Bridged, rep.Offered-rep.Emulator.Originates, 0) + rep.Rejected
	return rep, nil
}

// writeBatches reads the engine's effect metric: the batches of interaction writes so far and their total time.
func writeBatches(g prometheus.Gatherer) (n uint64, took time.Duration) {
	mfs, _ := g.Gather() // a gathering error leaves out only what it concerns
	for _, mf := range mfs {
		if mf.GetName() != "switchboard_engine_effect_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "effect" && l.GetValue() == "write-interactions" {
					h := m.GetHistogram()
					return h.GetSampleCount(), time.Duration(h.GetSampleSum() * float64(time.Second))
				}
			}
		}
	}
	return 0, 0
}

// createLoadDatabase creates an empty database next to the one at base and returns its URL and a function that drops it.
// loadWorld is what a load run stands on: a throwaway database, migrated, with its emulated agents, and a folder holding the
// one-node flow and the recordings; close removes them.
type loadWorld struct {
	db          *crmstore.DB
	dbURL       string
	endpoints   []string
	flows, recs string
	close       func()
}

func newLoadWorld(ctx context.Context, base string, agents int, prefix string) (*loadWorld, error) {
	var undo []func()
	cleanup := func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	w, err := func() (*loadWorld, error) {
		dbURL, dropDB, err := createLoadDatabase(ctx, base)
		if err != nil {
			return nil, err
		}
		undo = append(undo, dropDB)
		db, err := openDB(ctx, dbURL)
		if err != nil {
			return nil, err
		}
		undo = append(undo, db.Close)
		if _, err := crmstore.Migrate(ctx, db.Pool); err != nil {
			return nil, err
		}
		endpoints, err := createLoadAgents(ctx, crmstore.NewStore(db, crmstore.Options{Region: "CN"}), agents)
		if err != nil {
			return nil, err
		}
		dir, err := os.MkdirTemp("", prefix)
		if err != nil {
			return nil, err
		}
		undo = append(undo, func() { os.RemoveAll(dir) })
		w := &loadWorld{db: db, dbURL: dbURL, endpoints: endpoints, close: cleanup,
			flows: filepath.Join(dir, "flows"), recs: filepath.Join(dir, "recordings")}
		if err := os.MkdirAll(w.flows, 0o755); err != nil {
			return nil, err
		}
		return w, os.WriteFile(filepath.Join(w.flows, "load.yaml"), []byte(loadFlow), 0o644)
	}()
	if err != nil {
		cleanup()
		return nil, err
	}
	return w, nil
}

func createLoadDatabase(ctx context.Context, base string) (string, func(), error) {
	admin, err := openDB(ctx, base)
	if err != nil {
		return "", nil, err
	}
	name := "sbload_" + randomToken()[:16]
	if _, err := admin.Pool.Exec(ctx, "create database "+name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create the load test's database on -database-url: %w", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		admin.Close()
		return "", nil, err
	}
	u.Path = "/" + name
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin.Pool.Exec(ctx, "drop database if exists "+name+" with (force)") //nolint:errcheck // best effort on the way out
		admin.Close()
	}
	return u.String(), drop, nil
}

// createLoadAgents writes the general queue (no wrap-up) and n agents load-agent-<i> on PJSIP/<9000+i>, members of it.
func createLoadAgents(ctx context.Context, s *crmstore.Store, n int) ([]string, error) {
	if err := s.PutQueue(ctx, cti.QueueConfig{Name: "general", Strategy: "longest-idle", SLTarget: 0.8,
		SLThreshold: 20 * time.Second, RingTimeout: 15 * time.Second, MaxWait: 10 * time.Minute}); err != nil {
		return nil, err
	}
	endpoints := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < n; i += 4 {
				endpoints[i] = "PJSIP/" + strconv.Itoa(9000+i+1)
				a := &cti.AgentConfig{Login: "load-agent-" + strconv.Itoa(i+1), DisplayName: "Load Agent " + strconv.Itoa(i+1),
					Role: cti.RoleAgent, Endpoint: endpoints[i], Queues: []string{"general"}}
				if err := s.PutAgent(ctx, a, ""); err != nil {
					errs <- fmt.Errorf("create %s: %w", a.Login, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return endpoints, <-errs
}

// readyLoadAgents logs every agent in and makes it Ready.
func readyLoadAgents(ctx context.Context, eng *engine.Engine, s *crmstore.Store) error {
	agents, err := s.Agents(ctx)
	if err != nil {
		return err
	}
	for _, a := range agents {
		if err := eng.Login(ctx, a.ID); err != nil {
			return fmt.Errorf("log %s in: %w", a.Login, err)
		}
		if err := eng.SetState(ctx, a.ID, cti.StateRequest{Ready: true}); err != nil {
			return fmt.Errorf("make %s ready: %w", a.Login, err)
		}
	}
	return nil
}

func countInteractions(ctx context.Context, db *crmstore.DB, rep *loadReport) error {
	rows, err := db.Pool.Query(ctx, `select coalesce(outcome, ''), count(*), count(recording_file) from interactions group by 1`)
	if err != nil {
		return err
	}
	defer rows.Close()
	rep.Outcomes, rep.Interactions, rep.Recordings = map[string]int{}, 0, 0
	for rows.Next() {
		var outcome string
		var n, recs int
		if err := rows.Scan(&outcome, &n, &recs); err != nil {
			return err
		}
		rep.Outcomes[outcome] = n
		rep.Interactions += n
		rep.Recordings += recs
	}
	return rows.Err()
}

func waitFor(ctx context.Context, within time.Duration, f func() error) error {
	deadline := time.Now().Add(within)
	for {
		err := f()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func writeAllocProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// heapAfterGC returns the heap in use and the live bytes right after a full collection.
func heapAfterGC() (inuse, alloc uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse, ms.HeapAlloc
}

// processCPU is the CPU time this process has used, in user and system mode.
func processCPU() (user, sys time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

// cpuTicks are the machine's CPU counters from /proc/stat (zero where there is none).
type cpuTicks struct{ busy, total uint64 }

func machineCPU() cpuTicks {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTicks{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var t cpuTicks
	for i, s := range f[1:] {
		v, _ := strconv.ParseUint(s, 10, 64)
		t.total += v
		if i != 3 && i != 4 { // idle, iowait
			t.busy += v
		}
	}
	return t
}

func (t cpuTicks) busySince(t0 cpuTicks) float64 {
	if t.total <= t0.total {
		return 0
	}
	return float64(t.busy-t0.busy) / float64(t.total-t0.total)
}

func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// sustained reports whether the emulator kept the pace: its ticker skips ticks while placing a call takes longer than the
// interval, so a saturated machine offers fewer calls than intended. A tick or two (or 1 %) short is the ticker's phase.
func (r *loadReport) sustained() bool {
	return r.Offered >= r.Intended-max(2, r.Intended/100)
}

func (r *loadReport) print(w io.Writer) {
	o := r.Opts
	fmt.Fprintf(w, "switchboard load: %g calls/s for %s; %d agents (answer after %s, talk %s); write window %s; %s, %d CPUs\n",
		o.Rate, o.Duration, o.Agents, o.Answer, o.Talk, o.WriteWindow, runtime.Version(), runtime.NumCPU())
	fmt.Fprintf(w, "machine: load average %s at the start; all cores %.0f%% busy during the run (every process)\n",
		r.LoadAvg, 100*r.MachineBusy)
	pace := "sustained"
	if !r.sustained() {
		pace = "NOT sustained"
	}
	fmt.Fprintf(w, "calls: intended %d, offered %d (%.1f/s, rate %s), rejected %d, answered %d, bridged to an agent %d\n",
		r.Intended, r.Offered, float64(r.Offered)/r.Duration.Seconds(), pace, r.Rejected, r.Answered, r.Bridged)
	var outs []string
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range r.Outcomes {
			if !yield(k) {
				return
			}
		}
	}) {
		name := k
		if name == "" {
			name = "not ended"
		}
		outs = append(outs, fmt.Sprintf("%s %d", name, r.Outcomes[k]))
	}
	drained := "all ended"
	if !r.Drained {
		drained = "NOT all ended before the callers' patience ran out"
	}
	fmt.Fprintf(w, "interactions: %d (%s), %d recordings stored; %s\n", r.Interactions, strings.Join(outs, ", "), r.Recordings, drained)
	fmt.Fprintf(w, "lost or failed calls: %d\n", r.Lost)
	l := r.Emulator.Latency
	fmt.Fprintf(w, "StasisStart to agent originate (emulator side, %d calls, %d without one): p50 %s, p99 %s, p99.9 %s, max %s\n",
		len(l), r.Emulator.NoOriginate, fmtDur(pct(l, 0.50)), fmtDur(pct(l, 0.99)), fmtDur(pct(l, 0.999)), fmtDur(pct(l, 1)))
	// By the time of the StasisStart: when a run's slow originates happened (its start, a burst).
	for _, x := range r.Emulator.Windows {
		fmt.Fprintf(w, "  %-9s %6d calls  p50 %-9s p99 %-9s max %-9s %d over %s\n",
			fmt.Sprintf("%s–%s s", fmtSeconds(x.From), fmtSeconds(x.To)), x.Calls, fmtDur(x.P50), fmtDur(x.P99), fmtDur(x.Max),
			x.Slow, fmtDur(slowOriginate))
	}
	per := func(d time.Duration) time.Duration {
		if r.Offered == 0 {
			return 0
		}
		return d / time.Duration(r.Offered)
	}
	fmt.Fprintf(w, "controller CPU per call: %s (user %s + system %s; %s over %s, %d GCs, %s paused)\n",
		fmtDur(per(r.ControllerCPU)), fmtDur(per(r.ControllerUser)), fmtDur(per(r.ControllerSys)), fmtDur(r.ControllerCPU),
		fmtDur(r.Window), r.GCs, fmtDur(r.GCPause))
	fmt.Fprintf(w, "emulator CPU per call: %s (separate process; %s)\n", fmtDur(per(r.Emulator.CPU)), fmtDur(r.Emulator.CPU))
	if r.Offered > 0 {
		total, ops := 0, make([]string, 0, len(r.Emulator.Requests))
		for _, op := range slices.Sorted(maps.Keys(r.Emulator.Requests)) {
			n := r.Emulator.Requests[op]
			total += n
			if op == "" {
				op = "(no operation)"
			}
			ops = append(ops, fmt.Sprintf("%s %.2f", op, float64(n)/float64(r.Offered)))
		}
		fmt.Fprintf(w, "REST requests per call: %.2f (%s)\n", float64(total)/float64(r.Offered), strings.Join(ops, ", "))
		fmt.Fprintf(w, "events per call: %.2f sent on the websocket, %.2f kept back by the application's event filter\n", float64(r.Emulator.Stats.EventsSent)/float64(r.Offered), float64(r.Emulator.Stats.EventsFiltered)/float64(r.Offered))
	}
	if r.WriteBatches > 0 {
		fmt.Fprintf(w, "interaction writes: %d batches, %.1f calls a batch, %s a batch on average\n", r.WriteBatches,
			float64(r.Offered)/float64(r.WriteBatches), fmtDur(r.WriteTime/time.Duration(r.WriteBatches)))
	}
	fmt.Fprintf(w, "database pool: %d connections opened during the run, %d open at the end (at most %d); %d acquires waited for one (%s in all)\n",
		r.PoolOpened, r.PoolOpen, r.PoolMax, r.PoolEmptyWaits, fmtDur(r.PoolEmptyWait))
	if r.LiveCalls > 0 {
		fmt.Fprintf(w, "memory per live call: %.1f KB heap in use (%.1f KB live objects), %d calls up, heap %.1f MB over a %.1f MB baseline\n",
			kb(r.HeapLive, r.HeapBase, r.LiveCalls), kb(r.AllocLive, r.AllocBase, r.LiveCalls), r.LiveCalls,
			float64(r.HeapLive)/(1<<20), float64(r.HeapBase)/(1<<20))
	} else {
		fmt.Fprintf(w, "memory per live call: no call was up at the end of the offered period\n")
	}
}

func kb(now, base uint64, n int) float64 { return (float64(now) - float64(base)) / float64(n) / 1024 }

// pct is the q-quantile of sorted samples (nearest rank); 0 without samples.
func pct(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// fmtSeconds writes a window's bound in seconds: "5", "2.5".
func fmtSeconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }

func fmtDur(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2f s", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
	default:
		return fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond))
	}
}

// --- the emulator's side ---

// loadChild is a child process of this binary (the load commands' emulator, or its simulated browsers), seen from the
// controller: it answers each JSON line on its stdin with one JSON line on its stdout, and stops at the end of its input.
type loadChild struct {
	name string
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Scanner
}

// startLoadChild starts `<this binary> command` with env (ROLE=value) added, its stderr on stderr.
func startLoadChild(ctx context.Context, stderr io.Writer, command, env, name string) (*loadChild, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, exe, command)
	cmd.Env = append(os.Environ(), env)
	cmd.Stderr = stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the %s process: %w", name, err)
	}
	c := &loadChild{name: name, cmd: cmd, in: in, out: newLineScanner(out)}
	c.out.Buffer(nil, 256<<20)
	return c, nil
}

// call writes msg and decodes the reply line into reply.
func (c *loadChild) call(msg, reply any) error {
	b, _ := json.Marshal(msg)
	if _, err := c.in.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("%s process: %w", c.name, err)
	}
	if !c.out.Scan() {
		return fmt.Errorf("%s process ended: %v", c.name, c.out.Err())
	}
	if err := json.Unmarshal(c.out.Bytes(), reply); err != nil {
		return fmt.Errorf("%s process: %w", c.name, err)
	}
	return nil
}

func (c *loadChild) close() {
	c.in.Close() // the child stops at the end of its input
	c.cmd.Wait() //nolint:errcheck // its errors went to stderr
}

// loadEmulator is the child process running the emulator, seen from the controller.
type loadEmulator struct {
	*loadChild
	addr string
}

func startLoadEmulator(ctx context.Context, stderr io.Writer, setup loadSetup) (*loadEmulator, error) {
	c, err := startLoadChild(ctx, stderr, "load", loadRoleEnv+"=emulator", "emulator")
	if err != nil {
		return nil, err
	}
	e := &loadEmulator{loadChild: c}
	r, err := e.send(setup)
	if err != nil {
		e.close()
		return nil, err
	}
	e.addr = r.Addr
	return e, nil
}

// send writes one message and reads the reply.
func (e *loadEmulator) send(msg any) (loadReply, error) {
	var r loadReply
	if err := e.call(msg, &r); err != nil {
		return r, err
	}
	if r.Err != "" {
		return r, fmt.Errorf("emulator process: %s", r.Err)
	}
	return r, nil
}

// runLoadEmulator is the child: it serves ARI on loopback and places calls when told, timing the controller.
func runLoadEmulator(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) error {
	// The emulator stands for an Asterisk on its own machine and needs less than a core: with one processor the runtime stops
	// waking the other core for every goroutine that becomes runnable, CPU the controller beside it would otherwise lose
	// (≈ 15 % of the emulator's CPU per call, docs/performance.md). GOMAXPROCS, when set, decides.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	in := newLineScanner(stdin)
	enc := json.NewEncoder(stdout)
	var setup loadSetup
	if !in.Scan() {
		return in.Err()
	}
	if err := json.Unmarshal(in.Bytes(), &setup); err != nil {
		return err
	}
	eps := make(map[string]arisim.Behaviour, len(setup.Endpoints))
	for _, id := range setup.Endpoints {
		eps[id] = arisim.Behaviour{Registered: true, AnswerAfter: setup.Answer, HangupAfter: setup.Talk}
	}
	t := newLoadTimer()
	sim := arisim.New(arisim.Config{
		Username: "switchboard", Password: setup.Password, Endpoints: eps, Sounds: sounds.Durations(),
		// Asterisk buffers a slow websocket in the kernel and its own queue; a short stall of the controller (a GC, a busy core)
		// must not cost the connection at thousands of events a second.
		EventQueue: 1 << 18,
		Logger:     slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		OnEvent:    t.event, OnRequest: t.request,
	})
	defer sim.Close()
	addr, err := sim.Start(ctx, "127.0.0.1:0")
	if err != nil {
		return err
	}
	if err := enc.Encode(loadReply{Addr: addr}); err != nil {
		return err
	}
	var cpu0 time.Duration
	var profile *os.File
	stopProfile := func() error {
		if profile == nil {
			return nil
		}
		pprof.StopCPUProfile()
		err := profile.Close()
		profile = nil
		return err
	}
	defer stopProfile() //nolint:errcheck // a failed run reports its own error
	for in.Scan() {
		var c loadCommand
		if err := json.Unmarshal(in.Bytes(), &c); err != nil {
			return err
		}
		switch c.Cmd {
		case "load":
			if setup.CPUProfile != "" && profile == nil {
				f, err := os.Create(setup.CPUProfile)
				if err != nil {
					return err
				}
				if err := pprof.StartCPUProfile(f); err != nil {
					f.Close()
					return err
				}
				profile = f
			}
			u, s := processCPU()
			cpu0 = u + s
			t.start(time.Now())
			res, err := sim.Load(ctx, c.Rate, c.Duration, arisim.CallSpec{HangupAfter: c.Patience})
			reply := loadReply{Loaded: &res}
			if err != nil {
				reply.Err = err.Error()
			}
			if err := enc.Encode(reply); err != nil {
				return err
			}
		case "report":
			if err := stopProfile(); err != nil {
				return err
			}
			u, s := processCPU()
			rep := t.report()
			rep.Stats, rep.CPU = sim.Stats(), u+s-cpu0
			if err := enc.Encode(loadReply{Report: &rep}); err != nil {
				return err
			}
		default:
			return fmt.Errorf("unknown load command %q", c.Cmd)
		}
	}
	return in.Err()
}

// loadTimer matches each inbound call's StasisStart with the first originate of an agent leg for it. The originate names
// the caller's channel in its variables (SB_CUSTOMER) when it goes before the caller's tags; otherwise the engine tagged the
// inbound channel with its call id (SB_CALL) first and names the call in the originate's appArgs (agent,<call>).
//
// Its hooks run on the emulator's one processor for every event and request, so they only note times: the report does the
// sorting and the windows.
type loadTimer struct {
	mu       sync.Mutex
	begin    time.Time            // the start of the calls: windows are counted from here
	requests map[string]int       // REST requests by operation
	started  map[string]time.Time // inbound channel → StasisStart
	callOf   map[string]string    // call id → inbound channel
	done     map[string]bool      // inbound channels with an originate
	samples  []loadSample
}

// loadSample is one call's StasisStart → originate time, and when (from the start of the calls) its StasisStart was.
type loadSample struct{ at, latency time.Duration }

func newLoadTimer() *loadTimer {
	return &loadTimer{requests: map[string]int{}, started: map[string]time.Time{}, callOf: map[string]string{}, done: map[string]bool{}}
}

// start marks the start of the calls: the counts of requests start again from zero (the agents' setup is not the calls'),
// and the windows of the report are counted from now.
func (t *loadTimer) start(now time.Time) {
	t.mu.Lock()
	clear(t.requests)
	t.begin = now
	t.mu.Unlock()
}

func (t *loadTimer) event(typ, channelID string, at time.Time) {
	if typ != "StasisStart" || strings.HasPrefix(channelID, "sb-") {
		return
	}
	t.mu.Lock()
	if _, ok := t.started[channelID]; !ok {
		t.started[channelID] = at
	}
	t.mu.Unlock()
}

func (t *loadTimer) request(r arisim.RequestRecord) {
	at := time.Now()
	t.mu.Lock()
	t.requests[r.Operation]++
	t.mu.Unlock()
	switch {
	case r.Operation == "channels.setChannelVar" && strings.Contains(r.Query, engine.VarCall):
		if queryValue(r.Query, "variable") != engine.VarCall {
			return
		}
		ch := strings.TrimSuffix(strings.TrimPrefix(r.Path, "/channels/"), "/variable")
		t.tag(queryValue(r.Query, "value"), ch)
	case r.Operation == "channels.setChannelVars" && bytes.Contains(r.Body, []byte(engine.VarCall)):
		// The same tag set with the bulk endpoint.
		if call := bodyVar(r.Body, engine.VarCall); call != "" {
			t.tag(call, strings.TrimSuffix(strings.TrimPrefix(r.Path, "/channels/"), "/variables"))
		}
	case r.Operation == "channels.originate" || r.Operation == "channels.originateWithId":
		if r.Status >= 300 {
			return
		}
		role, call, _ := strings.Cut(queryValue(r.Query, "appArgs"), ",")
		if role != "agent" {
			return
		}
		named := bodyVar(r.Body, engine.VarCustomer)
		t.mu.Lock()
		defer t.mu.Unlock()
		ch := t.callOf[call]
		if named != "" {
			ch = named
		}
		if ch == "" || t.done[ch] {
			return
		}
		if st, ok := t.started[ch]; ok {
			t.done[ch] = true
			t.samples = append(t.samples, loadSample{at: st.Sub(t.begin), latency: at.Sub(st)})
		}
	}
}

// queryValue is url.ParseQuery(raw).Get(key) without building the map: the first value of key that unescapes, unescaped.
func queryValue(raw, key string) string {
	for raw != "" {
		var kv string
		kv, raw, _ = strings.Cut(raw, "&")
		k, v, _ := strings.Cut(kv, "=")
		if strings.ContainsAny(k, "%+") {
			var err error
			if k, err = url.QueryUnescape(k); err != nil {
				continue
			}
		}
		if k != key {
			continue
		}
		if !strings.ContainsAny(v, "%+") {
			return v
		}
		if v, err := url.QueryUnescape(v); err == nil {
			return v
		}
	}
	return ""
}

// variablesPrefix opens the body the controller sends with channel variables ({"variables":{"name":"value",...}}).
var variablesPrefix = []byte(`{"variables":{`)

// bodyVar returns variable name of a request body {"variables": {name: "<value>" or {"value": "<value>", ...}}}, or "".
//
// The controller's bodies are one flat object of strings: where the body is {"variables":{…}} with no other brace, no
// white space and no escape, `"name":` can only be a key of the variables (a quote inside a JSON string is escaped), so
// the value is read in place. Any other shape is
// decoded whole. Either way the last of repeated keys wins, as in encoding/json.
func bodyVar(b []byte, name string) string {
	if bytes.HasPrefix(b, variablesPrefix) && bytes.Count(b, []byte("{")) == 2 && bytes.IndexByte(b, '}') == len(b)-2 &&
		bytes.HasSuffix(b, []byte("}}")) && !bytes.ContainsAny(b, " \t\r\n\\") {
		key := make([]byte, 0, len(name)+3)
		key = append(append(append(key, '"'), name...), '"', ':')
		if i := bytes.LastIndex(b, key); i >= 0 {
			if v, ok := plainJSONString(b[i+len(key):]); ok {
				return v
			}
		}
	}
	var body struct {
		Variables map[string]json.RawMessage `json:"variables"`
	}
	if json.Unmarshal(b, &body) != nil {
		return ""
	}
	raw, ok := body.Variables[name]
	if !ok {
		return ""
	}
	var v struct {
		Value string `json:"value"`
	}
	if json.Unmarshal(raw, &v.Value) != nil && json.Unmarshal(raw, &v) != nil {
		return ""
	}
	return v.Value
}

// plainJSONString reads the JSON string at the start of b if it is printable ASCII without escapes, whose bytes are its
// value.
func plainJSONString(b []byte) (string, bool) {
	if len(b) == 0 || b[0] != '"' {
		return "", false
	}
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return string(b[1:i]), true
		case c < 0x20 || c >= 0x80 || c == '\\':
			return "", false
		}
	}
	return "", false
}

// tag notes that the controller named inbound channel ch's call.
func (t *loadTimer) tag(call, ch string) {
	t.mu.Lock()
	t.callOf[call] = ch
	t.mu.Unlock()
}

func (t *loadTimer) report() loadEmulatorReport {
	t.mu.Lock()
	samples := slices.Clone(t.samples)
	rep := loadEmulatorReport{Originates: len(samples), NoOriginate: len(t.started) - len(t.done), Requests: maps.Clone(t.requests)}
	t.mu.Unlock()
	rep.Windows = latencyWindows(samples)
	rep.Latency = make([]time.Duration, len(samples))
	for i, s := range samples {
		rep.Latency[i] = s.latency
	}
	slices.Sort(rep.Latency)
	return rep
}

// slowOriginate is the target for StasisStart → originate: the windows count the calls over it.
const slowOriginate = 10 * time.Millisecond

// latencyWindow is the StasisStart → originate time of the calls whose StasisStart fell in [From, To) from the start of the
// calls.
type latencyWindow struct {
	From, To      time.Duration
	Calls         int
	P50, P99, Max time.Duration
	Slow          int // calls over slowOriginate
}

// latencyWindows groups the samples by the time of their StasisStart: a window a second for the first five seconds (the
// run's warm-up: connections dialed, workers started), then five seconds each. Windows without calls are left out.
func latencyWindows(samples []loadSample) []latencyWindow {
	bounds := func(at time.Duration) (from, to time.Duration) {
		if at < 5*time.Second {
			from = at.Truncate(time.Second)
			return from, from + time.Second
		}
		from = at.Truncate(5 * time.Second)
		return from, from + 5*time.Second
	}
	byFrom := map[time.Duration][]time.Duration{}
	for _, s := range samples {
		from, _ := bounds(max(s.at, 0))
		byFrom[from] = append(byFrom[from], s.latency)
	}
	var ws []latencyWindow
	for _, from := range slices.Sorted(maps.Keys(byFrom)) {
		l := byFrom[from]
		slices.Sort(l)
		_, to := bounds(from)
		w := latencyWindow{From: from, To: to, Calls: len(l), P50: pct(l, 0.50), P99: pct(l, 0.99), Max: pct(l, 1)}
		w.Slow = len(l) - sort.Search(len(l), func(i int) bool { return l[i] > slowOriginate })
		ws = append(ws, w)
	}
	return ws
}

// newLineScanner reads the parent's and child's line-by-line JSON exchange; a setup line lists every agent's endpoint, which
// passes bufio's 64 KB default at a few thousand agents.
func newLineScanner(r io.Reader) *bufio.Scanner {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 64<<10), 64<<20)
	return s
}
