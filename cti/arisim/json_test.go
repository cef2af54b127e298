package arisim

import (
	"bytes"
	"encoding/json"
	"testing"
)

// stdJSON is what encoding/json writes (compact, no HTML escaping): the
// reference appendJSON must match byte for byte.
func stdJSON(t testing.TB, v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return string(bytes.TrimRight(buf.Bytes(), "\n"))
}

var trickyStrings = []string{"", "plain", `say "hi"`, `back\slash`, "<a&b>", "tab\tnew\nline\r", "\x00\x1f\x7f",
	"Zoë Ünicode ☎", "line\u2028sep\u2029", "bad \xff utf8", `\u003c`}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	dur := 7
	var values []any
	for _, s := range trickyStrings {
		values = append(values, s, []string{s, "x"}, variableJSON{s},
			channelJSON{ID: s, Name: "PJSIP/carrier-00000001", State: "Up", ProtocolID: s, Caller: partyJSON{s, "155"},
				Connected: partyJSON{"", s}, Dialplan: dialplanJSON{"from-carrier", s, 2, "Stasis", s}, Creationtime: s, Language: "en"},
			bridgeJSON{ID: s, Technology: "simple_bridge", Channels: []string{s}, Name: s},
			playbackJSON{ID: s, MediaURI: s, NextMediaURI: s, State: "playing"},
			liveRecordingJSON{Name: s, Format: "wav", Duration: &dur})
	}
	values = append(values, 0, -12, 1<<40, true, false, []string(nil), []string{}, []channelJSON(nil), []channelJSON{{ID: "a"}, {ID: "b"}},
		channelJSON{ID: "e", Channelvars: map[string]string{"Z": "1", "A": "<&>", "M": ""}},
		bridgeJSON{ID: "nil channels"}, playbackJSON{ID: "no next"}, liveRecordingJSON{Name: "no duration"},
		obj{}, obj{{"type", "StasisStart"}, {"args", []string{}}, {"channel", channelJSON{ID: "1"}}, {"nested", obj{{"n", 1}}},
			{"other", map[string]any{"k": []int{1, 2}}}, {"ptr", (*int)(nil)}})
	for i, v := range values {
		got, err := appendJSON([]byte("prefix"), v)
		if err != nil {
			t.Fatalf("%d %T: %v", i, v, err)
		}
		if want := "prefix" + stdJSON(t, v); string(got) != want {
			t.Errorf("%d %T:\n got %s\nwant %s", i, v, got, want)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range trickyStrings {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := string(appendString(nil, s)), stdJSON(t, s); got != want {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want)
		}
	})
}

func BenchmarkEncodeEvent(b *testing.B) {
	e := &event{typ: "ChannelVarset", order: orderFieldsFirst,
		pre: []kv{{"variable", "RTPAUDIOQOS"}, {"value", "ssrc=1582915640;themssrc=235223118;lp=0;rxjitter=0.000000;rxcount=20"}},
		fields: []kv{{"channel", channelJSON{ID: "1795351301.2", Name: "PJSIP/carrier-00000002", State: "Up",
			ProtocolID: "1-18648@127.0.0.1", Caller: partyJSON{"Alice Example", "15551230001"},
			Dialplan:     dialplanJSON{"from-carrier", "5551000", 2, "Stasis", "contact-center,inbound"},
			Creationtime: "2026-11-22T12:41:41.292+0000", Language: "en"}}}}
	for b.Loop() {
		if _, err := marshal(e.render(nil, astTime(e.ts), "contact-center", "02:fc:00:00:00:01")); err != nil {
			b.Fatal(err)
		}
	}
}
