package arisim

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestTranscriptJ_SecondWebsocket: a second websocket for the same app takes
// it over; the first gets ApplicationReplaced and nothing else; when the
// second closes the app is gone and calls are declined without events.
func TestTranscriptJ_SecondWebsocket(t *testing.T) {
	h := newHarness(t, testConfig())
	first := h.dial("contact-center", "&subscribeAll=false")
	waitRegistered(t, h, "contact-center")
	second := h.dial("contact-center", "&subscribeAll=false")
	ev, _ := first.waitType("ApplicationReplaced", 0)
	if got := topKeys(first.all()[0]); strings.Join(got, ",") != "type,timestamp,application,asterisk_id" {
		t.Errorf("ApplicationReplaced field order %v", got)
	}
	if ev["application"] != "contact-center" {
		t.Errorf("ApplicationReplaced %v", ev)
	}
	id, err := h.srv.Call(CallSpec{CallerNumber: "15551230010", Dialed: "5559200", HangupAfter: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if r := h.do("POST", "/channels/"+id+"/answer", ""); r.status != 204 {
		t.Fatalf("answer: %d %s", r.status, r.body)
	}
	second.waitType("StasisEnd", 0)
	if n := first.count(); n != 1 {
		t.Errorf("first connection got %d events, want only ApplicationReplaced: %s", n, typesOf(first.all()))
	}
	if ari := sharedARIOptional(); ari != "" {
		rec := readJSONL[eventLine](t, ari+"/transcripts/j-second-websocket.second.events.jsonl")
		compareEvents(t, rec, second.all(), func(s string) string { return s })
	}
	second.close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := h.do("GET", "/applications", "")
		if string(r.body) == "[]" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET /applications = %s after the second websocket closed, want []", r.body)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := h.srv.Call(CallSpec{CallerNumber: "15551230011"}); err != ErrNoApp {
		t.Errorf("call with no app: err %v, want ErrNoApp", err)
	}
	time.Sleep(20 * time.Millisecond)
	if n := first.count(); n != 1 {
		t.Errorf("declined call produced events on the first connection: %s", typesOf(first.all()))
	}
}

func sharedARIOptional() string {
	var ari string
	t := &testing.T{}
	func() {
		defer func() { recover() }()
		ari = sharedARI(t)
	}()
	if t.Skipped() {
		return ""
	}
	return ari
}

func TestEventsWebsocketMissingApp(t *testing.T) {
	h := newHarness(t, testConfig())
	c := h.dial("", "")
	if !c.waitCount(1, 5*time.Second) {
		t.Fatal("no message")
	}
	if got := string(c.all()[0]); got != `{"type":"MissingParams","params":["app"]}` {
		t.Errorf("got %s", got)
	}
	<-c.done // Asterisk closes the socket
}

func TestAuth(t *testing.T) {
	h := newHarness(t, testConfig())
	for _, tc := range []struct {
		name   string
		setup  func(*http.Request)
		query  string
		status int
	}{
		{"none", func(*http.Request) {}, "", 401},
		{"wrong basic", func(r *http.Request) { r.SetBasicAuth("asterisk", "nope") }, "", 401},
		{"basic", func(r *http.Request) { r.SetBasicAuth("asterisk", "asterisk") }, "", 200},
		{"api_key", func(*http.Request) {}, "api_key=asterisk:asterisk", 200},
		{"bad api_key", func(*http.Request) {}, "api_key=asterisk", 401},
	} {
		u := h.url + "/ari/asterisk/ping"
		if tc.query != "" {
			u += "?" + tc.query
		}
		req, _ := http.NewRequest("GET", u, nil)
		tc.setup(req)
		r := h.send(req)
		if r.status != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, r.status, r.body, tc.status)
		}
		if tc.status == 401 {
			if string(r.body) != `{"message":"Authentication required"}` || r.header.Get("WWW-Authenticate") != `Basic realm="Asterisk REST Interface"` {
				t.Errorf("%s: body %s, WWW-Authenticate %q", tc.name, r.body, r.header.Get("WWW-Authenticate"))
			}
		}
	}
}

