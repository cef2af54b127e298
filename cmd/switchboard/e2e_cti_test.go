package main

// End-to-end tests of call handling: the real program (Main) in-process, on a fresh PostgreSQL database, driving the ARI
// emulator over real HTTP and WebSocket. Each scenario starts its own system, so they run in parallel; the emulator's
// request log of every scenario feeds the conformance check at the end of TestE2ECTI.
//
// Most scenarios run the emulator themselves and point --ari-url at it, as production points at Asterisk: the test plays
// the phones (arisim.Server.Answer when the agent accepts, Hangup for the caller). TestE2ECTI/answered runs the built-in
// emulator instead, where accepting on the Desk answers the emulated phone.
//
// Routing uses the flows of testdata/e2ecti (no business hours): 200 is a menu (1 sales, 2 support, 3 callback), 201, 202
// and 203 go straight to general, sales and support. Queue timings are set before the engine starts (it reads them once).

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/crmstore"
	"github.com/switchboard-cc/switchboard/crmstore/pgtest"
	"github.com/switchboard-cc/switchboard/cti"
	"github.com/switchboard-cc/switchboard/cti/arisim"
	"github.com/switchboard-cc/switchboard/ivr/sounds"
)

// ctiTimeScale speeds the emulator up: a 15 s ring timeout rings 0.75 s, a 2.4 s prompt plays 120 ms.
const ctiTimeScale = 0.05

// ctiARIUser and ctiARIPassword are the credentials of the test's own emulators.
const (
	ctiARIUser     = "switchboard"
	ctiARIPassword = "e2e-secret"
)

// ctiRequests is every REST request the controllers sent to the test's emulators, by scenario, for the conformance check.
var ctiRequests struct {
	mu   sync.Mutex
	recs []ctiRequest
	runs int
}

type ctiRequest struct {
	test string
	arisim.RequestRecord
}

// ctiOptions shape a system.
type ctiOptions struct {
	builtin bool                                               // the built-in emulator instead of the test's own
	prep    func(ctx context.Context, s *crmstore.Store) error // configuration before the engine reads it
	dbURL   func(url string) string                            // the URL Main uses instead of the database's (a proxy)
	ariURL  func(url string) string                            // the URL the first Main uses instead of the emulator's (a proxy)
}

// ctiSys is one running contact center and the emulator it drives.
type ctiSys struct {
	t      *testing.T
	key    string // the scenario's requests in ctiRequests
	m      *Main
	sim    *arisim.Server
	store  *crmstore.Store
	dbURL  string
	recDir string
	ariURL string
	ids    map[string]string // agent login → id
	logs   *ctiLog
	tune   func(*Main) // applied to each Main runMain starts from now on (test hooks)
}

// ctiLog keeps the server's log for a failing test.
type ctiLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *ctiLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *ctiLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// ctiQueues are the seeded queues with test timings: everyone in a queue's membership may take its calls at once, offers
// ring 60 s of emulated time (3 s here), wrap-up lasts until the agent ends it.
func ctiQueues() []cti.QueueConfig {
	var out []cti.QueueConfig
	for _, name := range []string{"general", "sales", "support", "billing", "priority"} {
		q := cti.QueueConfig{Name: name, Strategy: "longest-idle", SLTarget: 0.8, SLThreshold: 20 * time.Second,
			WrapUp: 10 * time.Minute, RingTimeout: 60 * time.Second, MaxWait: 30 * time.Minute,
			Escalation: json.RawMessage(`[{"after":"0s","any":true}]`)}
		if name != "general" {
			q.Overflow = "general"
		}
		out = append(out, q)
	}
	return out
}

