package arisim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestBulkVariables: GET/POST /channels/{id}/variables read and write like
// the single-variable endpoints (same storage, functions, errors, events),
// answer with the spec's Variables model, and leave the channel untouched
// when any member of a bulk set is bad.
func TestBulkVariables(t *testing.T) {
	h := newHarness(t, testConfig())
	ws := h.dial("contact-center", "")
	waitRegistered(t, h, "contact-center")
	id, err := h.srv.Call(CallSpec{CallerName: "Frank Variable", CallerNumber: "15551230006", Dialed: "5556000",
		Headers: map[string]string{"X-Customer-Id": "C-6006"}})
	if err != nil {
		t.Fatal(err)
	}
	ws.waitType("StasisStart", 0)
	path := "/channels/" + id + "/variables"

	// A set of plain variables, an object with report_events and a
	// function: one event each, in body order.
	from := ws.count()
	r := h.doJSON("POST", path, map[string]any{"variables": json.RawMessage(
		`{"CC_QUEUE":"support","Call_State":{"value":"WaitingForAgent","report_events":true},"CALLERID(name)":"Frank (VIP)"}`)})
	if r.status != 204 || len(r.body) != 0 {
		t.Fatalf("set: %d %s", r.status, r.body)
	}
	if !ws.waitCount(from+3, 5*time.Second) {
		t.Fatalf("events after set: %s", typesOf(ws.all()[from:]))
	}
	got := ws.all()[from : from+3]
	for i, want := range []struct{ typ, variable, value string }{
		{"ChannelVarset", "CC_QUEUE", "support"},
		{"ChannelVarset", "Call_State", "WaitingForAgent"},
		{"ChannelCallerId", "", ""},
	} {
		var ev map[string]any
		json.Unmarshal(got[i], &ev)
		if ev["type"] != want.typ || want.variable != "" && (ev["variable"] != want.variable || ev["value"] != want.value) {
			t.Errorf("event %d = %s, want %s %s=%s", i, got[i], want.typ, want.variable, want.value)
		}
		for _, e := range validateEventJSON(got[i]) {
			t.Errorf("event %d: %s", i, e)
		}
	}
	if ch := h.do("GET", "/channels/"+id, ""); !strings.Contains(string(ch.body), `"caller":{"name":"Frank (VIP)","number":"15551230006"}`) {
		t.Errorf("caller after CALLERID(name): %s", ch.body)
	}

	// The bulk GET reads what either endpoint wrote, functions with commas
	// inside their parentheses included, in the order asked.
	n := ws.count()
	h.do("POST", "/channels/"+id+"/variable", "variable=SINGLE&value=one")
	if !ws.waitCount(n+1, 5*time.Second) {
		t.Fatal("no ChannelVarset for SINGLE")
	}
	q := "variables=" + url.QueryEscape("SINGLE,Call_State,CALLERID(all),PJSIP_HEADER(read,X-Customer-Id),EXTEN,CC_QUEUE")
	r = h.do("GET", path, q)
	want := `{"variables":{"SINGLE":"one","Call_State":"WaitingForAgent","CALLERID(all)":"\"Frank (VIP)\" <15551230006>","PJSIP_HEADER(read,X-Customer-Id)":"C-6006","EXTEN":"5556000","CC_QUEUE":"support"}}`
	if r.status != 200 || string(r.body) != want {
		t.Errorf("get: %d %s\nwant %s", r.status, r.body, want)
	}
	for _, e := range validateResponse("GET", path, r.status, r.body) {
		t.Error(e)
	}
	if r := h.do("GET", "/channels/"+id+"/variable", "variable=Call_State"); string(r.body) != `{"value":"WaitingForAgent"}` {
		t.Errorf("single GET of a bulk-set variable: %d %s", r.status, r.body)
	}
	// Repeated parameter: the last occurrence counts, as in Asterisk's
	// generated parser.
	if r := h.do("GET", path, "variables=NOPE&variables=CC_QUEUE"); string(r.body) != `{"variables":{"CC_QUEUE":"support"}}` {
		t.Errorf("repeated parameter: %d %s", r.status, r.body)
	}

	// Nothing is written when one member is bad.
	from = ws.count()
	for _, tc := range []struct {
		name, body string
		status     int
		msg        string
	}{
		{"no body", ``, 400, `{"message":"Missing variables parameter."}`},
		{"no variables key", `{"other":{}}`, 400, `{"message":"Missing variables parameter."}`},
		{"empty object", `{"variables":{}}`, 400, `{"message":"Missing variables parameter."}`},
		{"not an object", `{"variables":"A=1"}`, 400, `{"message":"Only string values in the 'variables' object allowed"}`},
		{"number value", `{"variables":{"A":"1","B":2}}`, 400, `{"message":"Only string values in the 'variables' object allowed"}`},
		{"object without value", `{"variables":{"A":"1","B":{"report_events":true}}}`, 400, `{"message":"Only string values in the 'variables' object allowed"}`},
		{"report_events not boolean", `{"variables":{"B":{"value":"x","report_events":"yes"}}}`, 400, `{"message":"Only string values in the 'variables' object allowed"}`},
		{"unwritable function", `{"variables":{"A":"1","CHANNEL(language)":"fr"}}`, 400, `{"message":"Failed to execute function"}`},
		{"empty name", `{"variables":{"A":"1","":"x"}}`, 400, `{"message":"Variable name is required"}`},
	} {
		req, _ := http.NewRequest("POST", h.url+"/ari"+path, bytes.NewReader([]byte(tc.body)))
		req.Header.Set("Content-Type", "application/json")
		req.SetBasicAuth("asterisk", "asterisk")
		r := h.send(req)
		if r.status != tc.status || string(r.body) != tc.msg {
			t.Errorf("%s: %d %s, want %d %s", tc.name, r.status, r.body, tc.status, tc.msg)
		}
	}
	if r := h.do("GET", "/channels/"+id+"/variable", "variable=A"); r.status != 404 {
		t.Errorf("A was written by a rejected request: %d %s", r.status, r.body)
	}

	// Errors of the bulk GET are the single GET's, for the whole request.
	for _, tc := range []struct {
		method, path, query string
		status              int
		body                string
	}{
		{"GET", path, "", 400, `{"message":"Missing variables parameter."}`},
		{"GET", path, "variables=,", 400, `{"message":"Missing variables parameter."}`},
		{"GET", path, "variables=CC_QUEUE,NOPE", 404, `{"message":"Provided variable was not found"}`},
		{"GET", path, "variables=" + url.QueryEscape("CC_QUEUE,NOFUNC(x)"), 500, `{"message":"Unable to read provided function"}`},
		{"GET", "/channels/nope/variables", "variables=A", 404, `{"message":"Provided channel was not found"}`},
		{"POST", "/channels/nope/variables", "", 404, `{"message":"Channel not found"}`},
		{"PUT", path, "", 405, `{"message":"Invalid method"}`},
	} {
		r := h.do(tc.method, tc.path, tc.query)
		if r.status != tc.status || string(r.body) != tc.body {
			t.Errorf("%s %s?%s = %d %s, want %d %s", tc.method, tc.path, tc.query, r.status, r.body, tc.status, tc.body)
		}
	}
	if n := ws.count(); n != from {
		t.Errorf("rejected requests produced events: %s", typesOf(ws.all()[from:]))
	}

	// Outside Stasis (after /continue): 409 for both, as for the single set.
	h.do("POST", "/channels/"+id+"/answer", "")
	if r := h.do("POST", "/channels/"+id+"/continue", "context=from-carrier&extension=7000&priority=1"); r.status != 204 {
		t.Fatalf("continue: %d %s", r.status, r.body)
	}
	ws.waitType("StasisEnd", 0)
	if r := h.do("GET", path, "variables=CC_QUEUE"); r.status != 409 || string(r.body) != `{"message":"Channel not in Stasis application"}` {
		t.Errorf("get outside Stasis: %d %s", r.status, r.body)
	}
	if r := h.doJSON("POST", path, map[string]any{"variables": map[string]string{"A": "1"}}); r.status != 409 || string(r.body) != `{"message":"Channel not in Stasis application"}` {
		t.Errorf("set outside Stasis: %d %s", r.status, r.body)
	}
}