// TestStrictness: the emulator rejects what Asterisk rejects, with its
// status and body.
func TestStrictness(t *testing.T) {
	h := newHarness(t, testConfig())
	ws := h.dial("contact-center", "")
	waitRegistered(t, h, "contact-center")
	callID, err := h.srv.Call(CallSpec{CallerNumber: "15551230001", CallerName: "Strict Caller"})
	if err != nil {
		t.Fatal(err)
	}
	ws.waitType("StasisStart", 0)
	// An agent leg that only rings: Ringing state.
	r := h.do("POST", "/channels", "endpoint=PJSIP/1002&app=contact-center&channelId=ringing-leg&timeout=60")
	if r.status != 200 {
		t.Fatalf("originate: %d %s", r.status, r.body)
	}
	ws.waitType("Dial", 0)
	h.do("POST", "/bridges", "type=mixing&bridgeId=b1")
	if r := h.do("POST", "/channels/create", "endpoint=PJSIP/1002&app=contact-center&channelId=down-leg"); r.status != 200 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	_, i := ws.waitType("StasisStart", 0)
	ws.waitType("StasisStart", i+1)
	for _, tc := range []struct {
		method, path, query string
		status              int
		body                string
	}{
		{"GET", "/nope", "", 404, `{"message":"Resource not found"}`},
		{"GET", "/channels/" + callID + "/nope", "", 404, `{"message":"Resource not found"}`},
		{"PUT", "/channels", "", 405, `{"message":"Invalid method"}`},
		{"GET", "/channels/create", "", 405, `{"message":"Invalid method"}`},
		{"PUT", "/channels/" + callID + "/answer", "", 405, `{"message":"Invalid method"}`},
		{"GET", "/channels/", "", 404, `{"message":"ARI URLs do not end with a slash. Try /ari/channels"}`},
		{"GET", "/channels/does-not-exist", "", 404, `{"message":"Channel not found"}`},
		{"POST", "/channels/does-not-exist/answer", "", 404, `{"message":"Channel not found"}`},
		{"POST", "/bridges/does-not-exist/addChannel", "channel=x", 404, `{"message":"Bridge not found"}`},
		{"GET", "/playbacks/does-not-exist", "", 404, `{"message":"Playback not found"}`},
		{"POST", "/channels", "", 400, `{"message":"Endpoint must be specified"}`},
		{"POST", "/channels", "endpoint=PJSIP/1001", 400, `{"message":"Application or extension must be specified"}`},
		{"POST", "/channels", "endpoint=PJSIP&app=contact-center", 400, `{"message":"Invalid endpoint specified"}`},
		{"POST", "/channels", "endpoint=PJSIP/1003&app=contact-center", 500, `{"error":"Allocation failed"}`},
		{"POST", "/channels", "endpoint=PJSIP/9999&app=contact-center", 500, `{"error":"Allocation failed"}`},
		{"POST", "/channels", "endpoint=PJSIP/1001&app=contact-center&channelId=ringing-leg", 409, `{"message":"Channel with given unique ID already exists"}`},
		{"POST", "/channels/create", "endpoint=PJSIP/1001", 400, `{"message":"Missing parameter app"}`},
		// An originated leg is not in Stasis until it answers.
		{"POST", "/channels/ringing-leg/answer", "", 409, `{"message":"Channel not in Stasis application"}`},
		// A /channels/create leg is in Stasis but Down.
		{"POST", "/channels/down-leg/answer", "", 412, `{"message":"Channel in invalid state"}`},
		{"POST", "/channels/down-leg/play", "media=sound:welcome", 412, `{"message":"Channel in invalid state"}`},
		{"POST", "/channels/down-leg/moh", "", 412, `{"message":"Channel in invalid state"}`},
		{"POST", "/channels/" + callID + "/dial", "", 409, `{"message":"Channel is not in the 'Down' state"}`},
		{"POST", "/channels/" + callID + "/play", "", 400, `{"message":"Missing parameter media"}`},
		{"POST", "/channels/" + callID + "/mute", "direction=sideways", 400, `{"message":"Invalid direction specified"}`},
		{"POST", "/channels/" + callID + "/dtmf", "", 400, `{"message":"DTMF is required"}`},
		{"POST", "/channels/" + callID + "/record", "name=x&format=bogus", 422, `{"message":"specified format is unknown on this system"}`},
		{"POST", "/channels/" + callID + "/record", "name=x&format=wav&ifExists=sometimes", 400, `{"message":"ifExists invalid"}`},
		{"POST", "/channels/" + callID + "/record", "name=x&format=wav&maxDurationSeconds=-1", 400, `{"message":"max_duration_seconds cannot be negative"}`},
		{"POST", "/channels/" + callID + "/snoop", "app=contact-center", 400, `{"message":"Direction must be specified for at least spy or whisper"}`},
		{"POST", "/channels/" + callID + "/snoop", "spy=sideways&app=contact-center", 400, `{"message":"Invalid direction specified for spy"}`},
		{"GET", "/channels/" + callID + "/variable", "", 400, `{"message":"Variable name is required"}`},
		{"GET", "/channels/" + callID + "/variable", "variable=NOPE", 404, `{"message":"Provided variable was not found"}`},
		{"DELETE", "/channels/" + callID, "reason=whenever", 400, `{"message":"Invalid reason for hangup provided"}`},
		{"POST", "/bridges", "type=weird", 500, `{"message":"Unable to create bridge"}`},
		{"POST", "/bridges", "type=mixing,holding", 500, `{"message":"Unable to create bridge"}`},
		{"POST", "/bridges", "bridgeId=b1", 409, `{"message":"Bridge with id 'b1' already exists"}`},
		{"POST", "/bridges/b1/addChannel", "", 400, `{"message":"Missing parameter channel"}`},
		{"POST", "/bridges/b1/addChannel", "channel=nope", 400, `{"message":"Channel not found"}`},
		{"POST", "/bridges/b1/removeChannel", "channel=" + callID, 422, `{"message":"Channel not in this bridge"}`},
		{"DELETE", "/bridges/b1/moh", "", 409, `{"message":"Bridge isn't playing music"}`},
		{"POST", "/playbacks/x/control", "operation=jump", 400, `{"message":"Invalid operation jump"}`},
		{"POST", "/playbacks/x/control", "operation=pause", 404, `{"message":"Playback not found"}`},
		{"GET", "/recordings/live/x", "", 404, `{"message":"Recording not found"}`},
		{"GET", "/recordings/stored/x/file", "", 404, `{"message":"Recording not found"}`},
		{"PUT", "/deviceStates/Stasis:a", "deviceState=HAPPY", 400, `{"message":"Invalid device state specified"}`},
		{"PUT", "/deviceStates/PJSIP/1001", "deviceState=INUSE", 404, `{"message":"Resource not found"}`},
		{"PUT", "/deviceStates/Custom:a", "deviceState=INUSE", 409, `{"message":"Uncontrolled device specified"}`},
		{"GET", "/applications/nope", "", 404, `{"message":"Application not found"}`},
		{"POST", "/applications/contact-center/subscription", "eventSource=foo:bar", 400, `{"message":"Invalid event source URI scheme"}`},
		{"POST", "/applications/contact-center/subscription", "eventSource=endpoint:PJSIP/7777", 422, `{"message":"Event source does not exist"}`},
		{"GET", "/endpoints/SIP", "", 404, `{"message":"No Endpoints found - invalid tech SIP"}`},
		{"GET", "/endpoints/PJSIP/7777", "", 404, `{"message":"Endpoint not found"}`},
		{"GET", "/sounds/nope", "", 404, `{"message":"Sound not found"}`},
		{"GET", "/asterisk/variable", "", 400, `{"message":"Variable name is required"}`},
		{"GET", "/asterisk/modules/res_nope.so", "", 404, `{"message":"Module could not be found in running modules"}`},
		{"GET", "/asterisk/logging", "", 501, `{"message":"Method not implemented"}`},
	} {
		r := h.do(tc.method, tc.path, tc.query)
		if r.status != tc.status || string(r.body) != tc.body {
			t.Errorf("%s %s?%s = %d %s, want %d %s", tc.method, tc.path, tc.query, r.status, r.body, tc.status, tc.body)
		}
	}
	// Wrong method carries an Allow header like Asterisk's.
	if r := h.do("PUT", "/channels", ""); r.header.Get("Allow") != "OPTIONS, GET, POST" {
		t.Errorf("Allow = %q", r.header.Get("Allow"))
	}
	if r := h.do("OPTIONS", "/channels/"+callID, ""); r.status != 204 || r.header.Get("Allow") != "OPTIONS, GET, POST, DELETE" {
		t.Errorf("OPTIONS: %d Allow = %q", r.status, r.header.Get("Allow"))
	}
	// Methods Asterisk's HTTP server does not know never reach ARI.
	if r := h.do("PATCH", "/channels", ""); r.status != 501 {
		t.Errorf("PATCH: %d", r.status)
	}
	// A channel that left Stasis for the dialplan: 409 for control, 200 for GET.
	h.do("POST", "/channels/"+callID+"/answer", "")
	if r := h.do("POST", "/channels/"+callID+"/continue", "context=from-carrier&extension=7000&priority=1"); r.status != 204 {
		t.Fatalf("continue: %d %s", r.status, r.body)
	}
	ws.waitType("StasisEnd", 0)
	if r := h.do("POST", "/channels/"+callID+"/answer", ""); r.status != 409 || string(r.body) != `{"message":"Channel not in Stasis application"}` {
		t.Errorf("answer outside Stasis: %d %s", r.status, r.body)
	}
	if r := h.do("GET", "/channels/"+callID, ""); r.status != 200 {
		t.Errorf("GET after continue: %d", r.status)
	}
}

