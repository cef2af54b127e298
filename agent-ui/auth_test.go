package agentui_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	agentui "github.com/switchboard-cc/switchboard/agent-ui"
	"github.com/switchboard-cc/switchboard/crmstore"
	"github.com/switchboard-cc/switchboard/crmstore/pgtest"
	"github.com/switchboard-cc/switchboard/cti"
)

// uiHarness is the whole browser adapter over a real, seeded Store and a fake desk.
type uiHarness struct {
	ui    *agentui.Server
	srv   *httptest.Server
	store *crmstore.Store
	desk  *fakeDesk
	recs  *fakeRecordings
}

type fakeRecordings struct{ data []byte }

type nopSeeker struct{ *bytes.Reader }

func (nopSeeker) Close() error { return nil }

func (f *fakeRecordings) Open(_ context.Context, id string) (io.ReadSeekCloser, cti.RecordingRef, error) {
	return nopSeeker{bytes.NewReader(f.data)}, cti.RecordingRef{File: id + ".wav", Size: int64(len(f.data))}, nil
}

func mustUI(tb testing.TB, tweak func(*agentui.Config)) *uiHarness {
	tb.Helper()
	db := pgtest.DB(tb)
	if _, err := crmstore.Seed(context.Background(), db, crmstore.SeedOptions{}); err != nil {
		tb.Fatal(err)
	}
	st := crmstore.NewStore(db, crmstore.Options{})
	h := &uiHarness{store: st, desk: &fakeDesk{}, recs: &fakeRecordings{data: bytes.Repeat([]byte("RIFF"), 1000)}}
	cfg := agentui.Config{Customers: st, Admin: st, Interactions: st, Settings: st, ConfigAdmin: st, Auditor: st, Sessions: st,
		Desk: h.desk, Recordings: h.recs, Logger: slog.New(slog.DiscardHandler), GraceDisconnect: -1,
		StatsEvery: 50 * time.Millisecond}
	if tweak != nil {
		tweak(&cfg)
	}
	ui, err := agentui.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	h.ui = ui
	h.srv = httptest.NewServer(ui.Handler())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); ui.Run(ctx) }()
	tb.Cleanup(func() {
		ui.Close()
		h.srv.Close()
		cancel()
		<-done
	})
	return h
}

// client is a browser-like HTTP client with a cookie jar.
type client struct {
	tb  testing.TB
	h   *uiHarness
	c   *http.Client
	hdr http.Header
}

func (h *uiHarness) client(tb testing.TB) *client {
	jar, _ := cookiejar.New(nil)
	return &client{tb: tb, h: h, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}, hdr: http.Header{}}
}

