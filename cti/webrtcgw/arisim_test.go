package webrtcgw_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/switchboard-cc/switchboard/cti/arisim"
	"github.com/switchboard-cc/switchboard/cti/webrtcgw"
)

// ari is a minimal ARI REST client for the emulator.
type ari struct {
	tb   testing.TB
	base string
}

func (a ari) do(method, path string, q url.Values) (int, map[string]any) {
	a.tb.Helper()
	req, err := http.NewRequest(method, a.base+path+"?"+q.Encode(), nil)
	if err != nil {
		a.tb.Fatal(err)
	}
	req.SetBasicAuth("asterisk", "asterisk")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.tb.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func (a ari) must(method, path string, q url.Values) map[string]any {
	a.tb.Helper()
	status, body := a.do(method, path, q)
	if status/100 != 2 {
		a.tb.Fatalf("%s %s %v: %d %v", method, path, q, status, body)
	}
	return body
}

// The call path of a web caller against the ARI emulator: the caller's channel and an externalMedia channel (format=ulaw,
// external_host = the leg's RTP address) in one mixing bridge; the emulator sends and counts real RTP.
func TestEmulatorExternalMedia(t *testing.T) {
	sim := arisim.New(arisim.Config{TimeScale: 0.05})
	defer sim.Close()
	addr, err := sim.Start(context.Background(), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	events, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ari/events?app=contact-center&api_key=asterisk:asterisk", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer events.Close()
	go func() { // drain; ends when the emulator closes the socket
		for {
			if _, _, err := events.ReadMessage(); err != nil {
				return
			}
		}
	}()
	var caller string
	checkFor(t, 2*time.Second, "app registered", func() bool {
		caller, _ = sim.Call(arisim.CallSpec{CallerName: "Web Caller", CallerNumber: "webrtc"})
		return caller != ""
	})
	api := ari{t, "http://" + addr + "/ari"}
	checkFor(t, 2*time.Second, "caller in Stasis", func() bool {
		status, _ := api.do("POST", "/channels/"+caller+"/answer", nil)
		return status == http.StatusNoContent
	})
	api.must("POST", "/bridges", url.Values{"type": {"mixing"}, "bridgeId": {"web-1"}})
	api.must("POST", "/bridges/web-1/addChannel", url.Values{"channel": {caller}})

	g := mustGateway(t, testConfig())
	b := newBrowser(t, browserAPI(t))
	leg := dial(t, g, b, webrtcgw.LegOptions{ID: "web-1-ext"})
	ch := api.must("POST", "/channels/externalMedia", url.Values{
		"app": {"contact-center"}, "external_host": {leg.LocalRTPAddr().String()}, "format": {"ulaw"},
		"encapsulation": {"rtp"}, "transport": {"udp"}, "channelId": {"web-1-ext"}, "data": {"webrtc"},
	})
	vars := ch["channelvars"].(map[string]any)
	if err := leg.SetRemote(fmt.Sprintf("%s:%s", vars["UNICASTRTP_LOCAL_ADDRESS"], vars["UNICASTRTP_LOCAL_PORT"])); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 2*time.Second, "externalMedia in Stasis", func() bool {
		status, _ := api.do("POST", "/bridges/web-1/addChannel", url.Values{"channel": {"web-1-ext"}})
		return status == http.StatusNoContent
	})

	const n = 20
	b.talk(t, n)
	checkFor(t, 2*time.Second, "the emulator received every packet", func() bool {
		_, recv, _ := sim.RTPStats("web-1-ext")
		return recv == n
	})
	checkFor(t, 2*time.Second, "the browser hears the emulator", func() bool { return len(b.received()) >= 10 })
	sent, _, _ := sim.RTPStats("web-1-ext")
	api.must("DELETE", "/channels/web-1-ext", nil) // stops the emulator's RTP
	checkFor(t, 2*time.Second, "every emulator packet at the browser", func() bool {
		st := leg.Stats()
		return st.FromPBX.Packets == st.ToBrowser && uint64(len(b.received())) == st.ToBrowser
	})
	got := b.received()
	for i, p := range got {
		if len(p.Payload) != 240 || p.PayloadType != 0 {
			t.Fatalf("packet %d: payload type %d, %d bytes; want PCMU 240 bytes as Asterisk sends", i, p.PayloadType, len(p.Payload))
		}
	}
	checkStream(t, "to browser", got, 240)
	if int64(len(got)) < sent {
		t.Errorf("browser got %d packets, the emulator had sent %d before the hang-up", len(got), sent)
	}
	if st := leg.Stats(); st.FromPBX.Lost != 0 || st.ToPBX != n || st.FromBrowser.Lost != 0 {
		t.Errorf("stats %+v", st)
	}
}
