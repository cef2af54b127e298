package arisim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

type restLine struct {
	TS       time.Time       `json:"ts"`
	Method   string          `json:"method"`
	Path     string          `json:"path"`
	Query    string          `json:"query"`
	Status   int             `json:"status"`
	Response json.RawMessage `json:"response_body"`
}

type eventLine struct {
	Recv  time.Time       `json:"recv"`
	Event json.RawMessage `json:"event"`
}

func readJSONL[T any](t testing.TB, path string) []T {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		t.Fatal(err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, v)
	}
	return out
}

// scenario replays one recorded transcript against the emulator.
type scenario struct {
	name string
	call *CallSpec // inbound call placed first, if any
	// afterRest runs right after REST line i was answered.
	afterRest map[int]func(r *replayer)
	// atCount runs once n events have arrived.
	atCount map[int]func(r *replayer)
	cfg     func(*Config)
}

type replayer struct {
	t      *testing.T
	h      *harness
	ws     *wsClient
	subst  []string // old, new pairs
	callID string
}

func (r *replayer) rewrite(s string) string {
	return strings.NewReplacer(r.subst...).Replace(s)
}

func (sc scenario) run(t *testing.T) {
	ari := sharedARI(t)
	dir := filepath.Join(ari, "transcripts")
	rest := readJSONL[restLine](t, filepath.Join(dir, sc.name+".rest.jsonl"))
	recorded := readJSONL[eventLine](t, filepath.Join(dir, sc.name+".events.jsonl"))
	cfg := testConfig()
	if sc.cfg != nil {
		sc.cfg(&cfg)
	}
	h := newHarness(t, cfg)
	r := &replayer{t: t, h: h}
	r.subst = append(r.subst, extraSubst[t.Name()]...)
	r.ws = h.dial("contact-center", "&subscribeAll=false")
	waitRegistered(t, h, "contact-center")
	fired := map[int]bool{}
	waitFor := func(n int) {
		for {
			for k, f := range sc.atCount {
				if !fired[k] && r.ws.count() >= k {
					fired[k] = true
					f(r)
				}
			}
			if r.ws.count() >= n {
				return
			}
			next := n
			for k := range sc.atCount {
				if !fired[k] && k < next {
					next = k
				}
			}
			if !r.ws.waitCount(next, 5*time.Second) {
				t.Fatalf("waiting for %d events, got %d:\n got: %s\nwant: %s", next, r.ws.count(), typesOf(r.ws.all()), recordedTypes(recorded))
			}
		}
	}
	if sc.call != nil {
		id, err := h.srv.Call(*sc.call)
		if err != nil {
			t.Fatal(err)
		}
		var first map[string]any
		json.Unmarshal(recorded[0].Event, &first)
		old := first["channel"].(map[string]any)["id"].(string)
		r.subst = append(r.subst, old, id)
		r.callID = id
	}
	for i, line := range rest {
		before := 0
		for _, e := range recorded {
			if e.Recv.Before(line.TS) {
				before++
			}
		}
		waitFor(before)
		path, query := r.rewrite(line.Path), r.rewrite(line.Query)
		got := h.do(line.Method, path, query)
		for _, e := range validateResponse(line.Method, path, got.status, got.body) {
			t.Errorf("REST %d: spec: %s", i, e)
		}
		if got.status != line.Status {
			t.Errorf("REST %d %s %s?%s: status %d %s, recorded %d %s", i, line.Method, path, query, got.status, got.body, line.Status, line.Response)
		} else if len(line.Response) > 0 && line.Response[0] != '"' {
			var want, have any
			json.Unmarshal(line.Response, &want)
			if err := json.Unmarshal(got.body, &have); err != nil {
				t.Errorf("REST %d %s %s: body not JSON: %q", i, line.Method, path, got.body)
			} else if line.Status >= 400 {
				if !reflect.DeepEqual(want, have) {
					t.Errorf("REST %d %s %s: body %s, recorded %s", i, line.Method, path, got.body, line.Response)
				}
			} else if d := shapeDiff("response", want, have); d != "" {
				t.Errorf("REST %d %s %s: %s\n got: %s\nwant: %s", i, line.Method, path, d, got.body, line.Response)
			}
			if line.Method == "POST" && strings.HasPrefix(line.Path, "/channels") && line.Status == 200 {
				// originate/create/externalMedia/snoop: remember the new channel id mapping.
				var w, g map[string]any
				json.Unmarshal(line.Response, &w)
				json.Unmarshal(got.body, &g)
				if w["id"] != g["id"] {
					r.subst = append(r.subst, fmt.Sprint(w["id"]), fmt.Sprint(g["id"]))
				}
			}
		}
		if f := sc.afterRest[i]; f != nil {
			f(r)
		}
	}
	waitFor(len(recorded))
	time.Sleep(50 * time.Millisecond) // let any extra event show up
	compareEvents(t, recorded, r.ws.all(), r.rewrite)
	for i, ev := range r.ws.all() {
		for _, e := range validateEventJSON(ev) {
			t.Errorf("event %d: spec: %s", i, e)
		}
	}
}

