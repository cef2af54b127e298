package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchboard-cc/switchboard/cti"
)

// connected brings a caller to agent a1 and returns the interaction id.
func (h *harness) connected(ch string) string {
	h.t.Helper()
	id := h.inbound(ch, "+15551230001")
	h.post(entered("sb-agent-"+id+"-1", "", "agent", id))
	h.contains("RecordBridge sb-" + id + " interaction-" + id)
	return id
}

func TestHold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, nil)
		h.ready("a1")
		id := h.connected("100.1")
		ctx := context.Background()
		if err := h.e.Hold(ctx, "a1", true); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Second)
		if err := h.e.Hold(ctx, "a1", false); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		h.want("ChannelMOH 100.1 default", "Hold 100.1 true", "ChannelMOH 100.1 ", "Hold 100.1 false")
		if err := h.e.Hold(ctx, "a2", true); cti.ErrorCode(err) != cti.ECONFLICT {
			t.Fatalf("hold by another agent: %v", err)
		}
		time.Sleep(10 * time.Second)
		h.post(cti.ChannelHangupRequested{ChannelID: "sb-agent-" + id + "-1"})
		h.contains("Hangup 100.1")
		if d := h.crm.interaction(id).Durations; d.Hold != 20*time.Second || d.Talk != 10*time.Second {
			t.Fatalf("durations = %+v", d)
		}
	})
}

func TestBlindTransferToQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, nil)
		h.ready("a1")
		id := h.connected("100.1")
		h.ready("a2")
		if err := h.e.Transfer(context.Background(), "a1", cti.TransferRequest{Kind: cti.TransferBlind, Queue: "general"}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		// Each interaction's commands keep their order; the two run side by side.
		got := h.tel.take()
		inOrder(t, got, "Hangup sb-agent-"+id+"-1", "StopRecording interaction-"+id) // the bridge stays: it moves with the customer
		inOrder(t, got, "SetVar 100.1 SB_CALL=call2", "BridgeMOH sb-"+id+" default", "Originate sb-agent-call2-1 PJSIP/1002 agent,call2")
		if in := h.crm.interaction("call2"); in.ParentID != id || in.CustomerID != "cust-1" {
			t.Fatalf("new interaction = %+v", in)
		}
		if in := h.crm.interaction(id); in.Outcome != cti.OutcomeAnswered {
			t.Fatalf("old interaction = %+v", in)
		}
		if s := h.n.lastAgent("a1"); s.State != cti.AgentWrapUp {
			t.Fatalf("a1 = %+v", s)
		}
	})
}

func TestConsultTransfer(t *testing.T) {
	for _, end := range []string{"complete", "cancel", "conference"} {
		t.Run(end, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := start(t, nil)
				h.ready("a1")
				id := h.connected("100.1")
				ctx := context.Background()
				if err := h.e.Transfer(ctx, "a1", cti.TransferRequest{Kind: cti.TransferConsult, Number: "+15559990000"}); err != nil {
					t.Fatal(err)
				}
				synctest.Wait()
				b, cb, x, ag := "sb-"+id, "sb-"+id+"-consult", "sb-xfer-"+id+"-2", "sb-agent-"+id+"-1"
				h.want("CreateBridge "+cb+" mixing", "RemoveChannel "+b+" "+ag, "BridgeMOH "+b+" default",
					"AddChannel "+cb+" "+ag+" agent", "Originate "+x+" PJSIP/+15559990000@trunk transfer,"+id)
				h.post(entered(x, "", "transfer", id))
				h.want("AddChannel " + cb + " " + x + " transfer")
				switch end {
				case "complete":
					if err := h.e.CompleteTransfer(ctx, "a1"); err != nil {
						t.Fatal(err)
					}
					synctest.Wait()
					h.want("Hangup "+ag, "RemoveChannel "+cb+" "+x, "BridgeMOH "+b+" ", "AddChannel "+b+" "+x+" transfer",
						"DestroyBridge "+cb)
					h.post(cti.ChannelHangupRequested{ChannelID: x})
					h.contains("Hangup 100.1")
					if in := h.crm.interaction(id); in.Outcome != cti.OutcomeAnswered {
						t.Fatalf("interaction = %+v", in)
					}
				case "cancel":
					if err := h.e.CancelTransfer(ctx, "a1"); err != nil {
						t.Fatal(err)
					}
					synctest.Wait()
					h.want("Hangup "+x, "RemoveChannel "+cb+" "+ag, "BridgeMOH "+b+" ", "AddChannel "+b+" "+ag+" agent",
						"DestroyBridge "+cb)
					if c, _ := h.call(id); c.state != cti.CallConnected {
						t.Fatalf("state = %s", c.state)
					}
				case "conference":
					if err := h.e.Conference(ctx, "a1"); err != nil {
						t.Fatal(err)
					}
					synctest.Wait()
					h.want("RemoveChannel "+cb+" "+ag, "RemoveChannel "+cb+" "+x, "BridgeMOH "+b+" ",
						"AddChannel "+b+" "+ag+" agent", "AddChannel "+b+" "+x+" transfer", "DestroyBridge "+cb)
					if c, _ := h.call(id); c.state != cti.CallConference {
						t.Fatalf("state = %s", c.state)
					}
				}
			})
		})
	}
}

