package agentui_test

import (
	"context"
	"strings"
	"testing"
	"time"

	agentui "github.com/switchboard-cc/switchboard/agent-ui"
	"github.com/switchboard-cc/switchboard/agent-ui/uitest"
	"github.com/switchboard-cc/switchboard/crmstore"
	"github.com/switchboard-cc/switchboard/cti"
)

// TestE2EReports: a supervisor opens the wallboard's Reports tab, sees the chart, the queue and agent tables and the value view
// of yesterday's calls, downloads the queue report as CSV, and switches the page to Chinese.
func TestE2EReports(t *testing.T) {
	br := uitest.Browser(t)
	h := mustUI(t, func(c *agentui.Config) { c.Reports = c.Customers.(*crmstore.Store) })
	ctx := context.Background()
	a1, _ := h.store.AgentByLogin(ctx, "agent1")
	cust := &cti.Customer{Name: "Report Customer", Tier: cti.TierPlatinum}
	if err := h.store.CreateCustomer(ctx, cust); err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-26 * time.Hour).Truncate(time.Hour)
	var ins []cti.Interaction
	for i := range 12 {
		at := base.Add(time.Duration(i) * 10 * time.Minute)
		in := cti.Interaction{Channel: cti.ChannelPhone, Direction: cti.Inbound, Queue: "sales", CustomerID: cust.ID, ArrivedAt: at,
			QueuedAt: at, EndedAt: at.Add(3 * time.Minute), Outcome: cti.OutcomeAbandoned, Durations: cti.Durations{Wait: 40 * time.Second}}
		if i%3 != 0 {
			in.AgentID, in.AnsweredAt, in.Outcome, in.Disposition = a1.ID, at.Add(10*time.Second), cti.OutcomeAnswered, "sale"
			in.Durations = cti.Durations{Wait: 10 * time.Second, Talk: 2 * time.Minute}
		}
		ins = append(ins, in)
	}
	if err := h.store.LogInteractions(ctx, ins); err != nil {
		t.Fatal(err)
	}

	tab := uitest.NewTab(t, br)
	uitest.SignIn(t, tab, h.srv.URL, "supervisor", crmstore.DemoSupervisorPassword, "/wall")
	uitest.Click(t, tab, "tab-reports")
	uitest.WaitJS(t, tab, "the queue table", `document.querySelectorAll('[data-testid=report-queues] tbody tr').length > 0`, 10*time.Second)
	uitest.WaitJS(t, tab, "the chart", `document.querySelector('[data-testid=report-chart] canvas') &&
		+document.querySelector('[data-testid=report-chart]').dataset.points > 0`, 5*time.Second)
	uitest.WaitJS(t, tab, "the value view", `document.querySelector('[data-testid=value-fcr]')?.textContent.includes('12 contacts')`, 5*time.Second)
	if got := uitest.EvalJS[string](t, tab, `document.querySelector('[data-testid=value-top] tbody td').textContent`); got != "Report Customer" {
		t.Errorf("top customer %q", got)
	}
	uitest.Screenshot(t, tab, "wall-reports")

	// Hourly rows, sales only: the table follows the filters.
	uitest.EvalJS[bool](t, tab, `(() => { const f = document.querySelector('[data-testid=report-filters]');
		f.elements.interval.value = 'hour'; f.elements.queue.value = 'sales'; document.querySelector('[data-testid=report-run]').click(); return true })()`)
	uitest.WaitJS(t, tab, "hourly rows", `document.querySelectorAll('[data-testid=report-queues] tbody tr').length === 2`, 5*time.Second)

	// The CSV link downloads with the page's session.
	csv := uitest.EvalJS[string](t, tab, `(async () => { const r = await fetch(document.querySelector('[data-testid=report-csv]').href);
		return r.headers.get('content-type') + '|' + r.headers.get('content-disposition') + '|' + await r.text() })()`)
	parts := strings.SplitN(csv, "|", 3)
	if len(parts) != 3 || !strings.HasPrefix(parts[0], "text/csv") || !strings.Contains(parts[1], "attachment") {
		t.Fatalf("CSV response %q", csv)
	}
	lines := strings.Split(strings.TrimSpace(parts[2]), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "queue,interval,start_utc,offered,answered") || !strings.HasPrefix(lines[1], "sales,") {
		t.Errorf("CSV:\n%s", parts[2])
	}

	// In Chinese the tab relabels at once (the tab, the Show button, the table heads) and the value view follows on the next Show.
	uitest.EvalJS[bool](t, tab, `(() => { const s = document.querySelector('[data-testid=lang]'); s.value = 'zh-CN';
		s.dispatchEvent(new Event('change')); return true })()`)
	uitest.WaitJS(t, tab, "Chinese labels", `document.querySelector('[data-testid=tab-reports]').textContent === '报表' &&
		document.querySelector('[data-testid=report-run]').textContent === '查询' &&
		document.querySelector('[data-testid=report-queues] thead th:nth-child(3)').textContent === '呼入'`, 5*time.Second)
	uitest.Click(t, tab, "report-run")
	uitest.WaitJS(t, tab, "the value view in Chinese", `document.querySelector('[data-testid=value-fcr]')?.textContent.startsWith('已知客户联系 12 次')`,
		5*time.Second)
	uitest.Screenshot(t, tab, "wall-reports-zh-CN")
}
