package engine

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchboard-cc/switchboard/cti"
)

// fakeTel records every command as one line; its function fields inject failures and snapshots.
type fakeTel struct {
	mu         sync.Mutex
	log        []string
	originate  func(o cti.Originate) error
	addChannel func(b, ch string) error
	snapshot   func() ([]cti.ChannelInfo, []cti.BridgeInfo, error)
	getVar     func(channel, name string) string // GetVar's answers; nil: every variable unset
	oneRequest bool                              // record SetVars as one line
}

func (f *fakeTel) rec(format string, args ...any) {
	f.mu.Lock()
	f.log = append(f.log, fmt.Sprintf(format, args...))
	f.mu.Unlock()
}

// take returns the commands recorded since the last take.
func (f *fakeTel) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.log
	f.log = nil
	return out
}

func (f *fakeTel) Answer(_ context.Context, ch string) error { f.rec("Answer %s", ch); return nil }
func (f *fakeTel) Hangup(_ context.Context, ch, reason string) error {
	f.rec("Hangup %s", ch)
	return nil
}
func (f *fakeTel) Play(_ context.Context, ch, pb string, m []string) error {
	f.rec("Play %s %s %s", ch, pb, strings.Join(m, ","))
	return nil
}
func (f *fakeTel) PlayOnBridge(_ context.Context, b, pb string, m []string) error {
	f.rec("PlayOnBridge %s %s %s", b, pb, strings.Join(m, ","))
	return nil
}
func (f *fakeTel) StopPlayback(_ context.Context, pb string) error {
	f.rec("StopPlayback %s", pb)
	return nil
}
func (f *fakeTel) BridgeMOH(_ context.Context, b, class string) error {
	f.rec("BridgeMOH %s %s", b, class)
	return nil
}
func (f *fakeTel) ChannelMOH(_ context.Context, ch, class string) error {
	f.rec("ChannelMOH %s %s", ch, class)
	return nil
}
func (f *fakeTel) Hold(_ context.Context, ch string, on bool) error {
	f.rec("Hold %s %v", ch, on)
	return nil
}
func (f *fakeTel) Mute(_ context.Context, ch, dir string, on bool) error {
	f.rec("Mute %s %s %v", ch, dir, on)
	return nil
}
func (f *fakeTel) CreateBridge(_ context.Context, b string, k cti.BridgeKind) error {
	f.rec("CreateBridge %s %s", b, k)
	return nil
}
func (f *fakeTel) AddChannel(_ context.Context, b, ch, role string) error {
	f.rec("AddChannel %s %s %s", b, ch, role)
	if f.addChannel != nil {
		return f.addChannel(b, ch)
	}
	return nil
}
func (f *fakeTel) RemoveChannel(_ context.Context, b, ch string) error {
	f.rec("RemoveChannel %s %s", b, ch)
	return nil
}
func (f *fakeTel) DestroyBridge(_ context.Context, b string) error {
	f.rec("DestroyBridge %s", b)
	return nil
}
func (f *fakeTel) Originate(_ context.Context, o cti.Originate) error {
	f.rec("Originate %s %s %s", o.ChannelID, o.Endpoint, strings.Join(o.Args, ","))
	if f.originate != nil {
		return f.originate(o)
	}
	return nil
}
func (f *fakeTel) Snoop(_ context.Context, s cti.Snoop) error {
	f.rec("Snoop %s %s spy=%s whisper=%s", s.ChannelID, s.SnoopID, s.Spy, s.Whisper)
	return nil
}
func (f *fakeTel) ExternalMedia(context.Context, string, string, string, []string, map[string]string) (string, error) {
	return "", cti.Errorf(cti.ENOTIMPLEMENTED, "no")
}
func (f *fakeTel) RecordBridge(_ context.Context, b, name string) error {
	f.rec("RecordBridge %s %s", b, name)
	return nil
}
func (f *fakeTel) StopRecording(_ context.Context, name string) error {
	f.rec("StopRecording %s", name)
	return nil
}
func (f *fakeTel) PauseRecording(_ context.Context, name string, p bool) error {
	f.rec("PauseRecording %s %v", name, p)
	return nil
}
func (f *fakeTel) FetchRecording(_ context.Context, name string) (io.ReadCloser, error) {
	f.rec("FetchRecording %s", name)
	return io.NopCloser(bytes.NewReader([]byte("RIFF"))), nil
}
func (f *fakeTel) DeleteRecording(_ context.Context, name string) error {
	f.rec("DeleteRecording %s", name)
	return nil
}

