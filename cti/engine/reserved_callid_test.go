package engine

import (
	"testing"
	"testing/synctest"

	"github.com/switchboard-cc/switchboard/cti"
)

// An agent who becomes Ready while a caller waits is offered the call at once; the status pushed to the desktop (and the
// snapshot) names that call.
func TestReadyWithACallerWaitingNamesTheCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, nil)
		id := h.inbound("100.1", "+15551230001")
		synctest.Wait()
		h.ready("a1")
		if s := h.n.lastAgent("a1"); s.State != cti.AgentReserved || s.CallID != id {
			t.Fatalf("a1 pushed as %s on %q, want reserved on %s", s.State, s.CallID, id)
		}
		var got cti.AgentStatus
		h.on(func() { got = h.e.agents["a1"].status })
		if got.CallID != id {
			t.Fatalf("a1's status names call %q, want %s", got.CallID, id)
		}
	})
}
