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
