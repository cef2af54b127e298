package engine

import (
	"context"
	"testing"
	"testing/synctest"

	"github.com/switchboard-cc/switchboard/cti"
)

// slowScript is a configuration whose script read waits for release, as a read does when the cache has let it expire.
type slowScript struct {
	*fakeCRM
	release chan struct{}
}

func (s slowScript) Script(ctx context.Context, q string, tier cti.Tier) (*cti.Script, error) {
	select {
	case <-s.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.fakeCRM.Script(ctx, q, tier)
}

// An agent's originate never waits on the call's executor for the screen-pop's configuration read: the agent is rung while
// the read is out, and the pop, with its script, reaches the agent once the read is back.
func TestOriginateDoesNotWaitForScreenPopRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		h := start(t, func(cfg *Config, crm *fakeCRM) { cfg.Settings = slowScript{crm, release} })
		h.ready("a1")
		h.inbound("100.1", "+15551230001")
		h.contains("Originate sb-agent-call1-1 PJSIP/1001 agent,call1")
		if len(h.n.offers) != 0 {
			t.Fatalf("screen-pop sent before its script was read: %+v", h.n.offers)
		}
		close(release)
		synctest.Wait()
		h.contains("CreateBridge sb-call1 mixing", "AddChannel sb-call1 100.1 customer", "BridgeMOH sb-call1 default")
		if len(h.n.offers) != 1 || h.n.to[0] != "a1" || h.n.offers[0].Script == nil ||
			h.n.offers[0].Script.Body != "Hello Ada Lovelace" {
			t.Fatalf("screen-pop = %+v to %v", h.n.offers, h.n.to)
		}
	})
}

// An agent who answers while the screen-pop's read is still out gets the pop once the read is back, and the interaction
// records the script they saw.
func TestScreenPopAfterAnswerBeforeRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		h := start(t, func(cfg *Config, crm *fakeCRM) { cfg.Settings = slowScript{crm, release} })
		h.ready("a1")
		h.inbound("100.1", "+15551230001")
		h.contains("Originate sb-agent-call1-1 PJSIP/1001 agent,call1")
		h.post(entered("sb-agent-call1-1", "", "agent", "call1"))
		if len(h.n.offers) != 0 {
			t.Fatalf("screen-pop sent before its script was read: %+v", h.n.offers)
		}
		close(release)
		synctest.Wait()
		h.contains("AddChannel sb-call1 sb-agent-call1-1 agent", "RecordBridge sb-call1 interaction-call1")
		if len(h.n.offers) != 1 || h.n.to[0] != "a1" || h.n.offers[0].Script == nil {
			t.Fatalf("screen-pop = %+v to %v", h.n.offers, h.n.to)
		}
		if in := h.crm.interaction("call1"); in.ScriptID != "script-1" {
			t.Fatalf("interaction script %q, want script-1", in.ScriptID)
		}
	})
}
