package engine

import (
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
