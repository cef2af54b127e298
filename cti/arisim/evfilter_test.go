package arisim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// doBody sends an authenticated request with a raw body and content type ("" for none).
func (h *harness) doBody(method, path, contentType, body string) reply {
	h.t.Helper()
	req, err := http.NewRequest(method, h.url+"/ari"+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.SetBasicAuth("asterisk", "asterisk")
	return h.send(req)
}

// filterLists reads an Application answer's events_allowed and events_disallowed, each entry compacted.
func filterLists(t *testing.T, body []byte) (allowed, disallowed string) {
	t.Helper()
	var app struct {
		Allowed    []json.RawMessage `json:"events_allowed"`
		Disallowed []json.RawMessage `json:"events_disallowed"`
	}
	if err := json.Unmarshal(body, &app); err != nil {
		t.Fatalf("application %s: %v", body, err)
	}
	join := func(l []json.RawMessage) string {
		s := make([]string, len(l))
		for i, e := range l {
			s[i] = string(e)
		}
		return "[" + strings.Join(s, ",") + "]"
	}
	return join(app.Allowed), join(app.Disallowed)
}

// TestEventFilterRules walks the rules of PUT /applications/{name}/eventFilter (applications.json's notes, Asterisk's
// app_event_filter_set) step by step: each step's answer, and the lists GET /applications/{name} shows after it, both
// valid against the Application model.
func TestEventFilterRules(t *testing.T) {
	h := newHarness(t, testConfig())
	h.dial("contact-center", "")
	waitRegistered(t, h, "contact-center")
	const (
		start  = `{"type":"StasisStart"}`
		end    = `{"type":"StasisEnd"}`
		varset = `{"type":"ChannelVarset"}`
	)
	const path = "/applications/contact-center/eventFilter"
	for _, step := range []struct {
		name, ct, body string
		status         int
		allowed        string // the lists after the step
		disallowed     string
	}{
		{"allowed only", "application/json", `{"allowed":[` + start + `,` + end + `]}`, 200, `[` + start + `,` + end + `]`, `[]`},
		{"disallowed only leaves allowed", "application/json", `{"disallowed":[` + varset + `]}`, 200, `[` + start + `,` + end + `]`, `[` + varset + `]`},
		{"an empty allowed list empties it alone", "application/json", `{"allowed":[]}`, 200, `[]`, `[` + varset + `]`},
		{"both lists", "application/json", `{"allowed":[` + start + `],"disallowed":[]}`, 200, `[` + start + `]`, `[]`},
		{"other members change nothing", "application/json", `{"allow":[]}`, 200, `[` + start + `]`, `[]`},
		{"{} empties both", "application/json", `{}`, 200, `[]`, `[]`},
		{"set again", "application/json", `{"allowed":[` + start + `],"disallowed":[` + varset + `]}`, 200, `[` + start + `]`, `[` + varset + `]`},
		{"an empty body empties both", "", ``, 200, `[]`, `[]`},
		{"set again", "application/json", `{"allowed":[` + start + `],"disallowed":[` + varset + `]}`, 200, `[` + start + `]`, `[` + varset + `]`},
		{"a body Asterisk does not read as JSON is none", "text/plain", `{"allowed":[` + end + `]}`, 200, `[]`, `[]`},
		{"entries are kept as given", "application/json; charset=utf-8", `{"allowed":[ {"type":"StasisStart", "note":{"a":1}} ]}`, 200, `[{"type":"StasisStart","note":{"a":1}}]`, `[]`},
		// 400: the list is not an array of objects with a non-empty string type; that list does not change.
		{"allowed not an array", "application/json", `{"allowed":{"type":"StasisEnd"}}`, 400, `[{"type":"StasisStart","note":{"a":1}}]`, `[]`},
		{"allowed null", "application/json", `{"allowed":null}`, 400, `[{"type":"StasisStart","note":{"a":1}}]`, `[]`},
		{"allowed a string", "application/json", `{"allowed":"StasisEnd"}`, 400, `[{"type":"StasisStart","note":{"a":1}}]`, `[]`},
		{"entry not an object", "application/json", `{"allowed":["StasisEnd"]}`, 400, `[{"type":"StasisStart","note":{"a":1}}]`, `[]`},
		{"entry without type", "application/json", `{"allowed":[{"name":"StasisEnd"}]}`, 400, `[{"type":"StasisStart","note":{"a":1}}]`, `[]`},
		{"entry with an empty type", "application/json", `{"allowed":[` + end + `,{"type":""}]}`, 400, `[{"type":"StasisStart","note":{"a":1}}]`, `[]`},
		{"entry with a number type", "application/json", `{"disallowed":[{"type":5}]}`, 400, `[{"type":"StasisStart","note":{"a":1}}]`, `[]`},
		{"entry with a null type", "application/json", `{"disallowed":[{"type":null}]}`, 400, `[{"type":"StasisStart","note":{"a":1}}]`, `[]`},
		{"bad disallowed: allowed not set either", "application/json", `{"allowed":[` + end + `],"disallowed":[{}]}`, 400, `[{"type":"StasisStart","note":{"a":1}}]`, `[]`},
		// Asterisk sets disallowed before it looks at allowed.
		{"good disallowed, bad allowed: disallowed set", "application/json", `{"allowed":[{}],"disallowed":[` + varset + `]}`, 400, `[{"type":"StasisStart","note":{"a":1}}]`, `[` + varset + `]`},
		{"a top-level array is both lists", "application/json", `[` + end + `]`, 200, `[` + end + `]`, `[` + end + `]`},
		{"a bad top-level array changes nothing", "application/json", `[{"type":""}]`, 400, `[` + end + `]`, `[` + end + `]`},
		{"not JSON", "application/json", `{"allowed":`, 400, `[` + end + `]`, `[` + end + `]`},
	} {
		r := h.doBody("PUT", path, step.ct, step.body)
		if r.status != step.status {
			t.Fatalf("%s: PUT %s = %d %s, want %d", step.name, step.body, r.status, r.body, step.status)
		}
		for _, err := range validateResponse("PUT", path, r.status, r.body) {
			t.Errorf("%s: %s", step.name, err)
		}
		if r.status == 400 && step.name != "not JSON" && string(r.body) != `{"message":"Invalid format definition"}` {
			t.Errorf("%s: 400 body %s", step.name, r.body)
		}
		if r.status == 200 {
			if a, d := filterLists(t, r.body); a != step.allowed || d != step.disallowed {
				t.Errorf("%s: PUT answered allowed %s disallowed %s, want %s %s", step.name, a, d, step.allowed, step.disallowed)
			}
		}
		g := h.do("GET", "/applications/contact-center", "")
		for _, err := range validateResponse("GET", "/applications/contact-center", g.status, g.body) {
			t.Errorf("%s: %s", step.name, err)
		}
		if a, d := filterLists(t, g.body); a != step.allowed || d != step.disallowed {
			t.Errorf("%s: after PUT %s: allowed %s disallowed %s, want %s %s", step.name, step.body, a, d, step.allowed, step.disallowed)
		}
	}
	l := h.do("GET", "/applications", "")
	for _, err := range validateResponse("GET", "/applications", l.status, l.body) {
		t.Error(err)
	}
	if !strings.Contains(string(l.body), `"events_allowed":[`+end+`]`) {
		t.Errorf("GET /applications does not show the filter: %s", l.body)
	}
}

func TestEventFilterNotFound(t *testing.T) {
	h := newHarness(t, testConfig())
	body := `{"allowed":[{"type":"StasisStart"}]}`
	if r := h.doBody("PUT", "/applications/nobody/eventFilter", "application/json", body); r.status != 404 ||
		string(r.body) != `{"message":"Application not found"}` {
		t.Errorf("unknown app: %d %s, want 404", r.status, r.body)
	}
	ws := h.dial("contact-center", "")
	waitRegistered(t, h, "contact-center")
	ws.close()
	waitUnregistered(t, h, "contact-center")
	if r := h.doBody("PUT", "/applications/contact-center/eventFilter", "application/json", body); r.status != 404 {
		t.Errorf("app without a websocket: %d %s, want 404", r.status, r.body)
	}
	if r := h.doBody("POST", "/applications/contact-center/eventFilter", "application/json", body); r.status != 405 {
		t.Errorf("POST: %d %s, want 405", r.status, r.body)
	}
}

func waitUnregistered(t *testing.T, h *harness, app string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for h.do("GET", "/applications/"+app, "").status != 404 {
		if time.Now().After(deadline) {
			t.Fatalf("%s still registered", app)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// eventTypes lists the types of a websocket's events.
func eventTypes(evs []json.RawMessage) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		var m struct{ Type string }
		json.Unmarshal(e, &m)
		out[i] = m.Type
	}
	return out
}

// TestEventFilterDelivery places the same answered call with no filter, an allowed list and an allowed list overridden
// by a disallowed type: exactly the unfiltered events of the allowed types arrive, in the same order, and the emulator
// counts the others as filtered.
func TestEventFilterDelivery(t *testing.T) {
	run := func(t *testing.T, filter string) (types []string, st Stats) {
		h := newHarness(t, testConfig())
		ws := h.dial("contact-center", "")
		waitRegistered(t, h, "contact-center")
		if filter != "" {
			if r := h.doBody("PUT", "/applications/contact-center/eventFilter", "application/json", filter); r.status != 200 {
				t.Fatalf("filter: %d %s", r.status, r.body)
			}
		}
		id, err := h.srv.Call(CallSpec{CallerNumber: "15551230010", HangupAfter: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		if r := h.do("POST", "/channels/"+id+"/answer", ""); r.status != 204 {
			t.Fatalf("answer: %d %s", r.status, r.body)
		}
		if r := h.do("POST", "/channels/"+id+"/variable", "variable=SB_TAG&value=1"); r.status != 204 {
			t.Fatalf("set variable: %d %s", r.status, r.body)
		}
		// The caller hangs up; StasisEnd is the call's last event and is allowed in every run.
		ws.waitType("StasisEnd", 0)
		for _, e := range ws.all() {
			for _, err := range validateEventJSON(e) {
				t.Error(err)
			}
		}
		return eventTypes(ws.all()), h.srv.Stats()
	}
	all, st := run(t, "")
	if st.EventsFiltered != 0 || !slices.Contains(all, "ChannelVarset") || !slices.Contains(all, "ChannelStateChange") {
		t.Fatalf("unfiltered: %v, %d filtered", all, st.EventsFiltered)
	}
	for _, tc := range []struct {
		name, filter string
		keep         func(string) bool
	}{
		{"allowed", `{"allowed":[{"type":"StasisStart"},{"type":"ChannelStateChange"},{"type":"StasisEnd"}]}`,
			func(typ string) bool {
				return typ == "StasisStart" || typ == "ChannelStateChange" || typ == "StasisEnd"
			}},
		{"disallowed wins", `{"allowed":[{"type":"StasisStart"},{"type":"ChannelStateChange"},{"type":"StasisEnd"}],"disallowed":[{"type":"ChannelStateChange"}]}`,
			func(typ string) bool { return typ == "StasisStart" || typ == "StasisEnd" }},
		{"disallowed only", `{"disallowed":[{"type":"ChannelVarset"}]}`,
			func(typ string) bool { return typ != "ChannelVarset" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, st := run(t, tc.filter)
			want := slices.DeleteFunc(slices.Clone(all), func(typ string) bool { return !tc.keep(typ) })
			if !slices.Equal(got, want) {
				t.Errorf("events %v, want %v", got, want)
			}
			if st.EventsFiltered != len(all)-len(want) || st.EventsSent != len(want) {
				t.Errorf("sent %d, filtered %d; want %d, %d", st.EventsSent, st.EventsFiltered, len(want), len(all)-len(want))
			}
		})
	}
}

// TestEventFilterApplicationReplaced: Asterisk sends ApplicationReplaced through the same filter as every other event.
func TestEventFilterApplicationReplaced(t *testing.T) {
	for _, tc := range []struct {
		filter string
		want   int
	}{
		{`{"allowed":[{"type":"StasisStart"},{"type":"ApplicationReplaced"}]}`, 1},
		{`{"allowed":[{"type":"StasisStart"}]}`, 0},
	} {
		h := newHarness(t, testConfig())
		first := h.dial("contact-center", "")
		waitRegistered(t, h, "contact-center")
		if r := h.doBody("PUT", "/applications/contact-center/eventFilter", "application/json", tc.filter); r.status != 200 {
			t.Fatalf("filter: %d %s", r.status, r.body)
		}
		second := h.dial("contact-center", "")
		waitReplaced(t, h.srv, "contact-center")
		if _, err := h.srv.Call(CallSpec{CallerNumber: "15551230010"}); err != nil {
			t.Fatal(err)
		}
		second.waitType("StasisStart", 0)
		if tc.want == 1 {
			first.waitType("ApplicationReplaced", 0)
		}
		if n := first.count(); n != tc.want {
			t.Errorf("filter %s: first websocket got %s, want %d ApplicationReplaced", tc.filter, typesOf(first.all()), tc.want)
		}
		// The filter stays with the application, not with the websocket that set it.
		if a, _ := filterLists(t, h.do("GET", "/applications/contact-center", "").body); !strings.Contains(a, "StasisStart") {
			t.Errorf("filter lost on replacement: %s", a)
		}
	}
}

// waitReplaced waits until a second websocket has taken app over: two connections, one holding it.
func waitReplaced(t *testing.T, s *Server, app string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s.mu.Lock()
		holders := 0
		for c := range s.conns {
			if slices.Contains(c.apps, app) {
				holders++
			}
		}
		done := len(s.conns) == 2 && holders == 1
		s.unlock()
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never replaced", app)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestEventFilterLifetime: Asterisk keeps the application object, and its filter, while something is subscribed to it;
// an application with nothing left is destroyed when its websocket goes, and comes back without a filter.
func TestEventFilterLifetime(t *testing.T) {
	const filter = `{"allowed":[{"type":"StasisStart"},{"type":"StasisEnd"}]}`
	h := newHarness(t, testConfig())
	ws := h.dial("contact-center", "")
	waitRegistered(t, h, "contact-center")
	if r := h.doBody("PUT", "/applications/contact-center/eventFilter", "application/json", filter); r.status != 200 {
		t.Fatalf("filter: %d %s", r.status, r.body)
	}
	id, err := h.srv.Call(CallSpec{CallerNumber: "15551230010"})
	if err != nil {
		t.Fatal(err)
	}
	ws.waitType("StasisStart", 0)
	ws.close()
	waitUnregistered(t, h, "contact-center")
	ws = h.dial("contact-center", "") // the call is still in the application: same application, same filter
	waitRegistered(t, h, "contact-center")
	if a, _ := filterLists(t, h.do("GET", "/applications/contact-center", "").body); a == "[]" {
		t.Errorf("filter lost across a reconnect with a call in the application")
	}
	if r := h.do("DELETE", "/channels/"+id, ""); r.status != 204 {
		t.Fatalf("hang up: %d %s", r.status, r.body)
	}
	ws.waitType("StasisEnd", 0)
	if got := eventTypes(ws.all()); !slices.Equal(got, []string{"StasisEnd"}) {
		t.Errorf("after the reconnect the filter let through %v", got)
	}
	ws.close()
	waitUnregistered(t, h, "contact-center")
	h.dial("contact-center", "") // nothing was left in it: a new application
	waitRegistered(t, h, "contact-center")
	if a, d := filterLists(t, h.do("GET", "/applications/contact-center", "").body); a != "[]" || d != "[]" {
		t.Errorf("a new application has the old filter: %s %s", a, d)
	}
}