func waitRegistered(t testing.TB, h *harness, app string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if h.do("GET", "/applications/"+app, "").status == 200 {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("app %s never registered", app)
}

func recordedTypes(rec []eventLine) string {
	var raws []json.RawMessage
	for _, e := range rec {
		raws = append(raws, e.Event)
	}
	return typesOf(raws)
}

// compareEvents checks the emulator's events against the recorded ones: same
// types in the same order, same top-level field order, same shapes and the
// same values for the fields controllers branch on.
func compareEvents(t *testing.T, recorded []eventLine, got []json.RawMessage, rewrite func(string) string) {
	t.Helper()
	recRaw := make([]json.RawMessage, len(recorded))
	for i, e := range recorded {
		recRaw[i] = e.Event
	}
	canonicalRinging(recRaw)
	canonicalRinging(got)
	for i := range recorded {
		recorded[i].Event = recRaw[i]
	}
	want := recordedTypes(recorded)
	have := typesOf(got)
	if want != have {
		t.Fatalf("event sequence differs:\n got: %s\nwant: %s", have, want)
	}
	for i, rec := range recorded {
		var w, g map[string]any
		json.Unmarshal(rec.Event, &w)
		json.Unmarshal(got[i], &g)
		typ := w["type"]
		if wk, gk := topKeys(rec.Event), topKeys(got[i]); !reflect.DeepEqual(wk, gk) {
			t.Errorf("event %d %s: field order %v, recorded %v", i, typ, gk, wk)
		}
		if d := shapeDiff(fmt.Sprint(typ), w, g); d != "" {
			t.Errorf("event %d %s: %s\n got: %s\nwant: %s", i, typ, d, got[i], rec.Event)
		}
		if args, ok := w["args"].([]any); ok {
			for j, a := range args {
				args[j] = rewrite(fmt.Sprint(a))
			}
		}
		for _, k := range []string{"variable", "dialstatus", "cause", "tech_cause", "soft", "cause_txt", "digit", "duration_ms", "args", "dialplan_app", "caller_presentation"} {
			if !reflect.DeepEqual(w[k], g[k]) {
				t.Errorf("event %d %s: %s = %v, recorded %v", i, typ, k, g[k], w[k])
			}
		}
		if typ == "ChannelVarset" && strings.HasPrefix(fmt.Sprint(w["variable"]), "BRIDGE") || typ == "ChannelVarset" && w["variable"] == "STASISSTATUS" {
			if fmt.Sprint(w["value"]) == "" != (fmt.Sprint(g["value"]) == "") {
				t.Errorf("event %d %s %v: value %q, recorded %q", i, typ, w["variable"], g["value"], w["value"])
			}
		}
		for _, obj := range []string{"channel", "peer", "playback", "recording", "bridge", "endpoint", "device_state"} {
			wo, _ := w[obj].(map[string]any)
			gobj, _ := g[obj].(map[string]any)
			for _, k := range []string{"state", "bridge_type", "technology", "media_uri", "next_media_uri", "duration", "format", "target_uri"} {
				if wo == nil || k == "target_uri" || obj == "peer" && k == "state" && w["dialstatus"] == "RINGING" {
					continue // the peer snapshot of Dial RINGING races with the state change
				}
				if k == "duration" {
					// Recorded real time: allow a second of scheduling slack.
					if d := toFloat(wo[k]) - toFloat(gobj[k]); d < -1 || d > 1 {
						t.Errorf("event %d %s: %s.duration = %v, recorded %v", i, typ, obj, gobj[k], wo[k])
					}
					continue
				}
				if !reflect.DeepEqual(wo[k], gobj[k]) {
					t.Errorf("event %d %s: %s.%s = %v, recorded %v", i, typ, obj, k, gobj[k], wo[k])
				}
			}
			if wo != nil && obj == "channel" {
				if len(wo["connected"].(map[string]any)["name"].(string)) == 0 != (len(gobj["connected"].(map[string]any)["name"].(string)) == 0) {
					t.Errorf("event %d %s: connected %v, recorded %v", i, typ, gobj["connected"], wo["connected"])
				}
			}
		}
	}
}

// canonicalRinging orders "Dial RINGING" before the peer's "ChannelStateChange
// Ringing" when they are adjacent: Asterisk emits them from two threads and
// the transcripts show both orders (b vs d, h).
func canonicalRinging(evs []json.RawMessage) {
	for i := 0; i+1 < len(evs); i++ {
		var a, b map[string]any
		json.Unmarshal(evs[i], &a)
		json.Unmarshal(evs[i+1], &b)
		if a["type"] == "ChannelStateChange" && b["type"] == "Dial" && b["dialstatus"] == "RINGING" {
			evs[i], evs[i+1] = evs[i+1], evs[i]
		}
	}
}

func toFloat(v any) float64 {
	f, _ := v.(float64)
	return f
}

func topKeys(raw []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.Token()
	var keys []string
	for dec.More() {
		k, _ := dec.Token()
		keys = append(keys, k.(string))
		var skip json.RawMessage
		dec.Decode(&skip)
	}
	return keys
}

// shapeDiff compares JSON structure: the same member names at every level
// and the same kinds of values. Arrays compare their first elements.
func shapeDiff(path string, want, got any) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: object expected, got %T", path, got)
		}
		var wk, gk []string
		for k := range w {
			wk = append(wk, k)
		}
		for k := range g {
			gk = append(gk, k)
		}
		sort.Strings(wk)
		sort.Strings(gk)
		if !reflect.DeepEqual(wk, gk) {
			return fmt.Sprintf("%s: members %v, recorded %v", path, gk, wk)
		}
		for _, k := range wk {
			if d := shapeDiff(path+"."+k, w[k], g[k]); d != "" {
				return d
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			return fmt.Sprintf("%s: array expected, got %T", path, got)
		}
		if len(w) > 0 && len(g) > 0 {
			return shapeDiff(path+"[0]", w[0], g[0])
		}
	default:
		if reflect.TypeOf(want) != reflect.TypeOf(got) {
			return fmt.Sprintf("%s: %T expected, got %T (%v)", path, want, got, got)
		}
	}
	return ""
}

