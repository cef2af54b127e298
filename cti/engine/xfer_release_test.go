package engine

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/switchboard-cc/switchboard/cti"
)

// An agent consulted for a transfer is NotReady("transfer") meanwhile; when the customer hangs up — during the consult, in
// a conference or after the transfer was completed to them — the agent is Ready again.
func TestConsultedAgentReadyAfterTheCall(t *testing.T) {
	for _, end := range []string{"consulting", "conference", "complete"} {
		t.Run(end, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := start(t, nil)
				h.ready("a1", "a2")
				ctx := context.Background()
				// a1 was ready first: the call goes to a1's leg.
				id := h.connected("100.1")
				if err := h.e.Transfer(ctx, "a1", cti.TransferRequest{Kind: cti.TransferConsult, AgentID: "a2"}); err != nil {
					t.Fatal(err)
				}
				synctest.Wait()
				if s := h.n.lastAgent("a2"); s.State != cti.AgentNotReady || s.Reason != "transfer" {
					t.Fatalf("a2 while consulted = %s (%s)", s.State, s.Reason)
				}
				x := "sb-xfer-" + id + "-2"
				h.post(entered(x, "", "transfer", id))
				synctest.Wait()
				switch end {
				case "conference":
					if err := h.e.Conference(ctx, "a1"); err != nil {
						t.Fatal(err)
					}
				case "complete":
					if err := h.e.CompleteTransfer(ctx, "a1"); err != nil {
						t.Fatal(err)
					}
				}
				synctest.Wait()
				h.post(cti.ChannelHangupRequested{ChannelID: "100.1"})
				synctest.Wait()
				if s := h.n.lastAgent("a2"); s.State != cti.AgentReady {
					t.Fatalf("a2 after the call = %s (%s), want ready", s.State, s.Reason)
				}
			})
		})
	}
}