func (c *client) do(method, path, body string) response {
	c.tb.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, c.h.srv.URL+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range c.hdr {
		req.Header[k] = v
	}
	res, err := c.c.Do(req)
	if err != nil {
		c.tb.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := response{status: res.StatusCode, header: res.Header, raw: string(raw)}
	jsonUnmarshal(raw, &r.body)
	return r
}

func (h *uiHarness) signIn(tb testing.TB, login, password string) *client {
	tb.Helper()
	c := h.client(tb)
	if r := c.do("POST", "/api/v1/login", `{"login":"`+login+`","password":"`+password+`"}`); r.status != 200 {
		tb.Fatalf("sign in %s: %d %s", login, r.status, r.raw)
	}
	return c
}

func TestSignIn(t *testing.T) {
	h := mustUI(t, nil)
	c := h.client(t)
	if r := c.do("GET", "/api/v1/me", ""); r.status != 401 {
		t.Fatalf("anonymous me: %d", r.status)
	}
	if r := c.do("GET", "/desk", ""); r.status != 303 || r.header.Get("Location") != "/" {
		t.Fatalf("anonymous desk: %d %s", r.status, r.header.Get("Location"))
	}
	if r := c.do("POST", "/api/v1/login", `{"login":"agent1","password":"wrong"}`); r.status != 401 {
		t.Fatalf("bad password: %d %s", r.status, r.raw)
	}
	r := c.do("POST", "/api/v1/login", `{"login":"Agent1","password":"`+crmstore.DemoAgentPassword+`"}`)
	if r.status != 200 || r.body["role"] != "agent" || r.body["home"] != "/desk" {
		t.Fatalf("sign in: %d %s", r.status, r.raw)
	}
	ck := r.header.Get("Set-Cookie")
	for _, want := range []string{"sb_session=", "HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(ck, want) {
			t.Errorf("cookie %q lacks %s", ck, want)
		}
	}
	if strings.Contains(ck, "Secure") {
		t.Errorf("Secure cookie on plain HTTP without SecureCookies: %q", ck)
	}
	if got := h.desk.Calls("Login "); len(got) != 1 {
		t.Fatalf("desk login: %q", got)
	}
	if r := c.do("GET", "/", ""); r.status != 303 || r.header.Get("Location") != "/desk" {
		t.Fatalf("signed-in index: %d %s", r.status, r.header.Get("Location"))
	}
	if r := c.do("GET", "/wall", ""); r.status != 303 || r.header.Get("Location") != "/desk" {
		t.Fatalf("agent on the wallboard: %d", r.status)
	}
	r = c.do("GET", "/desk", "")
	if r.status != 200 || !strings.Contains(r.header.Get("Content-Security-Policy"), "script-src 'self'") ||
		r.header.Get("X-Frame-Options") != "DENY" {
		t.Fatalf("desk page: %d %v", r.status, r.header)
	}
	if r := c.do("POST", "/api/v1/logout", ""); r.status != 204 {
		t.Fatalf("logout: %d", r.status)
	}
	if r := c.do("GET", "/api/v1/me", ""); r.status != 401 {
		t.Fatalf("me after logout: %d", r.status)
	}
	log, _ := h.store.AuditLog(context.Background(), 10)
	var actions []string
	for _, e := range log {
		actions = append(actions, e.Action)
	}
	if got := strings.Join(actions, ","); got != "logout,login,login.failed" {
		t.Fatalf("audit: %s", got)
	}
	// Secure under SecureCookies.
	h2 := mustUI(t, func(c *agentui.Config) { c.SecureCookies = true })
	r = h2.client(t).do("POST", "/api/v1/login", `{"login":"agent1","password":"`+crmstore.DemoAgentPassword+`"}`)
	if !strings.Contains(r.header.Get("Set-Cookie"), "Secure") {
		t.Fatalf("cookie not Secure: %q", r.header.Get("Set-Cookie"))
	}
}

func TestLoginRateLimit(t *testing.T) {
	h := mustUI(t, nil)
	c := h.client(t)
	for i := range 5 {
		if r := c.do("POST", "/api/v1/login", `{"login":"agent2","password":"guess"}`); r.status != 401 {
			t.Fatalf("attempt %d: %d", i, r.status)
		}
	}
	r := c.do("POST", "/api/v1/login", `{"login":"agent2","password":"`+crmstore.DemoAgentPassword+`"}`)
	if r.status != 429 || r.header.Get("Retry-After") == "" {
		t.Fatalf("sixth attempt: %d %s", r.status, r.raw)
	}
	// Another login from the same address is still allowed.
	if r := c.do("POST", "/api/v1/login", `{"login":"agent3","password":"`+crmstore.DemoAgentPassword+`"}`); r.status != 200 {
		t.Fatalf("other login: %d", r.status)
	}
}

