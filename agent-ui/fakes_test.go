package agentui_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-cc/switchboard/cti"
)

// fakeDesk records every command as one line ("SetState <agent> ready=true reason= pending=false") and answers from its fields.
type fakeDesk struct {
	mu    sync.Mutex
	calls []string
	snap  cti.DeskSnapshot
	// Err, when set, is returned by the command of that name.
	Err map[string]error
	// OnCall, when set, is told each recorded line (outside the lock).
	OnCall func(line string)
	// WrapUpFunc, when set, does what the engine does on wrap-up (records the disposition).
	WrapUpFunc func(agentID string, w cti.WrapUpRequest) error
}

func (d *fakeDesk) rec(name string, format string, args ...any) error {
	line := name + " " + fmt.Sprintf(format, args...)
	d.mu.Lock()
	d.calls = append(d.calls, line)
	err := d.Err[name]
	on := d.OnCall
	d.mu.Unlock()
	if on != nil {
		on(line)
	}
	return err
}

// Calls returns the recorded lines that start with prefix.
func (d *fakeDesk) Calls(prefix string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for _, c := range d.calls {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}

func (d *fakeDesk) SetSnapshot(s cti.DeskSnapshot) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.snap = s
}

func (d *fakeDesk) Login(_ context.Context, id string) error  { return d.rec("Login", "%s", id) }
func (d *fakeDesk) Logout(_ context.Context, id string) error { return d.rec("Logout", "%s", id) }
func (d *fakeDesk) SetState(_ context.Context, id string, s cti.StateRequest) error {
	return d.rec("SetState", "%s ready=%t reason=%s pending=%t", id, s.Ready, s.Reason, s.Pending)
}
func (d *fakeDesk) Presence(id string, connected bool) { d.rec("Presence", "%s %t", id, connected) } //nolint:errcheck
func (d *fakeDesk) AcceptOffer(_ context.Context, id string) error {
	return d.rec("AcceptOffer", "%s", id)
}
func (d *fakeDesk) RejectOffer(_ context.Context, id string) error {
	return d.rec("RejectOffer", "%s", id)
}
func (d *fakeDesk) Hold(_ context.Context, id string, on bool) error {
	return d.rec("Hold", "%s %t", id, on)
}
func (d *fakeDesk) Hangup(_ context.Context, id string) error { return d.rec("Hangup", "%s", id) }
func (d *fakeDesk) Transfer(_ context.Context, id string, t cti.TransferRequest) error {
	return d.rec("Transfer", "%s %s q=%s a=%s n=%s", id, t.Kind, t.Queue, t.AgentID, t.Number)
}
func (d *fakeDesk) CompleteTransfer(_ context.Context, id string) error {
	return d.rec("CompleteTransfer", "%s", id)
}
func (d *fakeDesk) CancelTransfer(_ context.Context, id string) error {
	return d.rec("CancelTransfer", "%s", id)
}
func (d *fakeDesk) Conference(_ context.Context, id string) error {
	return d.rec("Conference", "%s", id)
}
func (d *fakeDesk) PauseRecording(_ context.Context, id string, p bool) error {
	return d.rec("PauseRecording", "%s %t", id, p)
}
func (d *fakeDesk) Dial(_ context.Context, id, number, customerID string) error {
	return d.rec("Dial", "%s %s %s", id, number, customerID)
}
func (d *fakeDesk) WrapUp(_ context.Context, id string, w cti.WrapUpRequest) error {
	if d.WrapUpFunc != nil {
		if err := d.WrapUpFunc(id, w); err != nil {
			return err
		}
	}
	return d.rec("WrapUp", "%s %s disposition=%s notes=%s done=%t extend=%s", id, w.InteractionID, w.Disposition, w.Notes,
		w.Done, w.Extend)
}
func (d *fakeDesk) Monitor(_ context.Context, sup, agent string, m cti.MonitorMode) error {
	return d.rec("Monitor", "%s %s %s", sup, agent, m)
}
func (d *fakeDesk) Snapshot(context.Context) (cti.DeskSnapshot, error) {
	err := d.rec("Snapshot", "")
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.snap, err
}
func (d *fakeDesk) Trace(_ context.Context, call string) (*cti.RoutingTrace, error) {
	if err := d.rec("Trace", "%s", call); err != nil {
		return nil, err
	}
	return &cti.RoutingTrace{CallID: call, Summary: "longest idle"}, nil
}

var _ cti.Desk = (*fakeDesk)(nil)

// memSessions keeps sessions in memory, for tests that need no database.
type memSessions struct {
	mu sync.Mutex
	m  map[string]*cti.Session // by token
}

func (s *memSessions) add(agentID, login string, role cti.Role) string {
	b := make([]byte, 16)
	rand.Read(b)
	token := hex.EncodeToString(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]*cti.Session{}
	}
	now := time.Now()
	s.m[token] = &cti.Session{ID: "s-" + token[:8], AgentID: agentID, Login: login, DisplayName: login, Role: role,
		CreatedAt: now, LastSeen: now, ExpiresAt: now.Add(time.Hour)}
	return token
}

func (s *memSessions) Create(_ context.Context, agentID string, idle time.Duration, _, _ string) (string, *cti.Session, error) {
	t := s.add(agentID, agentID, cti.RoleAgent)
	return t, s.m[t], nil
}

func (s *memSessions) Get(_ context.Context, token string) (*cti.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if x, ok := s.m[token]; ok {
		c := *x
		return &c, nil
	}
	return nil, cti.Errorf(cti.EUNAUTHORIZED, "not signed in")
}

func (s *memSessions) Touch(context.Context, string, time.Duration) error { return nil }

func (s *memSessions) Revoke(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t, x := range s.m {
		if x.ID == id {
			delete(s.m, t)
		}
	}
	return nil
}

func (s *memSessions) RevokeAgent(_ context.Context, agentID string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for t, x := range s.m {
		if x.AgentID == agentID {
			delete(s.m, t)
			n++
		}
	}
	return n, nil
}

// nilCRM satisfies the CRM ports for tests that never reach them.
type nilCRM struct {
	cti.CustomerLookup
	cti.CustomerAdmin
	cti.InteractionLog
	cti.Config
}