// TestJSONBodyParameters: Asterisk reads parameters and channel variables
// from a JSON body too.
func TestJSONBodyParameters(t *testing.T) {
	h := newHarness(t, testConfig())
	ws := h.dial("contact-center", "")
	waitRegistered(t, h, "contact-center")
	r := h.doJSON("POST", "/channels", map[string]any{
		"endpoint": "PJSIP/1001", "app": "contact-center", "appArgs": "agent,x", "channelId": "json-leg",
		"variables": map[string]string{"CC_CALL": "42"},
	})
	if r.status != 200 {
		t.Fatalf("originate: %d %s", r.status, r.body)
	}
	ws.waitType("StasisStart", 0)
	if r := h.do("GET", "/channels/json-leg/variable", "variable=CC_CALL"); string(r.body) != `{"value":"42"}` {
		t.Errorf("variable: %d %s", r.status, r.body)
	}
	// Since 22.10 a variable may also be {"value", "report_events"}.
	r = h.doJSON("POST", "/channels", map[string]any{"endpoint": "PJSIP/1001", "app": "contact-center", "channelId": "json-leg-2",
		"variables": map[string]any{"CC_ROLE": map[string]any{"value": "agent", "report_events": true}}})
	if r.status != 200 {
		t.Fatalf("originate with an object variable: %d %s", r.status, r.body)
	}
	if r := h.do("GET", "/channels/json-leg-2/variable", "variable=CC_ROLE"); string(r.body) != `{"value":"agent"}` {
		t.Errorf("object variable: %d %s", r.status, r.body)
	}
	r = h.doJSON("POST", "/channels", map[string]any{"endpoint": "PJSIP/1001", "app": "contact-center", "variables": map[string]any{"N": 1}})
	if r.status != 400 || string(r.body) != `{"message":"Only string values in the 'variables' object allowed"}` {
		t.Errorf("non-string variable: %d %s", r.status, r.body)
	}
	r = h.doJSON("POST", "/channels/json-leg/play", map[string]any{"media": []string{"sound:welcome", "sound:beep"}, "playbackId": "pj"})
	if r.status != 201 || !strings.Contains(string(r.body), `"next_media_uri":"sound:beep"`) {
		t.Errorf("play with a JSON media array: %d %s", r.status, r.body)
	}
	// The ARI client library plays with POST /channels/{id}/play/{playbackId}
	// and a JSON body whose unset options are empty strings or null.
	r = h.doJSON("POST", "/channels/json-leg/play/pw", map[string]any{"media": []string{"sound:welcome"}, "lang": "", "x": nil})
	if r.status != 201 || !strings.Contains(string(r.body), `"id":"pw"`) || r.header.Get("Location") != "/playbacks/pw" {
		t.Errorf("playWithId: %d %s", r.status, r.body)
	}
	var ch map[string]any
	json.Unmarshal(h.do("GET", "/channels/json-leg", "").body, &ch)
	if ch["state"] != "Up" {
		t.Errorf("agent leg state %v", ch["state"])
	}
}

