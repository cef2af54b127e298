package engine

import (
	"context"
	"maps"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/switchboard-cc/switchboard/cti"
	"github.com/switchboard-cc/switchboard/ivr"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestAnsweredCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, nil)
		h.ready("a1")
		h.post(entered("100.1", "+15551230001", "inbound"))
		h.want("SetVar 100.1 SB_CALL=call1", "SetVar 100.1 SB_ROLE=customer", "Answer 100.1",
			"Play 100.1 sb-call1-p1 sound:sb/welcome")
		time.Sleep(3 * time.Second)
		h.post(cti.PlaybackFinished{PlaybackID: "sb-call1-p1", State: "done"})
		h.want("Originate sb-agent-call1-1 PJSIP/1001 agent,call1",
			"SetVar 100.1 SB_ENQUEUED="+msNow(), "SetVar 100.1 SB_PRIORITY=5", "SetVar 100.1 SB_QUEUE=general",
			"CreateBridge sb-call1 mixing", "AddChannel sb-call1 100.1 customer", "BridgeMOH sb-call1 default")
		// The screen-pop goes out at offer time, before the agent answers.
		if len(h.n.offers) != 1 || h.n.to[0] != "a1" {
			t.Fatalf("offers = %v to %v", h.n.offers, h.n.to)
		}
		pop := h.n.offers[0]
		if pop.Customer == nil || pop.Customer.ID != "cust-1" || len(pop.Timeline) != 1 || pop.Script == nil ||
			pop.Script.Body != "Hello Ada Lovelace" || len(pop.Dispositions) != 1 || pop.Deadline.IsZero() {
			t.Fatalf("screen-pop = %+v", pop)
		}
		time.Sleep(5 * time.Second)
		h.post(entered("sb-agent-call1-1", "", "agent", "call1"))
		h.want("BridgeMOH sb-call1 ", "AddChannel sb-call1 sb-agent-call1-1 agent", "RecordBridge sb-call1 interaction-call1")
		if s := h.n.lastAgent("a1"); s.State != cti.AgentOnCall || s.CallID != "call1" {
			t.Fatalf("agent = %+v", s)
		}
		time.Sleep(30 * time.Second)
		h.post(cti.ChannelHangupRequested{ChannelID: "100.1"})
		h.want("Hangup sb-agent-call1-1", "StopRecording interaction-call1", "DestroyBridge sb-call1")
		h.post(cti.ChannelLeft{ChannelID: "100.1"}) // repeats change nothing
		h.post(cti.RecordingFinished{Name: "interaction-call1", Duration: 30 * time.Second})
		h.want("FetchRecording interaction-call1", "DeleteRecording interaction-call1")
		in := h.crm.interaction("call1")
		if in.Outcome != cti.OutcomeAnswered || in.AgentID != "a1" || in.CustomerID != "cust-1" || in.Queue != "general" ||
			in.BridgeID != "sb-call1" || in.CallerNumber != "+15551230001" || in.ChannelID != "100.1" ||
			in.Recording == nil || in.Recording.File != "interaction-call1.wav" || in.ScriptID != "script-1" {
			t.Fatalf("interaction = %+v", in)
		}
		if d := in.Durations; d.IVR != 3*time.Second || d.Wait != 5*time.Second || d.Talk != 30*time.Second {
			t.Fatalf("durations = %+v", d)
		}
		if s := h.n.lastAgent("a1"); s.State != cti.AgentWrapUp {
			t.Fatalf("agent after the call = %+v", s)
		}
		// Disposition is required in "general".
		err := h.e.WrapUp(context.Background(), "a1", cti.WrapUpRequest{InteractionID: "call1", Done: true})
		if cti.ErrorCode(err) != cti.EINVALID {
			t.Fatalf("wrap-up without disposition: %v", err)
		}
		if err := h.e.WrapUp(context.Background(), "a1", cti.WrapUpRequest{InteractionID: "call1", Disposition: "resolved", Done: true}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if h.crm.dispositions["call1"] != "resolved" || h.n.lastAgent("a1").State != cti.AgentReady {
			t.Fatalf("disposition %q, agent %+v", h.crm.dispositions["call1"], h.n.lastAgent("a1"))
		}
		h.on(func() {
			for key := range h.e.execs { // only the system's and the caller lookups' are left
				if key != "sys" && key != lookupsKey {
					t.Errorf("executor %s left", key)
				}
			}
		})
	})
}

func msNow() string { return strconv.FormatInt(time.Now().UnixMilli(), 10) }

func TestAbandonInQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, nil)
		id := h.inbound("100.1", "+15550000000")
		h.tel.take()
		time.Sleep(12 * time.Second)
		h.post(cti.ChannelHangupRequested{ChannelID: "100.1"})
		h.want("DestroyBridge sb-" + id)
		in := h.crm.interaction(id)
		if in.Outcome != cti.OutcomeAbandoned || in.Durations.Wait != 12*time.Second || in.CustomerID != "" {
			t.Fatalf("interaction = %+v", in)
		}
	})
}

