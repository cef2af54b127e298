package asterisk

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/CyCoreSystems/ari/v6"
	"github.com/switchboard-cc/switchboard/cti"
)

// v6 reports an unknown event type as an error (v5.3.1 panicked); the adapter ignores such types before decoding.
func TestUnknownEventTypes(t *testing.T) {
	c := New(Config{})
	for _, typ := range []string{"ChannelTransfer", "ChannelToneDetected", "ApplicationRegistered", "ApplicationUnregistered",
		"CallBroadcast", "CallClaimed", "RESTResponse", "SomethingNew"} {
		msg := []byte(`{"type":"` + typ + `","application":"contact-center","timestamp":"2026-11-22T12:41:41.292+0000"}`)
		if _, err := ari.DecodeEvent(msg); err == nil && typ == "SomethingNew" {
			t.Errorf("ari.DecodeEvent(%s) = nil error", typ)
		}
		ev, err := c.translate(msg)
		if ev != nil || err != nil {
			t.Errorf("translate(%s) = %v, %v; want ignored", typ, ev, err)
		}
	}
	for _, msg := range []string{`not json`, `{"type":"StasisStart","channel":42}`, `{"type":"StasisStart","timestamp":"yesterday"}`} {
		if ev, err := c.translate([]byte(msg)); err == nil {
			t.Errorf("translate(%s) = %v, want an error", msg, ev)
		}
	}
}

// Every event Asterisk 22 sent in the recorded transcripts translates without error; the ones we deliver carry the
// recorded fields, and those of the types we do not translate — Asterisk sends them when it has no event filter — are
// ignored.
func TestTranscriptEvents(t *testing.T) {
	files, _ := filepath.Glob("../../../shared/ari/transcripts/*.events.jsonl")
	if len(files) == 0 {
		t.Skip("transcripts not found")
	}
	c := New(Config{Clock: cti.ClockFunc(func() time.Time { return time.Unix(0, 0) })})
	counts, ignored := map[string]int{}, map[string]int{}
	for _, f := range files {
		for _, msg := range transcriptEvents(t, f) {
			ev, err := c.translate(msg)
			if err != nil {
				t.Errorf("%s: %v: %s", filepath.Base(f), err, msg)
				continue
			}
			var head struct {
				Type string `json:"type"`
			}
			if err := json.Unmarshal(msg, &head); err != nil {
				t.Fatal(err)
			}
			if !handled(head.Type) {
				if ev != nil {
					t.Errorf("%s: %s translated to %#v", filepath.Base(f), head.Type, ev)
				}
				ignored[head.Type]++
				continue
			}
			if ev == nil {
				t.Errorf("%s: %s not translated", filepath.Base(f), head.Type)
				continue
			}
			if ev.EventTime().Unix() < 1e9 {
				t.Errorf("%T without the event's timestamp", ev)
			}
			name := strings.TrimPrefix(strings.TrimPrefix(typeName(ev), "cti."), "*")
			counts[name]++
			switch e := ev.(type) {
			case cti.ChannelEntered:
				if e.Channel.ID == "" || len(e.Args) == 0 || e.Channel.Created.IsZero() {
					t.Errorf("ChannelEntered %+v", e)
				}
			case cti.RecordingFinished:
				if e.Duration <= 0 {
					t.Errorf("RecordingFinished without duration: %+v", e)
				}
			case cti.PlaybackFinished:
				if e.PlaybackID == "" || e.TargetID == "" || strings.Contains(e.TargetID, ":") || e.State == "" {
					t.Errorf("PlaybackFinished %+v", e)
				}
			}
		}
	}
	for _, want := range []string{"ChannelEntered", "ChannelLeft", "ChannelHangupRequested", "ChannelDestroyed",
		"DTMFReceived", "PlaybackFinished", "RecordingFinished", "TelephonyReplaced"} {
		if counts[want] == 0 {
			t.Errorf("no %s in the transcripts: %v", want, counts)
		}
	}
	for _, want := range []string{"ChannelVarset", "ChannelStateChange", "Dial", "PlaybackStarted", "RecordingStarted"} {
		if ignored[want] == 0 {
			t.Errorf("no %s in the transcripts: %v", want, ignored)
		}
	}
}

func typeName(v any) string { return fmt.Sprintf("%T", v) }

func TestBackoff(t *testing.T) {
	b := Backoff{Min: 100 * time.Millisecond, Max: 10 * time.Second}
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 20 {
		ceil := min(b.Min<<min(n, 30), b.Max)
		for range 50 {
			d := b.delay(n, r)
			if d < ceil/2 || d > ceil {
				t.Fatalf("delay(%d) = %v, want in [%v, %v]", n, d, ceil/2, ceil)
			}
		}
	}
}

