package arisim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/gorilla/websocket"
	"github.com/switchboard-cc/switchboard/cti/arisim"
)

// Example shows the emulator as tests use it: a real HTTP server, a raw
// events websocket, a simulated caller entering Stasis(contact-center,inbound)
// and a REST call answering it.
func Example() {
	srv := arisim.New(arisim.Config{TimeScale: 0.01})
	defer srv.Close()
	addr, err := srv.Start(context.Background(), "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ari/events?app=contact-center&api_key=asterisk:asterisk", nil)
	if err != nil {
		panic(err)
	}
	defer ws.Close()

	// The app is registered once the websocket is up; retry until it is.
	var id string
	for id == "" {
		id, _ = srv.Call(arisim.CallSpec{CallerName: "Alice Example", CallerNumber: "15551230001", Dialed: "5551000"})
	}
	var ev struct {
		Type    string   `json:"type"`
		Args    []string `json:"args"`
		Channel struct {
			State  string `json:"state"`
			Caller struct{ Name string }
		} `json:"channel"`
	}
	ws.ReadJSON(&ev)
	fmt.Println(ev.Type, ev.Args, ev.Channel.State, ev.Channel.Caller.Name)

	req, _ := http.NewRequest("POST", "http://"+addr+"/ari/channels/"+id+"/answer", nil)
	req.SetBasicAuth("asterisk", "asterisk")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode)

	_, msg, _ := ws.ReadMessage()
	json.Unmarshal(msg, &ev)
	fmt.Println(ev.Type, ev.Channel.State, strings.Contains(string(msg), `"asterisk_id":"02:fc:00:00:00:01"`))
	// Output:
	// StasisStart [inbound] Ring Alice Example
	// 204
	// ChannelStateChange Up true
}
