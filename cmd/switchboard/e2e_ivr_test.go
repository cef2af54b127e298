package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchboard-cc/switchboard/crmstore/pgtest"
	"github.com/switchboard-cc/switchboard/cti"
	"github.com/switchboard-cc/switchboard/cti/arisim"
)

// desktop is an agent's browser session as the end-to-end tests drive it: signed in over HTTP, listening on the websocket.
type desktop struct {
	tb   testing.TB
	base string
	http *http.Client
	ws   *websocket.Conn
	msgs chan map[string]any
}

// signIn signs login in with password, opens the desktop's websocket and reads its messages in the background.
func signIn(tb testing.TB, base, login, password string) *desktop {
	tb.Helper()
	jar, _ := cookiejar.New(nil)
	d := &desktop{tb: tb, base: base, http: &http.Client{Jar: jar, Timeout: 10 * time.Second}, msgs: make(chan map[string]any, 256)}
	d.post("/api/v1/login", map[string]string{"login": login, "password": password})
	u, _ := url.Parse(base)
	hdr := http.Header{"Origin": {base}}
	for _, c := range jar.Cookies(u) {
		hdr.Add("Cookie", c.Name+"="+c.Value)
	}
	ws, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"/ws", hdr)
	if err != nil {
		tb.Fatalf("websocket: %v", err)
	}
	d.ws = ws
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			var m map[string]any
			if err := ws.ReadJSON(&m); err != nil {
				close(d.msgs)
				return
			}
			d.msgs <- m
		}
	}()
	tb.Cleanup(func() { ws.Close(); <-done })
	return d
}

// post sends a JSON command as the page does and fails the test unless it succeeds.
func (d *desktop) post(path string, body any) {
	d.tb.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", d.base+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", d.base)
	resp, err := d.http.Do(req)
	if err != nil {
		d.tb.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		var e bytes.Buffer
		e.ReadFrom(resp.Body)
		d.tb.Fatalf("POST %s: %d %s", path, resp.StatusCode, e.String())
	}
}

// await returns the first message of type typ, failing the test after within.
func (d *desktop) await(typ string, within time.Duration) map[string]any {
	d.tb.Helper()
	timeout := time.After(within)
	for {
		select {
		case m, ok := <-d.msgs:
			if !ok {
				d.tb.Fatalf("websocket closed while waiting for %s", typ)
			}
			if m["type"] == typ {
				return m
			}
		case <-timeout:
			d.tb.Fatalf("no %s message within %s", typ, within)
		}
	}
}

// TestE2EIVRIdentifiesAndRoutes: an unknown number calls, chooses billing, types an account number; the IVR identifies the
// customer and routes the call to the billing queue with the billing skill; the agent's screen-pop shows that customer and the
// IVR path; the interaction row keeps both.
func TestE2EIVRIdentifiesAndRoutes(t *testing.T) {
	m := NewMain()
	m.simTimeScale = 0.05
	m.Stdout, m.Stderr = io.Discard, io.Discard
	m.Logger = slog.New(slog.DiscardHandler)
	if err := m.ParseFlags([]string{"--http", "127.0.0.1:0", "--database-url", pgtest.URL(t), "--ivr-flows", "testdata/ivrflows",
		"--demo-calls-per-minute", "0", "--recordings-dir", t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	ctx := context.Background()
	store := m.sys.store

	cust := &cti.Customer{Name: "Zhang Min", Company: "Harbour Logistics", Tier: cti.TierGold,
		Fields: map[string]string{"account": "7654321"}, Phones: []cti.Phone{{Number: "+8613700001111", Kind: cti.PhoneMobile}}}
	if err := store.CreateCustomer(ctx, cust); err != nil {
		t.Fatal(err)
	}
	agent2, err := store.AgentByLogin(ctx, "agent2") // billing 9, member of the billing queue
	if err != nil {
		t.Fatal(err)
	}
	checkFor(t, 5*time.Second, func() error { return m.sys.ari.Ready() })
	desk := signIn(t, m.URL(), "agent2", "demo-agent")
	desk.await("snapshot", 5*time.Second)
	desk.post("/api/v1/desk/state", cti.StateRequest{Ready: true})

	// The caller's number is unknown to the CRM, so the IVR asks for the account.
	_, err = m.sys.sim.Call(arisim.CallSpec{CallerNumber: "+8613999990000", CallerName: "Mobile", Dialed: "+18005550100",
		HangupAfter: time.Hour, DTMF: []arisim.Step{
			{Digits: "3", After: 100 * time.Millisecond, OnMedia: "sound:sb/main-menu"},
			{Digits: "7654321#", After: 100 * time.Millisecond, OnMedia: "sound:sb/enter-account"},
			{Digits: "1", After: 100 * time.Millisecond, OnMedia: "sound:sb/billing-menu"},
		}})
	if err != nil {
		t.Fatal(err)
	}
	offer := desk.await("offer", 15*time.Second)["offer"].(map[string]any)
	if q := offer["queue"]; q != "billing" {
		t.Errorf("offered from queue %v, want billing", q)
	}
	if c, _ := offer["customer"].(map[string]any); c == nil || c["id"] != cust.ID {
		t.Fatalf("screen-pop customer = %v, want %s (identified by account in the IVR)", offer["customer"], cust.ID)
	}
	var nodes []string
	for _, s := range offer["ivr_path"].([]any) {
		nodes = append(nodes, fmt.Sprint(s.(map[string]any)["node"]))
	}
	for _, want := range []string{"/menu", "ask-account", "find-account", "billing-menu", "enqueue"} {
		if !slices.ContainsFunc(nodes, func(n string) bool { return strings.HasSuffix(n, want) }) {
			t.Errorf("screen-pop IVR path %v lacks %s", nodes, want)
		}
	}
	if in, _ := offer["inputs"].(map[string]any); in == nil || !strings.Contains(fmt.Sprint(in), "7654321") {
		t.Errorf("screen-pop inputs %v lack the account typed", offer["inputs"])
	}

	// The row says who called and what they did in the IVR, before the agent even answers.
	id := offer["interaction_id"].(string)
	checkFor(t, 5*time.Second, func() error {
		in, err := store.Interaction(ctx, id)
		if err != nil {
			return err
		}
		if in.CustomerID != cust.ID || in.Queue != "billing" || len(in.IVRPath) == 0 {
			return fmt.Errorf("interaction customer %q queue %q path %d steps", in.CustomerID, in.Queue, len(in.IVRPath))
		}
		return nil
	})
	// The routing trace names the skill the call needed.
	tr, err := m.sys.engine.Trace(ctx, id)
	if err != nil || tr.AgentID != agent2.ID {
		t.Errorf("trace = %+v, %v; want agent2", tr, err)
	}
}