func TestSeparateArgs(t *testing.T) {
	for in, want := range map[string][]string{
		"A":                           {"A"},
		"A,B":                         {"A", "B"},
		"PJSIP_HEADER(read,To),EXTEN": {"PJSIP_HEADER(read,To)", "EXTEN"},
		`"A,B",C`:                     {"A,B", "C"},
		`A\,B,C`:                      {"A,B", "C"},
		"A,":                          {"A", ""},
		" A , B ":                     {"A", "B"},
	} {
		if got := separateArgs(in); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("separateArgs(%q) = %q, want %q", in, got, want)
		}
	}
}

// parseVarAssignsDecoder is parseVarAssigns as it was written over
// json.Decoder's tokens: the reference the faster walk must agree with.
func parseVarAssignsDecoder(raw json.RawMessage) ([]varAssign, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	var out []varAssign
	index := map[string]int{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, false
		}
		name := t.(string)
		var member json.RawMessage
		if err := dec.Decode(&member); err != nil {
			return nil, false
		}
		a := varAssign{name: name}
		if err := json.Unmarshal(member, &a.value); err != nil {
			var o struct {
				Value        *string `json:"value"`
				ReportEvents *bool   `json:"report_events"`
			}
			if bytes.HasPrefix(bytes.TrimSpace(member), []byte("{")) && json.Unmarshal(member, &o) == nil && o.Value != nil {
				a.value = *o.Value
				a.report = o.ReportEvents != nil && *o.ReportEvents
			} else {
				return nil, false
			}
		}
		if i, seen := index[name]; seen {
			out[i] = a
			continue
		}
		index[name] = len(out)
		out = append(out, a)
	}
	return out, true
}