// rtpSink stands in for the external media server of e-external-media.
type rtpSink struct {
	conn    *net.UDPConn
	packets chan []byte
	done    chan struct{}
}

func newRTPSink(t testing.TB) *rtpSink {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	s := &rtpSink{conn: conn, packets: make(chan []byte, 4096), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		buf := make([]byte, 2048)
		for {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			p := append([]byte(nil), buf[:n]...)
			select {
			case s.packets <- p:
			default:
			}
			conn.WriteToUDP(p, from) // echo, so the emulator receives RTP too
		}
	}()
	t.Cleanup(func() { conn.Close(); <-s.done })
	return s
}

func TestTranscriptA_InboundDTMF(t *testing.T) {
	scenario{name: "a-inbound-dtmf",
		call: &CallSpec{CallerName: "Alice Example", CallerNumber: "15551230001", Dialed: "5551000"},
		atCount: map[int]func(*replayer){
			5:  func(r *replayer) { r.h.srv.SendDTMF(r.callID, "2") },
			8:  func(r *replayer) { r.h.srv.SendDTMF(r.callID, "#") },
			10: func(r *replayer) { r.h.srv.Hangup(r.callID) },
		},
	}.run(t)
}

func TestTranscriptB_AgentBridgeRecord(t *testing.T) {
	scenario{name: "b-agent-bridge-record",
		call: &CallSpec{CallerName: "Bob Caller", CallerNumber: "15551230002", Dialed: "5552000"},
	}.run(t)
}

