package engine

import (
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchboard-cc/switchboard/cti"
)

// Rule 3 of the reconnect rule: an agent's media is lost in a call; the customer hears music on hold at once, and after the
// reconnect window the call goes back to its queue as a child interaction (parent_id) that reaches another agent, while the
// agent without media is not offered it again.
func TestAgentMediaLostRequeues(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, nil)
		h.ready("a1")
		id := h.connected("100.1")
		h.e.AgentMedia("a1", false, "the browser's connection was lost")
		synctest.Wait()
		h.contains("BridgeMOH sb-" + id + " default")
		time.Sleep(ReconnectWindow - time.Second)
		synctest.Wait()
		if got := h.tel.take(); len(got) != 0 {
			t.Fatalf("before the window ends: %q", got)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		// The two interactions' commands run side by side; the call is not offered back to a1, whose media is gone.
		got := h.tel.take()
		inOrder(t, got, "Hangup sb-agent-"+id+"-1", "StopRecording interaction-"+id)
		inOrder(t, got, "SetVar 100.1 SB_CALL=call2", "BridgeMOH sb-"+id+" default")
		if slices.ContainsFunc(got, func(c string) bool { return strings.HasPrefix(c, "Originate") }) {
			t.Fatalf("offered again while no other agent is ready: %q", got)
		}
		h.ready("a2")
		h.contains("Originate sb-agent-call2-1 PJSIP/1002 agent,call2")
		if in := h.crm.interaction("call2"); in.ParentID != id {
			t.Fatalf("requeued interaction = %+v, want parent %s", in, id)
		}
		if in := h.crm.interaction(id); in.Outcome != cti.OutcomeAnswered || in.AgentID != "a1" {
			t.Fatalf("first interaction = %+v", in)
		}
		// After wrap-up a1 is Not Ready for the media failure, not Ready again.
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if s := h.n.lastAgent("a1"); s.State != cti.AgentNotReady || s.Reason != reasonMediaFailure {
			t.Fatalf("a1 = %+v, want not ready for %s", s, reasonMediaFailure)
		}
	})
}

// A restarted engine finds web callers' externalMedia channels whose pages died with the old process: it hangs them and
// their agent's leg up and finishes their rows — answered when an agent's leg shared the caller's bridge, else failed.
func TestReconcileEndsOrphanWebCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, func(c *Config, crm *fakeCRM) {
			crm.interactions["web1"] = &cti.Interaction{ID: "web1"}
			crm.interactions["web2"] = &cti.Interaction{ID: "web2"}
			c.Telephony.(*fakeTel).snapshot = func() ([]cti.ChannelInfo, []cti.BridgeInfo, error) {
				return []cti.ChannelInfo{
						{ID: "sb-web-web1", State: "Up", Vars: vars("web1", "customer")},
						{ID: "sb-agent-web1-1", State: "Up", Vars: vars("web1", "agent", VarAgent, "a1")},
						{ID: "sb-web-web2", State: "Up", Vars: vars("web2", "customer", VarQueue, "general")},
					}, []cti.BridgeInfo{
						{ID: "sb-web1", Channels: []string{"sb-web-web1", "sb-agent-web1-1"}},
						{ID: "sb-web2", Channels: []string{"sb-web-web2"}},
					}, nil
			}
		})
		synctest.Wait()
		joined := strings.Join(append(h.started, h.tel.take()...), "\n")
		for _, want := range []string{"Hangup sb-web-web1", "Hangup sb-agent-web1-1", "Hangup sb-web-web2"} {
			if !strings.Contains(joined, want) {
				t.Errorf("reconcile commands lack %q:\n%s", want, joined)
			}
		}
		if in := h.crm.interaction("web1"); in.Outcome != cti.OutcomeAnswered || in.EndedAt.IsZero() {
			t.Errorf("web1 = %+v, want answered and ended", in)
		}
		if in := h.crm.interaction("web2"); in.Outcome != cti.OutcomeFailed || in.EndedAt.IsZero() {
			t.Errorf("web2 = %+v, want failed and ended", in)
		}
	})
}