// TestConnectionReuse: a burst of concurrent commands shares a bounded pool of keep-alive connections — never more than
// Asterisk's default sessionlimit (100, the events websocket included) and no dial per request once the pool is open.
func TestConnectionReuse(t *testing.T) {
	// Asterisk's sessionlimit counts connections open at once; a connection closed and replaced under load is no breach.
	var mu sync.Mutex
	open, most := 0, 0
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(5 * time.Millisecond)
		w.WriteHeader(http.StatusNoContent)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		switch s {
		case http.StateNew:
			open++
			most = max(most, open)
		case http.StateClosed, http.StateHijacked:
			open--
		}
	}
	srv.Start()
	defer srv.Close()
	c := New(Config{URL: srv.URL + "/ari", App: "contact-center"})
	const requests = 1000
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range requests {
		wg.Go(func() {
			resp, err := c.http.Get(srv.URL)
			if err != nil {
				failed.Add(1)
				return
			}
			resp.Body.Close()
		})
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		t.Fatalf("%d of %d requests failed", n, requests)
	}
	mu.Lock()
	defer mu.Unlock()
	if most > MaxConns || MaxConns >= 100 {
		t.Errorf("%d connections open at once for %d concurrent requests; want at most %d, below Asterisk's default sessionlimit of 100",
			most, requests, MaxConns)
	}
	if most < 2 {
		t.Errorf("%d connection open at once for %d concurrent requests: the pool does not work in parallel", most, requests)
	}
}

// leadingType agrees with a JSON decoder whenever it answers, whatever the input.
func FuzzLeadingType(f *testing.F) {
	for _, s := range []string{`{"type":"ChannelVarset","variable":"x"}`, ` { "type" : "StasisStart" }`, `{"timestamp":"t","type":"Dial"}`,
		`{"type":"Sta\u0073isStart"}`, `{"type":""}`, `[{"type":"Dial"}]`, `{"type":42}`, `{"type":"Dial"`,
		`{"variable":"BRIDGEPEER","value":"Announcer/ARI_MOH-00000000;2","type":"ChannelVarset","timestamp":"t"}`,
		`{"variable":"X","value":"a \"type\":\"Dial\" \\","type":"ChannelVarset"}`, `{"variable":"X", "type" :"ChannelVarset"}`,
		`{"variable":"X","value":42,"type":"ChannelVarset"}`, `{"value":"v","variable":"X","type":"ChannelVarset"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		typ, ok := leadingType(msg)
		if !ok || !json.Valid(msg) {
			return
		}
		var head struct {
			Type string `json:"type"`
		}
		// A valid message whose first member is "type" decodes to the same type; a duplicate "type" later would win in
		// encoding/json, so only messages with one are compared.
		if err := json.Unmarshal(msg, &head); err == nil && strings.Count(string(msg), `"type"`) == 1 && head.Type != string(typ) {
			t.Errorf("leadingType(%s) = %q, decoder %q", msg, typ, head.Type)
		}
	})
}

// BenchmarkTranslate decodes every event Asterisk sent for one answered, bridged and recorded call (the
// b-agent-bridge-record transcript, 54 messages, most of them ChannelVarset): the adapter's decoding cost per call.
// "unfiltered" is every message, as from an Asterisk without the event filter; "filtered" only those of the types the
// filter allows, as the adapter receives them with it.
func BenchmarkTranslate(b *testing.B) {
	f := "../../../shared/ari/transcripts/b-agent-bridge-record.events.jsonl"
	if _, err := os.Stat(f); err != nil {
		b.Skip("transcripts not found")
	}
	all := transcriptEvents(b, f)
	var kept [][]byte
	for _, m := range all {
		var head struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(m, &head); err != nil {
			b.Fatal(err)
		}
		if handled(head.Type) {
			kept = append(kept, m)
		}
	}
	for _, bc := range []struct {
		name string
		msgs [][]byte
	}{{"unfiltered", all}, {"filtered", kept}} {
		b.Run(bc.name, func(b *testing.B) {
			c := New(Config{})
			delivered := 0
			b.ReportAllocs()
			for b.Loop() {
				for _, m := range bc.msgs {
					if ev, err := c.translate(m); err != nil {
						b.Fatal(err)
					} else if ev != nil {
						delivered++
					}
				}
			}
			b.ReportMetric(float64(len(bc.msgs)), "events/call")
			b.ReportMetric(float64(delivered)/float64(b.N), "delivered/call")
		})
	}
}

func TestHasBulkVars(t *testing.T) {
	for v, want := range map[string]bool{"22.10.1": true, "22.9.0": false, "20.20.0": true, "20.19.3": false, "21.12.0": false,
		"23.4.0": true, "23.3.9": false, "24.0.0": true, "18.26.0": false, "GIT-master-abc123": false, "": false} {
		if got := hasBulkVars(v); got != want {
			t.Errorf("hasBulkVars(%q) = %v, want %v", v, got, want)
		}
	}
}

// transcriptEvents reads the events of a recorded transcript (one {"recv", "event"} object a line) as Asterisk sent them.
func transcriptEvents(tb testing.TB, path string) [][]byte {
	tb.Helper()
	fh, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer fh.Close()
	var msgs [][]byte
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line struct {
			Event json.RawMessage `json:"event"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			tb.Fatal(err)
		}
		msgs = append(msgs, line.Event)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return msgs
}