func TestCrossOriginRejected(t *testing.T) {
	h := mustUI(t, nil)
	c := h.signIn(t, "agent1", crmstore.DemoAgentPassword)
	c.hdr.Set("Sec-Fetch-Site", "cross-site")
	if r := c.do("POST", "/api/v1/desk/state", `{"ready":true}`); r.status != 403 {
		t.Fatalf("cross-site POST: %d", r.status)
	}
	c.hdr.Del("Sec-Fetch-Site")
	c.hdr.Set("Origin", "http://evil.example")
	if r := c.do("POST", "/api/v1/desk/state", `{"ready":true}`); r.status != 403 {
		t.Fatalf("cross-origin POST: %d", r.status)
	}
	if len(h.desk.Calls("SetState")) != 0 {
		t.Fatal("a cross-origin request reached the desk")
	}
	// Reads stay allowed (nothing to forge), and same-origin writes work.
	if r := c.do("GET", "/api/v1/me", ""); r.status != 200 {
		t.Fatalf("cross-origin GET: %d", r.status)
	}
	c.hdr.Set("Origin", h.srv.URL)
	c.hdr.Set("Sec-Fetch-Site", "same-origin")
	if r := c.do("POST", "/api/v1/desk/state", `{"ready":true}`); r.status != 204 {
		t.Fatalf("same-origin POST: %d %s", r.status, r.raw)
	}
}

func TestRoles(t *testing.T) {
	h := mustUI(t, nil)
	anon := h.client(t)
	agent := h.signIn(t, "agent1", crmstore.DemoAgentPassword)
	sup := h.signIn(t, "supervisor", crmstore.DemoSupervisorPassword)
	admin := h.signIn(t, "admin", crmstore.DemoAdminPassword)
	a2, _ := h.store.AgentByLogin(context.Background(), "agent2")

	cases := []struct {
		method, path, body      string
		anon, agent, sup, admin int
	}{
		{"GET", "/api/v1/customers?q=a", "", 401, 200, 200, 200},
		{"GET", "/api/v1/desk/snapshot", "", 401, 200, 200, 200},
		{"POST", "/api/v1/desk/state", `{"ready":false,"reason":"lunch"}`, 401, 204, 204, 204},
		{"POST", "/api/v1/desk/hold", `{"on":true}`, 401, 204, 204, 204},
		{"POST", "/api/v1/desk/transfer", `{"kind":"blind","queue":"sales"}`, 401, 204, 204, 204},
		{"POST", "/api/v1/desk/wrapup", `{"interaction_id":"i1","disposition":"resolved","done":true}`, 401, 204, 204, 204},
		{"POST", "/api/v1/desk/monitor", `{"agent_id":"` + a2.ID + `","mode":"barge"}`, 401, 403, 204, 204},
		{"POST", "/api/v1/desk/agents/" + a2.ID + "/state", `{}`, 401, 403, 204, 204},
		{"GET", "/api/v1/desk/trace/c1", "", 401, 403, 200, 200},
		{"GET", "/api/v1/admin/agents", "", 401, 403, 200, 200},
		{"PUT", "/api/v1/admin/skills/french", `{"label":"French"}`, 401, 403, 403, 204},
		{"PUT", "/api/v1/admin/reason-codes/coaching", `{"label":"Coaching"}`, 401, 403, 403, 204},
		{"POST", "/api/v1/admin/scripts", `{"queue":"general","title":"T","body":"# Hi"}`, 401, 403, 403, 201},
		{"PUT", "/api/v1/admin/agents/agent7", `{"display_name":"Seven","role":"agent","endpoint":"PJSIP/1007","password":"long-enough"}`, 401, 403, 403, 200},
	}
	for _, tc := range cases {
		for _, who := range []struct {
			name string
			c    *client
			want int
		}{{"anonymous", anon, tc.anon}, {"agent", agent, tc.agent}, {"supervisor", sup, tc.sup}, {"admin", admin, tc.admin}} {
			if r := who.c.do(tc.method, tc.path, tc.body); r.status != who.want {
				t.Errorf("%s %s %s: %d, want %d (%s)", who.name, tc.method, tc.path, r.status, who.want, r.raw)
			}
		}
	}
	if got := h.desk.Calls("Monitor"); len(got) != 2 {
		t.Errorf("monitor calls %q", got)
	}
	// Agents see only their own status in the snapshot.
	h.desk.SetSnapshot(cti.DeskSnapshot{Agents: []cti.AgentStatus{{AgentID: a2.ID}, {AgentID: "other"}}})
	agent2 := h.signIn(t, "agent2", crmstore.DemoAgentPassword)
	if r := agent2.do("GET", "/api/v1/desk/snapshot", ""); len(r.body["agents"].([]any)) != 1 {
		t.Errorf("agent snapshot %s", r.raw)
	}
	if r := sup.do("GET", "/api/v1/desk/snapshot", ""); len(r.body["agents"].([]any)) != 2 {
		t.Errorf("supervisor snapshot %s", r.raw)
	}
}