func TestMonitorAudited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, nil)
		h.ready("a1")
		id := h.connected("100.1")
		ctx := context.Background()
		if err := h.e.Monitor(ctx, "s1", "a1", cti.MonitorListen); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		mb, snoop, sup := "sb-"+id+"-mon-3", "sb-snoop-"+id+"-3", "sb-sup-"+id+"-2"
		h.want("CreateBridge "+mb+" mixing", "Snoop sb-agent-"+id+"-1 "+snoop+" spy=both whisper=none",
			"Originate "+sup+" PJSIP/1009 supervisor,"+id)
		h.post(entered(snoop, "", "snoop", id))
		h.post(entered(sup, "", "supervisor", id))
		h.want("AddChannel "+mb+" "+snoop+" snoop", "AddChannel "+mb+" "+sup+" supervisor")
		if err := h.e.Monitor(ctx, "s1", "a1", cti.MonitorStop); err != nil {
			t.Fatal(err)
		}
		if err := h.e.Monitor(ctx, "s1", "a1", cti.MonitorBarge); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		h.contains("Hangup "+sup, "Hangup "+snoop, "DestroyBridge "+mb, "Originate sb-sup-"+id+"-4 PJSIP/1009 supervisor,"+id)
		h.post(entered("sb-sup-"+id+"-4", "", "supervisor", id))
		h.want("AddChannel sb-" + id + " sb-sup-" + id + "-4 supervisor")
		h.crm.mu.Lock()
		audit := slices.Clone(h.crm.audit)
		h.crm.mu.Unlock()
		want := []string{"super1 call.listen " + id, "super1 call.monitor.stop " + id, "super1 call.barge " + id}
		if !slices.Equal(audit, want) {
			t.Fatalf("audit = %q", audit)
		}
	})
}

func TestCallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, nil)
		id := h.inbound("100.1", "+15550000000")
		h.tel.take()
		h.on(func() { h.e.requestCallback(h.e.calls[id], "") })
		synctest.Wait()
		h.want("Hangup 100.1", "DestroyBridge sb-"+id)
		h.ready("a1")
		h.contains("Originate sb-agent-" + id + "-1 PJSIP/1001 outbound," + id)
		h.post(entered("sb-agent-"+id+"-1", "", "outbound", id))
		h.want("CreateBridge sb-"+id+" mixing", "AddChannel sb-"+id+" sb-agent-"+id+"-1 agent",
			"Originate sb-cust-"+id+"-2 PJSIP/+15550000000@trunk customer,"+id)
		h.post(entered("sb-cust-"+id+"-2", "", "customer", id))
		h.want("AddChannel sb-"+id+" sb-cust-"+id+"-2 customer", "RecordBridge sb-"+id+" interaction-"+id)
		time.Sleep(40 * time.Second)
		h.post(cti.ChannelHangupRequested{ChannelID: "sb-cust-" + id + "-2"})
		h.contains("Hangup sb-agent-" + id + "-1")
		if in := h.crm.interaction(id); in.Outcome != cti.OutcomeAnswered || in.AgentID != "a1" || in.Durations.Talk != 40*time.Second {
			t.Fatalf("interaction = %+v", in)
		}
	})
}