func TestAbandonInIVR(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, nil)
		h.post(entered("100.1", "+15550000000", "inbound"))
		time.Sleep(2 * time.Second)
		h.post(cti.ChannelHangupRequested{ChannelID: "100.1"})
		in := h.crm.interaction("call1")
		if in.Outcome != cti.OutcomeAbandoned || in.Durations.IVR != 2*time.Second || in.Queue != "" {
			t.Fatalf("interaction = %+v", in)
		}
		h.post(cti.PlaybackFinished{PlaybackID: "sb-call1-p1"}) // late: nothing happens
		h.contains("Answer 100.1")
		h.on(func() {
			if len(h.e.calls) != 0 {
				t.Errorf("calls left: %d", len(h.e.calls))
			}
		})
	})
}

func TestRONAThenSecondAgent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, nil)
		h.ready("a1")
		time.Sleep(time.Second)
		h.ready("a2")
		id := h.inbound("100.1", "+15550000000")
		h.contains("Originate sb-agent-" + id + "-1 PJSIP/1001 agent," + id)
		// a1 does not answer: the router's deadline (15 s) cancels the offer, the PBX reports no answer.
		time.Sleep(16 * time.Second)
		synctest.Wait()
		h.contains("Hangup sb-agent-"+id+"-1", "Originate sb-agent-"+id+"-2 PJSIP/1002 agent,"+id)
		h.post(cti.ChannelDestroyed{ChannelID: "sb-agent-" + id + "-1", Cause: 19})
		if s := h.n.lastAgent("a1"); s.State != cti.AgentNotReady || s.Reason != "missed" {
			t.Fatalf("a1 = %+v", s)
		}
		h.post(entered("sb-agent-"+id+"-2", "", "agent", id))
		h.contains("AddChannel sb-" + id + " sb-agent-" + id + "-2 agent")
		if s := h.n.lastAgent("a2"); s.State != cti.AgentOnCall {
			t.Fatalf("a2 = %+v", s)
		}
	})
}

func TestBusyAgentOriginateError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, nil)
		h.tel.originate = func(o cti.Originate) error {
			if o.Endpoint == "PJSIP/1001" {
				return cti.Errorf(cti.EINTERNAL, "Allocation failed")
			}
			return nil
		}
		h.ready("a1")
		time.Sleep(time.Second)
		h.ready("a2")
		id := h.inbound("100.1", "+15550000000")
		synctest.Wait()
		h.contains("Originate sb-agent-"+id+"-1 PJSIP/1001 agent,"+id, "Originate sb-agent-"+id+"-2 PJSIP/1002 agent,"+id)
		if s := h.n.lastAgent("a1"); s.State != cti.AgentNotReady || s.Reason != "rejected" {
			t.Fatalf("a1 = %+v", s)
		}
		// Busy (cause 17) on the second leg: back in line, nobody left.
		h.post(cti.ChannelHangupRequested{ChannelID: "sb-agent-" + id + "-2", Cause: 17})
		h.post(cti.ChannelDestroyed{ChannelID: "sb-agent-" + id + "-2", Cause: 17})
		if s := h.n.lastAgent("a2"); s.State != cti.AgentNotReady {
			t.Fatalf("a2 = %+v", s)
		}
		if c, ok := h.call(id); !ok || c.state != cti.CallQueued {
			t.Fatalf("call = %+v", c)
		}
		h.tel.take()
	})
}

func TestOverflowToAnotherQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, func(c *Config, crm *fakeCRM) { c.DefaultQueue = "sales" })
		h.ready("a2") // in general only
		id := h.inbound("100.1", "+15550000000")
		if c, _ := h.call(id); c.queue != "sales" {
			t.Fatalf("queue = %s", c.queue)
		}
		h.tel.take()
		time.Sleep(62 * time.Second) // sales: max wait 60 s, overflow to general
		synctest.Wait()
		h.contains("Originate sb-agent-" + id + "-1 PJSIP/1002 agent," + id)
		if in := h.crm.interaction(id); in.Queue != "general" {
			t.Fatalf("interaction queue = %s", in.Queue)
		}
	})
}

func TestPresenceGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, nil)
		h.ready("a1")
		h.e.Presence("a1", false)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if s := h.n.lastAgent("a1"); s.State != cti.AgentReady {
			t.Fatalf("within grace: %+v", s)
		}
		h.e.Presence("a1", true)
		time.Sleep(10 * time.Second)
		h.e.Presence("a1", false)
		time.Sleep(16 * time.Second)
		synctest.Wait()
		if s := h.n.lastAgent("a1"); s.State != cti.AgentNotReady || s.Reason != "disconnected" {
			t.Fatalf("after grace: %+v", s)
		}
	})
}

func TestTelephonyReplacedStopsRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, nil)
		h.e.Post(cti.TelephonyReplaced{})
		err := <-h.errc
		if err == nil {
			t.Fatal("Run returned nil")
		}
		h.errc <- err
		if err := h.e.Login(context.Background(), "a1"); cti.ErrorCode(err) != cti.EUNAVAILABLE {
			t.Fatalf("desk after stop: %v", err)
		}
	})
}

