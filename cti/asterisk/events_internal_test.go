package asterisk

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
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
// recorded fields.
func TestTranscriptEvents(t *testing.T) {
	files, _ := filepath.Glob("../../../shared/ari/transcripts/*.events.jsonl")
	if len(files) == 0 {
		t.Skip("transcripts not found")
	}
	c := New(Config{Clock: cti.ClockFunc(func() time.Time { return time.Unix(0, 0) })})
	counts := map[string]int{}
	for _, f := range files {
		for _, msg := range transcriptEvents(t, f) {
			ev, err := c.translate(msg)
			if err != nil {
				t.Errorf("%s: %v: %s", filepath.Base(f), err, msg)
				continue
			}
			if ev == nil {
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
			case cti.PlaybackStarted:
				if e.PlaybackID == "" || e.TargetID == "" || strings.Contains(e.TargetID, ":") {
					t.Errorf("PlaybackStarted %+v", e)
				}
			}
		}
	}
	for _, want := range []string{"ChannelEntered", "ChannelLeft", "ChannelHangupRequested", "ChannelDestroyed",
		"ChannelStateChanged", "DialProgress", "DTMFReceived", "PlaybackStarted", "PlaybackFinished", "RecordingStarted",
		"RecordingFinished", "TelephonyReplaced"} {
		if counts[want] == 0 {
			t.Errorf("no %s in the transcripts: %v", want, counts)
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

// TestConnectionReuse: concurrent commands to Asterisk reuse keep-alive connections rather than dial a new one each time the
// idle pool is full, which costs a TCP handshake and teardown per request under load.
func TestConnectionReuse(t *testing.T) {
	c := New(Config{URL: "http://127.0.0.1:1/ari", App: "contact-center"})
	tr, ok := c.http.Transport.(*http.Transport)
	if !ok {
		t.Fatalf("default transport %T", c.http.Transport)
	}
	if tr.MaxIdleConnsPerHost < 256 || (tr.MaxIdleConns != 0 && tr.MaxIdleConns < tr.MaxIdleConnsPerHost) {
		t.Errorf("idle connections: %d per host, %d in all; want at least 256 per host", tr.MaxIdleConnsPerHost, tr.MaxIdleConns)
	}
}

// leadingType agrees with a JSON decoder whenever it answers, whatever the input.
func FuzzLeadingType(f *testing.F) {
	for _, s := range []string{`{"type":"ChannelVarset","variable":"x"}`, ` { "type" : "StasisStart" }`, `{"timestamp":"t","type":"Dial"}`,
		`{"type":"Sta\u0073isStart"}`, `{"type":""}`, `[{"type":"Dial"}]`, `{"type":42}`, `{"type":"Dial"`} {
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
func BenchmarkTranslate(b *testing.B) {
	f := "../../../shared/ari/transcripts/b-agent-bridge-record.events.jsonl"
	if _, err := os.Stat(f); err != nil {
		b.Skip("transcripts not found")
	}
	msgs := transcriptEvents(b, f)
	c := New(Config{})
	delivered := 0
	b.ReportAllocs()
	for b.Loop() {
		for _, m := range msgs {
			if ev, err := c.translate(m); err != nil {
				b.Fatal(err)
			} else if ev != nil {
				delivered++
			}
		}
	}
	b.ReportMetric(float64(len(msgs)), "events/call")
	b.ReportMetric(float64(delivered)/float64(b.N), "delivered/call")
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
