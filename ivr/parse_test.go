package ivr

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestParseErrors checks that each kind of mistake is reported with its
// file:line:column and node.
func TestParseErrors(t *testing.T) {
	cat := PromptCatalogue{"sb/a": true, "beep": true}
	tests := []struct {
		name, yaml string
		want       []string // substrings of the error, each must appear
	}{
		{"unknown type", `
id: x
start: a
nodes:
  a:
    type: dance
`, []string{`f.yaml:6:11: node "a": unknown node type "dance"`}},
		{"unknown field", `
id: x
start: a
nodes:
  a:
    type: hangup
    promts: [beep]
`, []string{`f.yaml:7:5: node "a": unknown field "promts" for a hangup node`}},
		{"unknown flow field", `
id: x
start: a
numbr: 1
nodes:
  a: {type: hangup}
`, []string{`f.yaml:4:1: unknown field "numbr"`}},
		{"missing target", `
id: x
start: a
nodes:
  a:
    type: play
    prompts: [beep]
    next: b
`, []string{`f.yaml:8:11: node "a": next: node "b" does not exist`}},
		{"unreachable", `
id: x
start: a
nodes:
  a: {type: hangup}
  b: {type: hangup}
`, []string{`f.yaml:6:3: node "b": unreachable from start node "a"`}},
		{"loop without input", `
id: x
start: a
nodes:
  a: {type: play, prompts: [beep], next: b}
  b: {type: goto, target: a}
`, []string{`node "a": loop without caller input: a -> b -> a`}},
		{"menu on_fail loop", `
id: x
start: m
nodes:
  m: {type: menu, prompts: [beep], options: {"1": h}, on_fail: m}
  h: {type: hangup}
`, []string{`loop without caller input: m -> m`}},
		{"key twice", `
id: x
start: m
nodes:
  m:
    type: menu
    prompts: [beep]
    options:
      "1": h
      1: h
  h: {type: hangup}
`, []string{`f.yaml:10:7: node "m": key 1 used twice in one menu (first at line 9)`}},
		{"prompt not in catalogue", `
id: x
start: a
nodes:
  a: {type: hangup, prompts: [sb/missing]}
`, []string{`f.yaml:5:31: node "a": prompt sb/missing not in the prompt catalogue`}},
		{"say sounds not in catalogue", `
id: x
start: a
nodes:
  a: {type: hangup, prompts: [{say: number, value: "12"}]}
`, []string{`prompt digits/0, digits/1`}},
		{"bad regex", `
id: x
start: c
nodes:
  c: {type: collect, pattern: "([0-9", next: h}
  h: {type: hangup}
`, []string{`f.yaml:5:31: node "c": pattern: bad pattern`}},
		{"bad duration", `
id: x
start: m
nodes:
  m: {type: menu, prompts: [beep], options: {"1": h}, timeout: 5 seconds}
  h: {type: hangup}
`, []string{`timeout: bad duration "5 seconds"`}},
		{"bad time zone", `
id: x
start: h
hours: {timezone: Mars/Olympus}
nodes:
  h: {type: hangup}
`, []string{`f.yaml:4:19: bad time zone "Mars/Olympus"`}},
		{"bad hours and holiday", `
id: x
start: h
hours:
  weekly: {mon-fri: "18:00-08:00", funday: "08:00-09:00"}
  holidays: [2026-13-01]
nodes:
  h: {type: hangup}
`, []string{`bad opening hours "18:00-08:00"`, `bad weekday "funday"`, `bad holiday date "2026-13-01"`}},
		{"open without hours", `
id: x
start: b
nodes:
  b: {type: branch, cases: [{when: {open: true}, goto: h}], else: h}
  h: {type: hangup}
`, []string{`open and holiday tests need the flow's hours`}},
		{"say sensitive", `
id: x
start: c
nodes:
  c: {type: collect, sensitive: true, next: p}
  p: {type: play, prompts: [{say: digits, var: input.c}], next: h}
  h: {type: hangup}
`, []string{`say would read the sensitive input input.c aloud`}},
		{"yaml syntax", "id: x\nnodes: [\n", []string{`f.yaml:`}},
		{"missing start", "id: x\nnodes: {a: {type: hangup}}\n", []string{`missing start node`}},
		{"bad skills", `
id: x
start: q
nodes:
  q: {type: queue, skills: {billing: high}}
`, []string{`skill proficiency must be a whole number`}},
		{"bad template", `
id: x
start: q
nodes:
  q: {type: queue, queue: "${oops"}
`, []string{`unclosed ${`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tt.yaml), Config{Catalogue: cat})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\ndoes not contain\n%s", err, w)
				}
			}
		})
	}
}