// ctiDB makes a fresh database with the demo staff, a few customers and the test queues, then prep's changes.
func ctiDB(t *testing.T, prep func(ctx context.Context, s *crmstore.Store) error) string {
	t.Helper()
	ctx := context.Background()
	u := pgtest.URL(t)
	db, err := crmstore.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := crmstore.Seed(ctx, db, crmstore.SeedOptions{Customers: 20, Rand: 7, Region: "CN"}); err != nil {
		t.Fatal(err)
	}
	s := crmstore.NewStore(db, crmstore.Options{Region: "CN"})
	for _, q := range ctiQueues() {
		if err := s.PutQueue(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if prep != nil {
		if err := prep(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	return u
}

// ctiEmulator starts an emulator of the test's own, with the demo phones (ringing until answered) and the request log.
func ctiEmulator(t *testing.T, name string) (*arisim.Server, string) {
	t.Helper()
	sim := arisim.New(arisim.Config{Username: ctiARIUser, Password: ctiARIPassword, Sounds: sounds.Durations(),
		Endpoints: demoEndpoints(), TimeScale: ctiTimeScale,
		OnRequest: func(r arisim.RequestRecord) {
			if strings.Contains(r.Query, "api_key=") {
				return // the test's own
			}
			ctiRequests.mu.Lock()
			ctiRequests.recs = append(ctiRequests.recs, ctiRequest{name, r})
			ctiRequests.mu.Unlock()
		}})
	addr, err := sim.Start(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	return sim, "http://" + addr + "/ari"
}

// startCTI starts a system on a fresh database.
func startCTI(t *testing.T, o ctiOptions) *ctiSys {
	t.Helper()
	ctiRequests.mu.Lock()
	ctiRequests.runs++
	key := fmt.Sprintf("%s#%d", t.Name(), ctiRequests.runs) // unique under -count
	ctiRequests.mu.Unlock()
	s := &ctiSys{t: t, key: key, dbURL: ctiDB(t, o.prep), recDir: t.TempDir(), logs: &ctiLog{}}
	if o.dbURL != nil {
		s.dbURL = o.dbURL(s.dbURL)
	}
	if !o.builtin {
		s.sim, s.ariURL = ctiEmulator(t, key)
		if o.ariURL != nil {
			s.ariURL = o.ariURL(s.ariURL)
		}
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", s.logs.String())
			t.Logf("requests:\n%s", ctiRequestLog(s.key))
		}
	})
	s.m = s.runMain()
	if o.builtin {
		s.sim = s.m.sys.sim
	}
	s.store = s.m.sys.store
	s.ids = map[string]string{}
	for _, login := range []string{"agent1", "agent2", "agent3", "supervisor"} {
		a, err := s.store.AgentByLogin(context.Background(), login)
		if err != nil {
			t.Fatal(err)
		}
		s.ids[login] = a.ID
	}
	return s
}

// runMain starts (another) Main on the system's database, recordings and emulator, and waits until it is ready.
func (s *ctiSys) runMain() *Main {
	t := s.t
	t.Helper()
	m := NewMain()
	m.Stdout, m.Stderr = io.Discard, io.Discard
	args := []string{"--http", "127.0.0.1:0", "--database-url", s.dbURL, "--ivr-flows", "testdata/e2ecti",
		"--demo-calls-per-minute", "0", "--recordings-dir", s.recDir, "--seed=false"}
	if s.ariURL != "" {
		args = append(args, "--ari-url", s.ariURL, "--ari-user", ctiARIUser, "--ari-password", ctiARIPassword)
	}
	if err := m.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	m.simTimeScale = ctiTimeScale
	if s.tune != nil {
		s.tune(m)
	}
	m.Logger = slog.New(slog.NewTextHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	checkFor(t, 10*time.Second, func() error {
		if code, body := get(t, m.URL()+"/readyz"); code != 200 {
			return fmt.Errorf("/readyz = %d %s", code, body)
		}
		return nil
	})
	return m
}

func (s *ctiSys) desk() cti.Desk { return s.m.sys.engine }

func ctiCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// ready logs agents in and makes them Ready, in order (the longest idle is offered first).
func (s *ctiSys) ready(logins ...string) {
	s.t.Helper()
	ctx := ctiCtx(s.t)
	for _, l := range logins {
		if err := s.desk().Login(ctx, s.ids[l]); err != nil {
			s.t.Fatalf("login %s: %v", l, err)
		}
		if err := s.desk().SetState(ctx, s.ids[l], cti.StateRequest{Ready: true}); err != nil {
			s.t.Fatalf("ready %s: %v", l, err)
		}
		// Ready, or offered a waiting call at once.
		checkFor(s.t, 10*time.Second, func() error {
			if a := s.agent(l); a.State != cti.AgentReady && a.State != cti.AgentReserved {
				return fmt.Errorf("%s is %s (%s), want ready", l, a.State, a.Reason)
			}
			return nil
		})
		// Distinct ready times, so "longest idle" has one answer.
		since := time.Now()
		checkFor(s.t, time.Second, func() error {
			if time.Since(since) < 5*time.Millisecond {
				return errors.New("same instant")
			}
			return nil
		})
	}
}

// agent returns an agent's live status.
func (s *ctiSys) agent(login string) cti.AgentStatus {
	s.t.Helper()
	snap, err := s.desk().Snapshot(ctiCtx(s.t))
	if err != nil {
		s.t.Fatal(err)
	}
	for _, a := range snap.Agents {
		if a.AgentID == s.ids[login] {
			return a
		}
	}
	s.t.Fatalf("no agent %s in the snapshot", login)
	return cti.AgentStatus{}
}

// waitAgent waits until an agent is in state (and, if reason is set, with that reason).
func (s *ctiSys) waitAgent(login string, st cti.AgentState, reason string) cti.AgentStatus {
	s.t.Helper()
	var a cti.AgentStatus
	checkFor(s.t, 10*time.Second, func() error {
		a = s.agent(login)
		if a.State != st || (reason != "" && a.Reason != reason) {
			return fmt.Errorf("%s is %s (%s), want %s (%s)", login, a.State, a.Reason, st, reason)
		}
		return nil
	})
	return a
}

// callView returns the live call with id, if any.
func (s *ctiSys) callView(id string) (cti.CallView, bool) {
	s.t.Helper()
	snap, err := s.desk().Snapshot(ctiCtx(s.t))
	if err != nil {
		s.t.Fatal(err)
	}
	for _, c := range snap.Calls {
		if c.ID == id {
			return c, true
		}
	}
	return cti.CallView{}, false
}

func (s *ctiSys) waitCall(id string, st cti.CallState) cti.CallView {
	s.t.Helper()
	var v cti.CallView
	checkFor(s.t, 10*time.Second, func() error {
		var ok bool
		v, ok = s.callView(id)
		if !ok || v.State != st {
			return fmt.Errorf("call %s is %q (live %v), want %s", id, v.State, ok, st)
		}
		return nil
	})
	return v
}

// call places an inbound call and returns the customer's channel and the interaction id.
func (s *ctiSys) call(spec arisim.CallSpec) (channel, interaction string) {
	s.t.Helper()
	ch, err := s.sim.Call(spec)
	if err != nil {
		s.t.Fatal(err)
	}
	checkFor(s.t, 10*time.Second, func() error {
		err := s.m.db.Pool.QueryRow(context.Background(),
			`select id::text from interactions where channel_id = $1 and parent_id is null`, ch).Scan(&interaction)
		if err != nil {
			return fmt.Errorf("no interaction for channel %s: %w", ch, err)
		}
		return nil
	})
	return ch, interaction
}

// channel returns a live emulated channel.
func (s *ctiSys) channel(id string) (arisim.ChannelInfo, bool) {
	for _, c := range s.sim.Channels() {
		if c.ID == id {
			return c, true
		}
	}
	return arisim.ChannelInfo{}, false
}

// ringing waits for a ringing leg whose id starts with prefix and returns its id.
func (s *ctiSys) ringing(prefix string) string {
	s.t.Helper()
	var id string
	checkFor(s.t, 10*time.Second, func() error {
		for _, c := range s.sim.Channels() {
			if strings.HasPrefix(c.ID, prefix) && c.State == "Ringing" {
				id = c.ID
				return nil
			}
		}
		return fmt.Errorf("no leg %s* ringing; channels %+v", prefix, s.sim.Channels())
	})
	return id
}

// accept waits for the agent's offer, accepts it on the Desk and, with the test's emulator, answers the phone as the
// agent's softphone does. It returns the agent's leg once the call is connected.
func (s *ctiSys) accept(login string) string {
	s.t.Helper()
	a := s.waitAgent(login, cti.AgentReserved, "")
	leg := s.ringing("sb-agent-" + a.CallID + "-")
	if err := s.desk().AcceptOffer(ctiCtx(s.t), s.ids[login]); err != nil {
		s.t.Fatalf("%s accepts: %v", login, err)
	}
	if s.m.sys.sim == nil {
		if err := s.sim.Answer(leg); err != nil {
			s.t.Fatalf("answer %s: %v", leg, err)
		}
	}
	s.waitAgent(login, cti.AgentOnCall, "")
	checkFor(s.t, 10*time.Second, func() error {
		if c, ok := s.channel(leg); !ok || !strings.HasPrefix(c.BridgeID, "sb-") {
			return fmt.Errorf("%s's leg %s (live %v) is in no bridge of ours: %q", login, leg, ok, c.BridgeID)
		}
		return nil
	})
	return leg
}

// waitBridged waits until the channels are all in the call's bridge.
func (s *ctiSys) waitBridged(callID string, channels ...string) {
	s.t.Helper()
	checkFor(s.t, 10*time.Second, func() error {
		for _, id := range channels {
			c, ok := s.channel(id)
			if !ok || c.BridgeID != "sb-"+callID {
				return fmt.Errorf("channel %s (live %v) is in bridge %q, want sb-%s", id, ok, c.BridgeID, callID)
			}
		}
		return nil
	})
}

// waitGone waits until the channels are gone from the emulator.
func (s *ctiSys) waitGone(channels ...string) {
	s.t.Helper()
	checkFor(s.t, 10*time.Second, func() error {
		for _, id := range channels {
			if c, ok := s.channel(id); ok {
				return fmt.Errorf("channel %s is still up: %+v", id, c)
			}
		}
		return nil
	})
}

// talk lets a connected call run for d.
func talk(t *testing.T, d time.Duration) {
	t.Helper()
	start := time.Now()
	checkFor(t, d+5*time.Second, func() error {
		if time.Since(start) < d {
			return errors.New("still talking")
		}
		return nil
	})
}

// storedInteraction reads the row for a wait: a row the interaction writer has not stored yet is a reason to wait, not a failure.
func (s *ctiSys) storedInteraction(id string) (*cti.Interaction, error) {
	in, err := s.store.Interaction(context.Background(), id)
	if err != nil && cti.ErrorCode(err) != cti.ENOTFOUND {
		s.t.Fatal(err)
	}
	return in, err
}

// waitEnded waits until the interaction row has its outcome (and its recording, if want is set).
func (s *ctiSys) waitEnded(id string, recording bool) *cti.Interaction {
	s.t.Helper()
	var in *cti.Interaction
	checkFor(s.t, 10*time.Second, func() (err error) {
		if in, err = s.storedInteraction(id); err != nil {
			return err
		}
		if in.Outcome == "" || in.EndedAt.IsZero() {
			return fmt.Errorf("interaction %s has not ended: %+v", id, in)
		}
		if recording && in.Recording == nil {
			return fmt.Errorf("interaction %s has no recording yet", id)
		}
		return nil
	})
	return in
}

// waitRow waits until the interaction row passes check (rows are written by effects that may still be queued).
func (s *ctiSys) waitRow(id string, check func(in *cti.Interaction) error) *cti.Interaction {
	s.t.Helper()
	var in *cti.Interaction
	checkFor(s.t, 10*time.Second, func() (err error) {
		if in, err = s.storedInteraction(id); err != nil {
			return err
		}
		return check(in)
	})
	return in
}

// checkRecording checks that the row's recording is a file in the recordings folder with the stored size and hash.
func (s *ctiSys) checkRecording(in *cti.Interaction, name string) {
	s.t.Helper()
	r := in.Recording
	if r == nil {
		s.t.Fatalf("interaction %s has no recording", in.ID)
	}
	if !strings.HasPrefix(r.File, name) {
		s.t.Errorf("recording file %q, want %s*", r.File, name)
	}
	data, err := os.ReadFile(filepath.Join(s.recDir, r.File))
	if err != nil {
		s.t.Fatalf("recording of %s: %v", in.ID, err)
	}
	sum := sha256.Sum256(data)
	if len(data) == 0 || int64(len(data)) != r.Size || hex.EncodeToString(sum[:]) != r.SHA256 {
		s.t.Errorf("recording %s: %d bytes sha256 %x; the row says %d bytes sha256 %s", r.File, len(data), sum, r.Size, r.SHA256)
	}
}

// wrapUp records a disposition and ends the agent's wrap-up.
func (s *ctiSys) wrapUp(login, callID, disposition, notes string) {
	s.t.Helper()
	s.waitAgent(login, cti.AgentWrapUp, "")
	err := s.desk().WrapUp(ctiCtx(s.t), s.ids[login], cti.WrapUpRequest{InteractionID: callID, Disposition: disposition,
		Notes: notes, Done: true})
	if err != nil {
		s.t.Fatalf("%s wraps up: %v", login, err)
	}
	s.waitAgent(login, cti.AgentReady, "")
}

// originates lists the endpoints of the originate requests a scenario sent, in order.
func originates(test string) []string {
	ctiRequests.mu.Lock()
	defer ctiRequests.mu.Unlock()
	var out []string
	for _, r := range ctiRequests.recs {
		if r.test == test && r.Operation == "channels.originate" {
			v, _ := url.ParseQuery(r.Query)
			out = append(out, v.Get("endpoint"))
		}
	}
	return out
}

// ctiRequestLog is a scenario's request log, one request a line.
func ctiRequestLog(test string) string {
	var b strings.Builder
	for _, r := range ctiRequestsSince(test, 0) {
		fmt.Fprintf(&b, "%s %s?%s → %d\n", r.Method, r.Path, r.Query, r.Status)
	}
	return b.String()
}

func requestCount(test string) int {
	ctiRequests.mu.Lock()
	defer ctiRequests.mu.Unlock()
	n := 0
	for _, r := range ctiRequests.recs {
		if r.test == test {
			n++
		}
	}
	return n
}

// TestE2ECTI runs the call scenarios in parallel, then checks every request the controllers sent against the ARI spec.
func TestE2ECTI(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	t.Run("scenario", func(t *testing.T) {
		for _, sc := range []struct {
			name string
			f    func(t *testing.T)
		}{
			{"answered", testCTIAnswered},
			{"abandoned", testCTIAbandoned},
			{"rona", testCTIRONA},
			{"overflow", testCTIOverflow},
			{"transfer", testCTITransfer},
			{"hold-conference", testCTIHoldConference},
			{"monitor", testCTIMonitor},
			{"callback", testCTICallback},
			{"restart", testCTIRestart},
			{"restart-untagged-ringing", func(t *testing.T) { testCTIRestartUntagged(t, "ringing") }},
			{"restart-untagged-answered", func(t *testing.T) { testCTIRestartUntagged(t, "answered") }},
			{"restart-untagged-gone", func(t *testing.T) { testCTIRestartUntagged(t, "gone") }},
			{"restart-ended", testCTIRestartEnded},
			{"reconnect", testCTIReconnect},
		} {
			t.Run(sc.name, func(t *testing.T) {
				t.Parallel()
				sc.f(t)
			})
		}
	})
	t.Run("conformance", testCTIConformance)
}

// 1. A known customer picks sales in the menu, agent1 accepts on the Desk (the built-in emulator's phone answers), they
// talk, the caller hangs up, agent1 wraps up: the row has it all, and the recording is in the folder.
func testCTIAnswered(t *testing.T) {
	s := startCTI(t, ctiOptions{builtin: true})
	ctx := ctiCtx(t)
	callers, err := crmstore.SampleCallers(ctx, s.m.db, 1)
	if err != nil || len(callers) != 1 {
		t.Fatalf("sample callers: %v %v", callers, err)
	}
	caller := callers[0]
	cust, err := s.store.LookupByPhone(ctx, caller.Number)
	if err != nil {
		t.Fatal(err)
	}
	s.ready("agent1")
	ch, id := s.call(arisim.CallSpec{CallerNumber: caller.Number, CallerName: caller.Name, Dialed: "200",
		DTMF: []arisim.Step{{Digits: "1", After: 200 * time.Millisecond, OnMedia: "sound:sb/main-menu"}}})
	a := s.waitAgent("agent1", cti.AgentReserved, "")
	if a.CallID != id {
		t.Fatalf("agent1 is offered %s, want %s", a.CallID, id)
	}
	v := s.waitCall(id, cti.CallRinging)
	if v.Queue != "sales" || v.CustomerID != cust.ID || v.AgentID != s.ids["agent1"] {
		t.Errorf("ringing call %+v, want queue sales, customer %s, agent1", v, cust.ID)
	}
	leg := s.accept("agent1")
	s.waitBridged(id, ch, leg)
	if v := s.waitCall(id, cti.CallConnected); v.Recording != "on" {
		t.Errorf("connected call recording %q, want on", v.Recording)
	}
	talk(t, 300*time.Millisecond)
	if err := s.sim.Hangup(ch); err != nil {
		t.Fatal(err)
	}
	s.waitGone(ch, leg)
	s.wrapUp("agent1", id, "sale", "wants the yearly plan")
	in := s.waitEnded(id, true)
	if in.Outcome != cti.OutcomeAnswered || in.Queue != "sales" || in.AgentID != s.ids["agent1"] || in.CustomerID != cust.ID {
		t.Errorf("row: outcome %s queue %s agent %s customer %s; want answered, sales, agent1, %s", in.Outcome, in.Queue,
			in.AgentID, in.CustomerID, cust.ID)
	}
	if in.CallerNumber != caller.Number || in.DialedNumber != "200" || in.ChannelID != ch || in.BridgeID != "sb-"+id {
		t.Errorf("row: caller %s dialed %s channel %s bridge %s", in.CallerNumber, in.DialedNumber, in.ChannelID, in.BridgeID)
	}
	for name, at := range map[string]time.Time{"queued": in.QueuedAt, "offered": in.OfferedAt, "answered": in.AnsweredAt, "ended": in.EndedAt} {
		if at.Before(in.ArrivedAt) {
			t.Errorf("%s_at %v before arrived_at %v", name, at, in.ArrivedAt)
		}
	}
	if !(in.QueuedAt.Compare(in.OfferedAt) <= 0 && in.OfferedAt.Compare(in.AnsweredAt) <= 0 && in.AnsweredAt.Before(in.EndedAt)) {
		t.Errorf("timestamps out of order: queued %v offered %v answered %v ended %v", in.QueuedAt, in.OfferedAt, in.AnsweredAt, in.EndedAt)
	}
	if in.Durations.Talk < 300*time.Millisecond || in.Durations.IVR <= 0 || in.Durations.Hold != 0 {
		t.Errorf("durations %+v: want talk ≥ 300ms, ivr > 0, no hold", in.Durations)
	}
	s.waitRow(id, func(in *cti.Interaction) error {
		if in.Disposition != "sale" || in.Notes != "wants the yearly plan" {
			return fmt.Errorf("disposition %q notes %q", in.Disposition, in.Notes)
		}
		return nil
	})
	if !slices.ContainsFunc(in.IVRPath, func(st cti.IVRStep) bool { return st.Node == "menu/menu" && st.Input == "1" }) {
		t.Errorf("ivr path %+v lacks menu/menu = 1", in.IVRPath)
	}
	if in.ScriptID == "" {
		t.Error("the row does not say which script the agent saw")
	}
	s.checkRecording(in, "interaction-"+id)
}

// 2. Nobody is ready; the caller hangs up while waiting: abandoned, with the wait, no agent, no answer.
func testCTIAbandoned(t *testing.T) {
	s := startCTI(t, ctiOptions{})
	ch, id := s.call(arisim.CallSpec{CallerNumber: "+8613900000099", Dialed: "201"})
	s.waitCall(id, cti.CallQueued)
	checkFor(t, 10*time.Second, func() error {
		if c, ok := s.channel(ch); !ok || c.BridgeID != "sb-"+id {
			return fmt.Errorf("caller %+v not waiting in the bridge", c)
		}
		return nil
	})
	talk(t, 200*time.Millisecond)
	if err := s.sim.Hangup(ch); err != nil {
		t.Fatal(err)
	}
	in := s.waitEnded(id, false)
	if in.Outcome != cti.OutcomeAbandoned || in.Queue != "general" || in.AgentID != "" || !in.AnsweredAt.IsZero() {
		t.Errorf("row: outcome %s queue %s agent %q answered %v; want abandoned in general, nobody", in.Outcome, in.Queue, in.AgentID, in.AnsweredAt)
	}
	if in.Durations.Wait < 200*time.Millisecond || in.Durations.Talk != 0 || in.Recording != nil {
		t.Errorf("durations %+v recording %+v: want a wait ≥ 200ms, no talk, no recording", in.Durations, in.Recording)
	}
	if in.CustomerID != "" {
		t.Errorf("an unknown caller was matched to customer %s", in.CustomerID)
	}
	checkFor(t, 10*time.Second, func() error {
		if len(s.sim.Channels()) != 0 {
			return fmt.Errorf("channels left: %+v", s.sim.Channels())
		}
		return nil
	})
	if _, live := s.callView(id); live {
		t.Error("the abandoned call is still live")
	}
}

// 3. agent1's phone rings out (no one accepts); after the ring timeout agent1 is NotReady("missed") and agent2 gets the call.
func testCTIRONA(t *testing.T) {
	s := startCTI(t, ctiOptions{prep: func(ctx context.Context, st *crmstore.Store) error {
		q := ctiQueues()[0] // general
		q.RingTimeout = 20 * time.Second
		return st.PutQueue(ctx, q)
	}})
	s.ready("agent1", "agent2")
	ch, id := s.call(arisim.CallSpec{CallerNumber: "+8613900000098", Dialed: "201"})
	a1 := s.waitAgent("agent1", cti.AgentReserved, "")
	if a1.CallID != id {
		t.Fatalf("agent1 offered %q, want %s", a1.CallID, id)
	}
	leg1 := s.ringing("sb-agent-" + id + "-")
	s.waitAgent("agent1", cti.AgentNotReady, "missed")
	s.waitGone(leg1)
	leg2 := s.accept("agent2")
	if leg2 == leg1 {
		t.Fatal("agent2 got agent1's leg")
	}
	s.waitBridged(id, ch, leg2)
	if err := s.sim.Hangup(ch); err != nil {
		t.Fatal(err)
	}
	s.wrapUp("agent2", id, "resolved", "")
	in := s.waitEnded(id, true)
	if in.Outcome != cti.OutcomeAnswered || in.AgentID != s.ids["agent2"] {
		t.Errorf("row: outcome %s agent %s, want answered by agent2", in.Outcome, in.AgentID)
	}
	if got, want := originates(s.key), []string{"PJSIP/1001", "PJSIP/1002"}; !slices.Equal(got, want) {
		t.Errorf("originates %v, want %v", got, want)
	}
	if a := s.agent("agent1"); a.State != cti.AgentNotReady || a.Reason != "missed" {
		t.Errorf("agent1 after the call: %s (%s), want not-ready (missed)", a.State, a.Reason)
	}
	s.checkRecording(in, "interaction-"+id)
}

// 4. A queue's max wait: a sales call with no sales agent overflows to general, where agent2 takes it; a support call overflows
// to voicemail and leaves a message.
func testCTIOverflow(t *testing.T) {
	s := startCTI(t, ctiOptions{prep: func(ctx context.Context, st *crmstore.Store) error {
		qs := ctiQueues()
		qs[1].MaxWait = 2 * time.Second // sales → general
		// support → voicemail: an escalation step (a queue's own overflow must name a queue).
		qs[2].Escalation = json.RawMessage(`[{"after":"0s","any":true},{"after":"2s","overflow":"voicemail"}]`)
		for _, q := range qs[1:3] {
			if err := st.PutQueue(ctx, q); err != nil {
				return err
			}
		}
		a, err := st.AgentByLogin(ctx, "agent2")
		if err != nil {
			return err
		}
		a.Queues = []string{"general"}
		return st.PutAgent(ctx, a, "")
	}})
	s.ready("agent2")

	ch, id := s.call(arisim.CallSpec{CallerNumber: "+8613900000097", Dialed: "202"})
	if v := s.waitCall(id, cti.CallQueued); v.Queue != "sales" {
		t.Fatalf("queued in %s, want sales", v.Queue)
	}
	if a := s.agent("agent2"); a.State != cti.AgentReady {
		t.Fatalf("agent2 (not in sales) is %s", a.State)
	}
	leg := s.accept("agent2")
	if v, _ := s.callView(id); v.Queue != "general" {
		t.Errorf("call answered in %s, want general", v.Queue)
	}
	s.waitBridged(id, ch, leg)
	s.sim.Hangup(ch)
	s.wrapUp("agent2", id, "resolved", "")
	in := s.waitEnded(id, true)
	if in.Outcome != cti.OutcomeAnswered || in.Queue != "general" || in.AgentID != s.ids["agent2"] || in.Durations.Wait < 2*time.Second {
		t.Errorf("overflowed row: outcome %s queue %s agent %s wait %v; want answered in general by agent2 after ≥ 2s",
			in.Outcome, in.Queue, in.AgentID, in.Durations.Wait)
	}

	ch, id = s.call(arisim.CallSpec{CallerNumber: "+8613900000096", Dialed: "203"})
	checkFor(t, 10*time.Second, func() error {
		if !slices.Contains(ctiRecordRequests(s.key), "vm-"+id) {
			return errors.New("no voicemail recording yet")
		}
		return nil
	})
	talk(t, 200*time.Millisecond)
	s.sim.Hangup(ch)
	in = s.waitEnded(id, true)
	if in.Outcome != cti.OutcomeVoicemail || in.Queue != "support" || in.AgentID != "" {
		t.Errorf("voicemail row: outcome %s queue %s agent %q; want voicemail from support", in.Outcome, in.Queue, in.AgentID)
	}
	s.checkRecording(in, "vm-"+id)
}

// ctiRecordRequests lists the names of bridge recordings a scenario started successfully.
func ctiRecordRequests(test string) []string {
	ctiRequests.mu.Lock()
	defer ctiRequests.mu.Unlock()
	var out []string
	for _, r := range ctiRequests.recs {
		if r.test == test && r.Operation == "bridges.record" && r.Status < 300 {
			v, _ := url.ParseQuery(r.Query)
			out = append(out, v.Get("name"))
		}
	}
	return out
}

// 5. Transfers: blind to a queue (a child interaction in support answered by agent2), consult to agent2 completed (agent2
// stays with the customer) and consult cancelled (agent1 is back with the customer).
func testCTITransfer(t *testing.T) {
	s := startCTI(t, ctiOptions{})
	ctx := ctiCtx(t)

	t.Log("blind transfer to the support queue")
	s.ready("agent1")
	ch, id := s.call(arisim.CallSpec{CallerNumber: "+8613900000095", Dialed: "201"})
	leg1 := s.accept("agent1")
	talk(t, 100*time.Millisecond)
	s.ready("agent2")
	if err := s.desk().Transfer(ctx, s.ids["agent1"], cti.TransferRequest{Kind: cti.TransferBlind, Queue: "support"}); err != nil {
		t.Fatal(err)
	}
	s.waitGone(leg1)
	leg2 := s.accept("agent2")
	child := s.agent("agent2").CallID
	if child == id || child == "" {
		t.Fatalf("agent2's call %q: want a new interaction", child)
	}
	s.waitBridged(id, ch, leg2) // the customer keeps the bridge, named after the first interaction
	s.wrapUp("agent1", id, "resolved", "sent to support")
	parent := s.waitEnded(id, true)
	if parent.Outcome != cti.OutcomeAnswered || parent.AgentID != s.ids["agent1"] || parent.Queue != "general" {
		t.Errorf("parent row: outcome %s agent %s queue %s", parent.Outcome, parent.AgentID, parent.Queue)
	}
	s.sim.Hangup(ch)
	s.wrapUp("agent2", child, "fixed", "")
	in := s.waitEnded(child, false)
	if in.ParentID != id || in.Queue != "support" || in.AgentID != s.ids["agent2"] || in.Outcome != cti.OutcomeAnswered || in.Durations.Talk <= 0 {
		t.Errorf("child row: parent %s queue %s agent %s outcome %s talk %v; want parent %s, support, agent2, answered",
			in.ParentID, in.Queue, in.AgentID, in.Outcome, in.Durations.Talk, id)
	}

	t.Log("consult agent2, then complete")
	ch, id = s.call(arisim.CallSpec{CallerNumber: "+8613900000094", Dialed: "201"})
	leg1 = s.accept("agent1") // agent1 was ready longest
	if err := s.desk().Transfer(ctx, s.ids["agent1"], cti.TransferRequest{Kind: cti.TransferConsult, AgentID: s.ids["agent2"]}); err != nil {
		t.Fatal(err)
	}
	xfer := s.ringing("sb-xfer-" + id + "-")
	if v := s.waitCall(id, cti.CallConsulting); v.AgentID != s.ids["agent1"] {
		t.Errorf("consulting call agent %s", v.AgentID)
	}
	s.waitAgent("agent2", cti.AgentNotReady, "transfer")
	if err := s.sim.Answer(xfer); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 10*time.Second, func() error {
		a, _ := s.channel(leg1)
		x, _ := s.channel(xfer)
		c, _ := s.channel(ch)
		if a.BridgeID != "sb-"+id+"-consult" || x.BridgeID != "sb-"+id+"-consult" || c.BridgeID != "sb-"+id {
			return fmt.Errorf("consult: agent in %q, target in %q, customer in %q", a.BridgeID, x.BridgeID, c.BridgeID)
		}
		return nil
	})
	if err := s.desk().CompleteTransfer(ctx, s.ids["agent1"]); err != nil {
		t.Fatal(err)
	}
	s.waitGone(leg1)
	s.waitBridged(id, ch, xfer)
	s.wrapUp("agent1", id, "resolved", "")
	talk(t, 100*time.Millisecond)
	s.sim.Hangup(ch)
	s.waitGone(xfer)
	in = s.waitEnded(id, true)
	if in.Outcome != cti.OutcomeAnswered || in.AgentID != s.ids["agent2"] {
		t.Errorf("completed consult row: outcome %s agent %s; want answered, agent2", in.Outcome, in.AgentID)
	}
	s.checkRecording(in, "interaction-"+id)

	t.Log("consult agent2, then cancel")
	s.waitAgent("agent2", cti.AgentReady, "")
	ch, id = s.call(arisim.CallSpec{CallerNumber: "+8613900000093", Dialed: "201"})
	leg1 = s.accept("agent1")
	if err := s.desk().Transfer(ctx, s.ids["agent1"], cti.TransferRequest{Kind: cti.TransferConsult, AgentID: s.ids["agent2"]}); err != nil {
		t.Fatal(err)
	}
	xfer = s.ringing("sb-xfer-" + id + "-")
	s.sim.Answer(xfer)
	checkFor(t, 10*time.Second, func() error {
		if x, _ := s.channel(xfer); x.BridgeID != "sb-"+id+"-consult" {
			return fmt.Errorf("target in %q", x.BridgeID)
		}
		return nil
	})
	if err := s.desk().CancelTransfer(ctx, s.ids["agent1"]); err != nil {
		t.Fatal(err)
	}
	s.waitGone(xfer)
	s.waitBridged(id, ch, leg1)
	s.waitCall(id, cti.CallConnected)
	s.waitAgent("agent2", cti.AgentReady, "")
	s.sim.Hangup(ch)
	s.wrapUp("agent1", id, "resolved", "")
	in = s.waitEnded(id, true)
	if in.Outcome != cti.OutcomeAnswered || in.AgentID != s.ids["agent1"] {
		t.Errorf("cancelled consult row: outcome %s agent %s; want answered, agent1", in.Outcome, in.AgentID)
	}
}

// 6. Hold and resume (the hold time is on the row, not counted as talk), then a conference with agent2.
func testCTIHoldConference(t *testing.T) {
	s := startCTI(t, ctiOptions{})
	ctx := ctiCtx(t)
	s.ready("agent1", "agent2")
	ch, id := s.call(arisim.CallSpec{CallerNumber: "+8613900000092", Dialed: "201"})
	leg1 := s.accept("agent1")
	if err := s.desk().Hold(ctx, s.ids["agent1"], true); err != nil {
		t.Fatal(err)
	}
	s.waitCall(id, cti.CallHeld)
	talk(t, 300*time.Millisecond)
	if err := s.desk().Hold(ctx, s.ids["agent1"], false); err != nil {
		t.Fatal(err)
	}
	s.waitCall(id, cti.CallConnected)
	s.waitBridged(id, ch, leg1)

	if err := s.desk().Transfer(ctx, s.ids["agent1"], cti.TransferRequest{Kind: cti.TransferConsult, AgentID: s.ids["agent2"]}); err != nil {
		t.Fatal(err)
	}
	xfer := s.ringing("sb-xfer-" + id + "-")
	s.sim.Answer(xfer)
	checkFor(t, 10*time.Second, func() error {
		if x, _ := s.channel(xfer); x.BridgeID != "sb-"+id+"-consult" {
			return fmt.Errorf("target in %q", x.BridgeID)
		}
		return nil
	})
	if err := s.desk().Conference(ctx, s.ids["agent1"]); err != nil {
		t.Fatal(err)
	}
	s.waitCall(id, cti.CallConference)
	s.waitBridged(id, ch, leg1, xfer)
	talk(t, 100*time.Millisecond)
	s.sim.Hangup(ch)
	s.waitGone(ch, leg1, xfer)
	s.wrapUp("agent1", id, "resolved", "")
	in := s.waitEnded(id, true)
	if in.Outcome != cti.OutcomeAnswered || in.AgentID != s.ids["agent1"] {
		t.Errorf("row: outcome %s agent %s", in.Outcome, in.AgentID)
	}
	if in.Durations.Hold < 300*time.Millisecond || in.Durations.Talk <= 0 {
		t.Errorf("durations %+v: want hold ≥ 300ms and talk > 0", in.Durations)
	}
	total := in.EndedAt.Sub(in.AnsweredAt)
	if d := total - in.Durations.Talk - in.Durations.Hold; d < -5*time.Millisecond || d > 5*time.Millisecond {
		t.Errorf("talk %v + hold %v ≠ answered→ended %v", in.Durations.Talk, in.Durations.Hold, total)
	}
	s.checkRecording(in, "interaction-"+id)
	s.waitAgent("agent2", cti.AgentReady, "")
}

// 7. The supervisor listens (a snoop on the agent's leg and the supervisor's phone in a monitor bridge), stops, then barges
// into the call's bridge; each is audited.
func testCTIMonitor(t *testing.T) {
	s := startCTI(t, ctiOptions{prep: func(ctx context.Context, st *crmstore.Store) error {
		a, err := st.AgentByLogin(ctx, "supervisor")
		if err != nil {
			return err
		}
		a.Endpoint = "PJSIP/1004"
		return st.PutAgent(ctx, a, "")
	}})
	if err := s.sim.SetEndpoint("PJSIP/1004", arisim.Behaviour{Registered: true, AnswerAfter: time.Second}); err != nil {
		t.Fatal(err)
	}
	ctx := ctiCtx(t)
	s.ready("agent1")
	ch, id := s.call(arisim.CallSpec{CallerNumber: "+8613900000091", Dialed: "201"})
	leg := s.accept("agent1")
	sup := s.ids["supervisor"]

	if err := s.desk().Monitor(ctx, sup, s.ids["agent1"], cti.MonitorListen); err != nil {
		t.Fatal(err)
	}
	var supLeg, snoop, monBridge string
	checkFor(t, 10*time.Second, func() error {
		supLeg, snoop, monBridge = "", "", ""
		for _, c := range s.sim.Channels() {
			switch {
			case strings.HasPrefix(c.ID, "sb-sup-"+id+"-"):
				supLeg, monBridge = c.ID, c.BridgeID
			case strings.HasPrefix(c.ID, "sb-snoop-"+id+"-"):
				snoop = c.ID
				if !strings.HasPrefix(c.BridgeID, "sb-"+id+"-mon-") {
					return fmt.Errorf("snoop %s in bridge %q", c.ID, c.BridgeID)
				}
			}
		}
		if supLeg == "" || snoop == "" || !strings.HasPrefix(monBridge, "sb-"+id+"-mon-") {
			return fmt.Errorf("listen: supervisor %q in %q, snoop %q; channels %+v", supLeg, monBridge, snoop, s.sim.Channels())
		}
		if sn, _ := s.channel(snoop); sn.BridgeID != monBridge {
			return fmt.Errorf("snoop in %q, supervisor in %q", sn.BridgeID, monBridge)
		}
		return nil
	})
	if v, _ := s.callView(id); len(v.Monitors) != 1 || v.Monitors[0].SupervisorID != sup || v.Monitors[0].Mode != cti.MonitorListen {
		t.Errorf("call monitors %+v", v.Monitors)
	}
	s.waitBridged(id, ch, leg) // the conversation goes on
	if err := s.desk().Monitor(ctx, sup, s.ids["agent1"], cti.MonitorStop); err != nil {
		t.Fatal(err)
	}
	s.waitGone(supLeg, snoop)

	if err := s.desk().Monitor(ctx, sup, s.ids["agent1"], cti.MonitorBarge); err != nil {
		t.Fatal(err)
	}
	barge := s.ringingOrUp("sb-sup-" + id + "-")
	s.waitBridged(id, ch, leg, barge)
	s.sim.Hangup(ch)
	s.waitGone(ch, leg, barge)
	s.wrapUp("agent1", id, "resolved", "")
	s.waitEnded(id, true)

	entries, err := s.store.AuditLog(ctx, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		if e.Target == id {
			if e.Actor != "supervisor" {
				t.Errorf("audit entry %s by %q, want supervisor", e.Action, e.Actor)
			}
			got = append(got, e.Action)
		}
	}
	slices.Sort(got)
	if want := []string{"call.barge", "call.listen", "call.monitor.stop"}; !slices.Equal(got, want) {
		t.Errorf("audit of call %s: %v, want %v", id, got, want)
	}
}

// ringingOrUp waits for a leg whose id starts with prefix, in any state.
func (s *ctiSys) ringingOrUp(prefix string) string {
	s.t.Helper()
	var id string
	checkFor(s.t, 10*time.Second, func() error {
		for _, c := range s.sim.Channels() {
			if strings.HasPrefix(c.ID, prefix) {
				id = c.ID
				return nil
			}
		}
		return fmt.Errorf("no leg %s*", prefix)
	})
	return id
}

// 8. The caller asks for a callback in the menu and hangs up; when agent1 is free, agent1's phone rings first and then the
// customer's number through the trunk; the two talk, recorded.
func testCTICallback(t *testing.T) {
	s := startCTI(t, ctiOptions{})
	const number = "+8613900000090"
	trunk := "PJSIP/" + number + "@trunk"
	if err := s.sim.SetEndpoint(trunk, arisim.Behaviour{Registered: true, NoAnswer: true}); err != nil {
		t.Fatal(err)
	}
	ch, id := s.call(arisim.CallSpec{CallerNumber: number, Dialed: "200",
		DTMF: []arisim.Step{{Digits: "3", After: 200 * time.Millisecond, OnMedia: "sound:sb/main-menu"}}})
	s.waitGone(ch) // the engine hangs the caller up, keeping the place in line
	if v := s.waitCall(id, cti.CallQueued); v.Queue != "general" {
		t.Errorf("callback waits in %q, want general", v.Queue)
	}
	if got := originates(s.key); len(got) != 0 {
		t.Fatalf("originates before any agent is ready: %v", got)
	}
	s.ready("agent1")
	agentLeg := s.accept2("agent1", id)
	cust := s.ringing("sb-cust-" + id + "-")
	if got, want := originates(s.key), []string{"PJSIP/1001", trunk}; !slices.Equal(got, want) {
		t.Errorf("originates %v, want %v (the agent first, then the customer)", got, want)
	}
	if err := s.sim.Answer(cust); err != nil {
		t.Fatal(err)
	}
	s.waitBridged(id, agentLeg, cust)
	s.waitCall(id, cti.CallConnected)
	talk(t, 200*time.Millisecond)
	s.sim.Hangup(cust)
	s.waitGone(agentLeg, cust)
	s.wrapUp("agent1", id, "resolved", "called back")
	in := s.waitEnded(id, true)
	if in.Outcome != cti.OutcomeAnswered || in.AgentID != s.ids["agent1"] || in.Durations.Talk < 200*time.Millisecond {
		t.Errorf("row: outcome %s agent %s talk %v; want answered by agent1", in.Outcome, in.AgentID, in.Durations.Talk)
	}
	s.checkRecording(in, "interaction-"+id)
}

// accept2 accepts a callback offer: the agent's phone rings (an "outbound" leg), the agent accepts and answers, and the
// engine then dials the customer. It returns the agent's leg once it is in the call's bridge.
func (s *ctiSys) accept2(login, callID string) string {
	s.t.Helper()
	s.waitAgent(login, cti.AgentReserved, "")
	leg := s.ringing("sb-agent-" + callID + "-")
	if err := s.desk().AcceptOffer(ctiCtx(s.t), s.ids[login]); err != nil {
		s.t.Fatalf("%s accepts: %v", login, err)
	}
	if err := s.sim.Answer(leg); err != nil {
		s.t.Fatal(err)
	}
	s.waitBridged(callID, leg)
	return leg
}

// 9. Main A is stopped abruptly with one call connected and one waiting; Main B on the same database and PBX adopts both:
// the connected call stays bridged with no second originate to agent1, the waiting caller is offered next, and both rows end.
func testCTIRestart(t *testing.T) {
	s := startCTI(t, ctiOptions{})
	ctx := ctiCtx(t)
	s.ready("agent1")
	ch1, id1 := s.call(arisim.CallSpec{CallerNumber: "+8613900000089", Dialed: "201"})
	leg1 := s.accept("agent1")
	ch2, id2 := s.call(arisim.CallSpec{CallerNumber: "+8613900000088", Dialed: "201"})
	s.waitCall(id2, cti.CallQueued)
	s.waitBridged(id2, ch2)
	// The controller stops while the waiting caller's position announcement still plays: the restarted engine must not reuse
	// its playback id. Wait until it was asked for, so no effect is in flight when Close is called.
	checkFor(t, 5*time.Second, func() error {
		for _, r := range ctiRequestsSince(s.key, 0) {
			if r.Operation == "channels.play" && strings.Contains(r.Query, "playbackId=sb-"+id2+"-p") {
				return nil
			}
		}
		return fmt.Errorf("no announcement for the waiting caller yet")
	})

	before := requestCount(s.key)
	if err := s.m.Close(); err != nil {
		t.Fatal(err)
	}
	if got := ctiRequestsSince(s.key, before); len(got) != 0 {
		t.Errorf("Main.Close sent requests to the PBX: %v", got)
	}
	s.waitBridged(id1, ch1, leg1)
	s.waitBridged(id2, ch2)

	atRestart := requestCount(s.key)
	s.m = s.runMain()
	s.store = s.m.sys.store
	s.waitCall(id1, cti.CallConnected)
	if a := s.waitAgent("agent1", cti.AgentOnCall, ""); a.CallID != id1 {
		t.Errorf("agent1 after the restart is on %q, want %s", a.CallID, id1)
	}
	if v := s.waitCall(id2, cti.CallQueued); v.Queue != "general" {
		t.Errorf("waiting call in %q after the restart", v.Queue)
	}
	s.waitBridged(id1, ch1, leg1)
	for _, r := range ctiRequestsSince(s.key, atRestart) {
		if r.Operation == "channels.originate" || r.Operation == "channels.hangup" {
			t.Errorf("after the restart: %s %s?%s", r.Method, r.Path, r.Query)
		}
	}

	s.ready("agent2")
	leg2 := s.accept("agent2")
	s.waitBridged(id2, ch2, leg2)
	if got, want := originates(s.key), []string{"PJSIP/1001", "PJSIP/1002"}; !slices.Equal(got, want) {
		t.Errorf("originates %v, want %v", got, want)
	}
	s.sim.Hangup(ch1)
	s.sim.Hangup(ch2)
	s.wrapUp("agent1", id1, "resolved", "across a restart")
	s.wrapUp("agent2", id2, "resolved", "")
	in1, in2 := s.waitEnded(id1, true), s.waitEnded(id2, true)
	if in1.Outcome != cti.OutcomeAnswered || in1.AgentID != s.ids["agent1"] || in1.Durations.Talk <= 0 {
		t.Errorf("connected call's row: outcome %s agent %s talk %v", in1.Outcome, in1.AgentID, in1.Durations.Talk)
	}
	s.waitRow(id1, func(in *cti.Interaction) error {
		if in.Notes != "across a restart" {
			return fmt.Errorf("notes %q", in.Notes)
		}
		return nil
	})
	if in2.Outcome != cti.OutcomeAnswered || in2.AgentID != s.ids["agent2"] || in2.Durations.Wait <= 0 {
		t.Errorf("waiting call's row: outcome %s agent %s wait %v", in2.Outcome, in2.AgentID, in2.Durations.Wait)
	}
	s.checkRecording(in1, "interaction-"+id1)
	s.checkRecording(in2, "interaction-"+id2)
	_ = ctx
}

// 9b. Main A stops between the agent's originate and the caller's tags (which go right after it): the caller is left
// untagged, unanswered, and named only by agent1's leg. Main B rebuilds the call from the leg — same interaction, the caller
// answered, tagged and bridged, no second originate — whether the leg still rings (agent1 is offered it again and accepts)
// or was answered meanwhile (bridged at once). If the leg is gone, the call's open row names it: the same call goes on, in
// its place in line, and is offered again.
func testCTIRestartUntagged(t *testing.T, legState string) {
	var cut *ariCut
	var direct string
	s := startCTI(t, ctiOptions{
		prep: func(ctx context.Context, st *crmstore.Store) error {
			q := ctiQueues()[0] // general: the leg rings 30 s of real time, past the restart
			q.RingTimeout = 10 * time.Minute
			return st.PutQueue(ctx, q)
		},
		ariURL: func(u string) string {
			direct = u
			cut = newARICut(t, u, func(r *http.Request) bool { // the caller's tags
				rest, ok := strings.CutPrefix(r.URL.Path, "/ari/channels/")
				return ok && r.Method == http.MethodPost && !strings.HasPrefix(rest, "sb-") &&
					(strings.HasSuffix(rest, "/variable") || strings.HasSuffix(rest, "/variables"))
			})
			return cut.URL()
		}})
	s.ready("agent1")
	ch, id := s.call(arisim.CallSpec{CallerNumber: "+8613900000077", Dialed: "201"})
	select {
	case <-cut.held:
	case <-time.After(10 * time.Second):
		t.Fatal("the caller's tags were never sent")
	}
	leg := "sb-agent-" + id + "-1"
	if c, ok := s.channel(leg); !ok || c.State != "Ringing" {
		t.Fatalf("agent1's leg %s when the caller's tags go: %+v (live %v), want it ringing", leg, c, ok)
	}
	if legState == "ringing" && !appLists(t, direct, leg) {
		// Asterisk subscribes the application to a channel it originates (the app gets its Dial and ChannelStateChange
		// events before StasisStart), so the ringing leg is among the application's channels, where the restarted
		// controller finds it.
		t.Fatalf("the emulator does not list the ringing leg %s among the application's channels", leg)
	}
	if legState == "answered" {
		// agent1 answers before the crash: Main A takes the StasisStart, but its bridge request waits behind the tags.
		if err := s.desk().AcceptOffer(ctiCtx(t), s.ids["agent1"]); err != nil {
			t.Fatal(err)
		}
		if err := s.sim.Answer(leg); err != nil {
			t.Fatal(err)
		}
		s.waitAgent("agent1", cti.AgentOnCall, "")
	}
	cut.Cut()
	if err := s.m.Close(); err != nil {
		t.Fatal(err)
	}
	for _, r := range ctiRequestsSince(s.key, 0) {
		if strings.HasPrefix(r.Path, "/channels/"+ch+"/") {
			t.Fatalf("a request on the caller's channel reached the PBX before the crash: %s %s", r.Method, r.Path)
		}
	}
	switch legState {
	case "gone":
		if err := s.sim.Hangup(leg); err != nil {
			t.Fatal(err)
		}
		s.waitGone(leg)
	}

	atRestart := requestCount(s.key)
	s.ariURL = direct
	s.m = s.runMain()
	s.store = s.m.sys.store
	switch legState {
	case "ringing":
		if a := s.waitAgent("agent1", cti.AgentReserved, ""); a.CallID != id {
			t.Fatalf("agent1 after the restart is offered %q, want %s", a.CallID, id)
		}
		s.accept2("agent1", id)
	case "answered":
		if a := s.waitAgent("agent1", cti.AgentOnCall, ""); a.CallID != id {
			t.Fatalf("agent1 after the restart is on %q, want %s", a.CallID, id)
		}
	case "gone":
		if v := s.waitCall(id, cti.CallQueued); v.Queue != "general" {
			t.Errorf("the resumed call waits in %q", v.Queue)
		}
		s.ready("agent1") // nothing of ours on the PBX names agent1 any more: logged out as after any restart
		if a := s.waitAgent("agent1", cti.AgentReserved, ""); a.CallID != id {
			t.Fatalf("agent1 after the restart is offered %q, want the resumed call %s", a.CallID, id)
		}
		leg = s.accept2("agent1", id)
	}
	s.waitBridged(id, ch, leg)
	tagged := false
	for _, r := range ctiRequestsSince(s.key, atRestart) {
		if r.Operation == "channels.originate" && legState != "gone" {
			t.Errorf("after the restart: %s %s?%s", r.Method, r.Path, r.Query)
		}
		if strings.HasPrefix(r.Path, "/channels/"+ch+"/variable") && strings.Contains(r.Query+string(r.Body), id) {
			tagged = true
		}
	}
	if !tagged {
		t.Errorf("the caller's channel was not tagged with %s after the restart", id)
	}
	s.sim.Hangup(ch)
	s.wrapUp("agent1", id, "resolved", "")
	in := s.waitEnded(id, true)
	if in.Outcome != cti.OutcomeAnswered || in.AgentID != s.ids["agent1"] || in.ChannelID != ch || in.Queue != "general" {
		t.Errorf("the call's row: %+v", in)
	}
	s.checkRecording(in, "interaction-"+id)
	var rows int
	if err := s.m.db.Pool.QueryRow(context.Background(),
		`select count(*) from interactions where channel_id = $1 and parent_id is null`, ch).Scan(&rows); err != nil {
		t.Fatal(err)
	}
	if rows != 1 {
		t.Errorf("%d interactions for the caller's channel, want 1", rows)
	}
}

// 9c. Calls that end while no controller runs: Main A stops with one caller talking to agent1, one waiting and one more
// waiting; the first two hang up before Main B starts. Main B finishes their rows — answered and abandoned, ended when it
// found out, with their talk and wait — hangs up agent1's leg, and keeps the caller still on the line as a live call.
func testCTIRestartEnded(t *testing.T) {
	s := startCTI(t, ctiOptions{})
	s.ready("agent1")
	ch1, id1 := s.call(arisim.CallSpec{CallerNumber: "+8613900000066", Dialed: "201"})
	leg1 := s.accept("agent1")
	ch2, id2 := s.call(arisim.CallSpec{CallerNumber: "+8613900000065", Dialed: "201"})
	ch3, id3 := s.call(arisim.CallSpec{CallerNumber: "+8613900000064", Dialed: "201"})
	for _, id := range []string{id2, id3} {
		s.waitCall(id, cti.CallQueued)
		s.waitRow(id, func(in *cti.Interaction) error {
			if in.QueuedAt.IsZero() {
				return fmt.Errorf("interaction %s not queued yet", id)
			}
			return nil
		})
	}
	s.waitRow(id1, func(in *cti.Interaction) error {
		if in.AnsweredAt.IsZero() {
			return fmt.Errorf("interaction %s not answered yet", id1)
		}
		return nil
	})
	if err := s.m.Close(); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []string{ch1, ch2} {
		if err := s.sim.Hangup(ch); err != nil {
			t.Fatal(err)
		}
	}
	s.waitGone(ch1, ch2)

	restart := time.Now()
	s.m = s.runMain()
	s.store = s.m.sys.store
	in1, in2 := s.waitEnded(id1, false), s.waitEnded(id2, false)
	if in1.Outcome != cti.OutcomeAnswered || in1.AgentID != s.ids["agent1"] || in1.Durations.Talk <= 0 ||
		in1.EndedAt.Before(restart.Truncate(time.Millisecond)) {
		t.Errorf("the talking caller's row: outcome %s agent %s talk %v ended %v (restart %v)", in1.Outcome, in1.AgentID,
			in1.Durations.Talk, in1.EndedAt, restart)
	}
	if in2.Outcome != cti.OutcomeAbandoned || !in2.AnsweredAt.IsZero() || in2.Durations.Wait <= 0 ||
		in2.EndedAt.Before(restart.Truncate(time.Millisecond)) {
		t.Errorf("the waiting caller's row: outcome %s wait %v ended %v (restart %v)", in2.Outcome, in2.Durations.Wait,
			in2.EndedAt, restart)
	}
	s.waitGone(leg1)
	if v := s.waitCall(id3, cti.CallQueued); v.Queue != "general" {
		t.Errorf("the caller still on the line waits in %q", v.Queue)
	}
	if in, err := s.storedInteraction(id3); err != nil || !in.EndedAt.IsZero() {
		t.Errorf("the live caller's row after the restart: %+v %v", in, err)
	}
	s.ready("agent1")
	leg3 := s.accept("agent1")
	s.waitBridged(id3, ch3, leg3)
	s.sim.Hangup(ch3)
	s.wrapUp("agent1", id3, "resolved", "")
	if in := s.waitEnded(id3, true); in.Outcome != cti.OutcomeAnswered || in.AgentID != s.ids["agent1"] {
		t.Errorf("the live caller's row: %+v", in)
	}
}

// appLists reports whether the emulator at ariURL lists channel among the contact-center application's channels.
func appLists(t *testing.T, ariURL, channel string) bool {
	t.Helper()
	res, err := http.Get(ariURL + "/applications/contact-center?api_key=" + url.QueryEscape(ctiARIUser+":"+ctiARIPassword))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var app struct {
		ChannelIDs []string `json:"channel_ids"`
	}
	if err := json.NewDecoder(res.Body).Decode(&app); err != nil {
		t.Fatalf("GET /applications/contact-center: %d %v", res.StatusCode, err)
	}
	return slices.Contains(app.ChannelIDs, channel)
}

// ariCut is a reverse proxy between a controller and its emulator standing for the controller's crash at a chosen request:
// that request is held (its call's requests wait behind it) until Cut, after which it and every later request get 503
// without reaching the emulator and the events websocket drops.
type ariCut struct {
	srv      *httptest.Server
	held     chan struct{} // closed when the request to hold arrived
	cut      chan struct{} // closed by Cut
	heldOnce sync.Once
	cutOnce  sync.Once
	mu       sync.Mutex
	conns    []net.Conn // to the emulator
}

func newARICut(t *testing.T, target string, hold func(*http.Request) bool) *ariCut {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &ariCut{held: make(chan struct{}), cut: make(chan struct{})}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
	rp.Transport = &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		select {
		case <-p.cut:
			c.Close()
			return nil, errors.New("cut")
		default:
		}
		p.conns = append(p.conns, c)
		return c, nil
	}}
	cut := func() bool {
		select {
		case <-p.cut:
			return true
		default:
			return false
		}
	}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !cut() && hold(r) {
			p.heldOnce.Do(func() { close(p.held) })
			<-p.cut
		}
		if cut() {
			http.Error(w, "the controller crashed", http.StatusServiceUnavailable)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		p.Cut()
		p.srv.Close()
	})
	return p
}

