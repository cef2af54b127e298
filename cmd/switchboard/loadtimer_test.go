package main

import (
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/cti/arisim"
	"github.com/switchboard-cc/switchboard/cti/engine"
)

// TestLoadTimerTags: the load child matches an inbound StasisStart with the agent originate of its call whether the
// controller tagged the channel with the single or the bulk variable endpoint, or the originate went first and names the
// channel itself.
func TestLoadTimerTags(t *testing.T) {
	lt := newLoadTimer()
	lt.event("StasisStart", "in-1", time.Now())
	lt.event("StasisStart", "in-2", time.Now())
	lt.event("StasisStart", "in-3", time.Now())
	lt.request(arisim.RequestRecord{Method: "POST", Path: "/channels/in-1/variable", Operation: "channels.setChannelVar",
		Query: "variable=" + engine.VarCall + "&value=call-1", Status: 204})
	lt.request(arisim.RequestRecord{Method: "POST", Path: "/channels/in-2/variables", Operation: "channels.setChannelVars",
		Body: []byte(`{"variables":{"X":"y","` + engine.VarCall + `":"call-2"}}`), Status: 204})
	lt.request(arisim.RequestRecord{Method: "POST", Path: "/channels/in-3/variables", Operation: "channels.setChannelVars",
		Body: []byte(`{"variables":{"` + engine.VarCall + `":{"value":"call-3","report_events":true}}}`), Status: 204})
	lt.event("StasisStart", "in-4", time.Now())
	for _, call := range []string{"call-1", "call-2", "call-3"} {
		lt.request(arisim.RequestRecord{Method: "POST", Path: "/channels", Operation: "channels.originate",
			Query: "endpoint=PJSIP%2F1001&app=contact-center&appArgs=agent%2C" + call, Status: 200})
	}
	lt.request(arisim.RequestRecord{Method: "POST", Path: "/channels", Operation: "channels.originate",
		Query: "endpoint=PJSIP%2F1001&app=contact-center&appArgs=agent%2Ccall-4", Status: 200,
		Body: []byte(`{"variables":{"` + engine.VarCall + `":"call-4","` + engine.VarCustomer + `":"in-4"}}`)})
	if rep := lt.report(); rep.Originates != 4 || rep.NoOriginate != 0 {
		t.Errorf("matched %d originates, %d calls without one; want 4 and 0", rep.Originates, rep.NoOriginate)
	}
}

// TestBodyVar: the in-place read of the controller's flat bodies agrees with decoding the body whole, for both shapes of a
// variable, escapes, repeated keys, the name inside a value and other shapes.
func TestBodyVar(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{`{"variables":{"A":"1","SB_CUSTOMER":"in-1","SB_QUEUE":"general"}}`, "in-1"},
		{`{"variables":{"SB_CUSTOMER":{"value":"in-2","report_events":true}}}`, "in-2"},
		{`{"variables":{"A":"\"SB_CUSTOMER\":x","SB_CUSTOMER":"in-3"}}`, "in-3"},
		{`{"variables":{"SB_CUSTOMER":"in-4","A":"\"SB_CUSTOMER\":x"}}`, "in-4"},
		{`{"variables":{"A":"\"SB_CUSTOMER\":x"}}`, ""},
		{`{"variables":{"SB_CUSTOMER":"a\"b\u00e9"}}`, `a"bé`},
		{`{"variables":{"SB_CUSTOMER":"old","SB_CUSTOMER":"new"}}`, "new"},
		{`{"variables":{"SB_CUSTOMER":""}}`, ""},
		{`{"variables":{"X":"{"}, "SB_CUSTOMER":"in-5"}`, ""}, // not a variable: top level
		{`{"variables":{"X":"y"},"SB_CUSTOMER":"in-6"}`, ""},
		{`{ "variables": { "SB_CUSTOMER": "in-7" } }`, "in-7"},
		{`{"variables":{"SB_CUSTOMER":1}}`, ""},
		{`{"variables":{"SB_CUSTOMER":"in-8"`, ""}, // cut short: not JSON
		{`not json "SB_CUSTOMER":"x"`, ""},
		{``, ""},
		{`{"variables":{"SB_\u0043USTOMER":"in-9"}}`, "in-9"},
		{`{"variables":{"SB_CUSTOMER" :"a","SB_CUSTOMER":"b","SB_CUSTOMER" :"c"}}`, "c"},
	} {
		if got := bodyVar([]byte(c.body), engine.VarCustomer); got != c.want {
			t.Errorf("bodyVar(%s) = %q, want %q", c.body, got, c.want)
		}
	}
}

// TestQueryValue: the first value of a key, unescaped, as url.ParseQuery(raw).Get(key) gives it.
func TestQueryValue(t *testing.T) {
	for _, raw := range []string{
		"endpoint=PJSIP%2F1001&app=contact-center&appArgs=agent%2Ccall-1",
		"appArgs=agent,call-2&appArgs=other",
		"app%41rgs=agent%2Ccall-3",
		"appArgs=a+b%20c",
		"appArgs=",
		"appArgs",
		"x=1&appArgs=bad%zz&appArgs=good",
		"",
		"appArgsX=1&XappArgs=2",
	} {
		q, _ := url.ParseQuery(raw)
		if got, want := queryValue(raw, "appArgs"), q.Get("appArgs"); got != want {
			t.Errorf("queryValue(%q) = %q, want %q", raw, got, want)
		}
	}
}

