package arisim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// miniController is the smallest ARI controller: answer, bridge, call agent
// 1001 and bridge it in. It drives the emulator like Switchboard would.
func miniController(t testing.TB, h *harness, ws *wsClient, stop <-chan struct{}) *sync.WaitGroup {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		next := 0
		for {
			select {
			case <-stop:
				return
			case <-ws.notify:
			case <-time.After(20 * time.Millisecond):
			}
			evs := ws.all()
			for ; next < len(evs); next++ {
				var e struct {
					Type    string   `json:"type"`
					Args    []string `json:"args"`
					Channel struct {
						ID string `json:"id"`
					} `json:"channel"`
				}
				json.Unmarshal(evs[next], &e)
				if e.Type != "StasisStart" || len(e.Args) == 0 {
					continue
				}
				id := e.Channel.ID
				switch e.Args[0] {
				case "inbound":
					h.do("POST", "/channels/"+id+"/answer", "")
					h.do("POST", "/bridges", "type=mixing&bridgeId=br-"+id)
					h.do("POST", "/bridges/br-"+id+"/addChannel", "channel="+id)
					h.do("POST", "/channels", "endpoint=PJSIP/1001&app=contact-center&appArgs=agent,"+id+"&channelId=agent-"+id)
				case "agent":
					h.do("POST", "/bridges/br-"+e.Args[1]+"/addChannel", "channel="+id)
				}
			}
		}
	}()
	return &wg
}

