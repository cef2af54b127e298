package ivr

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// FuzzParse feeds arbitrary bytes to the parser: it must parse or return
// an error, never panic. Flows that parse are also run for a few steps.
func FuzzParse(f *testing.F) {
	for _, name := range []string{"flows/main.yaml", "flows/after-hours.yaml", "flows/callback-offer.yaml", "testdata/pin.yaml", "testdata/bad.yaml"} {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	cfg := Config{LoadLocation: func(name string) (*time.Location, error) {
		if name == "UTC" || name == "Europe/Berlin" {
			return time.FixedZone(name, 3600), nil
		}
		return time.LoadLocation("bad zone name")
	}}
	f.Fuzz(func(t *testing.T, data []byte) {
		wd := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("WATCHDOG %q", data)) })
		defer wd.Stop()
		fl, err := Parse("f.yaml", data, cfg)
		if err != nil {
			if _, ok := err.(ErrorList); !ok {
				t.Fatalf("error of type %T", err)
			}
			return
		}
		set, err := NewSet(fl)
		if err != nil {
			return // references to other flows
		}
		in := Start("+1555", "1", nil)
		in.Flow = fl.ID
		s := NewSession(set)
		s.Step(in, tuesday10)
		for i := 0; i < 20 && !s.Done(); i++ {
			st := s.State()
			switch {
			case st.Playback != "":
				s.Step(PlaybackFinished(st.Playback), tuesday10)
			case st.Phase == PhaseLookup:
				s.Step(LookupFound(map[string]string{"id": "C-1", "tier": "platinum", "balance": "12.30"}), tuesday10)
			case len(st.Timers) > 0:
				s.Step(Timeout(st.Timers[0].ID), tuesday10)
			default:
				s.Step(Digit(string("1#"[i%2])), tuesday10)
			}
		}
	})
}

// FuzzInterpret drives the sample flows with random inputs: no panic, every
// Step returns a bounded number of actions, sensitive input never shows,
// and the state survives a JSON round trip.
func FuzzInterpret(f *testing.F) {
	f.Add([]byte{0, 4, 0, 4, 8, 4, 5, 5, 5})
	f.Add([]byte{1, 6, 4, 4, 24, 4, 5, 6, 4})
	f.Add([]byte{3, 4, 8, 16, 24, 32, 88, 5, 6, 7})
	f.Add([]byte{2, 4, 8, 5, 5, 5, 5, 5, 5, 5, 5})
	set := mustSamplesAndPin(f)
	flows := []string{"main", "after-hours", "callback-offer", "pin"}
	const pin = "4321"
	f.Fuzz(func(t *testing.T, script []byte) {
		if len(script) == 0 || len(script) > 400 {
			return
		}
		wd := time.AfterFunc(10*time.Second, func() { panic(fmt.Sprintf("WATCHDOG %q", script)) })
		defer wd.Stop()
		s := NewSession(set)
		in := Start("+8613800138000", "+18005550100", map[string]string{"channel": "PJSIP/1"})
		in.Flow = flows[int(script[0])%len(flows)]
		now := tuesday10.Add(time.Duration(script[0]) * 37 * time.Minute)
		check := func(acts []Action) {
			if len(acts) > 10*MaxTransitions {
				t.Fatalf("%d actions in one step", len(acts))
			}
		}
		check(s.Step(in, now))
		typed := 0
		for i, b := range script[1:] {
			st := s.State()
			var in Input
			switch b % 8 {
			case 0, 1, 2, 3:
				d := string("0123456789*#"[int(b/8)%12])
				if in.Flow == "pin" || st.Flow == "pin" {
					d = string(pin[typed%len(pin)])
					typed++
				}
				in = Digit(d)
			case 4:
				in = PlaybackFinished(st.Playback)
				if b/8%3 == 0 {
					in.ID = "p999"
				}
			case 5:
				in = Timeout("t0-timeout")
				if len(st.Timers) > 0 {
					in.ID = st.Timers[int(b/8)%len(st.Timers)].ID
				}
			case 6:
				in = LookupNotFound()
				if b/8%2 == 0 {
					in = LookupFound(map[string]string{"id": "C-1", "tier": []string{"gold", "platinum"}[int(b/16)%2], "account": "4711001", "balance": "3.50"})
				}
			case 7:
				in = HangUp()
				if b/8 != 0 {
					in = Digit("#")
				}
			}
			now = now.Add(time.Duration(b) * 100 * time.Millisecond)
			check(s.Step(in, now))
			if i%16 == 15 {
				data, err := json.Marshal(s.State())
				if err != nil {
					t.Fatal(err)
				}
				var back State
				if err := json.Unmarshal(data, &back); err != nil {
					t.Fatal(err)
				}
				s = ResumeSession(set, back)
			}
		}
		for _, e := range s.Path() {
			if strings.Contains(e.Value, pin) || strings.Contains(e.Value, "4321"[:3]) && e.Flow == "pin" {
				t.Fatalf("path leaks sensitive input: %v", e)
			}
		}
	})
}

// mustSamplesAndPin loads the sample flows plus the sensitive-input flow.
func mustSamplesAndPin(tb testing.TB) *Set {
	tb.Helper()
	cfg := Config{Catalogue: mustCatalogue(tb)}
	s := mustSamples(tb)
	data, err := os.ReadFile("testdata/pin.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	p, err := Parse("testdata/pin.yaml", data, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	set, err := NewSet(append(s.Flows(), p)...)
	if err != nil {
		tb.Fatal(err)
	}
	return set
}