func TestOnRequest(t *testing.T) {
	var mu sync.Mutex
	var recs []RequestRecord
	cfg := testConfig()
	cfg.OnRequest = func(r RequestRecord) { mu.Lock(); recs = append(recs, r); mu.Unlock() }
	h := newHarness(t, cfg)
	h.dial("contact-center", "")
	waitRegistered(t, h, "contact-center")
	h.do("GET", "/channels/nope", "")
	h.do("POST", "/nope", "x=1")
	mu.Lock()
	defer mu.Unlock()
	want := []RequestRecord{
		{Method: "GET", Path: "/applications/contact-center", Operation: "applications.get", Status: 200},
		{Method: "GET", Path: "/channels/nope", Operation: "channels.get", Status: 404},
		{Method: "POST", Path: "/nope", Query: "x=1", Status: 404},
	}
	if len(recs) < 3 || !reflect.DeepEqual(recs[len(recs)-3:], want) {
		t.Errorf("records %+v", recs)
	}
	mu.Unlock()
	h.doJSON("POST", "/channels/nope/variables", map[string]any{"variables": map[string]string{"A": "1"}})
	mu.Lock()
	if last := recs[len(recs)-1]; last.Operation != "channels.setChannelVars" || string(last.Body) != `{"variables":{"A":"1"}}` {
		t.Errorf("JSON request recorded as %+v (body %s)", last, last.Body)
	}
}

