package ivr

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Check validates flow files and prints every problem, one per line as
// file:line:column: node "id": message. The files are also checked against
// each other (ids, numbers, default flow, sub-flows), so pass all the flows
// of a directory together. It returns the process exit code: 0 when all is
// well, 1 when there are problems, 2 when there is nothing to check.
func Check(w io.Writer, files []string, catalogue PromptCatalogue) int {
	if len(files) == 0 {
		fmt.Fprintln(w, "ivr check: no flow files given")
		return 2
	}
	var all ErrorList
	var flows []*Flow
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			all = append(all, &Error{File: file, Msg: err.Error()})
			continue
		}
		f, err := Parse(file, data, Config{Catalogue: catalogue})
		var list ErrorList
		if errors.As(err, &list) {
			all = append(all, list...)
			continue
		}
		flows = append(flows, f)
	}
	if len(all) == 0 {
		_, err := NewSet(flows...)
		var list ErrorList
		if errors.As(err, &list) {
			all = append(all, list...)
		}
	}
	all.sort()
	for _, e := range all {
		fmt.Fprintln(w, e)
	}
	if len(all) > 0 {
		fmt.Fprintf(w, "%d problem(s) in %d file(s)\n", len(all), len(files))
		return 1
	}
	fmt.Fprintf(w, "%d flow file(s) ok\n", len(files))
	return 0
}

// LookupFunc finds a customer for Simulate: by is "caller" or "account".
type LookupFunc func(by, key string) (fields map[string]string, found bool)

// SimOptions tune Simulate.
type SimOptions struct {
	Dialed     string            // dialed number; the flow's first number by default
	Attributes map[string]string // call attributes (call.<name>)
	Lookup     LookupFunc        // nil: every lookup finds nobody
	Catalogue  PromptCatalogue   // nil: prompts are not checked
	MaxEvents  int               // inputs fed before giving up; 1000 by default
}

// Simulate walks a flow offline and prints every input, node and action
// and the outcome. digits lists what the caller types at each successive
// input prompt, separated by commas: "1,2#" presses 1 at the first prompt
// (through the prompt, as barge-in) and 2# at the next; an empty group
// stays silent. Playbacks end at once; timers fire in order of their due
// time, advancing the simulated clock from now. Sub-flows and wait flows
// are looked up among the flows next to flowFile.
func Simulate(w io.Writer, flowFile, caller, digits string, now time.Time, opts SimOptions) error {
	data, err := os.ReadFile(flowFile)
	if err != nil {
		return err
	}
	cfg := Config{Catalogue: opts.Catalogue}
	f, err := Parse(flowFile, data, cfg)
	if err != nil {
		return err
	}
	set := siblingSet(f, cfg)
	dialed := opts.Dialed
	if dialed == "" && len(f.Numbers) > 0 {
		dialed = f.Numbers[0]
	}
	var groups []string
	if digits != "" {
		groups = strings.Split(digits, ",")
	}
	maxEvents := opts.MaxEvents
	if maxEvents <= 0 {
		maxEvents = 1000
	}
	sim := &simulator{w: w, s: NewSession(set), start: now, now: now, due: map[string]time.Time{}}
	fmt.Fprintf(w, "flow %s (%s) caller %s dialed %s at %s\n", f.ID, flowFile, caller, dialed, now.Format(time.RFC3339))
	in := Start(caller, dialed, opts.Attributes)
	in.Flow = f.ID
	sim.step(in)
	for events := 0; !sim.s.Done(); events++ {
		if events >= maxEvents {
			return fmt.Errorf("simulation stopped after %d inputs", maxEvents)
		}
		st := sim.s.st
		n := sim.s.node()
		switch {
		case sim.lookup != nil:
			a := *sim.lookup
			sim.lookup = nil
			var fields map[string]string
			found := false
			if opts.Lookup != nil {
				fields, found = opts.Lookup(a.By, a.Key)
			}
			if found {
				sim.step(LookupFound(fields))
			} else {
				sim.step(LookupNotFound())
			}
		case n != nil && (n.Type == NodeMenu || n.Type == NodeCollect) && !sim.fed && len(groups) > 0 &&
			(st.Phase == PhasePlaying || st.Phase == PhaseWaiting):
			g := groups[0]
			groups = groups[1:]
			sim.fed = true
			for _, d := range g {
				if sim.s.Done() {
					break
				}
				sim.step(Digit(string(d)))
			}
		case st.Playback != "":
			sim.step(PlaybackFinished(st.Playback))
		case len(st.Timers) > 0:
			next := st.Timers[0].ID
			for _, t := range st.Timers[1:] {
				if sim.due[t.ID].Before(sim.due[next]) {
					next = t.ID
				}
			}
			sim.now = sim.due[next]
			sim.step(Timeout(next))
		default:
			return errors.New("simulation stuck: the flow waits for nothing")
		}
	}
	fmt.Fprintf(w, "outcome: %s\n", sim.s.Outcome())
	vars := sim.s.Vars()
	for _, k := range sortedKeys(vars) {
		if !strings.HasPrefix(k, "call.") {
			fmt.Fprintf(w, "var %s = %s\n", k, vars[k])
		}
	}
	var path []string
	for _, e := range sim.s.Path() {
		if e.Event == "enter" {
			path = append(path, e.Flow+"/"+e.Node)
		} else if e.Event == "input" {
			path[len(path)-1] += "[" + e.Value + "]"
		}
	}
	fmt.Fprintf(w, "path: %s\n", strings.Join(path, " > "))
	return nil
}