var varAssignsSamples = []string{
	`{}`, ` { } `, `{"A":"1"}`, `{"A":"1","B":{"value":"2","report_events":true},"A":"3"}`,
	"{\n\t\"A\" : \"x\" ,\r\n \"B\":\"y\"\n}", `{"A":null}`, `{"A":1}`, `{"A":true}`, `{"A":["x"]}`, `{"A":{"value":1}}`,
	`{"A":{"report_events":true}}`, `{"A":{"value":"v","report_events":"yes"}}`, `{"A":{"value":"v","x":[1,{"y":"}"}]}}`,
	`{"A\"B":"c\\"d"}`, `{"\u00e9t\u00e9":"caf\u00e9"}`, "{\"\xff\":\"\xfe\"}", `{"CALLERID(name)":"Frank (VIP)"}`,
	`{"":"empty"}`, `{"A":"1",}`, `{"A":"1"`, `{"A" "1"}`, `["A","B"]`, `"A"`, `null`, ``, `{"A":"1"} x`, `{"A":"1"}{}`,
	`{"A":-1.5e3}`, `{"A":{"value":"a","value":"b"}}`,
	`{"1":"a","2":"b","3":"c","4":"d","5":"e","6":"f","7":"g","8":"h","9":"i","10":"j","3":"k","11":"l","1":"m","10":"n"}`,
}

// TestParseVarAssignsAsDecoder: the walk reads every body as the
// json.Decoder version did (values, order, duplicates, report_events, what
// is invalid).
func TestParseVarAssignsAsDecoder(t *testing.T) {
	for _, raw := range varAssignsSamples {
		checkVarAssignsAsDecoder(t, []byte(raw))
	}
}

func FuzzParseVarAssigns(f *testing.F) {
	for _, raw := range varAssignsSamples {
		f.Add([]byte(raw))
	}
	f.Fuzz(checkVarAssignsAsDecoder)
}

func checkVarAssignsAsDecoder(t *testing.T, raw []byte) {
	// The handlers only ever get a member of a body json.Unmarshal accepted;
	// the decoder version read no further than the object's end, so on
	// invalid JSON the question is only that the walk refuses it.
	if !json.Valid(raw) {
		if got, ok := parseVarAssigns(raw); ok {
			t.Fatalf("%q: invalid JSON accepted as %v", raw, got)
		}
		return
	}
	got, ok := parseVarAssigns(raw)
	want, wantOK := parseVarAssignsDecoder(raw)
	if ok != wantOK || !slices.Equal(got, want) {
		t.Fatalf("%q: got %v %v, want %v %v", raw, got, ok, want, wantOK)
	}
}
