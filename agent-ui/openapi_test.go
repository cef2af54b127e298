package agentui_test

import (
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	agentui "github.com/switchboard-cc/switchboard/agent-ui"
	"github.com/switchboard-cc/switchboard/crmstore"
	"github.com/switchboard-cc/switchboard/cti"
)

type openAPIDoc struct {
	OpenAPI string                                 `json:"openapi"`
	Paths   map[string]map[string]openAPIOperation `json:"paths"`
}

type openAPIOperation struct {
	Security    []map[string]any `json:"security"`
	Role        string           `json:"x-role"`
	RequestBody *json.RawMessage `json:"requestBody"`
	Responses   map[string]any   `json:"responses"`
	Parameters  []map[string]any `json:"parameters"`
}

// TestOpenAPIMatchesRouter holds agent-ui/openapi.json, as served at /api/openapi.json, to the real router: every /api route is
// documented with its method and every documented operation is a route; and each operation documents the statuses the router
// really answers — 401 without a session, 403 for an agent where a higher role is needed, 404 where the path names something,
// 400 where it reads input — and whatever it answers to an admin's empty request.
func TestOpenAPIMatchesRouter(t *testing.T) {
	h := mustUI(t, func(c *agentui.Config) {
		c.Reports = c.Customers.(*crmstore.Store)
		c.Webhooks = c.Customers.(*crmstore.Store)
	})
	anon := h.client(t)
	r := anon.do("GET", "/api/openapi.json", "")
	if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("GET /api/openapi.json: %d %s", r.status, r.header.Get("Content-Type"))
	}
	var doc openAPIDoc
	if err := json.Unmarshal([]byte(r.raw), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q", doc.OpenAPI)
	}

	routes := map[string]bool{}
	for _, p := range h.ui.Routes() {
		method, path, _ := strings.Cut(p, " ")
		if strings.HasPrefix(path, "/api/") {
			routes[method+" "+path] = true
		}
	}
	documented := map[string]openAPIOperation{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			documented[strings.ToUpper(method)+" "+path] = op
		}
	}
	for _, k := range slices.Sorted(maps(routes)) {
		if _, ok := documented[k]; !ok {
			t.Errorf("route %s is not documented in openapi.json", k)
		}
	}
	for _, k := range slices.Sorted(maps(documented)) {
		if !routes[k] {
			t.Errorf("openapi.json documents %s, which the router does not serve", k)
		}
	}

	agent := h.signIn(t, "agent1", crmstore.DemoAgentPassword)
	admin := h.signIn(t, "admin", crmstore.DemoAdminPassword)
	param := regexp.MustCompile(`\{[^}]+\}`)
	const id = "0190f0f0-0000-7000-8000-000000000000"
	for _, k := range slices.Sorted(maps(documented)) {
		op := documented[k]
		method, path, _ := strings.Cut(k, " ")
		has := func(code int) bool { _, ok := op.Responses[strconv.Itoa(code)]; return ok }
		ok2xx := false
		for c := range op.Responses {
			ok2xx = ok2xx || strings.HasPrefix(c, "2")
		}
		if !ok2xx {
			t.Errorf("%s documents no success status", k)
		}
		if strings.Contains(path, "{") && !has(404) {
			t.Errorf("%s names a resource in its path but documents no 404", k)
		}
		if op.RequestBody != nil && !has(400) {
			t.Errorf("%s reads a body but documents no 400", k)
		}
		url := param.ReplaceAllString(path, id)
		if len(op.Security) > 0 {
			if got := anon.do(method, url, "").status; got != 401 || !has(401) {
				t.Errorf("%s without a session: %d (documents 401: %t)", k, got, has(401))
			}
		}
		if op.Role == string(cti.RoleSupervisor) || op.Role == string(cti.RoleAdmin) {
			if got := agent.do(method, url, "").status; got != 403 || !has(403) {
				t.Errorf("%s as an agent: %d (documents 403: %t)", k, got, has(403))
			}
		}
		if path == "/api/v1/logout" || path == "/api/v1/agents/{id}/logout" {
			continue // would end the admin's own session
		}
		body := ""
		if op.RequestBody != nil {
			body = "{}"
		}
		if got := admin.do(method, url, body); !has(got.status) {
			t.Errorf("%s answered an admin %d, which it does not document: %s", k, got.status, got.raw)
		}
	}
}

func maps[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