func (p *ariCut) URL() string { return p.srv.URL + "/ari" }

// Cut stops all traffic to the emulator for good.
func (p *ariCut) Cut() {
	p.cutOnce.Do(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		close(p.cut)
		for _, c := range p.conns {
			c.Close()
		}
	})
}

func ctiRequestsSince(test string, n int) []ctiRequest {
	ctiRequests.mu.Lock()
	defer ctiRequests.mu.Unlock()
	var out []ctiRequest
	i := 0
	for _, r := range ctiRequests.recs {
		if r.test != test {
			continue
		}
		if i >= n {
			out = append(out, r)
		}
		i++
	}
	return out
}

// 10. The events websocket drops in the middle of a call: /readyz says 503, the adapter reconnects, /readyz is 200 again, and
// the call goes on and ends normally.
func testCTIReconnect(t *testing.T) {
	s := startCTI(t, ctiOptions{})
	s.ready("agent1")
	ch, id := s.call(arisim.CallSpec{CallerNumber: "+8613900000087", Dialed: "201"})
	leg := s.accept("agent1")

	// Watch /readyz from before the drop, so the short outage cannot slip between two polls.
	var mu sync.Mutex
	var seen []int
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			resp, err := http.Get(s.m.URL() + "/readyz")
			if err != nil {
				continue
			}
			resp.Body.Close()
			mu.Lock()
			if len(seen) == 0 || seen[len(seen)-1] != resp.StatusCode {
				seen = append(seen, resp.StatusCode)
			}
			mu.Unlock()
		}
	}()
	defer func() { close(stop); <-done }()
	checkFor(t, 5*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if len(seen) == 0 {
			return errors.New("no /readyz yet")
		}
		return nil
	})
	reconnects := s.applicationsGets()
	if n := s.sim.DropConnections(); n != 1 {
		t.Fatalf("dropped %d connections, want 1", n)
	}
	checkFor(t, 10*time.Second, func() error {
		mu.Lock()
		defer mu.Unlock()
		if !slices.Equal(seen, []int{200, 503, 200}) {
			return fmt.Errorf("/readyz went %v, want 200 503 200", seen)
		}
		return nil
	})
	if s.applicationsGets() <= reconnects {
		t.Error("no reconnection seen by the PBX")
	}
	s.waitBridged(id, ch, leg)
	if v := s.waitCall(id, cti.CallConnected); v.AgentID != s.ids["agent1"] {
		t.Errorf("call after the reconnect: %+v", v)
	}
	s.waitAgent("agent1", cti.AgentOnCall, "")
	talk(t, 100*time.Millisecond)
	s.sim.Hangup(ch)
	s.waitGone(ch, leg)
	s.wrapUp("agent1", id, "resolved", "")
	in := s.waitEnded(id, true)
	if in.Outcome != cti.OutcomeAnswered || in.AgentID != s.ids["agent1"] || in.Durations.Talk <= 0 {
		t.Errorf("row: outcome %s agent %s talk %v", in.Outcome, in.AgentID, in.Durations.Talk)
	}
	s.checkRecording(in, "interaction-"+id)
	if got, want := originates(s.key), []string{"PJSIP/1001"}; !slices.Equal(got, want) {
		t.Errorf("originates %v, want %v", got, want)
	}

	// New calls are taken again.
	ch, id = s.call(arisim.CallSpec{CallerNumber: "+8613900000086", Dialed: "201"})
	leg = s.accept("agent1")
	s.sim.Hangup(ch)
	s.waitGone(ch, leg)
	s.wrapUp("agent1", id, "resolved", "")
	s.waitEnded(id, true)
}

