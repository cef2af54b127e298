package agentui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	agentui "github.com/switchboard-cc/switchboard/agent-ui"
	"github.com/switchboard-cc/switchboard/crmstore"
	"github.com/switchboard-cc/switchboard/crmstore/pgtest"
	"github.com/switchboard-cc/switchboard/cti"
)

// MustServer serves the CRM API over a real Store on a fresh, seeded database.
func MustServer(tb testing.TB, authorize func(*http.Request, string) error) (*httptest.Server, *crmstore.Store, *bytes.Buffer) {
	tb.Helper()
	db := pgtest.DB(tb)
	if _, err := crmstore.Seed(context.Background(), db, crmstore.SeedOptions{}); err != nil {
		tb.Fatal(err)
	}
	s := crmstore.NewStore(db, crmstore.Options{})
	var logs bytes.Buffer
	api := &agentui.CRMAPI{Customers: s, Admin: s, Interactions: s, Config: s, Auditor: s,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Authorize: authorize}
	mux := http.NewServeMux()
	api.Register(mux)
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return srv, s, &logs
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func do(tb testing.TB, srv *httptest.Server, method, path, body string, header ...string) response {
	tb.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, srv.URL+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := response{status: res.StatusCode, header: res.Header, raw: string(raw)}
	json.Unmarshal(raw, &r.body)
	return r
}

func (r response) field(name string) string {
	e, _ := r.body["error"].(map[string]any)
	fs, _ := e["fields"].(map[string]any)
	s, _ := fs[name].(string)
	return s
}

func TestCustomerAPI(t *testing.T) {
	srv, _, _ := MustServer(t, nil)
	r := do(t, srv, "POST", "/api/v1/customers", `{"name":"Li Wei","company":"Acme","tier":"gold",
		"phones":[{"number":"138 0013 8000"}],"emails":[{"address":"li@example.com"}]}`)
	if r.status != 201 || r.header.Get("ETag") != `"1"` {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	id := r.body["id"].(string)
	if r.header.Get("Location") != "/api/v1/customers/"+id {
		t.Errorf("location %q", r.header.Get("Location"))
	}

	// 400 with per-field messages.
	r = do(t, srv, "POST", "/api/v1/customers", `{"name":"","tier":"diamond","phones":[{"number":"12"}]}`)
	if r.status != 400 || r.field("name") == "" || r.field("tier") == "" || r.field("phones[0].number") == "" {
		t.Errorf("invalid: %d %s", r.status, r.raw)
	}
	r = do(t, srv, "POST", "/api/v1/customers", `{"name":"X","colour":"red"}`)
	if r.status != 400 || r.field("colour") != "unknown field" {
		t.Errorf("unknown field: %d %s", r.status, r.raw)
	}
	r = do(t, srv, "POST", "/api/v1/customers", `{"name":42}`)
	if r.status != 400 || !strings.Contains(r.field("name"), "a string") {
		t.Errorf("type error: %d %s", r.status, r.raw)
	}
	r = do(t, srv, "POST", "/api/v1/customers", `{"name":"X"`)
	if r.status != 400 || r.field("body") == "" {
		t.Errorf("malformed: %d %s", r.status, r.raw)
	}

	// 409 on a duplicate number, naming the owner.
	r = do(t, srv, "POST", "/api/v1/customers", `{"name":"Other","phones":[{"number":"+8613800138000"}]}`)
	if r.status != 409 || !strings.Contains(r.raw, "Li Wei") {
		t.Errorf("duplicate: %d %s", r.status, r.raw)
	}

	// Read, lookup, search.
	r = do(t, srv, "GET", "/api/v1/customers/"+id, "")
	if r.status != 200 || r.body["name"] != "Li Wei" {
		t.Errorf("get: %d %s", r.status, r.raw)
	}
	if r = do(t, srv, "GET", "/api/v1/customers/0190c3b4-0000-7000-8000-000000000000", ""); r.status != 404 {
		t.Errorf("missing: %d", r.status)
	}
	if r = do(t, srv, "GET", "/api/v1/lookup?phone=0086%20138%200013%208000", ""); r.status != 200 || r.body["id"] != id {
		t.Errorf("lookup: %d %s", r.status, r.raw)
	}
	if r = do(t, srv, "GET", "/api/v1/lookup?phone=hello", ""); r.status != 400 || r.field("phone") == "" {
		t.Errorf("lookup bad: %d %s", r.status, r.raw)
	}
	r = do(t, srv, "GET", "/api/v1/customers?q=li", "")
	if items, _ := r.body["items"].([]any); r.status != 200 || len(items) != 1 {
		t.Errorf("search: %d %s", r.status, r.raw)
	}

	// Update with If-Match; a stale version is 412.
	r = do(t, srv, "PUT", "/api/v1/customers/"+id, `{"name":"Li Wei","tier":"platinum","notes":"called twice"}`, "If-Match", `"1"`)
	if r.status != 200 || r.body["version"] != float64(2) || r.body["tier"] != "platinum" || len(r.body["phones"].([]any)) != 1 {
		t.Fatalf("update: %d %s", r.status, r.raw)
	}
	r = do(t, srv, "PUT", "/api/v1/customers/"+id, `{"name":"Li Wei","version":1}`)
	if r.status != 412 {
		t.Errorf("stale: %d %s", r.status, r.raw)
	}

	// Numbers and addresses.
	r = do(t, srv, "POST", "/api/v1/customers/"+id+"/phones", `{"number":"010 6512 3456","kind":"work"}`)
	if r.status != 200 || len(r.body["phones"].([]any)) != 2 {
		t.Fatalf("add phone: %d %s", r.status, r.raw)
	}
	if r = do(t, srv, "DELETE", "/api/v1/customers/"+id+"/phones/+861065123456", ""); r.status != 200 {
		t.Errorf("remove phone: %d %s", r.status, r.raw)
	}
	if r = do(t, srv, "POST", "/api/v1/customers/"+id+"/emails", `{"address":"boss@example.com"}`); r.status != 200 {
		t.Errorf("add email: %d %s", r.status, r.raw)
	}
	if r = do(t, srv, "DELETE", "/api/v1/customers/"+id+"/emails/boss@example.com", ""); r.status != 200 {
		t.Errorf("remove email: %d %s", r.status, r.raw)
	}

	// Delete needs the version.
	if r = do(t, srv, "DELETE", "/api/v1/customers/"+id, ""); r.status != 400 {
		t.Errorf("delete without version: %d", r.status)
	}
	cur := do(t, srv, "GET", "/api/v1/customers/"+id, "")
	if r = do(t, srv, "DELETE", "/api/v1/customers/"+id, "", "If-Match", cur.header.Get("ETag")); r.status != 204 {
		t.Errorf("delete: %d %s", r.status, r.raw)
	}
	if r = do(t, srv, "GET", "/api/v1/customers/"+id, ""); r.status != 404 {
		t.Errorf("deleted still readable: %d", r.status)
	}
}

func TestInteractionAndConfigAPI(t *testing.T) {
	srv, s, logs := MustServer(t, nil)
	ctx := context.Background()
	c := &cti.Customer{Name: "<b>Eve</b>", Tier: cti.TierPlatinum, Phones: []cti.Phone{{Number: "13800138000"}}}
	if err := s.CreateCustomer(ctx, c); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().Add(-time.Hour)
	in := &cti.Interaction{Channel: cti.ChannelPhone, Direction: cti.Inbound, CustomerID: c.ID, Queue: "billing", ArrivedAt: t0,
		Inputs: map[string]string{"account": "7654321"}}
	if err := s.StartInteraction(ctx, in); err != nil {
		t.Fatal(err)
	}
	r := do(t, srv, "GET", "/api/v1/customers/"+c.ID+"/timeline?limit=10", "")
	if items, _ := r.body["items"].([]any); r.status != 200 || len(items) != 1 || r.body["next"] != "" {
		t.Errorf("timeline: %d %s", r.status, r.raw)
	}
	if r = do(t, srv, "GET", "/api/v1/customers/"+c.ID+"/timeline?limit=x", ""); r.status != 400 {
		t.Errorf("bad limit: %d", r.status)
	}
	if r = do(t, srv, "GET", "/api/v1/interactions/"+in.ID, ""); r.status != 200 || r.body["queue"] != "billing" {
		t.Errorf("interaction: %d %s", r.status, r.raw)
	}
	r = do(t, srv, "PUT", "/api/v1/interactions/"+in.ID+"/disposition", `{"code":"sale"}`)
	if r.status != 400 || r.field("code") == "" {
		t.Errorf("foreign code: %d %s", r.status, r.raw)
	}
	r = do(t, srv, "PUT", "/api/v1/interactions/"+in.ID+"/disposition", `{"code":"refund","notes":"ok"}`)
	if r.status != 200 || r.body["disposition"] != "refund" {
		t.Errorf("disposition: %d %s", r.status, r.raw)
	}

	// The script, rendered for the interaction's customer and IVR inputs, with the customer's name escaped.
	r = do(t, srv, "GET", "/api/v1/scripts/billing?interaction_id="+in.ID, "")
	rendered, _ := r.body["rendered"].(string)
	if r.status != 200 || !strings.Contains(rendered, "&lt;b&gt;Eve&lt;/b&gt;") || strings.Contains(rendered, "<b>") {
		t.Errorf("script: %d %s", r.status, r.raw)
	}
	if r = do(t, srv, "GET", "/api/v1/scripts/nosuch", ""); r.status != 404 {
		t.Errorf("missing script: %d", r.status)
	}
	r = do(t, srv, "GET", "/api/v1/dispositions?queue=support", "")
	if items, _ := r.body["items"].([]any); r.status != 200 || len(items) != 7 {
		t.Errorf("dispositions: %d %s", r.status, r.raw)
	}
	r = do(t, srv, "GET", "/api/v1/reason-codes", "")
	if items, _ := r.body["items"].([]any); r.status != 200 || len(items) != 6 {
		t.Errorf("reason codes: %d %s", r.status, r.raw)
	}
	if logs.Len() != 0 {
		t.Errorf("logged without an internal error: %s", logs)
	}
}

func TestAuthorizeHookAndErrors(t *testing.T) {
	srv, _, _ := MustServer(t, func(r *http.Request, action string) error {
		if r.Header.Get("X-Test-User") == "" {
			return cti.Errorf(cti.EUNAUTHORIZED, "log in first")
		}
		if action == agentui.ActionCustomerWrite {
			return cti.Errorf(cti.EFORBIDDEN, "read only")
		}
		return nil
	})
	if r := do(t, srv, "GET", "/api/v1/reason-codes", ""); r.status != 401 {
		t.Errorf("anonymous: %d", r.status)
	}
	if r := do(t, srv, "GET", "/api/v1/reason-codes", "", "X-Test-User", "a"); r.status != 200 {
		t.Errorf("reader: %d", r.status)
	}
	if r := do(t, srv, "POST", "/api/v1/customers", `{"name":"x"}`, "X-Test-User", "a"); r.status != 403 {
		t.Errorf("writer: %d", r.status)
	}
}

func TestErrorMapping(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	for _, tc := range []struct {
		err    error
		status int
		logged bool
	}{
		{cti.Invalid("name", "required"), 400, false},
		{cti.Errorf(cti.ENOTFOUND, "x"), 404, false},
		{cti.Errorf(cti.ECONFLICT, "x"), 409, false},
		{cti.Errorf(cti.EPRECONDITION, "x"), 412, false},
		{cti.Errorf(cti.EUNAUTHORIZED, "x"), 401, false},
		{cti.Errorf(cti.EFORBIDDEN, "x"), 403, false},
		{cti.Errorf(cti.EUNAVAILABLE, "db down"), 503, true},
		{cti.Internal(io.ErrUnexpectedEOF, "read"), 500, true},
		{io.EOF, 500, true},
	} {
		logs.Reset()
		w := httptest.NewRecorder()
		agentui.Error(w, httptest.NewRequest("GET", "/x", nil), log, tc.err)
		if w.Code != tc.status || (logs.Len() > 0) != tc.logged {
			t.Errorf("%v: status %d logged %q", tc.err, w.Code, logs.String())
		}
		if tc.status == 500 && strings.Contains(w.Body.String(), "EOF") {
			t.Errorf("internal detail leaked: %s", w.Body)
		}
	}
}