// SetVars is recorded as one SetVar a variable, in name order, unless oneRequest (then as one line), so that tests of what
// is set need not know how many requests it took.
func (f *fakeTel) SetVars(ctx context.Context, ch string, vars map[string]string) error {
	if f.oneRequest {
		var kv []string
		for _, k := range slices.Sorted(maps.Keys(vars)) {
			kv = append(kv, k+"="+vars[k])
		}
		f.rec("SetVars %s %s", ch, strings.Join(kv, " "))
		return nil
	}
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		f.SetVar(ctx, ch, k, vars[k])
	}
	return nil
}
func (f *fakeTel) SetVar(_ context.Context, ch, name, value string) error {
	f.rec("SetVar %s %s=%s", ch, name, value)
	return nil
}
func (f *fakeTel) GetVar(_ context.Context, ch, name string) (string, error) {
	if f.getVar != nil {
		return f.getVar(ch, name), nil
	}
	return "", nil
}
func (f *fakeTel) Snapshot(context.Context, []string) ([]cti.ChannelInfo, []cti.BridgeInfo, error) {
	f.rec("Snapshot")
	if f.snapshot != nil {
		return f.snapshot()
	}
	return nil, nil, nil
}

// fakeNotifier records what desktops were told.
type fakeNotifier struct {
	mu     sync.Mutex
	offers []cti.ScreenPop
	to     []string
	calls  []cti.CallView
	agents []cti.AgentStatus
	queues int
}

func (n *fakeNotifier) Offer(agentID string, p cti.ScreenPop) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.offers = append(n.offers, p)
	n.to = append(n.to, agentID)
}
func (n *fakeNotifier) Call(c cti.CallView) { n.mu.Lock(); n.calls = append(n.calls, c); n.mu.Unlock() }
func (n *fakeNotifier) Agent(s cti.AgentStatus) {
	n.mu.Lock()
	n.agents = append(n.agents, s)
	n.mu.Unlock()
}
func (n *fakeNotifier) Queues([]cti.QueueStatus) { n.mu.Lock(); n.queues++; n.mu.Unlock() }

func (n *fakeNotifier) lastAgent(id string) cti.AgentStatus {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i := len(n.agents) - 1; i >= 0; i-- {
		if n.agents[i].AgentID == id {
			return n.agents[i]
		}
	}
	return cti.AgentStatus{}
}

// fakeCRM is an in-memory CustomerLookup, InteractionLog, Config and Auditor.
type fakeCRM struct {
	mu           sync.Mutex
	customers    map[string]*cti.Customer // by phone
	interactions map[string]*cti.Interaction
	dispositions map[string]string
	agents       []cti.AgentConfig
	queues       []cti.QueueConfig
	audit        []string
	saved        []string
	lookupBlock  chan struct{} // when set, a caller lookup waits for it (or for its context)
}

func newCRM() *fakeCRM {
	return &fakeCRM{
		customers: map[string]*cti.Customer{
			"+15551230001": {ID: "cust-1", Name: "Ada Lovelace", Tier: cti.TierGold, Fields: map[string]string{"account": "123456"}},
		},
		interactions: map[string]*cti.Interaction{}, dispositions: map[string]string{},
		agents: []cti.AgentConfig{
			{ID: "a1", Login: "agent1", Endpoint: "PJSIP/1001", Queues: []string{"general", "sales"}, Role: cti.RoleAgent},
			{ID: "a2", Login: "agent2", Endpoint: "PJSIP/1002", Queues: []string{"general"}, Role: cti.RoleAgent},
			{ID: "s1", Login: "super1", Endpoint: "PJSIP/1009", Role: cti.RoleSupervisor},
		},
		queues: []cti.QueueConfig{
			{Name: "general", Strategy: "longest-idle", SLTarget: 0.8, SLThreshold: 20 * time.Second, WrapUp: 10 * time.Second,
				RingTimeout: 15 * time.Second, RequireDisposition: true},
			{Name: "sales", Strategy: "longest-idle", RingTimeout: 15 * time.Second, MaxWait: 60 * time.Second, Overflow: "general"},
		},
	}
}