func TestSetErrors(t *testing.T) {
	parse := func(name, src string) *Flow {
		f, err := Parse(name, []byte(src), Config{})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	a := parse("a.yaml", "id: a\nnumbers: ['100']\ndefault: true\nstart: s\nnodes:\n  s: {type: subflow, flow: nope, next: h}\n  h: {type: hangup}\n")
	b := parse("b.yaml", "id: b\nnumbers: ['1-00']\ndefault: true\nstart: q\nnodes:\n  q: {type: queue, on_wait: {after: 60s, flow: gone}}\n")
	c := parse("c.yaml", "id: a\nstart: h\nnodes:\n  h: {type: hangup}\n")
	_, err := NewSet(a, b, c)
	for _, w := range []string{
		`a.yaml:6:28: node "s": sub-flow "nope" does not exist`,
		`b.yaml:6:29: node "q": on_wait flow "gone" does not exist`,
		`b.yaml:1:1: flow "b" is default, but so is "a"`,
		`b.yaml:1:1: number 1-00 is also bound to flow "a"`,
		`c.yaml:1:1: flow id "a" is also used by a.yaml`,
	} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error\n%v\ndoes not contain\n%s", err, w)
		}
	}
}

func TestCheck(t *testing.T) {
	var b strings.Builder
	files, _ := filepath.Glob("flows/*.yaml")
	if code := Check(&b, files, mustCatalogue(t)); code != 0 {
		t.Fatalf("Check(samples) = %d:\n%s", code, b.String())
	}
	b.Reset()
	if code := Check(&b, []string{"testdata/bad.yaml"}, mustCatalogue(t)); code != 1 {
		t.Fatalf("Check(bad) = %d:\n%s", code, b.String())
	}
	want := `testdata/bad.yaml:10:7: node "menu": key 1 used twice in one menu (first at line 9)`
	if !strings.Contains(b.String(), want) {
		t.Errorf("Check output\n%s\nlacks\n%s", b.String(), want)
	}
	if code := Check(&b, nil, nil); code != 2 {
		t.Errorf("Check(no files) = %d, want 2", code)
	}
}

func TestSay(t *testing.T) {
	tests := []struct {
		kind  SayKind
		value string
		want  string
	}{
		{SayNumber, "0", "digits/0"},
		{SayNumber, "7", "digits/7"},
		{SayNumber, "19", "digits/19"},
		{SayNumber, "20", "digits/20"},
		{SayNumber, "42", "digits/40 digits/2"},
		{SayNumber, "100", "digits/1 digits/hundred"},
		{SayNumber, "115", "digits/1 digits/hundred digits/15"},
		{SayNumber, "1000", "digits/1 digits/thousand"},
		{SayNumber, "2026", "digits/2 digits/thousand digits/20 digits/6"},
		{SayNumber, "123456", "digits/1 digits/hundred digits/20 digits/3 digits/thousand digits/4 digits/hundred digits/50 digits/6"},
		{SayNumber, "1000001", "digits/1 digits/million digits/1"},
		{SayNumber, "-5", "digits/minus digits/5"},
		{SayDigits, "+86 1#*", "digits/8 digits/6 digits/1 digits/pound digits/star"},
		{SayDate, "2026-03-14", "digits/day-6 digits/mon-2 digits/h-14 digits/2 digits/thousand digits/20 digits/6"},
		{SayAmount, "1234.50", "digits/1 digits/thousand digits/2 digits/hundred digits/30 digits/4 sb/dollars sb/and digits/50 sb/cents"},
		{SayAmount, "1.01", "digits/1 sb/dollar sb/and digits/1 sb/cent"},
		{SayAmount, "0.5", "digits/50 sb/cents"},
		{SayAmount, "0", "digits/0 sb/dollars"},
	}
	for _, tt := range tests {
		got, err := say(tt.kind, tt.value)
		if err != nil || strings.Join(got, " ") != tt.want {
			t.Errorf("say %s %q = %v, %v; want %s", tt.kind, tt.value, got, err, tt.want)
		}
	}
	for _, bad := range []struct {
		kind  SayKind
		value string
	}{{SayNumber, "1e3"}, {SayNumber, "1000000000"}, {SayDate, "14/03/2026"}, {SayAmount, "1.234"}, {SayAmount, "x"}} {
		if got, err := say(bad.kind, bad.value); err == nil {
			t.Errorf("say %s %q = %v, want an error", bad.kind, bad.value, got)
		}
	}
}

func TestCalendar(t *testing.T) {
	s := mustSamples(t)
	cal := s.Flow("main").Hours
	for _, tt := range []struct {
		at   string
		open bool
	}{
		{"2026-03-10T15:00:00Z", true},  // Tue 11:00 EDT
		{"2026-03-10T11:59:00Z", false}, // Tue 07:59 EDT
		{"2026-03-10T12:00:00Z", true},  // Tue 08:00 EDT
		{"2026-03-14T14:00:00Z", true},  // Sat 10:00
		{"2026-03-14T17:00:00Z", false}, // Sat 13:00
		{"2026-03-15T15:00:00Z", false}, // Sunday
		{"2026-12-25T15:00:00Z", false}, // holiday
	} {
		at := mustTime(t, tt.at)
		if got := cal.Open(at); got != tt.open {
			t.Errorf("Open(%s) = %v, want %v", tt.at, got, tt.open)
		}
	}
}
