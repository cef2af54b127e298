package agentui_test

// Browser tests: headless Debian Chromium driven by chromedp against the real Server on a real, seeded database, with a scripted
// desk standing in for the engine. `make e2e` runs them alone (-run E2E). Screenshots of each page go to .artifacts/screenshots.

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/switchboard-cc/switchboard/agent-ui/uitest"
	"github.com/switchboard-cc/switchboard/crmstore"
	"github.com/switchboard-cc/switchboard/cti"
)

func TestMain(m *testing.M) {
	code := m.Run()
	uitest.Close()
	os.Exit(code)
}

func TestE2EAgentDesk(t *testing.T) {
	br := uitest.Browser(t)
	h := mustUI(t, nil)
	ctx := context.Background()
	a1, _ := h.store.AgentByLogin(ctx, "agent1")
	a2, _ := h.store.AgentByLogin(ctx, "agent2")
	cust := &cti.Customer{Name: "Li Wei", Company: "Acme Trading", Tier: cti.TierGold, Tags: []string{"vip", "billing"},
		Notes: "Prefers Mandarin.", Phones: []cti.Phone{{Number: "+8613800138000", Kind: cti.PhoneMobile}}}
	if err := h.store.CreateCustomer(ctx, cust); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	in := &cti.Interaction{Channel: cti.ChannelPhone, Direction: cti.Inbound, CustomerID: cust.ID, CallerNumber: "+8613800138000",
		Queue: "support", AgentID: a1.ID, ArrivedAt: now}
	if err := h.store.StartInteraction(ctx, in); err != nil {
		t.Fatal(err)
	}
	// The scripted engine: wrap-up records the disposition as the real one does.
	h.desk.WrapUpFunc = func(agentID string, w cti.WrapUpRequest) error {
		return h.store.SetDisposition(ctx, w.InteractionID, agentID, w.Disposition, w.Notes)
	}
	h.desk.SetSnapshot(cti.DeskSnapshot{Agents: []cti.AgentStatus{
		{AgentID: a1.ID, Login: "agent1", DisplayName: "Agent One", State: cti.AgentNotReady, Reason: "break", Since: now, Connected: true},
		{AgentID: a2.ID, Login: "agent2", DisplayName: "Agent Two", State: cti.AgentReady, Since: now, Connected: true}}})

	tab1 := uitest.NewTab(t, br)
	tab2 := uitest.NewTab(t, br)
	uitest.SignIn(t, tab1, h.srv.URL, "agent1", crmstore.DemoAgentPassword, "/desk")
	uitest.SignIn(t, tab2, h.srv.URL, "agent2", crmstore.DemoAgentPassword, "/desk")
	uitest.WaitJS(t, tab1, "the state from the snapshot", `document.querySelector('[data-testid=state]').dataset.state === 'not-ready'`, 5*time.Second)
	uitest.Screenshot(t, tab1, "desk-idle")

	// Ready with F2.
	uitest.Browse(t, tab1, chromedp.KeyEvent(kb.F2))
	checkFor(t, 5*time.Second, "SetState ready", func() bool { return len(h.desk.Calls("SetState "+a1.ID+" ready=true")) == 1 })
	n := h.ui.Notifier()
	n.Agent(cti.AgentStatus{AgentID: a1.ID, Login: "agent1", State: cti.AgentReady, Since: time.Now(), Connected: true})
	uitest.WaitJS(t, tab1, "ready", `document.querySelector('[data-testid=state]').dataset.state === 'ready'`, 5*time.Second)

	// An offer: the screen-pop shows the caller within a second.
	pop := cti.ScreenPop{InteractionID: in.ID, Queue: "support", Caller: cti.Party{Number: "+8613800138000"}, Wait: 42 * time.Second,
		Customer: cust, Deadline: time.Now().Add(15 * time.Second),
		Timeline: []cti.Interaction{{ID: "00000000-0000-7000-8000-000000000001", Queue: "billing", ArrivedAt: now.Add(-48 * time.Hour),
			Outcome: cti.OutcomeAnswered, Disposition: "resolved", Notes: "Refund issued."}},
		IVRPath: []cti.IVRStep{{Node: "welcome"}, {Node: "menu", Input: "2"}, {Node: "account", Var: "account", Input: "****", Sensitive: true}},
		Inputs:  map[string]string{"account": "****"},
		Script: &cti.RenderedScript{Title: "Support greeting", Body: cti.RenderScript(
			"# Greeting\nHello **{{customer.name}}**, thank you for calling.\n\n- Confirm the account\n- Ask how we can help", cti.ScriptVars(cust, nil))},
		Dispositions: []cti.Disposition{{Code: "resolved", Label: "Resolved"}, {Code: "escalated", Label: "Escalated"}}}
	start := time.Now()
	n.Agent(cti.AgentStatus{AgentID: a1.ID, State: cti.AgentReserved, CallID: in.ID, Since: time.Now(), Connected: true})
	n.Call(cti.CallView{ID: in.ID, State: cti.CallRinging, Queue: "support", Caller: pop.Caller, CustomerName: cust.Name,
		Tier: cust.Tier, AgentID: a1.ID, ArrivedAt: now})
	n.Offer(a1.ID, pop)
	uitest.WaitJS(t, tab1, "the screen-pop", `document.querySelector('[data-testid=customer-name]')?.textContent === 'Li Wei' &&
		!document.querySelector('[data-testid=offer-banner]').hidden`, time.Second)
	t.Logf("offer → screen-pop on screen in %s", time.Since(start))
	if got := uitest.EvalJS[string](t, tab1, `document.querySelector('[data-testid=script-body] strong')?.textContent || ''`); got != "Li Wei" {
		t.Errorf("script shows %q in bold, want the customer's name", got)
	}
	uitest.Screenshot(t, tab1, "desk-ringing")

	uitest.Click(t, tab1, "accept")
	checkFor(t, 5*time.Second, "AcceptOffer", func() bool { return len(h.desk.Calls("AcceptOffer "+a1.ID)) == 1 })
	n.Call(cti.CallView{ID: in.ID, State: cti.CallConnected, Queue: "support", Caller: pop.Caller, CustomerName: cust.Name,
		AgentID: a1.ID, ArrivedAt: now, AnsweredAt: time.Now(), Recording: "on"})
	n.Agent(cti.AgentStatus{AgentID: a1.ID, State: cti.AgentOnCall, CallID: in.ID, Since: time.Now(), Connected: true})
	uitest.WaitJS(t, tab1, "call controls", `!!document.querySelector('[data-testid=hangup]') && document.querySelector('[data-testid=offer-banner]').hidden`, 5*time.Second)
	uitest.Screenshot(t, tab1, "desk-on-call")
	uitest.Click(t, tab1, "hold")
	checkFor(t, 5*time.Second, "Hold", func() bool { return len(h.desk.Calls("Hold "+a1.ID+" true")) == 1 })

	// Hang-up, wrap-up: disposition and notes land on the interaction.
	n.Call(cti.CallView{ID: in.ID, State: cti.CallEnded, AgentID: a1.ID, ArrivedAt: now})
	n.Agent(cti.AgentStatus{AgentID: a1.ID, State: cti.AgentWrapUp, CallID: in.ID, Since: time.Now(),
		Deadline: time.Now().Add(30 * time.Second), Connected: true})
	uitest.WaitJS(t, tab1, "the wrap-up form", `!document.querySelector('[data-testid=wrapup-panel]').hidden`, 5*time.Second)
	uitest.EvalJS[bool](t, tab1, `(() => { document.querySelector('[data-testid=disposition]').value = 'resolved';
		document.querySelector('[data-testid=wrap-notes]').value = 'Explained the invoice; 客户满意.'; return true })()`)
	uitest.Screenshot(t, tab1, "desk-wrap-up")
	uitest.Click(t, tab1, "wrap-done")
	checkFor(t, 5*time.Second, "WrapUp", func() bool { return len(h.desk.Calls("WrapUp "+a1.ID+" "+in.ID+" disposition=resolved")) == 1 })
	got, err := h.store.Interaction(ctx, in.ID)
	if err != nil || got.Disposition != "resolved" || got.Notes != "Explained the invoice; 客户满意." {
		t.Fatalf("interaction row: %+v %v", got, err)
	}

	// The second agent's page never saw the first one's screen-pop.
	if txt := uitest.EvalJS[string](t, tab2, `document.body.innerText`); strings.Contains(txt, "Li Wei") || strings.Contains(txt, "Acme") {
		t.Fatalf("agent2's desk shows agent1's customer:\n%s", txt)
	}

	// A websocket killed by the server: the page reconnects and shows the state of the new snapshot.
	h.desk.SetSnapshot(cti.DeskSnapshot{Agents: []cti.AgentStatus{{AgentID: a1.ID, Login: "agent1", State: cti.AgentNotReady,
		Reason: "lunch", Since: time.Now(), Connected: true}}})
	h.ui.Hub().Kick(a1.ID)
	uitest.WaitJS(t, tab1, "re-sync after reconnect", `document.querySelector('[data-testid=state]').dataset.state === 'not-ready' &&
		document.querySelector('[data-testid=state]').textContent.includes('Lunch') &&
		document.querySelector('[data-testid=conn]').dataset.state === 'open'`, 10*time.Second)

	// Simplified Chinese, remembered across reloads.
	uitest.EvalJS[bool](t, tab1, `(() => { const s = document.querySelector('[data-testid=lang]'); s.value = 'zh-CN';
		s.dispatchEvent(new Event('change')); return true })()`)
	uitest.Browse(t, tab1, chromedp.Reload())
	uitest.WaitJS(t, tab1, "Chinese texts", `document.documentElement.lang === 'zh-CN' && document.querySelector('[data-testid=signout]').textContent === '退出'`, 5*time.Second)
	uitest.Screenshot(t, tab1, "desk-zh-CN")
}