// applicationsGets counts the adapter's checks that its application is registered (one per connection at least).
func (s *ctiSys) applicationsGets() int {
	ctiRequests.mu.Lock()
	defer ctiRequests.mu.Unlock()
	n := 0
	for _, r := range ctiRequests.recs {
		if r.test == s.key && r.Operation == "applications.get" && r.Status == 200 {
			n++
		}
	}
	return n
}

// 11. Every REST request the controllers sent in the scenarios matched an operation of the ARI spec and was accepted, bar the
// answers a controller must expect from a live PBX (listed in ctiExpected).
func testCTIConformance(t *testing.T) {
	ctiRequests.mu.Lock()
	recs := slices.Clone(ctiRequests.recs)
	ctiRequests.mu.Unlock()
	if len(recs) == 0 {
		t.Skip("no scenario ran against the test's emulator")
	}
	ops := map[string]int{}
	var bad []string
	for _, r := range recs {
		ops[r.Operation]++
		switch {
		case r.Operation == "":
			bad = append(bad, fmt.Sprintf("%s: %s %s?%s matches no ARI operation (%d)", r.test, r.Method, r.Path, r.Query, r.Status))
		case r.Status == 400 || r.Status == 404 && !ctiExpected(r) || r.Status == 405 || r.Status == 501:
			bad = append(bad, fmt.Sprintf("%s: %s %s?%s (%s) → %d", r.test, r.Method, r.Path, r.Query, r.Operation, r.Status))
		case r.Status >= 400 && !ctiExpected(r):
			bad = append(bad, fmt.Sprintf("%s: unexpected %d for %s %s?%s (%s)", r.test, r.Status, r.Method, r.Path, r.Query, r.Operation))
		}
	}
	if len(bad) > 0 {
		t.Errorf("%d of %d requests were refused or unexpected:\n%s", len(bad), len(recs), strings.Join(bad, "\n"))
	}
	names := make([]string, 0, len(ops))
	for op, n := range ops {
		names = append(names, fmt.Sprintf("%s×%d", op, n))
	}
	slices.Sort(names)
	t.Logf("%d requests, %d operations: %s", len(recs), len(ops), strings.Join(names, " "))
}

// ctiExpected are refusals a controller meets by design: the application not yet listed right after the websocket upgrade
// (the adapter polls until it is), and a channel variable we never set on that channel, read for the reconcile snapshot
// (Asterisk answers 404 "Provided variable was not found"; the adapter takes it as unset), and, where the caller hangs up
// while waiting, a command on the caller's channel already on its way (an announcement) meeting a channel that is gone.
func ctiExpected(r ctiRequest) bool {
	switch {
	case r.Status == 404 && strings.Contains(r.test, "abandoned") && strings.HasPrefix(r.Operation, "channels."):
		return true
	case r.Operation == "applications.get" && r.Status == 404:
		return true
	case r.Operation == "channels.getChannelVar" && r.Status == 404:
		v, _ := url.ParseQuery(r.Query)
		return strings.HasPrefix(v.Get("variable"), "SB_")
	}
	return false
}
