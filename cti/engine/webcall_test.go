package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"sync"
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

// webPage records what a web caller's page is told.
type webPage struct {
	mu      sync.Mutex
	updates []cti.WebCallUpdate
}

func (p *webPage) Connect(string) error { return nil }
func (p *webPage) Update(u cti.WebCallUpdate) {
	p.mu.Lock()
	p.updates = append(p.updates, u)
	p.mu.Unlock()
}

func (p *webPage) last() cti.WebCallUpdate {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.updates) == 0 {
		return cti.WebCallUpdate{}
	}
	return p.updates[len(p.updates)-1]
}

// A restarted engine adopts web callers' externalMedia channels as it does phone callers' (the talking call keeps its agent
// and bridge, the waiting one its place), holds them for their pages, and gives each call to the page that presents its
// resume id, with the channel's RTP addresses; a call whose page does not come back within the window ends as before.
func TestReconcileAdoptsWebCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		resumes := map[string]string{"web1": "resume-one", "web2": "resume-two", "web3": "resume-three"}
		h := start(t, func(c *Config, crm *fakeCRM) {
			for id := range resumes {
				crm.interactions[id] = &cti.Interaction{ID: id}
			}
			ms := strconv.FormatInt(time.Now().Add(-time.Minute).UnixMilli(), 10)
			tel := c.Telephony.(*fakeTel)
			tel.snapshot = func() ([]cti.ChannelInfo, []cti.BridgeInfo, error) {
				return []cti.ChannelInfo{
						{ID: "sb-web-web1", State: "Up", Vars: vars("web1", "customer")},
						{ID: "sb-agent-web1-1", State: "Up", Vars: vars("web1", "agent", VarAgent, "a1")},
						{ID: "sb-web-web2", State: "Up", Vars: vars("web2", "customer", VarQueue, "general", VarEnqueued, ms)},
						{ID: "sb-web-web3", State: "Up", Vars: vars("web3", "customer", VarQueue, "general", VarEnqueued, ms)},
					}, []cti.BridgeInfo{
						{ID: "sb-web1", Channels: []string{"sb-web-web1", "sb-agent-web1-1"}},
						{ID: "sb-web2", Channels: []string{"sb-web-web2"}},
						{ID: "sb-web3", Channels: []string{"sb-web-web3"}},
					}, nil
			}
			tel.getVar = func(ch, name string) string {
				id := strings.TrimPrefix(ch, "sb-web-")
				switch name {
				case VarWebResume:
					sum := sha256.Sum256([]byte(resumes[id]))
					return hex.EncodeToString(sum[:])
				case VarWebMedia:
					return "127.0.0.1:4000" + id[3:]
				case varRTPLocalAddress:
					return "127.0.0.1"
				case varRTPLocalPort:
					return "1011" + id[3:]
				}
				return ""
			}
		})
		synctest.Wait()
		for _, c := range append(h.started, h.tel.take()...) {
			if strings.HasPrefix(c, "Hangup") {
				t.Fatalf("reconcile hung up %q: the web calls must survive", c)
			}
		}
		for _, addr := range []string{"127.0.0.1:40001", "127.0.0.1:40002", "127.0.0.1:40003"} {
			if !h.e.WebMediaReserved(addr) {
				t.Errorf("%s is not reserved: a new call's leg could take an adopted call's address", addr)
			}
		}
		if h.e.WebMediaReserved("127.0.0.1:40004") {
			t.Error("an address of no adopted call is reserved")
		}
		ctx := context.Background()
		if _, err := h.e.ResumeWebCall(ctx, "not-a-resume-id", &webPage{}); cti.ErrorCode(err) != cti.ENOTFOUND {
			t.Fatalf("an unknown resume id: %v, want %s", err, cti.ENOTFOUND)
		}
		if _, err := h.e.ResumeWebCall(ctx, "", &webPage{}); cti.ErrorCode(err) != cti.EINVALID {
			t.Fatalf("an empty resume id: %v, want %s", err, cti.EINVALID)
		}

		talking := &webPage{}
		got, err := h.e.ResumeWebCall(ctx, "resume-one", talking)
		if err != nil {
			t.Fatal(err)
		}
		if want := (cti.WebResume{CallID: "web1", MediaAddr: "127.0.0.1:40001", PBXAddr: "127.0.0.1:10111"}); got != want {
			t.Fatalf("resume = %+v, want %+v", got, want)
		}
		if u := talking.last(); u.State != string(cti.CallConnected) {
			t.Fatalf("the talking page was told %+v, want connected", u)
		}
		if _, err := h.e.ResumeWebCall(ctx, "resume-one", &webPage{}); cti.ErrorCode(err) != cti.ENOTFOUND {
			t.Fatalf("a second page with the same id: %v, want %s", err, cti.ENOTFOUND)
		}
		waiting := &webPage{}
		if _, err := h.e.ResumeWebCall(ctx, "resume-two", waiting); err != nil {
			t.Fatal(err)
		}
		if u := waiting.last(); u.State != string(cti.CallQueued) || u.Position == 0 {
			t.Fatalf("the waiting page was told %+v, want queued with its position", u)
		}
		snap, err := h.e.Snapshot(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range snap.Calls {
			if c.Channel != cti.ChannelWebRTC {
				t.Errorf("call %s has channel %q, want webrtc", c.ID, c.Channel)
			}
			if c.ID == "web1" && (c.State != cti.CallConnected || c.AgentID != "a1") {
				t.Errorf("web1 = %+v, want connected to a1", c)
			}
		}

		// web2's page came back but its media could not (the gateway could not bind the address): the call fails.
		h.tel.take()
		h.e.DropWebCall("web2")
		synctest.Wait()
		h.contains("Hangup sb-web-web2")
		if in := h.crm.interaction("web2"); in.Outcome != cti.OutcomeFailed || in.EndedAt.IsZero() {
			t.Errorf("web2 = %+v, want failed and ended", in)
		}
		if u := waiting.last(); u.State != string(cti.CallEnded) {
			t.Errorf("web2's page was told %+v, want ended", u)
		}

		// web3's page never comes back: after the window its call ends; web1 goes on.
		time.Sleep(ReconnectWindow)
		synctest.Wait()
		h.contains("Hangup sb-web-web3", "DestroyBridge sb-web3")
		if in := h.crm.interaction("web3"); in.Outcome != cti.OutcomeFailed || in.EndedAt.IsZero() {
			t.Errorf("web3 = %+v, want failed and ended", in)
		}
		if in := h.crm.interaction("web1"); !in.EndedAt.IsZero() {
			t.Errorf("web1 ended (%+v) although its page came back", in)
		}
		// The ended calls' addresses are free again; the live call's stays reserved.
		if h.e.WebMediaReserved("127.0.0.1:40002") || h.e.WebMediaReserved("127.0.0.1:40003") || !h.e.WebMediaReserved("127.0.0.1:40001") {
			t.Error("reserved addresses do not follow the adopted calls")
		}
		if _, err := h.e.ResumeWebCall(ctx, "resume-three", &webPage{}); cti.ErrorCode(err) != cti.ENOTFOUND {
			t.Errorf("resume after the window: %v, want %s", err, cti.ENOTFOUND)
		}
	})
}