// The lean decoding gives the adapter exactly what decoding into the ARI library's models gave it: every event of every
// recorded transcript is translated both ways and the cti events compared member by member. The transcripts' channels carry
// no channelvars (Asterisk sends them only for variables named in ari.conf), so each channel event is compared once more
// with some added.
func TestTranslateMatchesLibrary(t *testing.T) {
	files, _ := filepath.Glob("../../../shared/ari/transcripts/*.events.jsonl")
	if len(files) == 0 {
		t.Skip("transcripts not found")
	}
	c := New(Config{Clock: cti.ClockFunc(func() time.Time { return time.Unix(0, 0) })})
	compared := 0
	for _, f := range files {
		var msgs [][]byte
		for _, msg := range transcriptEvents(t, f) {
			msgs = append(msgs, msg)
			if bytes.Contains(msg, []byte(`"channel":{`)) {
				msgs = append(msgs, bytes.Replace(msg, []byte(`"channel":{`),
					[]byte(`"channel":{"channelvars":{"SB_CALL":"c-1","SB_ROLE":"agent"},`), 1))
			}
		}
		for _, msg := range msgs {
			got, err := c.translate(msg)
			if err != nil {
				t.Fatalf("%s: %v", filepath.Base(f), err)
			}
			want := libraryTranslate(t, c, msg)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: %s\n lean:    %#v\n library: %#v", filepath.Base(f), msg, got, want)
			}
			if want != nil {
				compared++
			}
		}
	}
	if compared < 100 {
		t.Errorf("only %d delivered events compared", compared)
	}
}

