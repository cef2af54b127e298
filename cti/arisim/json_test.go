package arisim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"
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

// renderEvent is the reference for event.appendJSON: the members as an obj,
// in the order each fieldOrder puts them.
func renderEvent(e *event, ts, app, asteriskID string) obj {
	var o obj
	fields := e.fields
	if e.ch != nil {
		fields = append(slices.Clip(fields), kv{"channel", e.ch.json()})
	}
	switch e.order {
	case orderVarset:
		o = append(o, kv{"variable", e.variable}, kv{"value", e.value})
		o = append(o, kv{"type", e.typ}, kv{"timestamp", ts})
		o = append(o, fields...)
		o = append(o, kv{"asterisk_id", asteriskID}, kv{"application", app})
	case orderFieldsFirst:
		o = append(o, e.pre...)
		o = append(o, kv{"type", e.typ}, kv{"timestamp", ts})
		o = append(o, fields...)
		o = append(o, kv{"asterisk_id", asteriskID}, kv{"application", app})
	case orderAppFirst:
		o = append(o, kv{"type", e.typ}, kv{"application", app}, kv{"timestamp", ts})
		o = append(o, fields...)
		o = append(o, kv{"asterisk_id", asteriskID})
	case orderAppBeforeID:
		o = append(o, kv{"type", e.typ}, kv{"timestamp", ts}, kv{"application", app}, kv{"asterisk_id", asteriskID})
	default:
		o = append(o, kv{"type", e.typ}, kv{"timestamp", ts})
		o = append(o, fields...)
		o = append(o, kv{"asterisk_id", asteriskID}, kv{"application", app})
	}
	return o
}

// TestEventJSONMatchesObj: an event encoded directly is the bytes of its
// members encoded as an obj (which TestAppendJSONMatchesEncodingJSON ties
// to encoding/json), in every member order, with live snapshots standing
// for the snapshot structs.
func TestEventJSONMatchesObj(t *testing.T) {
	ch := &channel{id: "1795351301.2", name: "PJSIP/carrier-00000002", state: "Up", protocolID: "1-18648@127.0.0.1",
		caller: party{"Zoë \"Ü\"", "15551230001"}, language: "en", created: time.Date(2026, 11, 22, 12, 41, 41, 292e6, time.UTC)}
	br := &bridge{id: "b<1>", name: "n", typ: "mixing", channels: []*channel{ch}, created: ch.created}
	if got, want := string(mustAppendJSON(t, liveChannel{ch})), stdJSON(t, ch.json()); got != want {
		t.Errorf("liveChannel:\n got %s\nwant %s", got, want)
	}
	if got, want := string(mustAppendJSON(t, liveBridge{br})), stdJSON(t, br.json()); got != want {
		t.Errorf("liveBridge:\n got %s\nwant %s", got, want)
	}
	pre := []kv{{"variable", "RTPAUDIOQOS"}, {"value", "a\tb"}}
	fields := []kv{{"bridge", liveBridge{br}}, {"channel", liveChannel{ch}}, {"n", 3}, {"args", []string{}}}
	for _, e := range []*event{
		{typ: "ChannelVarset", order: orderFieldsFirst, pre: pre, fields: fields},
		{typ: "ChannelVarset", order: orderVarset, variable: "RTPAUDIOQOS", value: "a\tb", ch: ch},
		{typ: "ChannelVarset", order: orderVarset, variable: "X", fields: fields, ch: ch},
		{typ: "ChannelHangupRequest", order: orderFieldsFirst, fields: fields},
		{typ: "ChannelHangupRequest", order: orderFieldsFirst, pre: pre, ch: ch},
		{typ: "ChannelEnteredBridge", fields: fields[:1], ch: ch},
		{typ: "StasisStart", fields: fields[3:], ch: ch},
		{typ: "DeviceStateChanged", order: orderAppFirst, fields: fields},
		{typ: "DeviceStateChanged", order: orderAppFirst},
		{typ: "ApplicationReplaced", order: orderAppBeforeID},
		{typ: "StasisStart", fields: fields},
		{typ: "StasisEnd"},
	} {
		got, err := e.appendJSON([]byte("prefix"), "2026-11-22T12:41:41.292+0000", "contact-<center>", "02:fc")
		if err != nil {
			t.Fatal(err)
		}
		if want := "prefix" + string(mustAppendJSON(t, renderEvent(e, "2026-11-22T12:41:41.292+0000", "contact-<center>", "02:fc"))); string(got) != want {
			t.Errorf("%s (order %d):\n got %s\nwant %s", e.typ, e.order, got, want)
		}
	}
}

func mustAppendJSON(t testing.TB, v any) []byte {
	b, err := appendJSON(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func BenchmarkEncodeEvent(b *testing.B) {
	ch := &channel{id: "1795351301.2", name: "PJSIP/carrier-00000002", state: "Up", protocolID: "1-18648@127.0.0.1",
		caller: party{"Alice Example", "15551230001"}, language: "en", created: time.Date(2026, 11, 22, 12, 41, 41, 292e6, time.UTC),
		dp: dialplan{"from-carrier", "5551000", 2, "Stasis", "contact-center,inbound"}}
	e := &event{typ: "ChannelVarset", order: orderVarset,
		variable: "RTPAUDIOQOS", value: "ssrc=1582915640;themssrc=235223118;lp=0;rxjitter=0.000000;rxcount=20", ch: ch}
	var buf []byte
	for b.Loop() {
		var err error
		if buf, err = e.appendJSON(buf[:0], "2026-11-22T12:41:41.292+0000", "contact-center", "02:fc:00:00:00:01"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestQoSSummary: RTPAUDIOQOS's value is the text Asterisk's format gives.
func TestQoSSummary(t *testing.T) {
	const format = "ssrc=%d;themssrc=%d;lp=0;rxjitter=0.000000;rxcount=%d;txjitter=0.000750;txcount=%d;rlp=0;rtt=0.000000;rxmes=0.000000;txmes=88.087887"
	for _, tc := range []struct {
		ssrc, them uint32
		frames     int
	}{{0, 0, 0}, {1795351241, 4294967295, 612}, {7, 8, -1}} {
		if got, want := qosSummary(tc.ssrc, tc.them, tc.frames), fmt.Sprintf(format, tc.ssrc, tc.them, tc.frames, tc.frames); got != want {
			t.Errorf("qosSummary(%d, %d, %d) = %q, want %q", tc.ssrc, tc.them, tc.frames, got, want)
		}
	}
}