// TestOnEvent: the hook sees each channel event with the channel's id, in the order the websocket gets them, timed by the
// wall clock.
func TestOnEvent(t *testing.T) {
	type seen struct {
		typ, id string
		at      time.Time
	}
	var mu sync.Mutex
	var got []seen
	cfg := testConfig()
	cfg.OnEvent = func(typ, id string, at time.Time) { mu.Lock(); got = append(got, seen{typ, id, at}); mu.Unlock() }
	h := newHarness(t, cfg)
	ws := h.dial("contact-center", "")
	waitRegistered(t, h, "contact-center")
	before := time.Now()
	id, err := h.srv.Call(CallSpec{CallerNumber: "15551230012"})
	if err != nil {
		t.Fatal(err)
	}
	if r := h.do("DELETE", "/channels/"+id, ""); r.status != 204 {
		t.Fatalf("hangup: %d %s", r.status, r.body)
	}
	ws.waitType("StasisEnd", 0)
	mu.Lock()
	defer mu.Unlock()
	var types []string
	for _, s := range got {
		if s.id != id {
			t.Errorf("%s for channel %q, want %q", s.typ, s.id, id)
		}
		if s.at.Before(before) || s.at.After(time.Now()) {
			t.Errorf("%s at %v, not during the call", s.typ, s.at)
		}
		types = append(types, s.typ)
	}
	if len(types) == 0 || types[0] != "StasisStart" || types[len(types)-1] != "StasisEnd" {
		t.Errorf("events %v, want StasisStart first and StasisEnd last", types)
	}
}

// TestSlowConsumerDropped: a websocket whose bounded queue overflows is
// dropped (and counted) instead of stalling the emulator.
func TestSlowConsumerDropped(t *testing.T) {
	cfg := testConfig()
	cfg.EventQueue = 1
	h := newHarness(t, cfg)
	h.dial("contact-center", "")
	waitRegistered(t, h, "contact-center")
	deadline := time.Now().Add(5 * time.Second)
	for h.srv.Stats().SlowConsumers == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("queue never overflowed: %+v", h.srv.Stats())
		}
		id, err := h.srv.Call(CallSpec{CallerNumber: "1"})
		if err == ErrNoApp {
			break
		}
		h.do("POST", "/channels/"+id+"/answer", "")
		h.do("DELETE", "/channels/"+id, "") // 7 events at once
	}
	if _, err := h.srv.Call(CallSpec{CallerNumber: "2"}); err != ErrNoApp {
		t.Errorf("after the drop the app should be unregistered; Call err = %v", err)
	}
}

