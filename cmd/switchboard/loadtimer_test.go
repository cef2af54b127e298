package main

import (
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