func TestDial(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, nil)
		h.ready("a1")
		ctx := context.Background()
		if err := h.e.Dial(ctx, "a1", "+15557770000", ""); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		h.want("Originate sb-agent-call1-1 PJSIP/1001 outbound,call1")
		h.post(entered("sb-agent-call1-1", "", "outbound", "call1"))
		h.contains("Originate sb-cust-call1-2 PJSIP/+15557770000@trunk customer,call1")
		h.post(entered("sb-cust-call1-2", "", "customer", "call1"))
		h.contains("RecordBridge sb-call1 interaction-call1")
		if err := h.e.Hangup(ctx, "a1"); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		h.contains("Hangup sb-agent-call1-1", "Hangup sb-cust-call1-2")
		in := h.crm.interaction("call1")
		if in.Direction != cti.Outbound || in.Outcome != cti.OutcomeAnswered || in.DialedNumber != "+15557770000" {
			t.Fatalf("interaction = %+v", in)
		}
		if s := h.n.lastAgent("a1"); s.State != cti.AgentReady {
			t.Fatalf("a1 = %+v", s)
		}
	})
}

func inOrder(t *testing.T, got []string, cmds ...string) {
	t.Helper()
	i := 0
	for _, g := range got {
		if i < len(cmds) && g == cmds[i] {
			i++
		}
	}
	if i < len(cmds) {
		t.Fatalf("commands %q lack %q in order %q", got, cmds[i], cmds)
	}
}

// A caller who chooses a callback in the IVR is hung up; the queue's arrival announcement is not played to them first.
func TestCallbackFromIVRIsNotAnnounced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, nil)
		h.post(entered("100.1", "+15550000000", "inbound"))
		id := fmt.Sprintf("call%d", h.ids)
		h.contains("Answer 100.1", "Play 100.1 sb-"+id+"-p1 sound:sb/welcome")
		h.on(func() { h.e.requestCallback(h.e.calls[id], "") })
		synctest.Wait()
		got := h.tel.take()
		joined := strings.Join(got, "\n")
		if !strings.Contains(joined, "Hangup 100.1") || strings.Contains(joined, "you-are-number") {
			t.Fatalf("commands after the callback choice:\n%s", joined)
		}
	})
}

// A caller who chooses a callback in the IVR while an agent is free is connected to that agent at once, and the agent is not
// penalised for an offer withdrawn.
func TestCallbackFromIVRWithAFreeAgentConnects(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, nil)
		h.ready("a1")
		h.post(entered("100.1", "+15550000000", "inbound"))
		id := fmt.Sprintf("call%d", h.ids)
		h.contains("Answer 100.1", "Play 100.1 sb-"+id+"-p1 sound:sb/welcome")
		h.on(func() { h.e.requestCallback(h.e.calls[id], "") })
		synctest.Wait()
		got := strings.Join(h.tel.take(), "\n")
		if strings.Contains(got, "Hangup 100.1") || !strings.Contains(got, "Originate sb-agent-"+id+"-1 PJSIP/1001 agent,"+id) {
			t.Fatalf("commands after the callback choice with a free agent:\n%s", got)
		}
		if s := h.n.lastAgent("a1"); s.State != cti.AgentReserved {
			t.Fatalf("a1 = %+v, want reserved for the caller", s)
		}
	})
}