func TestLoadWithController(t *testing.T) {
	// Agent 1001 stays on the line (the transcripts' 1001 hangs up 12 s after answering: 120 ms at this scale, which a slow
	// machine under -race can miss).
	h := newHarness(t, Config{TimeScale: 0.01, Endpoints: map[string]Behaviour{"PJSIP/1001": {Registered: true, AnswerAfter: time.Second}}})
	ws := h.dial("contact-center", "")
	waitRegistered(t, h, "contact-center")
	stop := make(chan struct{})
	wg := miniController(t, h, ws, stop)
	defer wg.Wait()
	defer close(stop)
	res, err := h.srv.Load(context.Background(), 40, 500*time.Millisecond, CallSpec{HangupAfter: 10 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if res.Offered < 10 || res.Rejected != 0 {
		t.Fatalf("load result %+v", res)
	}
	deadline := time.Now().Add(5 * time.Second)
	for h.srv.Stats().CallsBridged < res.Offered {
		if time.Now().After(deadline) {
			t.Fatalf("bridged %d of %d calls; stats %+v", h.srv.Stats().CallsBridged, res.Offered, h.srv.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i, ev := range ws.all() {
		for _, e := range validateEventJSON(ev) {
			t.Fatalf("event %d: %s", i, e)
		}
	}
}

func TestDemoTraffic(t *testing.T) {
	h := newHarness(t, Config{TimeScale: 0.001})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	// No controller yet: every call is declined, silently.
	if err := h.srv.Demo(ctx, DemoConfig{CallsPerMinute: 600, Seed: 1}); err != context.DeadlineExceeded {
		t.Fatalf("Demo returned %v", err)
	}
	if st := h.srv.Stats(); st.CallsRejected == 0 || st.CallsOffered != 0 {
		t.Fatalf("stats %+v", st)
	}
	ws := h.dial("contact-center", "")
	waitRegistered(t, h, "contact-center")
	ctx2, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	h.srv.Demo(ctx2, DemoConfig{CallsPerMinute: 600, Seed: 2})
	if st := h.srv.Stats(); st.CallsOffered == 0 {
		t.Fatalf("no demo call offered: %+v", st)
	}
	ws.waitType("StasisStart", 0)
}

func TestCallerScriptDTMFOnMedia(t *testing.T) {
	h := newHarness(t, testConfig())
	ws := h.dial("contact-center", "")
	waitRegistered(t, h, "contact-center")
	id, err := h.srv.Call(CallSpec{CallerNumber: "100", DTMF: []Step{{Digits: "42", After: 500 * time.Millisecond, OnMedia: "sound:press-1-for-sales-2-for-support"}}})
	if err != nil {
		t.Fatal(err)
	}
	h.do("POST", "/channels/"+id+"/answer", "")
	h.do("POST", "/channels/"+id+"/play", "media=sound:welcome,sound:press-1-for-sales-2-for-support")
	ev, i := ws.waitType("ChannelDtmfReceived", 0)
	ev2, _ := ws.waitType("ChannelDtmfReceived", i+1)
	if ev["digit"] != "4" || ev2["digit"] != "2" {
		t.Errorf("digits %v %v", ev["digit"], ev2["digit"])
	}
	if !strings.Contains(typesOf(ws.all()[:i]), "PlaybackContinuing PlaybackStarted") {
		t.Errorf("DTMF before the menu prompt: %s", typesOf(ws.all()))
	}
}

func TestStartAndClose(t *testing.T) {
	srv := New(Config{})
	ctx, cancel := context.WithCancel(context.Background())
	addr, err := srv.Start(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "http://"+addr+"/ari/asterisk/ping", nil)
	req.SetBasicAuth("asterisk", "asterisk")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("ping: %d", resp.StatusCode)
	}
	cancel()
	srv.Close() // waits for every goroutine; goleak checks the rest
}

// TestRecordingFile: a stored recording's file is a WAV as long as the
// recording (8 kHz, mono, 16-bit).
func TestRecordingFile(t *testing.T) {
	h := newHarness(t, testConfig())
	ws := h.dial("contact-center", "")
	waitRegistered(t, h, "contact-center")
	id, _ := h.srv.Call(CallSpec{CallerNumber: "100"})
	h.do("POST", "/channels/"+id+"/answer", "")
	if r := h.do("POST", "/channels/"+id+"/record", "name=rec1&format=wav&maxDurationSeconds=2"); r.status != 201 || r.header.Get("Location") != "/recordings/live/rec1" {
		t.Fatalf("record: %d %s %v", r.status, r.body, r.header)
	}
	fin, _ := ws.waitType("RecordingFinished", 0)
	if d := fin["recording"].(map[string]any)["duration"]; d != float64(2) {
		t.Errorf("duration %v", d)
	}
	r := h.do("GET", "/recordings/stored/rec1/file", "")
	if r.status != 200 || string(r.body[:4]) != "RIFF" || string(r.body[8:12]) != "WAVE" {
		t.Fatalf("file: %d %q", r.status, r.body[:min(12, len(r.body))])
	}
	if n := len(r.body) - 44; n < 2*8000*2 || n > 2*8000*2+16000/2 {
		t.Errorf("wav data %d bytes for a 2 s recording", n)
	}
}

// TestAnswerRingingPhone: a NoAnswer endpoint rings until a person answers it through Server.Answer; the controller then sees the
// answer sequence and the leg enters the app. Answering twice, or a channel that is not ringing, is an error.
func TestAnswerRingingPhone(t *testing.T) {
	h := newHarness(t, Config{TimeScale: 0.05, Endpoints: map[string]Behaviour{"PJSIP/2001": {Registered: true, NoAnswer: true}}})
	ws := h.dial("contact-center", "")
	waitRegistered(t, h, "contact-center")
	if r := h.do("POST", "/channels", "endpoint=PJSIP/2001&app=contact-center&appArgs=agent,c1&channelId=leg-1&timeout=30"); r.status != 200 {
		t.Fatalf("originate: %d %s", r.status, r.body)
	}
	_, i := ws.waitType("ChannelStateChange", 0)
	if err := h.srv.Answer("leg-1"); err != nil {
		t.Fatal(err)
	}
	ev, _ := ws.waitType("StasisStart", i)
	if args := fmt.Sprint(ev["args"]); args != "[agent c1]" {
		t.Errorf("StasisStart args %s", args)
	}
	if err := h.srv.Answer("leg-1"); err != ErrNotRinging {
		t.Errorf("second answer: %v, want ErrNotRinging", err)
	}
	if err := h.srv.Answer("nope"); err != ErrNoChannel {
		t.Errorf("unknown channel: %v, want ErrNoChannel", err)
	}
}

// TestLoadKeepsRateWhenStalled: ticks missed while the emulator is busy
// (here its lock held for 150 ms) are made up in a burst, so a run places
// exactly rate × duration calls.
func TestLoadKeepsRateWhenStalled(t *testing.T) {
	srv := New(Config{})
	defer srv.Close()
	stalled := make(chan struct{})
	go func() {
		time.Sleep(100 * time.Millisecond)
		srv.mu.Lock()
		time.Sleep(150 * time.Millisecond)
		srv.mu.Unlock()
		close(stalled)
	}()
	res, err := srv.Load(context.Background(), 200, 500*time.Millisecond, CallSpec{})
	<-stalled
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Offered + res.Rejected; got != 100 {
		t.Errorf("placed %d calls, want 200/s × 0.5 s = 100 (%+v)", got, res)
	}
}