func TestDisconnectedNoOriginate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, nil)
		h.ready("a1")
		h.post(cti.TelephonyDisconnected{Reason: "websocket closed"})
		if s := h.n.lastAgent("a1"); s.State != cti.AgentNotReady || s.Reason != "pbx-down" {
			t.Fatalf("a1 = %+v", s)
		}
		// A caller already inside (events resume after reconnect) waits; nothing is originated while down.
		h.post(cti.TelephonyConnected{})
		h.contains("Snapshot")
		if s := h.n.lastAgent("a1"); s.State != cti.AgentReady {
			t.Fatalf("a1 after reconnect = %+v", s)
		}
	})
}

// An agent's leg that answers but is gone before it can be bridged (the phone hung up meanwhile) does not drop the caller: the
// agent is released, the caller waits again in the same interaction and the next agent is rung; the row shows that agent.
func TestAgentLegLostBeforeBridge(t *testing.T) {
	for _, eventFirst := range []bool{false, true} {
		t.Run(map[bool]string{false: "bridge request fails first", true: "hang-up reported first"}[eventFirst], func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := start(t, nil)
				h.ready("a1")
				id := h.inbound("100.1", "+15551230001")
				h.contains("Originate sb-agent-" + id + "-1 PJSIP/1001 agent," + id)
				h.tel.addChannel = func(b, ch string) error {
					if ch == "sb-agent-"+id+"-1" {
						if eventFirst {
							h.e.Post(cti.ChannelLeft{ChannelID: ch}) // the hang-up arrives while the request is out
						}
						return cti.Errorf(cti.EINVALID, "add channel %s to bridge %s: Channel not found", ch, b)
					}
					return nil
				}
				h.post(entered("sb-agent-"+id+"-1", "", "agent", id))
				synctest.Wait()
				h.ready("a2")
				if eventFirst {
					h.contains("Originate sb-agent-" + id + "-2 PJSIP/1002 agent," + id) // the leg is gone: nothing to hang up
				} else {
					h.contains("Hangup sb-agent-"+id+"-1", "Originate sb-agent-"+id+"-2 PJSIP/1002 agent,"+id)
				}
				if c, ok := h.call(id); !ok || c.finished {
					t.Fatalf("the call ended: %+v", c)
				}
				h.post(entered("sb-agent-"+id+"-2", "", "agent", id))
				h.contains("AddChannel sb-"+id+" sb-agent-"+id+"-2 agent", "RecordBridge sb-"+id+" interaction-"+id)
				time.Sleep(10 * time.Second)
				h.post(cti.ChannelHangupRequested{ChannelID: "100.1"})
				h.post(cti.RecordingFinished{Name: "interaction-" + id, Duration: 10 * time.Second})
				in := h.crm.interaction(id)
				if in.Outcome != cti.OutcomeAnswered || in.AgentID != "a2" || in.Durations.Talk != 10*time.Second {
					t.Fatalf("interaction = %+v", in)
				}
				if s := h.n.lastAgent("a1"); s.State == cti.AgentOnCall || s.State == cti.AgentReserved {
					t.Fatalf("the first agent is still held: %+v", s)
				}
			})
		})
	}
}

// A flow that queues at once: the agent's originate is the call's first request, naming the caller and its place in line
// (what a restarted controller needs if it stops before the caller's tags); the caller's tags follow with the queue's
// variables in one request, then the answer, bridge and music.
func TestQueueAtOnceTagsInOneRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f, err := ivr.Parse("now.yaml", []byte("id: now\ndefault: true\nstart: q\nnodes:\n  q:\n    type: queue\n    queue: general\n"), ivr.Config{})
		if err != nil {
			t.Fatal(err)
		}
		set, err := ivr.NewSet(f)
		if err != nil {
			t.Fatal(err)
		}
		h := start(t, func(c *Config, _ *fakeCRM) { c.Flows = set })
		h.tel.oneRequest = true
		var org cti.Originate
		h.tel.originate = func(o cti.Originate) error { org = o; return nil }
		h.ready("a1")
		h.post(entered("100.1", "+15551230001", "inbound"))
		h.want("Originate sb-agent-call1-1 PJSIP/1001 agent,call1",
			"SetVars 100.1 SB_CALL=call1 SB_ENQUEUED="+msNow()+" SB_PRIORITY=0 SB_QUEUE=general SB_ROLE=customer",
			"Answer 100.1", "CreateBridge sb-call1 mixing", "AddChannel sb-call1 100.1 customer", "BridgeMOH sb-call1 default")
		want := map[string]string{VarCall: "call1", VarRole: "agent", VarAgent: "a1", VarCustomer: "100.1",
			VarQueue: "general", VarEnqueued: msNow(), VarPriority: "0"}
		if !maps.Equal(org.Vars, want) {
			t.Fatalf("the agent leg's variables = %v, want %v", org.Vars, want)
		}
	})
}
