package engine

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchboard-cc/switchboard/cti"
)

func vars(call, role string, kv ...string) map[string]string {
	m := map[string]string{VarCall: call, VarRole: role}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// A restarted engine finds a waiting caller, an answered call and a stray leg on the PBX.
func TestReconcileAfterRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Now()
		ms := func(d time.Duration) string { return strconv.FormatInt(now.Add(-d).UnixMilli(), 10) }
		h := start(t, func(c *Config, _ *fakeCRM) {
			c.Telephony.(*fakeTel).snapshot = func() ([]cti.ChannelInfo, []cti.BridgeInfo, error) {
				return []cti.ChannelInfo{
						{ID: "200.1", State: "Up", Vars: vars("old1", "customer", VarQueue, "general", VarEnqueued, ms(30*time.Second))},
						{ID: "200.2", State: "Up", Vars: vars("old2", "customer", VarQueue, "general", VarEnqueued, ms(60*time.Second))},
						{ID: "200.3", State: "Up", Vars: vars("old3", "customer", VarQueue, "general", VarEnqueued, ms(90*time.Second))},
						{ID: "sb-agent-old3-1", State: "Up", Vars: vars("old3", "agent", VarAgent, "a1")},
						{ID: "sb-agent-gone-1", State: "Ringing", Vars: vars("gone", "agent", VarAgent, "a2")},
					}, []cti.BridgeInfo{
						{ID: "sb-old1", Channels: []string{"200.1"}},
						{ID: "sb-old2", Channels: []string{"200.2"}},
						{ID: "sb-old3", Channels: []string{"200.3", "sb-agent-old3-1"}},
					}, nil
			}
		})
		cmds := append(h.started, h.tel.take()...)
		joined := strings.Join(cmds, "\n")
		if strings.Contains(joined, "Originate") || !strings.Contains(joined, "Hangup sb-agent-gone-1") {
			t.Fatalf("reconcile commands:\n%s", joined)
		}
		if s := h.n.lastAgent("a1"); s.State != cti.AgentOnCall || s.CallID != "old3" {
			t.Fatalf("a1 = %+v", s)
		}
		// The caller who waited longest is served first.
		h.ready("a2")
		// The new leg's id carries a restart tag (from the fake's next id, "call2"), so it cannot collide with a leg or a
		// playback the previous controller left behind.
		h.contains("Originate sb-agent-old2-rall2.1 PJSIP/1002 agent,old2")
		h.post(cti.ChannelHangupRequested{ChannelID: "200.3"})
		h.contains("Hangup sb-agent-old3-1", "StopRecording interaction-old3", "DestroyBridge sb-old3")
		if s := h.n.lastAgent("a1"); s.State != cti.AgentWrapUp {
			t.Fatalf("a1 after the call = %+v", s)
		}
	})
}

// A reconnect keeps a ringing offer (no second originate) and ends a call whose caller vanished meanwhile.
func TestReconcileAfterReconnect(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, nil)
		h.ready("a1")
		id1 := h.inbound("100.1", "+15550000000")
		h.contains("Originate sb-agent-" + id1 + "-1 PJSIP/1001 agent," + id1)
		id2 := h.inbound("100.2", "+15550000001")
		h.tel.take()
		h.post(cti.TelephonyDisconnected{Reason: "test"})
		h.tel.snapshot = func() ([]cti.ChannelInfo, []cti.BridgeInfo, error) {
			return []cti.ChannelInfo{{ID: "100.1", Vars: vars(id1, "customer")}}, nil, nil
		}
		h.post(cti.TelephonyConnected{})
		cmds := strings.Join(h.tel.take(), "\n")
		if strings.Contains(cmds, "Originate") || strings.Contains(cmds, "Hangup sb-agent") {
			t.Fatalf("reconnect commands:\n%s", cmds)
		}
		if in := h.crm.interaction(id2); in.Outcome != cti.OutcomeFailed {
			t.Fatalf("vanished caller: %+v", in)
		}
		h.post(entered("sb-agent-"+id1+"-1", "", "agent", id1))
		h.contains("AddChannel sb-" + id1 + " sb-agent-" + id1 + "-1 agent")
	})
}