func TestE2ESupervisorWall(t *testing.T) {
	br := uitest.Browser(t)
	h := mustUI(t, nil)
	ctx := context.Background()
	a1, _ := h.store.AgentByLogin(ctx, "agent1")
	a2, _ := h.store.AgentByLogin(ctx, "agent2")
	sup, _ := h.store.AgentByLogin(ctx, "supervisor")
	now := time.Now().UTC()
	call := cti.CallView{ID: "c-1", State: cti.CallConnected, Queue: "sales", Caller: cti.Party{Number: "+8613900139000"},
		CustomerName: "Wang Fang", Tier: cti.TierPlatinum, AgentID: a1.ID, ArrivedAt: now.Add(-95 * time.Second),
		AnsweredAt: now.Add(-80 * time.Second)}
	h.desk.SetSnapshot(cti.DeskSnapshot{
		Agents: []cti.AgentStatus{
			{AgentID: a1.ID, Login: "agent1", DisplayName: "Agent One", State: cti.AgentOnCall, CallID: "c-1", Since: now.Add(-80 * time.Second), Connected: true},
			{AgentID: a2.ID, Login: "agent2", DisplayName: "Agent Two", State: cti.AgentReady, Since: now.Add(-200 * time.Second), Connected: true}},
		Calls: []cti.CallView{call, {ID: "c-2", State: cti.CallQueued, Queue: "sales", Caller: cti.Party{Number: "+8613700137000"}, ArrivedAt: now.Add(-20 * time.Second)}},
		Queues: []cti.QueueStatus{
			{Queue: "sales", Waiting: 1, LongestWait: 20 * time.Second, Agents: map[cti.AgentState]int{cti.AgentOnCall: 1, cti.AgentReady: 1},
				ServiceLevel: 0.86, ServiceLevel15: 0.75, ASA: 12 * time.Second, AbandonRate: 0.04, At: now},
			{Queue: "support", Waiting: 0, Agents: map[cti.AgentState]int{cti.AgentReady: 1}, ServiceLevel: 0.92, ServiceLevel15: 1, At: now}}})

	tab := uitest.NewTab(t, br)
	uitest.SignIn(t, tab, h.srv.URL, "supervisor", crmstore.DemoSupervisorPassword, "/wall")
	uitest.WaitJS(t, tab, "queue tiles", `document.querySelector('[data-testid=queue-sales] [data-testid=waiting]')?.textContent === '1'`, 5*time.Second)
	h.ui.Notifier().Queues([]cti.QueueStatus{{Queue: "sales", Waiting: 4, LongestWait: 35 * time.Second,
		Agents: map[cti.AgentState]int{cti.AgentOnCall: 2}, ServiceLevel: 0.8, ServiceLevel15: 0.6, At: time.Now()}})
	uitest.WaitJS(t, tab, "the queue count change", `document.querySelector('[data-testid=queue-sales] [data-testid=waiting]').textContent === '4'`, 5*time.Second)
	uitest.Screenshot(t, tab, "wall")

	uitest.Click(t, tab, "barge-agent1")
	checkFor(t, 5*time.Second, "Monitor barge", func() bool {
		return len(h.desk.Calls("Monitor "+sup.ID+" "+a1.ID+" barge")) == 1
	})
	uitest.Click(t, tab, "trace-c-1")
	uitest.WaitJS(t, tab, "the routing trace", `!!document.querySelector('[data-testid=trace]')`, 5*time.Second)
	uitest.Browse(t, tab, chromedp.KeyEvent(kb.Escape))

	// An admin's configuration forms.
	atab := uitest.NewTab(t, br)
	uitest.SignIn(t, atab, h.srv.URL, "admin", crmstore.DemoAdminPassword, "/wall")
	uitest.Click(t, atab, "tab-admin")
	uitest.WaitJS(t, atab, "the admin forms", `!!document.querySelector('[data-testid=admin-reason] input[name=code]')`, 5*time.Second)
	uitest.EvalJS[bool](t, atab, `(() => { const f = document.querySelector('[data-testid=admin-reason]');
		f.elements.code.value = 'coaching'; f.elements.label.value = 'Coaching'; f.elements.position.value = '7';
		f.querySelector('button[type=submit]').click(); return true })()`)
	checkFor(t, 5*time.Second, "the new reason code", func() bool {
		rc, _ := h.store.ReasonCodes(ctx)
		for _, r := range rc {
			if r.Code == "coaching" {
				return true
			}
		}
		return false
	})
	uitest.Screenshot(t, atab, "wall-admin")
}