func TestTranscriptC_Abandon(t *testing.T) {
	scenario{name: "c-abandon",
		call:      &CallSpec{CallerName: "Carol Abandon", CallerNumber: "15551230003", Dialed: "5553000"},
		afterRest: map[int]func(*replayer){3: func(r *replayer) { r.h.srv.Hangup(r.callID) }},
	}.run(t)
}

func TestTranscriptC_AbandonRinging(t *testing.T) {
	scenario{name: "c-abandon-ringing",
		call:      &CallSpec{CallerName: "Carol Ringing", CallerNumber: "15551230004", Dialed: "5553001"},
		afterRest: map[int]func(*replayer){0: func(r *replayer) { r.h.srv.Hangup(r.callID) }},
	}.run(t)
}

func TestTranscriptD_OriginateFailures(t *testing.T) {
	scenario{name: "d-originate-failures"}.run(t)
}

func TestTranscriptE_ExternalMedia(t *testing.T) {
	var sink *rtpSink
	sc := scenario{name: "e-external-media",
		call: &CallSpec{CallerName: "Eve Media", CallerNumber: "15551230005", Dialed: "5555000"},
		afterRest: map[int]func(*replayer){
			6: func(r *replayer) {
				// The externalMedia channel is bridged: RTP must flow to the sink.
				for range 3 {
					select {
					case p := <-sink.packets:
						if len(p) != 12+240 || p[0]>>6 != 2 || p[1]&0x7f != 0 {
							r.t.Errorf("RTP packet: len %d, header % x; want 252 bytes, v2, PT 0", len(p), p[:2])
						}
					case <-time.After(3 * time.Second):
						r.t.Fatal("no RTP packet reached the external host")
					}
				}
				sent, recv, err := r.h.srv.RTPStats(r.rewrite("em-1795351403.18-ext"))
				if err != nil || sent < 2 {
					r.t.Errorf("RTPStats: sent %d recv %d err %v", sent, recv, err)
				}
			},
		},
	}
	t.Run("replay", func(t *testing.T) {
		sink = newRTPSink(t)
		sc.cfg = func(c *Config) {}
		sharedARI(t)
		// Point the recorded external_host at our sink.
		orig := sc.afterRest
		sc.afterRest = orig
		sc.run(withSubst(t, "127.0.0.1:40000", sink.conn.LocalAddr().String()))
	})
}

// withSubst is a hook to add a fixed substitution to a scenario run; the
// replayer picks it up from the test name registry below.
func withSubst(t *testing.T, old, new string) *testing.T {
	extraSubst[t.Name()] = []string{old, new}
	return t
}

var extraSubst = map[string][]string{}

func TestTranscriptF_CallerIDVariables(t *testing.T) {
	scenario{name: "f-callerid-variables",
		call: &CallSpec{CallerName: "Frank Variable", CallerNumber: "15551230006", Dialed: "5556000",
			Headers: map[string]string{"X-Customer-Id": "C-6006"}},
	}.run(t)
}

func TestTranscriptG_ResourceQueries(t *testing.T) {
	off := Behaviour{Registered: false, AnswerAfter: time.Second, HangupAfter: 12 * time.Second, CallerName: "Agent 1001", CallerNumber: "1001"}
	on := off
	on.Registered = true
	scenario{name: "g-resource-queries",
		afterRest: map[int]func(*replayer){
			23: func(r *replayer) { r.h.srv.SetEndpoint("PJSIP/1001", off) },
			24: func(r *replayer) { r.h.srv.SetEndpoint("PJSIP/1001", on) },
		},
	}.run(t)
}

func TestTranscriptH_SnoopSupervisor(t *testing.T) {
	scenario{name: "h-snoop-supervisor",
		call: &CallSpec{CallerName: "Hank Snoop", CallerNumber: "15551230008", Dialed: "5558000"},
	}.run(t)
}

func TestTranscriptI_ChannelControls(t *testing.T) {
	scenario{name: "i-channel-controls",
		call: &CallSpec{CallerName: "Ivy Controls", CallerNumber: "15551230009", Dialed: "5559100"},
		afterRest: map[int]func(*replayer){
			// The copy's name lost its ".11": follow it under the new id too.
			20: func(r *replayer) {
				epoch, _, _ := strings.Cut(r.callID, ".")
				r.subst = append([]string{"copy-1795352037", "copy-" + epoch}, r.subst...)
			},
		},
	}.run(t)
}