// A caller who arrives while the reconnect's snapshot is being taken is missing from it but not gone: the call lives on.
func TestReconcileSnapshotRace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, nil)
		h.post(cti.TelephonyDisconnected{Reason: "test"})
		release := make(chan struct{})
		h.tel.snapshot = func() ([]cti.ChannelInfo, []cti.BridgeInfo, error) {
			<-release // the PBX answers the listing after the caller below entered
			return nil, nil, nil
		}
		h.post(cti.TelephonyConnected{})
		id := h.inbound("100.9", "+15550000009")
		close(release)
		synctest.Wait()
		for _, cmd := range h.tel.take() {
			if strings.HasPrefix(cmd, "Hangup 100.9") || strings.HasPrefix(cmd, "DestroyBridge") {
				t.Fatalf("the caller's call was torn down after the snapshot: %s", cmd)
			}
		}
		if c, ok := h.call(id); !ok || c.finished || c.state != cti.CallQueued {
			t.Fatalf("call after the reconnect = %+v (found %v), want it waiting in its queue", c, ok)
		}
		if in := h.crm.interaction(id); in.Outcome != "" {
			t.Fatalf("interaction after the reconnect = %+v, want it open", in)
		}
	})
}

// A caller tagged and queued by the previous controller but not yet answered is answered before its bridge.
func TestRebuiltCallerAnswered(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		enq := strconv.FormatInt(time.Now().Add(-time.Second).UnixMilli(), 10)
		h := start(t, func(c *Config, _ *fakeCRM) {
			c.Telephony.(*fakeTel).snapshot = func() ([]cti.ChannelInfo, []cti.BridgeInfo, error) {
				return []cti.ChannelInfo{
					{ID: "200.1", State: "Ring", Vars: vars("old1", "customer", VarQueue, "general", VarEnqueued, enq)},
					{ID: "200.2", State: "Up", Vars: vars("old2", "customer", VarQueue, "general", VarEnqueued, enq)},
				}, nil, nil
			}
		})
		cmds := append(h.started, h.tel.take()...)
		joined := strings.Join(cmds, "\n")
		if !strings.Contains(joined, "Answer 200.1\n") || strings.Contains(joined, "Answer 200.2") ||
			strings.Index(joined, "Answer 200.1") > strings.Index(joined, "AddChannel sb-old1 200.1") {
			t.Fatalf("reconcile commands:\n%s", joined)
		}
	})
}