func TestForceLogoutRevokesSessions(t *testing.T) {
	h := mustUI(t, nil)
	agent := h.signIn(t, "agent1", crmstore.DemoAgentPassword)
	sup := h.signIn(t, "supervisor", crmstore.DemoSupervisorPassword)
	a1, _ := h.store.AgentByLogin(context.Background(), "agent1")
	if r := agent.do("POST", "/api/v1/agents/"+a1.ID+"/logout", ""); r.status != 403 {
		t.Fatalf("agent force logout: %d", r.status)
	}
	if r := sup.do("POST", "/api/v1/agents/"+a1.ID+"/logout", ""); r.status != 200 || r.body["sessions"] != 1.0 {
		t.Fatalf("force logout: %d %s", r.status, r.raw)
	}
	if r := agent.do("GET", "/api/v1/me", ""); r.status != 401 {
		t.Fatalf("revoked session still works: %d", r.status)
	}
	if got := h.desk.Calls("Logout " + a1.ID); len(got) != 1 {
		t.Fatalf("desk logout %q", got)
	}
}

func TestRecordingAccess(t *testing.T) {
	h := mustUI(t, nil)
	ctx := context.Background()
	a1, _ := h.store.AgentByLogin(ctx, "agent1")
	in := &cti.Interaction{Channel: cti.ChannelPhone, Direction: cti.Inbound, CallerNumber: "+8613800138000", Queue: "support",
		AgentID: a1.ID, ArrivedAt: time.Now().UTC().Truncate(time.Millisecond)}
	if err := h.store.StartInteraction(ctx, in); err != nil {
		t.Fatal(err)
	}
	if err := h.store.UpdateInteraction(ctx, in.ID, cti.InteractionUpdate{Recording: &cti.RecordingRef{File: in.ID + ".wav",
		Size: 4000, SHA256: strings.Repeat("ab", 32)}}); err != nil {
		t.Fatal(err)
	}
	path := "/api/v1/interactions/" + in.ID + "/recording"
	own := h.signIn(t, "agent1", crmstore.DemoAgentPassword)
	other := h.signIn(t, "agent2", crmstore.DemoAgentPassword)
	sup := h.signIn(t, "supervisor", crmstore.DemoSupervisorPassword)
	if r := h.client(t).do("GET", path, ""); r.status != 401 {
		t.Fatalf("anonymous: %d", r.status)
	}
	if r := other.do("GET", path, ""); r.status != 403 {
		t.Fatalf("another agent: %d", r.status)
	}
	if r := own.do("GET", path, ""); r.status != 200 || len(r.raw) != 4000 || r.header.Get("Content-Type") != "audio/wav" {
		t.Fatalf("own recording: %d %d %s", r.status, len(r.raw), r.header.Get("Content-Type"))
	}
	sup.hdr.Set("Range", "bytes=100-199")
	if r := sup.do("GET", path, ""); r.status != 206 || len(r.raw) != 100 {
		t.Fatalf("supervisor range: %d %d", r.status, len(r.raw))
	}
	// Disposition on one's own interaction only, recorded for the signed-in agent whatever the body says.
	if r := other.do("PUT", "/api/v1/interactions/"+in.ID+"/disposition", `{"code":"resolved"}`); r.status != 403 {
		t.Fatalf("other agent's disposition: %d %s", r.status, r.raw)
	}
	log, _ := h.store.AuditLog(ctx, 20)
	plays := 0
	for _, e := range log {
		if e.Action == "recording.play" {
			plays++
		}
	}
	if plays != 1 {
		t.Fatalf("audited plays %d, want 1 (ranged requests past the start are not new plays)", plays)
	}
}

func jsonUnmarshal(b []byte, v any) { json.Unmarshal(b, v) } //nolint:errcheck // not every answer is JSON
