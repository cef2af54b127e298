package agentui_test

import (
	"strings"
	"testing"

	agentui "github.com/switchboard-cc/switchboard/agent-ui"
	"github.com/switchboard-cc/switchboard/crmstore"
)

func TestReportsAndWebhooksAPI(t *testing.T) {
	h := mustUI(t, func(c *agentui.Config) {
		c.Reports = c.Customers.(*crmstore.Store)
		c.Webhooks = c.Customers.(*crmstore.Store)
	})
	sup := h.signIn(t, "supervisor", crmstore.DemoSupervisorPassword)
	if r := sup.do("GET", "/api/v1/reports/queues?from=2025-03-01&to=2025-03-08&interval=day", ""); r.status != 200 || r.body["items"] == nil {
		t.Fatalf("queue report: %d %s", r.status, r.raw)
	}
	r := sup.do("GET", "/api/v1/reports/agents?from=2025-03-01&to=2025-03-08&interval=hour&format=csv", "")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") || !strings.HasPrefix(r.raw, "agent,interval,") {
		t.Fatalf("agent report CSV: %d %s %q", r.status, r.header.Get("Content-Type"), r.raw)
	}
	if r := sup.do("GET", "/api/v1/reports/queues?interval=month", ""); r.status != 400 {
		t.Errorf("bad interval: %d", r.status)
	}
	if r := sup.do("GET", "/api/v1/reports/value?from=2025-03&to=x", ""); r.status != 400 {
		t.Errorf("bad date: %d", r.status)
	}
	if r := sup.do("GET", "/api/v1/admin/webhooks", ""); r.status != 403 {
		t.Errorf("supervisor lists webhooks: %d", r.status)
	}

	admin := h.signIn(t, "admin", crmstore.DemoAdminPassword)
	r = admin.do("POST", "/api/v1/admin/webhooks", `{"url":"https://crm.example.com/hooks","secret":"0123456789abcdef-secret","events":["interaction.completed"]}`)
	if r.status != 201 || r.body["secret"] != nil || r.body["active"] != true {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	id := r.body["id"].(string)
	if r := admin.do("POST", "/api/v1/admin/webhooks", `{"url":"ftp://x","secret":"short","events":["nope"]}`); r.status != 400 {
		t.Errorf("invalid subscription: %d %s", r.status, r.raw)
	}
	if r := admin.do("PUT", "/api/v1/admin/webhooks/"+id, `{"url":"https://crm.example.com/v2","events":["customer.created"],"active":false}`); r.status != 200 {
		t.Errorf("update: %d %s", r.status, r.raw)
	}
	r = admin.do("GET", "/api/v1/admin/webhooks", "")
	if r.status != 200 || strings.Contains(r.raw, "secret\"") || !strings.Contains(r.raw, "https://crm.example.com/v2") {
		t.Errorf("list: %d %s", r.status, r.raw)
	}
	if r := admin.do("GET", "/api/v1/admin/dead-letters", ""); r.status != 200 {
		t.Errorf("dead letters: %d", r.status)
	}
	if r := admin.do("DELETE", "/api/v1/admin/webhooks/"+id, ""); r.status != 204 {
		t.Errorf("delete: %d", r.status)
	}
}
