package ivr

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// mustSet parses flows given as YAML sources into a Set.
func mustSet(tb testing.TB, sources ...string) *Set {
	tb.Helper()
	var flows []*Flow
	for i, src := range sources {
		f, err := Parse("t"+string(rune('0'+i))+".yaml", []byte(src), Config{})
		if err != nil {
			tb.Fatal(err)
		}
		flows = append(flows, f)
	}
	s, err := NewSet(flows...)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// step feeds one input and renders the actions as "a; b; c".
func step(s *Session, in Input, now time.Time) string {
	var out []string
	for _, a := range s.Step(in, now) {
		out = append(out, a.String())
	}
	return strings.Join(out, "; ")
}

type scripted struct {
	in   Input
	want string // actions, "; "-joined
}

func runScript(t *testing.T, set *Set, script []scripted) *Session {
	t.Helper()
	s := NewSession(set)
	for i, sc := range script {
		if got := step(s, sc.in, tuesday10); got != sc.want {
			t.Fatalf("step %d (%s %s%s):\n got %s\nwant %s", i, sc.in.Kind, sc.in.Digit, sc.in.ID, got, sc.want)
		}
	}
	return s
}

const menuFlow = `
id: m
numbers: ["100"]
start: menu
nodes:
  menu:
    type: menu
    prompts: [sb/menu]
    options: {"1": one, "2": two}
    timeout: 4s
    retries: 1
    invalid_prompts: [sb/invalid]
    timeout_prompts: [sb/silence]
    on_fail: failed
  one: {type: hangup}
  two: {type: transfer, number: "+15550002222"}
  failed: {type: voicemail, prompts: [beep], max_duration: 30s}
`

func TestMenu(t *testing.T) {
	set := mustSet(t, menuFlow)
	start := Start("+1555", "100", nil)
	t.Run("barge-in", func(t *testing.T) {
		s := runScript(t, set, []scripted{
			{start, "play p1 [sb/menu] interruptible"},
			{Digit("2"), "stop-playback p1; transfer +15550002222"},
			{Digit("1"), ""},
		})
		if s.Outcome() != OutcomeTransferred || s.Vars()["input.menu"] != "2" {
			t.Errorf("outcome %s vars %v", s.Outcome(), s.Vars())
		}
	})
	t.Run("invalid then timeout then fail", func(t *testing.T) {
		s := runScript(t, set, []scripted{
			{start, "play p1 [sb/menu] interruptible"},
			{PlaybackFinished("p1"), "start-timer t2-timeout 4s"},
			{Digit("9"), "cancel-timer t2-timeout; play p3 [sb/invalid sb/menu] interruptible"},
			{Timeout("t2-timeout"), ""},  // stale
			{PlaybackFinished("p1"), ""}, // stale
			{PlaybackFinished("p3"), "start-timer t4-timeout 4s"},
			{Timeout("t4-timeout"), "play p5 [beep]"},
			{PlaybackFinished("p5"), "voicemail max=30s"},
		})
		if s.Outcome() != OutcomeVoicemail {
			t.Errorf("outcome %s", s.Outcome())
		}
		var events []string
		for _, e := range s.Path() {
			events = append(events, e.Node+":"+e.Event+":"+e.Value)
		}
		want := "menu:enter:,menu:invalid:9,menu:timeout:,menu:failed:after 2 tries,failed:enter:,failed:done:voicemail"
		if got := strings.Join(events, ","); got != want {
			t.Errorf("path %s\nwant %s", got, want)
		}
	})
	t.Run("hang-up", func(t *testing.T) {
		s := runScript(t, set, []scripted{
			{start, "play p1 [sb/menu] interruptible"},
			{PlaybackFinished("p1"), "start-timer t2-timeout 4s"},
			{HangUp(), "cancel-timer t2-timeout"},
			{Digit("1"), ""},
		})
		if s.Outcome() != OutcomeAbandoned {
			t.Errorf("outcome %s", s.Outcome())
		}
	})
}

const collectFlow = `
id: c
default: true
start: intro
nodes:
  intro: {type: play, prompts: [sb/hello], interruptible: true, next: pin}
  pin:
    type: collect
    prompts: [sb/pin]
    min_digits: 4
    max_digits: 6
    pattern: "^[0-9]+$"
    first_digit_timeout: 6s
    inter_digit_timeout: 2s
    overall_timeout: 20s
    sensitive: true
    var: pin
    retries: 1
    invalid_prompts: [sb/invalid]
    next: find
  find: {type: lookup, by: account, key: "${pin}", next: q, not_found: bye}
  q:
    type: queue
    queue: vip
    skills: {billing: 2}
    priority: "${priority}"
    attributes: {secret: "pin ${pin}", who: "${customer.name}"}
  bye: {type: hangup}
`

func TestCollect(t *testing.T) {
	set := mustSet(t, collectFlow)
	start := Start("+1555", "999", nil)
	t.Run("typeahead, terminator, lookup, masking", func(t *testing.T) {
		s := runScript(t, set, []scripted{
			{start, "play p1 [sb/hello] interruptible"},
			{Digit("1"), "stop-playback p1; start-timer t2-overall 20s; start-timer t3-inter 2s"},
			{Digit("2"), "cancel-timer t3-inter; start-timer t4-inter 2s"},
			{Digit("3"), "cancel-timer t4-inter; start-timer t5-inter 2s"},
			{Digit("4"), "cancel-timer t5-inter; start-timer t6-inter 2s"},
			{Digit("#"), "cancel-timer t6-inter; cancel-timer t2-overall; set-var pin=****; lookup by=account key=1234"},
			{LookupFound(map[string]string{"id": "C-1", "name": "Ann 1234"}), "enqueue queue=vip priority=0 skills=[billing>=2] secret=pin **** who=Ann ****"},
		})
		js, _ := json.Marshal(s.Path())
		if strings.Contains(string(js), "1234") {
			t.Errorf("path leaks the PIN: %s", js)
		}
		if v := s.Vars()["pin"]; v != Masked {
			t.Errorf("Vars()[pin] = %q", v)
		}
	})
	t.Run("max digits, inter-digit timeout, invalid", func(t *testing.T) {
		s := runScript(t, set, []scripted{
			{start, "play p1 [sb/hello] interruptible"},
			{PlaybackFinished("p1"), "play p2 [sb/pin] interruptible"},
			{PlaybackFinished("p2"), "start-timer t3-first 6s; start-timer t4-overall 20s"},
			{Digit("1"), "cancel-timer t3-first; start-timer t5-inter 2s"},
			{Timeout("t5-inter"), "cancel-timer t4-overall; play p6 [sb/invalid sb/pin] interruptible"},
			{Digit("9"), "stop-playback p6; start-timer t7-overall 20s; start-timer t8-inter 2s"},
			{Digit("8"), "cancel-timer t8-inter; start-timer t9-inter 2s"},
			{Digit("7"), "cancel-timer t9-inter; start-timer t10-inter 2s"},
			{Digit("6"), "cancel-timer t10-inter; start-timer t11-inter 2s"},
			{Digit("5"), "cancel-timer t11-inter; start-timer t12-inter 2s"},
			{Digit("4"), "cancel-timer t12-inter; cancel-timer t7-overall; set-var pin=****; lookup by=account key=987654"},
			{Digit("1"), ""}, // typeahead while looking up
			{LookupNotFound(), "hangup"},
		})
		if s.Outcome() != OutcomeHungUp {
			t.Errorf("outcome %s", s.Outcome())
		}
		for _, e := range s.Path() {
			if strings.ContainsAny(e.Value, "123456789") && e.Event != "failed" {
				t.Errorf("path entry leaks digits: %v", e)
			}
		}
	})
	t.Run("first digit timeout twice fails", func(t *testing.T) {
		runScript(t, set, []scripted{
			{start, "play p1 [sb/hello] interruptible"},
			{PlaybackFinished("p1"), "play p2 [sb/pin] interruptible"},
			{PlaybackFinished("p2"), "start-timer t3-first 6s; start-timer t4-overall 20s"},
			{Timeout("t3-first"), "cancel-timer t4-overall; play p5 [sb/pin] interruptible"},
			{PlaybackFinished("p5"), "start-timer t6-first 6s; start-timer t7-overall 20s"},
			{Timeout("t6-first"), "cancel-timer t7-overall; hangup"},
		})
	})
}

func TestBranchSetQueue(t *testing.T) {
	set := mustSet(t, `
id: b
default: true
start: who
hours: {timezone: Europe/Berlin, weekly: {mon-fri: "09:00-17:00"}, holidays: [2026-12-24]}
nodes:
  who: {type: lookup, next: tier}
  tier:
    type: branch
    cases:
      - {when: {var: customer.tier, in: [gold, platinum]}, goto: vip}
      - {when: {var: customer.id, set: false}, goto: anon}
      - {when: {var: customer.id, matches: "^C-9"}, goto: nine}
      - {when: {open: true, weekday: [tue], time: "15:00-17:00"}, goto: tuesday}
    else: other
  vip: {type: set, set: {queue: vip, skills: "billing:3, english:2", priority: "7", language: de}, next: q}
  anon: {type: transfer, number: "+49301234"}
  nine: {type: hangup}
  tuesday: {type: callback}
  other: {type: goto, target: q}
  q: {type: queue, skills: {english: 1, german: 2}, attributes: {tier: "${customer.tier}"}}
`)
	for _, tt := range []struct {
		fields map[string]string
		want   string
	}{
		{map[string]string{"id": "C-1", "tier": "gold"}, "set-var queue=vip; set-var skills=billing:3, english:2; set-var priority=7; set-var language=de; enqueue queue=vip priority=7 skills=[billing>=3 english>=2 german>=2] language=de tier=gold"},
		{nil, "transfer +49301234"},
		{map[string]string{"id": "C-99"}, "hangup"},
		{map[string]string{"id": "C-1"}, "callback +1555"}, // Tue 16:00 in Berlin
	} {
		s := NewSession(set)
		step(s, Start("+1555", "1", nil), tuesday10)
		in := LookupNotFound()
		if tt.fields != nil {
			in = LookupFound(tt.fields)
		}
		if got := step(s, in, tuesday10); got != tt.want {
			t.Errorf("%v:\n got %s\nwant %s", tt.fields, got, tt.want)
		}
	}
	// At 18:00 Berlin the time test fails and the call goes to the queue.
	s := NewSession(set)
	step(s, Start("+1555", "1", nil), tuesday10.Add(2*time.Hour))
	if got := step(s, LookupFound(map[string]string{"id": "C-1"}), tuesday10.Add(2*time.Hour)); got != "enqueue queue=default priority=0 skills=[english>=1 german>=2]" {
		t.Errorf("closed: %s", got)
	}
}

func TestSubflowAndReturn(t *testing.T) {
	set := mustSet(t, `
id: top
default: true
start: sub
nodes:
  sub: {type: subflow, flow: inner, next: bye}
  bye: {type: hangup}
`, `
id: inner
start: hi
nodes:
  hi: {type: play, prompts: [sb/hi], next: back}
  back: {type: return}
`)
	s := runScript(t, set, []scripted{
		{Start("1", "2", nil), "play p1 [sb/hi]"},
		{Digit("5"), ""}, // not interruptible: ignored
		{PlaybackFinished("p1"), "hangup"},
	})
	if s.Outcome() != OutcomeHungUp {
		t.Errorf("outcome %s", s.Outcome())
	}
	in := Start("1", "2", nil)
	in.Flow = "inner"
	s = runScript(t, set, []scripted{{in, "play p1 [sb/hi]"}, {PlaybackFinished("p1"), ""}})
	if s.Outcome() != OutcomeReturned {
		t.Errorf("wait-flow outcome %s", s.Outcome())
	}
}

// TestStepCap builds a loop the validator would refuse and checks that a
// Step still returns, with an error.
func TestStepCap(t *testing.T) {
	f := &Flow{ID: "loop", Default: true, Start: "a", Nodes: map[string]*Node{
		"a": {ID: "a", Type: NodeGoto, Next: "b"},
		"b": {ID: "b", Type: NodeGoto, Next: "a"},
	}}
	set, err := NewSet(f)
	if err != nil {
		t.Fatal(err)
	}
	s := NewSession(set)
	got := step(s, Start("1", "2", nil), tuesday10)
	if !strings.HasPrefix(got, "error more than 100 steps") || s.Outcome() != OutcomeFailed {
		t.Errorf("got %q, outcome %s", got, s.Outcome())
	}
}

func TestNoFlow(t *testing.T) {
	set := mustSet(t, "id: x\nnumbers: ['1']\nstart: h\nnodes: {h: {type: hangup}}\n")
	s := NewSession(set)
	if got := step(s, Start("1", "2", nil), tuesday10); !strings.Contains(got, "no flow for dialed number") || !s.Done() {
		t.Errorf("got %q", got)
	}
}

// TestResume persists the state mid-collect as JSON and carries on.
func TestResume(t *testing.T) {
	set := mustSet(t, collectFlow)
	s := NewSession(set)
	step(s, Start("+1555", "1", nil), tuesday10)
	step(s, Digit("4"), tuesday10)
	step(s, Digit("3"), tuesday10)
	data, err := json.Marshal(s.State())
	if err != nil {
		t.Fatal(err)
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	r := ResumeSession(set, st)
	step(r, Digit("2"), tuesday10)
	step(r, Digit("1"), tuesday10)
	if got := step(r, Digit("#"), tuesday10); !strings.HasSuffix(got, "lookup by=account key=4321") {
		t.Errorf("after resume: %s", got)
	}
	// A reload that drops the node fails the session cleanly.
	other := mustSet(t, "id: c\ndefault: true\nstart: h\nnodes: {h: {type: hangup}}\n")
	r = ResumeSession(other, st)
	if got := step(r, Digit("2"), tuesday10); !strings.Contains(got, `node "pin" is not in flow "c"`) || r.Outcome() != OutcomeFailed {
		t.Errorf("after reload: %s", got)
	}
}