func (f *fakeCRM) LookupByPhone(ctx context.Context, raw string) (*cti.Customer, error) {
	if f.lookupBlock != nil {
		select {
		case <-f.lookupBlock:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if c := f.customers[raw]; c != nil {
		cc := *c
		return &cc, nil
	}
	return nil, cti.Errorf(cti.ENOTFOUND, "no customer")
}
func (f *fakeCRM) Customer(context.Context, string) (*cti.Customer, error) {
	return nil, cti.Errorf(cti.ENOTFOUND, "no")
}
func (f *fakeCRM) Timeline(context.Context, string, string, int) ([]cti.Interaction, string, error) {
	return []cti.Interaction{{ID: "old-1", Outcome: cti.OutcomeAnswered}}, "", nil
}
func (f *fakeCRM) Interaction(_ context.Context, id string) (*cti.Interaction, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in := f.interactions[id]; in != nil {
		c := *in
		return &c, nil
	}
	return nil, cti.Errorf(cti.ENOTFOUND, "no")
}
func (f *fakeCRM) StartInteraction(_ context.Context, in *cti.Interaction) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := *in
	f.interactions[in.ID] = &c
	return nil
}
func (f *fakeCRM) UpdateInteraction(_ context.Context, id string, u cti.InteractionUpdate) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	in := f.interactions[id]
	if in == nil {
		return cti.Errorf(cti.ENOTFOUND, "no interaction %s", id)
	}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&in.CustomerID, u.CustomerID)
	set(&in.Queue, u.Queue)
	set(&in.AgentID, u.AgentID)
	set(&in.BridgeID, u.BridgeID)
	set(&in.ScriptID, u.ScriptID)
	if u.QueuedAt != nil {
		in.QueuedAt = *u.QueuedAt
	}
	if u.OfferedAt != nil {
		in.OfferedAt = *u.OfferedAt
	}
	if u.AnsweredAt != nil {
		in.AnsweredAt = *u.AnsweredAt
	}
	if u.IVRPath != nil {
		in.IVRPath = u.IVRPath
	}
	if u.Inputs != nil {
		if in.Inputs == nil {
			in.Inputs = map[string]string{}
		}
		maps.Copy(in.Inputs, u.Inputs)
	}
	if u.Recording != nil {
		in.Recording = u.Recording
	}
	return nil
}
func (f *fakeCRM) FinishInteraction(_ context.Context, id string, fin cti.InteractionFinish) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	in := f.interactions[id]
	if in == nil {
		return cti.Errorf(cti.ENOTFOUND, "no interaction %s", id)
	}
	in.Outcome, in.EndedAt, in.Durations = fin.Outcome, fin.EndedAt, fin.Durations
	return nil
}
func (f *fakeCRM) SetDisposition(_ context.Context, id, agentID, code, notes string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.dispositions[id] = code
	return nil
}

// WriteInteractions applies each write through the methods above, reporting the refused ones.
func (f *fakeCRM) WriteInteractions(ctx context.Context, ws []cti.InteractionWrite) ([]error, error) {
	var rejected []error
	for i, w := range ws {
		var err error
		switch {
		case w.Start != nil:
			err = f.StartInteraction(ctx, w.Start)
		case w.Update != nil:
			err = f.UpdateInteraction(ctx, w.ID, *w.Update)
		case w.Finish != nil:
			err = f.FinishInteraction(ctx, w.ID, *w.Finish)
		case w.Disposition != nil:
			err = f.SetDisposition(ctx, w.ID, w.Disposition.AgentID, w.Disposition.Code, w.Disposition.Notes)
		}
		if err != nil {
			if rejected == nil {
				rejected = make([]error, len(ws))
			}
			rejected[i] = err
		}
	}
	return rejected, nil
}
func (f *fakeCRM) LogInteractions(context.Context, []cti.Interaction) error { return nil }
func (f *fakeCRM) Agents(context.Context) ([]cti.AgentConfig, error)        { return f.agents, nil }
func (f *fakeCRM) Queues(context.Context) ([]cti.QueueConfig, error)        { return f.queues, nil }
func (f *fakeCRM) Skills(context.Context) ([]cti.Skill, error)              { return nil, nil }
func (f *fakeCRM) Dispositions(_ context.Context, q string) ([]cti.Disposition, error) {
	return []cti.Disposition{{Code: "resolved", Label: "Resolved"}}, nil
}
func (f *fakeCRM) ReasonCodes(context.Context) ([]cti.ReasonCode, error) { return nil, nil }
func (f *fakeCRM) Script(_ context.Context, q string, tier cti.Tier) (*cti.Script, error) {
	return &cti.Script{ID: "script-1", Queue: q, Version: 1, Title: "Greeting", Body: "Hello {{customer.name}}"}, nil
}
func (f *fakeCRM) AgentByLogin(context.Context, string) (*cti.AgentConfig, error) { return nil, nil }
func (f *fakeCRM) VerifyPassword(context.Context, string, string) (*cti.AgentConfig, error) {
	return nil, nil
}
func (f *fakeCRM) Audit(_ context.Context, e cti.AuditEntry) error {
	f.mu.Lock()
	f.audit = append(f.audit, e.Actor+" "+e.Action+" "+e.Target)
	f.mu.Unlock()
	return nil
}
func (f *fakeCRM) Save(_ context.Context, name string, r io.Reader) (cti.RecordingRef, error) {
	b, _ := io.ReadAll(r)
	f.mu.Lock()
	f.saved = append(f.saved, name)
	f.mu.Unlock()
	return cti.RecordingRef{File: name + ".wav", Size: int64(len(b))}, nil
}