// libraryTranslate is the adapter's former decoding: the library's model for the event's type, mapped to the cti event.
func libraryTranslate(tb testing.TB, c *Client, msg []byte) cti.Event {
	tb.Helper()
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(msg, &head); err != nil {
		tb.Fatal(err)
	}
	models := map[string]func() ari.Event{
		"StasisStart": func() ari.Event { return new(ari.StasisStart) }, "StasisEnd": func() ari.Event { return new(ari.StasisEnd) },
		"ChannelHangupRequest": func() ari.Event { return new(ari.ChannelHangupRequest) },
		"ChannelDestroyed":     func() ari.Event { return new(ari.ChannelDestroyed) },
		"ChannelDtmfReceived":  func() ari.Event { return new(ari.ChannelDtmfReceived) },
		"PlaybackFinished":     func() ari.Event { return new(ari.PlaybackFinished) },
		"RecordingFinished":    func() ari.Event { return new(ari.RecordingFinished) },
		"RecordingFailed":      func() ari.Event { return new(ari.RecordingFailed) },
		"ApplicationReplaced":  func() ari.Event { return new(ari.ApplicationReplaced) },
	}
	newModel := models[head.Type]
	if newModel == nil {
		return nil
	}
	e := newModel()
	if err := json.Unmarshal(msg, e); err != nil {
		tb.Fatalf("library: %v: %s", err, msg)
	}
	at := func(ts ari.DateTime) cti.At {
		if t := time.Time(ts); !t.IsZero() {
			return cti.At{Time: t}
		}
		return cti.At{Time: c.cfg.Clock.Now()}
	}
	switch e := e.(type) {
	case *ari.StasisStart:
		args := e.Args
		if args == nil {
			args = []string{}
		}
		d := &e.Channel
		ci := cti.ChannelInfo{ID: d.ID, Name: d.Name, State: d.State}
		if d.Caller != nil {
			ci.Caller = cti.Party{Number: d.Caller.Number, Name: d.Caller.Name}
		}
		if d.Dialplan != nil {
			ci.Dialed = d.Dialplan.Exten
		}
		if len(d.ChannelVars) > 0 {
			ci.Vars = maps.Clone(d.ChannelVars)
		}
		if ts := d.Creationtime; ts != nil {
			ci.Created = time.Unix(ts.Seconds, int64(ts.Nanos)).UTC()
		}
		return cti.ChannelEntered{At: at(e.Timestamp), Channel: ci, Args: args}
	case *ari.StasisEnd:
		return cti.ChannelLeft{At: at(e.Timestamp), ChannelID: e.Channel.ID}
	case *ari.ChannelHangupRequest:
		return cti.ChannelHangupRequested{At: at(e.Timestamp), ChannelID: e.Channel.ID, Cause: e.Cause}
	case *ari.ChannelDestroyed:
		return cti.ChannelDestroyed{At: at(e.Timestamp), ChannelID: e.Channel.ID, Cause: e.Cause, CauseText: e.CauseTxt}
	case *ari.ChannelDtmfReceived:
		return cti.DTMFReceived{At: at(e.Timestamp), ChannelID: e.Channel.ID, Digit: e.Digit}
	case *ari.PlaybackFinished:
		return cti.PlaybackFinished{At: at(e.Timestamp), PlaybackID: e.Playback.ID, TargetID: targetID(e.Playback.TargetURI),
			State: e.Playback.State}
	case *ari.RecordingFinished:
		return cti.RecordingFinished{At: at(e.Timestamp), Name: e.Recording.Name, Duration: time.Duration(e.Recording.Duration)}
	case *ari.RecordingFailed:
		return cti.RecordingFinished{At: at(e.Timestamp), Name: e.Recording.Name, Duration: time.Duration(e.Recording.Duration),
			Failed: true}
	case *ari.ApplicationReplaced:
		return cti.TelephonyReplaced{At: at(e.Timestamp)}
	}
	tb.Fatalf("no mapping for %s", head.Type)
	return nil
}

// decodeEvent reading whole accepts exactly what json.Unmarshal into an event accepts and decodes the same values; translate,
// which reads only what it delivers, delivers what the same values convert to.
func FuzzDecodeEvent(f *testing.F) {
	for _, path := range []string{"b-agent-bridge-record", "a-inbound-dtmf", "d-originate-failures"} {
		file := "../../../shared/ari/transcripts/" + path + ".events.jsonl"
		if _, err := os.Stat(file); err != nil {
			continue
		}
		for _, msg := range transcriptEvents(f, file) {
			f.Add(msg)
		}
	}
	for _, s := range []string{`null`, `{}`, ` {"Type":"Dial","PEER":{"Id":"x"}} `, `{"args":[]}`, `{"args":null,"args":["a"]}`,
		`{"channel":{"channelvars":{"a":"1"}},"channel":{"channelvars":{"b":null}}}`, `{"cause":1.5}`, `{"cause":-0}`,
		`{"digit":"\u00e9\ud83d\ude00\"\\\/"}`, `{"type":"a\xffb"}`, `{"timestamp":null}`, `{"timestamp":42}`, `{"x":[1,{"y":[true,false,null]}],"cause":3e2}`,
		`{"type":"Dial",}`, `{"caller":{"name":"K\u212a\u017f"}}`, `{"channel":{"caller":{"n\u0061me":"x"}}}`, `[1]`, `"x"`, `{"a":01}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		var want, got event
		errWant := json.Unmarshal(msg, &want)
		errGot := decodeEvent(msg, &got, true)
		if (errWant == nil) != (errGot == nil) {
			t.Fatalf("%q: encoding/json: %v; decodeEvent: %v", msg, errWant, errGot)
		}
		if errWant != nil {
			return
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q:\n decodeEvent:   %#v\n encoding/json: %#v", msg, got, want)
		}
		if typ, ok := leadingType(msg); ok && string(typ) != want.Type {
			return // a repeated "type" member, the last one winning in encoding/json: Asterisk writes one, first
		}
		c := New(Config{Clock: cti.ClockFunc(func() time.Time { return time.Unix(0, 0) })})
		ev, err := c.translate(msg)
		if err != nil {
			t.Fatalf("translate(%q): %v", msg, err)
		}
		var wantEv cti.Event
		if handled(want.Type) {
			wantEv = c.convert(&want)
		}
		if !reflect.DeepEqual(ev, wantEv) {
			t.Fatalf("translate(%q):\n %#v\n want %#v", msg, ev, wantEv)
		}
	})
}