// The previous controller stopped between agents' originates and their callers' tags: each untagged caller named by a live
// agent leg is that call's caller, with its place in line, and the leg is kept (no second originate). A ringing leg is
// offered again to its agent; an answered one is bridged at once. An untagged caller named by no leg (the controller stopped
// before the originate, or the leg is gone) is a new caller.
func TestReconcileCallerNamedByAgentLeg(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Now()
		enq := strconv.FormatInt(now.Add(-2*time.Second).UnixMilli(), 10)
		named := func(call, agent, cust, prio string) map[string]string {
			return vars(call, "agent", VarAgent, agent, VarCustomer, cust, VarQueue, "general", VarEnqueued, enq,
				VarPriority, prio)
		}
		h := start(t, func(c *Config, _ *fakeCRM) {
			c.Telephony.(*fakeTel).snapshot = func() ([]cti.ChannelInfo, []cti.BridgeInfo, error) {
				return []cti.ChannelInfo{
					{ID: "200.1", State: "Ring", Caller: cti.Party{Number: "+15550000001"}},
					{ID: "200.2", State: "Ring", Caller: cti.Party{Number: "+15550000002"}},
					{ID: "200.3", State: "Up", Caller: cti.Party{Number: "+15550000003"}},
					{ID: "sb-agent-old1-1", State: "Ringing", Vars: named("old1", "a1", "200.1", "3")},
					{ID: "sb-agent-old3-1", State: "Up", Vars: named("old3", "a2", "200.3", "5")},
				}, nil, nil
			}
		})
		joined := strings.Join(append(h.started, h.tel.take()...), "\n")
		if strings.Contains(joined, "Originate") || strings.Contains(joined, "Hangup") {
			t.Fatalf("reconcile commands:\n%s", joined)
		}
		// The named callers get their tags back (taken from the leg) and are answered; the unnamed one starts as new.
		for _, want := range []string{
			"SetVar 200.1 SB_CALL=old1", "SetVar 200.1 SB_ENQUEUED=" + enq, "SetVar 200.1 SB_PRIORITY=3",
			"SetVar 200.1 SB_QUEUE=general", "SetVar 200.1 SB_ROLE=customer", "Answer 200.1\n",
			"SetVar 200.3 SB_CALL=old3", "AddChannel sb-old3 sb-agent-old3-1 agent", "RecordBridge sb-old3 interaction-old3",
			"SetVar 200.2 SB_CALL=call",
		} {
			if !strings.Contains(joined+"\n", want) {
				t.Fatalf("reconcile commands lack %q:\n%s", want, joined)
			}
		}
		if strings.Contains(joined, "Answer 200.3") {
			t.Fatalf("an answered caller was answered again:\n%s", joined)
		}
		c1, ok := h.call("old1")
		if !ok || c1.state != cti.CallRinging || c1.offer == nil || c1.offer.leg != "sb-agent-old1-1" || c1.prio != 3 ||
			c1.queued.UnixMilli() != now.Add(-2*time.Second).UnixMilli() {
			t.Fatalf("old1 after the restart = %+v (found %v), want ringing a1 on its leg with its place in line", c1, ok)
		}
		if s := h.n.lastAgent("a2"); s.State != cti.AgentOnCall || s.CallID != "old3" {
			t.Fatalf("a2 = %+v", s)
		}
		// The ringing leg answers: it joins its caller's bridge. The answered leg's late StasisStart changes nothing.
		h.post(entered("sb-agent-old1-1", "", "agent", "old1"))
		h.post(entered("sb-agent-old3-1", "", "agent", "old3"))
		cmds := strings.Join(h.tel.take(), "\n")
		if !strings.Contains(cmds, "AddChannel sb-old1 sb-agent-old1-1 agent") || strings.Contains(cmds, "Hangup") {
			t.Fatalf("commands after the agents' StasisStart:\n%s", cmds)
		}
		if s := h.n.lastAgent("a1"); s.State != cti.AgentOnCall || s.CallID != "old1" {
			t.Fatalf("a1 = %+v", s)
		}
	})
}

// openFunc serves OpenInteractions from a function.
type openFunc func(ctx context.Context, before time.Time) ([]cti.Interaction, error)

func (f openFunc) OpenInteractions(ctx context.Context, before time.Time) ([]cti.Interaction, error) {
	return f(ctx, before)
}