func (f *fakeCRM) interaction(id string) cti.Interaction {
	f.mu.Lock()
	defer f.mu.Unlock()
	if in := f.interactions[id]; in != nil {
		return *in
	}
	return cti.Interaction{}
}

// harness runs an Engine inside a synctest bubble.
type harness struct {
	t    *testing.T
	e    *Engine
	tel  *fakeTel
	n    *fakeNotifier
	crm  *fakeCRM
	stop context.CancelFunc
	errc chan error
	ids  int
	// started are the commands of the first connect (the reconcile).
	started []string
}

func start(t *testing.T, tune func(*Config, *fakeCRM)) *harness {
	t.Helper()
	h := &harness{t: t, tel: &fakeTel{}, n: &fakeNotifier{}, crm: newCRM(), errc: make(chan error, 1)}
	cfg := Config{Telephony: h.tel, Customers: h.crm, Interactions: h.crm, Settings: h.crm, Auditor: h.crm, Notifier: h.n,
		Recordings: h.crm, IDs: func() string { h.ids++; return fmt.Sprintf("call%d", h.ids) }, Trunk: "PJSIP/{number}@trunk",
		// Writes at once: these tests check what is written, after synctest.Wait, where a writer gathering a batch on
		// synctest's clock looks idle. The window has its tests in writer_test.go.
		WriteWindow: -1}
	if tune != nil {
		tune(&cfg, h.crm)
	}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.e = e
	ctx, cancel := context.WithCancel(context.Background())
	h.stop = cancel
	go func() { h.errc <- e.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-h.errc; err != nil && !strings.Contains(err.Error(), "another controller") {
			t.Errorf("Run: %v", err)
		}
	})
	h.post(cti.TelephonyConnected{})
	h.started = h.tel.take()
	return h
}

func (h *harness) post(ev cti.Event) {
	h.e.Post(ev)
	synctest.Wait()
}

// want checks the commands since the last check, in order.
func (h *harness) want(cmds ...string) {
	h.t.Helper()
	got := h.tel.take()
	if !slices.Equal(got, cmds) {
		h.t.Fatalf("commands:\n  got  %s\n  want %s", strings.Join(got, "\n       "), strings.Join(cmds, "\n       "))
	}
}

// contains checks that the commands since the last check include cmds, in that order.
func (h *harness) contains(cmds ...string) {
	h.t.Helper()
	got := h.tel.take()
	i := 0
	for _, g := range got {
		if i < len(cmds) && g == cmds[i] {
			i++
		}
	}
	if i < len(cmds) {
		h.t.Fatalf("commands:\n  got  %s\n  missing %q (in order %q)", strings.Join(got, "\n       "), cmds[i], cmds)
	}
}

func (h *harness) ready(agents ...string) {
	h.t.Helper()
	for _, a := range agents {
		if err := h.e.Login(context.Background(), a); err != nil {
			h.t.Fatal(err)
		}
		if err := h.e.SetState(context.Background(), a, cti.StateRequest{Ready: true}); err != nil {
			h.t.Fatal(err)
		}
		synctest.Wait()
	}
}

func entered(id, number string, args ...string) cti.ChannelEntered {
	return cti.ChannelEntered{Channel: cti.ChannelInfo{ID: id, Caller: cti.Party{Number: number}, Dialed: "100"}, Args: args}
}

// inbound brings a caller through the no-flow welcome into the queue.
func (h *harness) inbound(ch, number string) string {
	h.t.Helper()
	h.post(entered(ch, number, "inbound"))
	id := fmt.Sprintf("call%d", h.ids)
	h.contains("SetVar "+ch+" SB_CALL="+id, "SetVar "+ch+" SB_ROLE=customer", "Answer "+ch,
		"Play "+ch+" sb-"+id+"-p1 sound:sb/welcome")
	h.post(cti.PlaybackFinished{PlaybackID: "sb-" + id + "-p1", State: "done"})
	return id
}

// on runs f on the engine's loop, where reading its state is safe.
func (h *harness) on(f func()) {
	h.t.Helper()
	if err := h.e.do(context.Background(), func() error { f(); return nil }); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) call(id string) (c call, ok bool) {
	h.on(func() {
		if p := h.e.calls[id]; p != nil {
			c, ok = *p, true
		}
	})
	return c, ok
}