type simulator struct {
	w          io.Writer
	s          *Session
	start, now time.Time
	due        map[string]time.Time
	lookup     *Action
	fed        bool // the current input prompt already got its digits
	printed    int  // path entries printed
}

func (sim *simulator) step(in Input) {
	line := in.Kind.String()
	switch in.Kind {
	case InputStart:
		line += " caller=" + in.Caller + " dialed=" + in.Dialed
	case InputDigit:
		line += " " + in.Digit
		if st := sim.s.st; st.Node != "" {
			if n := sim.s.node(); n != nil && n.Sensitive {
				line = "digit " + Masked
			}
		}
	case InputPlaybackFinished, InputTimeout:
		line += " " + in.ID
	case InputLookupResult:
		if in.Found {
			line += " found id=" + in.Fields["id"]
		} else {
			line += " not-found"
		}
	}
	fmt.Fprintf(sim.w, "%7s > %s\n", "+"+sim.now.Sub(sim.start).String(), line)
	acts := sim.s.Step(in, sim.now)
	path := sim.s.st.Path
	for _, e := range path[min(sim.printed, len(path)):] {
		fmt.Fprintf(sim.w, "          %s\n", e)
	}
	sim.printed = len(path)
	for _, a := range acts {
		fmt.Fprintf(sim.w, "          < %s\n", sim.s.Mask(a.String()))
		switch a.Kind {
		case ActStartTimer:
			sim.due[a.ID] = sim.now.Add(a.After)
			if strings.HasSuffix(a.ID, "-first") || strings.HasSuffix(a.ID, "-timeout") {
				sim.fed = false
			}
		case ActPlay:
			sim.fed = false
		case ActLookup:
			sim.lookup = &a
		}
	}
}

// siblingSet builds a Set of f and the valid flows next to it, so that
// sub-flows and wait flows resolve; broken neighbours are skipped.
func siblingSet(f *Flow, cfg Config) *Set {
	flows := []*Flow{f}
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(f.File), "*.y*ml"))
	slices.Sort(matches)
	for _, m := range matches {
		if filepath.Clean(m) == filepath.Clean(f.File) || !IsFlowFile(m) {
			continue
		}
		data, err := os.ReadFile(m)
		if err != nil {
			continue
		}
		if g, err := Parse(m, data, cfg); err == nil && g.ID != f.ID {
			flows = append(flows, g)
		}
	}
	s, err := NewSet(flows...)
	if err != nil {
		// Unresolved references fail at run time, in the printed path.
		s = &Set{flows: map[string]*Flow{f.ID: f}, byNumber: map[string]*Flow{}}
	}
	return s
}