// TestLatencyWindows: a window a second for the first five seconds, then five seconds each; each with its own quantiles and
// its count of originates over the target.
func TestLatencyWindows(t *testing.T) {
	ms := time.Millisecond
	var samples []loadSample
	for i := range 100 { // 0–1 s: 100 calls, 1–100 ms
		samples = append(samples, loadSample{at: time.Duration(i) * 10 * ms, latency: time.Duration(i+1) * ms})
	}
	samples = append(samples,
		loadSample{at: 4999 * ms, latency: ms},        // 4–5 s
		loadSample{at: 5 * time.Second, latency: ms},  // 5–10 s
		loadSample{at: 12 * time.Second, latency: ms}, // 10–15 s
		loadSample{at: 14 * time.Second, latency: slowOriginate},
		loadSample{at: 14 * time.Second, latency: slowOriginate + 1},
	)
	got := latencyWindows(samples)
	want := []latencyWindow{
		{From: 0, To: time.Second, Calls: 100, P50: 50 * ms, P99: 99 * ms, Max: 100 * ms, Slow: 90},
		{From: 4 * time.Second, To: 5 * time.Second, Calls: 1, P50: ms, P99: ms, Max: ms},
		{From: 5 * time.Second, To: 10 * time.Second, Calls: 1, P50: ms, P99: ms, Max: ms},
		{From: 10 * time.Second, To: 15 * time.Second, Calls: 3, P50: slowOriginate, P99: slowOriginate + 1, Max: slowOriginate + 1, Slow: 1},
	}
	if !slices.Equal(got, want) {
		t.Errorf("latencyWindows:\n got %+v\nwant %+v", got, want)
	}
	if got := latencyWindows(nil); len(got) != 0 {
		t.Errorf("no samples: %+v", got)
	}
}

// FuzzBodyVar: on any valid JSON body, bodyVar agrees with decoding the body whole.
func FuzzBodyVar(f *testing.F) {
	for _, b := range []string{
		`{"variables":{"A":"1","SB_CUSTOMER":"in-1"}}`,
		`{"variables":{"SB_CUSTOMER":{"value":"in-2"}}}`,
		`{"variables":{"A":"\"SB_CUSTOMER\":x","SB_CUSTOMER":"in-3"}}`,
		`{"variables":{"X":"y"},"SB_CUSTOMER":"in-6"}`,
	} {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		var body struct {
			Variables map[string]json.RawMessage `json:"variables"`
		}
		want := ""
		if json.Unmarshal(b, &body) == nil {
			if raw, ok := body.Variables[engine.VarCustomer]; ok {
				var v struct {
					Value string `json:"value"`
				}
				if json.Unmarshal(raw, &v.Value) == nil || json.Unmarshal(raw, &v) == nil {
					want = v.Value
				}
			}
		}
		if got := bodyVar(b, engine.VarCustomer); got != want {
			t.Errorf("bodyVar(%s) = %q, want %q", b, got, want)
		}
	})
}

// BenchmarkLoadTimerCall is the load child's hook work for one call's path, as the controller sends it: the caller's
// StasisStart, the agent's originate naming the caller, then the caller's tags. It runs on the emulator's one processor.
func BenchmarkLoadTimerCall(b *testing.B) {
	lt := newLoadTimer()
	lt.start(time.Now())
	i := 0
	for b.Loop() {
		i++
		ch, call := "1763900000."+strconv.Itoa(i), "019ab2c4-0000-7000-8000-"+strconv.Itoa(100000000000+i)
		lt.event("StasisStart", ch, time.Now())
		lt.request(arisim.RequestRecord{Method: "POST", Path: "/channels/sb-agent-" + call, Operation: "channels.originateWithId",
			Query: "endpoint=PJSIP%2F9001&app=contact-center&appArgs=agent%2C" + call + "&callerId=%2B8613800000000&timeout=30",
			Body: []byte(`{"variables":{"SB_AGENT":"load-agent-1","SB_CALL":"` + call + `","SB_CUSTOMER":"` + ch +
				`","SB_ENQUEUED":"2026-11-23T05:00:00.000000001Z","SB_PRIORITY":"0","SB_QUEUE":"general","SB_ROLE":"agent"}}`),
			Status: 200})
		lt.request(arisim.RequestRecord{Method: "POST", Path: "/channels/" + ch + "/variables", Operation: "channels.setChannelVars",
			Body: []byte(`{"variables":{"SB_CALL":"` + call + `","SB_ENQUEUED":"2026-11-23T05:00:00.000000001Z","SB_PRIORITY":"0",` +
				`"SB_QUEUE":"general","SB_ROLE":"customer"}}`), Status: 204})
	}
	if rep := lt.report(); rep.Originates != i {
		b.Fatalf("matched %d originates of %d", rep.Originates, i)
	}
}
