package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	keys "github.com/chromedp/chromedp/kb"

	"github.com/switchboard-cc/switchboard/agent-ui/uitest"
	"github.com/switchboard-cc/switchboard/crmstore"
	"github.com/switchboard-cc/switchboard/crmstore/pgtest"
	"github.com/switchboard-cc/switchboard/cti"
	"github.com/switchboard-cc/switchboard/cti/arisim"
)

// TestE2EDeskAndWallboard runs the whole contact center (engine, ARI adapter, emulator, PostgreSQL, agent-ui) and drives it in
// Chromium as people would: an agent signs in and goes Ready, an emulated customer calls, the screen-pop shows the right
// customer, the agent accepts (which answers the emulated phone), the caller hangs up, the agent saves a disposition and notes,
// and the interaction row has them. A second agent's desktop never sees that screen-pop. A supervisor sees the waiting count
// change on the wallboard and barges into a live call.
func TestE2EDeskAndWallboard(t *testing.T) {
	br := uitest.Browser(t)
	m := NewMain()
	m.simTimeScale = 0.05
	m.Stdout, m.Stderr = io.Discard, io.Discard
	m.Logger = slog.New(slog.DiscardHandler)
	if err := m.ParseFlags([]string{"--http", "127.0.0.1:0", "--database-url", pgtest.URL(t), "--ivr-flows", "",
		"--demo-calls-per-minute", "0", "--recordings-dir", t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	ctx := context.Background()
	store, sim, base := m.sys.store, m.sys.sim, m.URL()
	checkFor(t, 5*time.Second, func() error { return m.sys.ari.Ready() })

	cust := &cti.Customer{Name: "Chen Jie", Company: "Pearl River Trading", Tier: cti.TierGold,
		Phones: []cti.Phone{{Number: "+8613512345678", Kind: cti.PhoneMobile}}}
	if err := store.CreateCustomer(ctx, cust); err != nil {
		t.Fatal(err)
	}
	// The supervisor listens on a desk phone of the emulator that answers at once.
	sup, err := store.AgentByLogin(ctx, "supervisor")
	if err != nil {
		t.Fatal(err)
	}
	sup.Endpoint = "PJSIP/1009"
	if err := store.PutAgent(ctx, sup, ""); err != nil {
		t.Fatal(err)
	}
	if err := sim.SetEndpoint("PJSIP/1009", arisim.Behaviour{Registered: true, AnswerAfter: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}

	desk1, desk2, wall := uitest.NewTab(t, br), uitest.NewTab(t, br), uitest.NewTab(t, br)
	uitest.SignIn(t, desk1, base, "agent1", crmstore.DemoAgentPassword, "/desk")
	uitest.SignIn(t, desk2, base, "agent2", crmstore.DemoAgentPassword, "/desk")
	uitest.SignIn(t, wall, base, "supervisor", crmstore.DemoSupervisorPassword, "/wall")
	waiting := func(q string) string {
		return fmt.Sprintf(`document.querySelector('[data-testid=queue-%s] [data-testid=waiting]')?.textContent`, q)
	}
	uitest.WaitJS(t, wall, "the general queue tile", waiting("general")+` === '0'`, 5*time.Second)

	// A call waits while nobody is Ready: the wallboard counts it.
	caller, err := sim.Call(arisim.CallSpec{CallerNumber: "+8613512345678", CallerName: "Chen Jie", Dialed: "5551000", HangupAfter: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	uitest.WaitJS(t, wall, "one caller waiting", waiting("general")+` === '1'`, 10*time.Second)
	uitest.Screenshot(t, wall, "system-wall-waiting")

	// agent1 goes Ready (F2): the offer rings with the customer's record.
	uitest.Browse(t, desk1, chromedp.KeyEvent(keys.F2))
	uitest.WaitJS(t, desk1, "the screen-pop", `document.querySelector('[data-testid=customer-name]')?.textContent === 'Chen Jie' &&
		!document.querySelector('[data-testid=offer-banner]').hidden`, 10*time.Second)
	uitest.Screenshot(t, desk1, "system-desk-ringing")
	uitest.Click(t, desk1, "accept")
	uitest.WaitJS(t, desk1, "the connected call", `!!document.querySelector('[data-testid=hangup]') &&
		document.querySelector('[data-testid=offer-banner]').hidden`, 10*time.Second)
	uitest.WaitJS(t, wall, "nobody waiting", waiting("general")+` === '0'`, 10*time.Second)

	// The call is live in the emulator: the caller and agent1's phone in one recorded bridge.
	agent1, _ := store.AgentByLogin(ctx, "agent1")
	var callID string
	checkFor(t, 5*time.Second, func() error {
		snap, err := m.sys.engine.Snapshot(ctx)
		if err != nil {
			return err
		}
		for _, c := range snap.Calls {
			if c.AgentID == agent1.ID && c.State == cti.CallConnected {
				callID = c.ID
				return nil
			}
		}
		return fmt.Errorf("no connected call for agent1 in %+v", snap.Calls)
	})

	// The supervisor barges in from the wallboard; the audit log has it.
	uitest.Click(t, wall, "barge-agent1")
	checkFor(t, 10*time.Second, func() error {
		entries, err := store.AuditLog(ctx, 50)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if strings.Contains(e.Action, "barge") {
				return nil
			}
		}
		return fmt.Errorf("no barge in the audit log")
	})
	uitest.Screenshot(t, wall, "system-wall-barge")

	// The caller hangs up; agent1 wraps up with a disposition and notes.
	if err := sim.Hangup(caller); err != nil {
		t.Fatal(err)
	}
	uitest.WaitJS(t, desk1, "the wrap-up form", `!document.querySelector('[data-testid=wrapup-panel]').hidden`, 10*time.Second)
	uitest.EvalJS[bool](t, desk1, `(() => { const d = document.querySelector('[data-testid=disposition]');
		d.value = d.options[d.options.length - 1].value; document.querySelector('[data-testid=wrap-notes]').value = 'Order 4471 re-sent.';
		return true })()`)
	disposition := uitest.EvalJS[string](t, desk1, `document.querySelector('[data-testid=disposition]').value`)
	uitest.Click(t, desk1, "wrap-done")
	checkFor(t, 10*time.Second, func() error {
		in, err := store.Interaction(ctx, callID)
		if err != nil {
			return err
		}
		if in.Disposition != disposition || in.Notes != "Order 4471 re-sent." || in.Outcome != cti.OutcomeAnswered ||
			in.CustomerID != cust.ID || in.AgentID != agent1.ID {
			return fmt.Errorf("interaction row %+v", in)
		}
		return nil
	})
	uitest.Screenshot(t, desk1, "system-desk-after-wrap-up")

	// agent2's desktop never showed agent1's customer.
	if txt := uitest.EvalJS[string](t, desk2, `document.body.innerText`); strings.Contains(txt, "Chen Jie") || strings.Contains(txt, "Pearl River") {
		t.Fatalf("agent2's desk shows agent1's customer:\n%s", txt)
	}
}