func TestE2ESignInPage(t *testing.T) {
	br := uitest.Browser(t)
	h := mustUI(t, nil)
	tab := uitest.NewTab(t, br)
	uitest.Browse(t, tab, chromedp.Navigate(h.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`[data-testid=login]`)))
	uitest.EvalJS[bool](t, tab, `(() => { document.querySelector('[data-testid=login]').value = 'agent1';
		document.querySelector('[data-testid=password]').value = 'nope';
		document.querySelector('[data-testid=signin-submit]').click(); return true })()`)
	uitest.WaitJS(t, tab, "the error", `!document.querySelector('[data-testid=signin-error]').hidden`, 5*time.Second)
	uitest.Screenshot(t, tab, "signin")
}

// TestE2EModules unit-tests the pure front-end modules (the reducer and the Markdown renderer) in the browser, so `make test`
// needs no Node.
func TestE2EModules(t *testing.T) {
	br := uitest.Browser(t)
	h := mustUI(t, nil)
	tab := uitest.NewTab(t, br)
	uitest.Browse(t, tab, chromedp.Navigate(h.srv.URL+"/"))
	md := func(in string) string {
		return uitest.EvalJS[string](t, tab, fmt.Sprintf(`import('/static/js/md.js').then(m => m.renderMarkdown(%q))`, in))
	}
	for _, tc := range []struct{ in, want string }{
		{"# Hi\nHello **Li**", "<h3>Hi</h3><p>Hello <strong>Li</strong></p>"},
		{"- a\n- *b*\n\n1. one", "<ul><li>a</li><li><em>b</em></li></ul><ol><li>one</li></ol>"},
		{cti.RenderScript("Dear {{customer.name}}", map[string]string{"customer.name": "*x* <script>alert(1)</script>"}),
			"<p>Dear *x* &lt;script&gt;alert(1)&lt;/script&gt;</p>"},
		{"a ** b", "<p>a ** b</p>"},
	} {
		if got := md(tc.in); got != tc.want {
			t.Errorf("renderMarkdown(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// The reducer: snapshot, an offer, a gap-free sequence of updates, the pop forgotten when the agent is free.
	got := uitest.EvalJS[string](t, tab, `import('/static/js/state.js').then(m => {
		let s = m.initialState();
		s = m.reduce(s, {type: 'snapshot', seq: 1, snapshot: {me: {agent_id: 'a1'}, now: new Date().toISOString(),
			agents: [{agent_id: 'a1', state: 'ready'}], calls: [], queues: []}});
		s = m.reduce(s, {type: 'offer', seq: 2, offer: {interaction_id: 'i1', caller: {number: '1'}}});
		s = m.reduce(s, {type: 'call', seq: 3, call: {id: 'i1', state: 'ringing', agent_id: 'a1'}});
		const ringing = m.isRinging(s);
		s = m.reduce(s, {type: 'call', seq: 4, call: {id: 'i1', state: 'connected', agent_id: 'a1'}});
		const onCall = !m.isRinging(s) && m.myCall(s).state === 'connected';
		s = m.reduce(s, {type: 'call', seq: 5, call: {id: 'i1', state: 'ended', agent_id: 'a1'}});
		s = m.reduce(s, {type: 'agent', seq: 6, agent: {agent_id: 'a1', state: 'wrap-up', call_id: 'i1'}});
		const wrap = m.inWrapUp(s) && s.pop !== null;
		s = m.reduce(s, {type: 'agent', seq: 7, agent: {agent_id: 'a1', state: 'ready'}});
		return [ringing, onCall, wrap, s.pop === null, s.seq, Object.keys(s.calls).length].join(',');
	})`)
	if got != "true,true,true,true,7,0" {
		t.Errorf("reducer: %s", got)
	}
}