// TestInjectedClock: timestamps, creation times and unique ids come from
// Config.Now, in Asterisk's format.
func TestInjectedClock(t *testing.T) {
	at := time.Date(2026, 11, 22, 12, 41, 41, 292_000_000, time.UTC)
	cfg := testConfig()
	cfg.Now = func() time.Time { return at }
	h := newHarness(t, cfg)
	ws := h.dial("contact-center", "")
	waitRegistered(t, h, "contact-center")
	id, err := h.srv.Call(CallSpec{CallerNumber: "15551230001"})
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := ws.waitType("StasisStart", 0)
	ch := ev["channel"].(map[string]any)
	if ev["timestamp"] != "2026-11-22T12:41:41.292+0000" || ch["creationtime"] != "2026-11-22T12:41:41.292+0000" {
		t.Errorf("timestamps %v %v", ev["timestamp"], ch["creationtime"])
	}
	if !strings.HasPrefix(id, "1795351301.") || ch["name"] != "PJSIP/carrier-00000000" {
		t.Errorf("id %s name %v", id, ch["name"])
	}
}

// TestChannelSubscription: an app subscribed to channel:<id> gets that
// channel's events although the channel is in another app.
func TestChannelSubscription(t *testing.T) {
	h := newHarness(t, testConfig())
	ws := h.dial("contact-center", "")
	sup := h.dial("supervisor", "")
	waitRegistered(t, h, "contact-center")
	waitRegistered(t, h, "supervisor")
	id, _ := h.srv.Call(CallSpec{CallerNumber: "1"})
	ws.waitType("StasisStart", 0)
	r := h.do("POST", "/applications/supervisor/subscription", "eventSource=channel:"+id)
	if r.status != 200 || !strings.Contains(string(r.body), `"channel_ids":["`+id+`"]`) {
		t.Fatalf("subscribe: %d %s", r.status, r.body)
	}
	h.do("POST", "/channels/"+id+"/answer", "")
	ev, _ := sup.waitType("ChannelStateChange", 0)
	if ev["application"] != "supervisor" {
		t.Errorf("event %v", ev)
	}
	if r := h.do("DELETE", "/applications/supervisor/subscription", "eventSource=channel:"+id); r.status != 200 {
		t.Errorf("unsubscribe: %d %s", r.status, r.body)
	}
	if r := h.do("DELETE", "/applications/supervisor/subscription", "eventSource=channel:"+id); r.status != 409 {
		t.Errorf("second unsubscribe: %d %s", r.status, r.body)
	}
}

// TestOriginatedLegListed: a leg originated with app= is among the application's channels while it still rings, as
// Asterisk subscribes the application at originate; one originated into the dialplan is not, nor a leg that is gone.
func TestOriginatedLegListed(t *testing.T) {
	h := newHarness(t, testConfig())
	ws := h.dial("contact-center", "")
	waitRegistered(t, h, "contact-center")
	if r := h.do("POST", "/channels", "endpoint=PJSIP/1002&app=contact-center&channelId=ringing-leg&timeout=60"); r.status != 200 {
		t.Fatalf("originate: %d %s", r.status, r.body)
	}
	if r := h.do("POST", "/channels", "endpoint=PJSIP/1002&extension=100&context=default&channelId=dialplan-leg&timeout=60"); r.status != 200 {
		t.Fatalf("originate to the dialplan: %d %s", r.status, r.body)
	}
	ev, _ := ws.waitType("ChannelStateChange", 0)
	if ch, _ := ev["channel"].(map[string]any); ch["id"] != "ringing-leg" || ch["state"] != "Ringing" {
		t.Fatalf("first state change %v", ev)
	}
	r := h.do("GET", "/applications/contact-center", "")
	if r.status != 200 || !strings.Contains(string(r.body), `"channel_ids":["ringing-leg"]`) {
		t.Fatalf("application while the leg rings: %d %s", r.status, r.body)
	}
	if r := h.do("DELETE", "/channels/ringing-leg", ""); r.status != 204 {
		t.Fatalf("hangup: %d %s", r.status, r.body)
	}
	ws.waitType("ChannelDestroyed", 0)
	if r := h.do("GET", "/applications/contact-center", ""); r.status != 200 || !strings.Contains(string(r.body), `"channel_ids":[]`) {
		t.Fatalf("application after the hangup: %d %s", r.status, r.body)
	}
}