// A restarted engine reads the interactions its predecessor left open once, after the snapshot: an untagged caller whose row
// is among them goes on as that call (no second interaction), a tagged caller's call is rebuilt, and the rows of calls that
// ended meanwhile are finished — answered if an agent answered, a customer we dialled who never answered failed, the rest
// abandoned — as of when the engine found out, with their wait and talk; nobody's agent state changes.
func TestReconcileOpenInteractions(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		now := time.Now()
		ago := func(d time.Duration) time.Time { return now.Add(-d) }
		rows := []cti.Interaction{
			{ID: "left-waiting", Channel: cti.ChannelPhone, Direction: cti.Inbound, ChannelID: "300.3", ArrivedAt: ago(5 * time.Minute),
				Queue: "general", QueuedAt: ago(4 * time.Minute)},
			{ID: "left-talking", Channel: cti.ChannelPhone, Direction: cti.Inbound, ChannelID: "300.2", ArrivedAt: ago(4 * time.Minute),
				Queue: "general", QueuedAt: ago(4 * time.Minute), AgentID: "a2", AnsweredAt: ago(3 * time.Minute)},
			{ID: "untagged", Channel: cti.ChannelPhone, Direction: cti.Inbound, ChannelID: "300.1", ArrivedAt: ago(2 * time.Minute),
				Queue: "general", QueuedAt: ago(90 * time.Second)},
			{ID: "held", Channel: cti.ChannelPhone, Direction: cti.Inbound, ChannelID: "300.4", ArrivedAt: ago(time.Minute),
				Queue: "general", QueuedAt: ago(time.Minute)},
			{ID: "dialled", Channel: cti.ChannelPhone, Direction: cti.Outbound, ArrivedAt: ago(time.Minute), AgentID: "a1"},
			// A customer we dialled, still on the line: reconcile does not rebuild outbound calls, it hangs the leg up.
			{ID: "out", Channel: cti.ChannelPhone, Direction: cti.Outbound, ChannelID: "sb-cust-out-1", ArrivedAt: ago(time.Minute),
				AgentID: "a1", AnsweredAt: ago(30 * time.Second)},
			// The row a transfer left open before its child (held) took the caller's channel.
			{ID: "parent", Channel: cti.ChannelPhone, Direction: cti.Inbound, ChannelID: "300.4", ArrivedAt: ago(2 * time.Minute)},
		}
		reads := 0
		h := start(t, func(c *Config, crm *fakeCRM) {
			for i := range rows {
				crm.interactions[rows[i].ID] = &rows[i]
			}
			c.Open = openFunc(func(_ context.Context, before time.Time) ([]cti.Interaction, error) {
				reads++
				if !before.Equal(now) {
					t.Errorf("open interactions before %v, want %v (the engine's start)", before, now)
				}
				return rows, nil
			})
			c.Telephony.(*fakeTel).snapshot = func() ([]cti.ChannelInfo, []cti.BridgeInfo, error) {
				return []cti.ChannelInfo{
					{ID: "300.1", State: "Ring"}, // untagged: the crash came before its tags, and its agent leg is gone
					{ID: "300.4", State: "Up", Vars: vars("held", "customer", VarQueue, "general",
						VarEnqueued, strconv.FormatInt(ago(time.Minute).UnixMilli(), 10))},
					{ID: "sb-cust-out-1", State: "Up", Vars: vars("out", "customer")},
				}, nil, nil
			}
		})
		joined := strings.Join(h.started, "\n")
		for _, want := range []string{"Answer 300.1", "SetVar 300.1 SB_CALL=untagged", "SetVar 300.1 SB_QUEUE=general",
			"Hangup sb-cust-out-1"} {
			if !strings.Contains(joined, want) {
				t.Errorf("no %q in the reconcile's commands:\n%s", want, joined)
			}
		}
		if c, ok := h.call("untagged"); !ok || c.customer != "300.1" || c.queue != "general" ||
			!c.queued.Equal(ago(90*time.Second).Truncate(time.Millisecond)) {
			t.Errorf("the untagged caller's call: %+v (live %v)", c, ok)
		}
		if _, ok := h.call("held"); !ok {
			t.Error("the tagged caller's call was not rebuilt")
		}
		if n := len(h.crm.interactions); n != len(rows) {
			t.Errorf("%d interactions after the restart, want %d: a caller was taken as a new call", n, len(rows))
		}
		for id, want := range map[string]cti.Outcome{"left-waiting": cti.OutcomeAbandoned, "left-talking": cti.OutcomeAnswered,
			"dialled": cti.OutcomeFailed, "out": cti.OutcomeAnswered, "untagged": "", "held": "", "parent": ""} {
			in := h.crm.interaction(id)
			if in.Outcome != want {
				t.Errorf("%s: outcome %q, want %q", id, in.Outcome, want)
			}
			if want != "" && !in.EndedAt.Equal(now) {
				t.Errorf("%s: ended %v, want %v (when the engine found out)", id, in.EndedAt, now)
			}
		}
		if d := h.crm.interaction("left-waiting").Durations; d.Wait != 4*time.Minute || d.IVR != time.Minute || d.Talk != 0 {
			t.Errorf("the abandoned row's durations %+v", d)
		}
		if d := h.crm.interaction("left-talking").Durations; d.Wait != time.Minute || d.Talk != 3*time.Minute {
			t.Errorf("the answered row's durations %+v", d)
		}
		if s := h.n.lastAgent("a2"); s.State == cti.AgentOnCall || s.State == cti.AgentWrapUp || s.CallID == "left-talking" {
			t.Errorf("a2 after the restart: %+v", s)
		}
		// A reconnect later reads nothing again.
		h.post(cti.TelephonyDisconnected{Reason: "test"})
		h.post(cti.TelephonyConnected{})
		if reads != 1 {
			t.Errorf("open interactions read %d times, want 1", reads)
		}
	})
}
