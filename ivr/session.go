package ivr

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Masked replaces sensitive input wherever it would be shown or stored.
const Masked = "****"

// Limits that keep any flow and any input sequence bounded.
const (
	// MaxTransitions is how many nodes one Step may enter before it gives
	// up with an error: the hard stop against loops without caller input.
	MaxTransitions = 100
	maxTypeahead   = 16
	maxPath        = 500
	maxDepth       = 8 // sub-flow nesting
)

// Phase is what a session waits for.
type Phase int

// Phases.
const (
	PhaseNew     Phase = iota // before Start
	PhasePlaying              // a playback of the current node
	PhaseWaiting              // digits or a timer (menu, collect)
	PhaseLookup               // a lookup result
	PhaseDone                 // finished; see Outcome
)

var phaseNames = [...]string{"new", "playing", "waiting", "lookup", "done"}

func (p Phase) String() string {
	if p < 0 || int(p) >= len(phaseNames) {
		return "invalid"
	}
	return phaseNames[p]
}

// PathEntry is one step of the caller's way through the IVR, stored with
// the interaction and shown on the screen-pop. Sensitive input is Masked.
type PathEntry struct {
	At    time.Time
	Flow  string
	Node  string
	Type  string `json:",omitempty"`
	Event string // enter, input, invalid, timeout, failed, found, not-found, hangup, error, done
	Value string `json:",omitempty"`
}

func (e PathEntry) String() string {
	s := fmt.Sprintf("%s/%s %s", e.Flow, e.Node, e.Event)
	if e.Type != "" && e.Event == "enter" {
		s += " (" + e.Type + ")"
	}
	if e.Value != "" {
		s += " " + e.Value
	}
	return s
}

// Timer is a timer the session has asked for.
type Timer struct {
	ID      string
	Purpose string // timeout (menu), first, inter, overall (collect)
}

// Frame is a sub-flow call: where to go back to.
type Frame struct {
	Flow string
	Next string
}

// State is everything a session knows. It is plain data that marshals to
// JSON; the engine persists it and resumes with ResumeSession.
type State struct {
	Flow        string
	FlowVersion string
	Node        string
	Phase       Phase
	Outcome     Outcome
	Stack       []Frame           `json:",omitempty"`
	Vars        map[string]string `json:",omitempty"`
	Sensitive   map[string]bool   `json:",omitempty"` // names of vars holding sensitive input
	Playback    string            `json:",omitempty"`
	Timers      []Timer           `json:",omitempty"`
	Seq         int
	Retries     int         `json:",omitempty"`
	Digits      string      `json:",omitempty"` // collect buffer
	InputBegan  bool        `json:",omitempty"` // collect: the caller's turn began
	Typeahead   string      `json:",omitempty"`
	Path        []PathEntry `json:",omitempty"`
	PathDropped int         `json:",omitempty"`
}

// Flows resolves flows by id and by dialed number; *Set implements it.
type Flows interface {
	Flow(id string) *Flow
	ForNumber(dialed string) *Flow
}

// Session runs one call through the IVR. It is not safe for concurrent use;
// the engine's single goroutine owns it.
type Session struct {
	flows  Flows
	st     State
	now    time.Time
	acts   []Action
	budget int
}

// NewSession returns a session waiting for Start.
func NewSession(flows Flows) *Session {
	return &Session{flows: flows}
}

// ResumeSession continues a persisted session, possibly under a reloaded
// flow set: it goes on by node id, and fails cleanly if the node is gone.
func ResumeSession(flows Flows, st State) *Session {
	return &Session{flows: flows, st: st}
}

// State returns a deep copy of the session state, for persistence.
func (s *Session) State() State {
	st := s.st
	st.Stack = slices.Clone(st.Stack)
	st.Vars = maps.Clone(st.Vars)
	st.Sensitive = maps.Clone(st.Sensitive)
	st.Timers = slices.Clone(st.Timers)
	st.Path = slices.Clone(st.Path)
	return st
}

// Done reports whether the session has finished.
func (s *Session) Done() bool { return s.st.Phase == PhaseDone }

// Outcome reports how the session ended (OutcomeNone while running).
func (s *Session) Outcome() Outcome { return s.st.Outcome }

// Path returns the IVR path so far; sensitive input is masked.
func (s *Session) Path() []PathEntry { return slices.Clone(s.st.Path) }

// Vars returns the variables with sensitive values masked: what the
// screen-pop and the interaction may show (customer.id identifies the
// customer found in the IVR).
func (s *Session) Vars() map[string]string {
	out := maps.Clone(s.st.Vars)
	for k := range s.st.Sensitive {
		if _, ok := out[k]; ok {
			out[k] = Masked
		}
	}
	return out
}

// Step feeds one input at time now and returns what the engine must do.
// It always returns after at most MaxTransitions node entries.
func (s *Session) Step(in Input, now time.Time) []Action {
	s.now, s.acts, s.budget = now, nil, MaxTransitions
	if s.st.Phase == PhaseDone {
		return nil
	}
	if s.st.Phase == PhaseNew {
		if in.Kind == InputStart {
			s.start(in)
		} else if in.Kind == InputHangUp {
			s.finish(OutcomeAbandoned)
		}
		return s.acts
	}
	n := s.node()
	if n == nil {
		s.fail(fmt.Sprintf("node %q is not in flow %q (flows reloaded?)", s.st.Node, s.st.Flow))
		return s.acts
	}
	switch in.Kind {
	case InputDigit:
		s.digit(n, in.Digit)
	case InputPlaybackFinished:
		if in.ID == "" || in.ID != s.st.Playback {
			return nil
		}
		s.st.Playback = ""
		s.played(n)
	case InputTimeout:
		i := slices.IndexFunc(s.st.Timers, func(t Timer) bool { return t.ID == in.ID })
		if i < 0 {
			return nil
		}
		purpose := s.st.Timers[i].Purpose
		s.st.Timers = slices.Delete(s.st.Timers, i, i+1)
		s.timeout(n, purpose)
	case InputLookupResult:
		if s.st.Phase != PhaseLookup {
			return nil
		}
		s.lookupResult(n, in)
	case InputHangUp:
		s.clearNode(false)
		s.path("hangup", "")
		s.finish(OutcomeAbandoned)
	}
	return s.acts
}

func (s *Session) start(in Input) {
	var f *Flow
	if in.Flow != "" {
		f = s.flows.Flow(in.Flow)
	} else {
		f = s.flows.ForNumber(in.Dialed)
	}
	s.st.Vars = map[string]string{}
	for _, k := range sortedKeys(in.Vars) {
		if !reservedVar(k) {
			s.st.Vars[k] = in.Vars[k]
		}
	}
	for _, k := range sortedKeys(in.Attributes) {
		s.st.Vars["call."+k] = in.Attributes[k]
	}
	s.st.Vars["caller.number"] = in.Caller
	s.st.Vars["dialed"] = in.Dialed
	if f == nil {
		s.st.Phase = PhaseWaiting // so that fail finishes
		if in.Flow != "" {
			s.fail(fmt.Sprintf("no flow %q", in.Flow))
		} else {
			s.fail(fmt.Sprintf("no flow for dialed number %q and no default flow", in.Dialed))
		}
		return
	}
	s.st.Flow, s.st.FlowVersion = f.ID, f.Version
	s.goTo(f.Start)
}

func (s *Session) flow() *Flow { return s.flows.Flow(s.st.Flow) }

func (s *Session) node() *Node {
	f := s.flow()
	if f == nil {
		return nil
	}
	return f.Nodes[s.st.Node]
}

func (s *Session) emit(a Action) { s.acts = append(s.acts, a) }

func (s *Session) newID(prefix string) string {
	s.st.Seq++
	return prefix + strconv.Itoa(s.st.Seq)
}

// mask hides every sensitive value inside text.
func (s *Session) mask(text string) string {
	for _, k := range sortedKeys(s.st.Sensitive) {
		if v := s.st.Vars[k]; v != "" {
			text = strings.ReplaceAll(text, v, Masked)
		}
	}
	return text
}

func (s *Session) path(event, value string) {
	if len(s.st.Path) >= maxPath {
		s.st.PathDropped++
		return
	}
	e := PathEntry{At: s.now, Flow: s.st.Flow, Node: s.st.Node, Event: event, Value: s.mask(value)}
	if event == "enter" {
		if n := s.node(); n != nil {
			e.Type = n.Type.String()
		}
	}
	s.st.Path = append(s.st.Path, e)
}

func (s *Session) fail(msg string) {
	msg = s.mask(msg)
	s.clearNode(true)
	s.emit(Action{Kind: ActError, Err: msg})
	s.path("error", msg)
	s.finish(OutcomeFailed)
}

func (s *Session) finish(o Outcome) {
	s.st.Outcome, s.st.Phase = o, PhaseDone
	s.st.Typeahead, s.st.Digits = "", ""
	s.path("done", o.String())
}

// goTo enters id and every node that follows without waiting.
func (s *Session) goTo(id string) {
	for id != "" && s.st.Phase != PhaseDone {
		if s.budget <= 0 {
			s.fail(fmt.Sprintf("more than %d steps without waiting for the caller (at %q)", MaxTransitions, id))
			return
		}
		s.budget--
		id = s.enter(id)
	}
}

// clearNode cancels the current node's timers and playback.
func (s *Session) clearNode(stopPlayback bool) {
	for _, t := range s.st.Timers {
		s.emit(Action{Kind: ActCancelTimer, ID: t.ID})
	}
	s.st.Timers = nil
	if s.st.Playback != "" && stopPlayback {
		s.emit(Action{Kind: ActStopPlayback, ID: s.st.Playback})
	}
	s.st.Playback = ""
}

// enter runs node id and returns the node to enter next, or "" to wait.
func (s *Session) enter(id string) string {
	f := s.flow()
	var n *Node
	if f != nil {
		n = f.Nodes[id]
	}
	if n == nil {
		s.fail(fmt.Sprintf("node %q is not in flow %q", id, s.st.Flow))
		return ""
	}
	s.clearNode(true)
	s.st.Node, s.st.Retries, s.st.Digits, s.st.InputBegan = id, 0, "", false
	s.st.Phase = PhaseWaiting
	s.path("enter", "")
	switch n.Type {
	case NodePlay:
		if s.play(n.Prompts, n.Interruptible) {
			return ""
		}
		return n.Next
	case NodeMenu:
		if d, ok := s.popTypeahead(); ok {
			return s.menuDigit(n, d)
		}
		s.prompt(n, nil)
	case NodeCollect:
		for {
			d, ok := s.popTypeahead()
			if !ok {
				break
			}
			if next := s.collectDigit(n, d); next != "" || s.st.Node != id || s.st.Phase == PhaseDone || s.st.Phase == PhasePlaying {
				return next
			}
		}
		if s.st.Digits == "" {
			s.prompt(n, nil)
		}
	case NodeLookup:
		key := s.get("caller.number")
		if n.By == "account" {
			key = s.expand(orElse(n.Key, "${input.account}"))
		}
		if key == "" {
			s.path("not-found", "no "+n.By+" number")
			s.clearCustomer()
			return orElse(n.NotFound, n.Next)
		}
		s.emit(Action{Kind: ActLookup, By: n.By, Key: key})
		s.st.Phase = PhaseLookup
	case NodeBranch:
		for _, c := range n.Cases {
			if s.eval(c.When) {
				return c.Goto
			}
		}
		return n.Else
	case NodeSet:
		for _, a := range n.Assign {
			v := s.expand(a.Value)
			s.st.Vars[a.Name] = v
			s.emit(Action{Kind: ActSetVar, Name: a.Name, Value: s.mask(v)})
		}
		return n.Next
	case NodeGoto:
		return n.Next
	case NodeSubflow:
		sub := s.flows.Flow(n.Flow)
		if sub == nil {
			s.fail(fmt.Sprintf("no sub-flow %q", n.Flow))
			return ""
		}
		if len(s.st.Stack) >= maxDepth {
			s.fail(fmt.Sprintf("sub-flows nested deeper than %d", maxDepth))
			return ""
		}
		s.st.Stack = append(s.st.Stack, Frame{Flow: s.st.Flow, Next: n.Next})
		s.st.Flow, s.st.FlowVersion = sub.ID, sub.Version
		return sub.Start
	case NodeReturn:
		if len(s.st.Stack) == 0 {
			s.finish(OutcomeReturned)
			return ""
		}
		fr := s.st.Stack[len(s.st.Stack)-1]
		s.st.Stack = s.st.Stack[:len(s.st.Stack)-1]
		s.st.Flow = fr.Flow
		if f := s.flow(); f != nil {
			s.st.FlowVersion = f.Version
		}
		return fr.Next
	default:
		if !s.play(n.Prompts, false) {
			s.terminal(n)
		}
	}
	return ""
}

func orElse(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (s *Session) popTypeahead() (string, bool) {
	if s.st.Typeahead == "" {
		return "", false
	}
	d := s.st.Typeahead[:1]
	s.st.Typeahead = s.st.Typeahead[1:]
	return d, true
}

// play starts a playback of prompts; false when there is nothing to play.
func (s *Session) play(prompts []Prompt, interruptible bool) bool {
	var sounds []string
	for _, p := range prompts {
		if p.Sound != "" {
			sounds = append(sounds, p.Sound)
			continue
		}
		words, err := say(p.Say, s.expand(p.Value))
		if err != nil {
			msg := s.mask(err.Error())
			s.emit(Action{Kind: ActError, Err: msg})
			s.path("error", msg)
			continue
		}
		sounds = append(sounds, words...)
	}
	if len(sounds) == 0 {
		return false
	}
	id := s.newID("p")
	s.emit(Action{Kind: ActPlay, ID: id, Sounds: sounds, Interruptible: interruptible})
	s.st.Playback, s.st.Phase = id, PhasePlaying
	return true
}

// prompt plays extra then the node's prompts (menu, collect), or starts
// waiting for input when there is nothing to play.
func (s *Session) prompt(n *Node, extra []Prompt) {
	if !s.play(slices.Concat(extra, n.Prompts), n.Interruptible) {
		s.awaitInput(n)
	}
}

// awaitInput starts the caller's turn in a menu or collect.
func (s *Session) awaitInput(n *Node) {
	s.st.Phase = PhaseWaiting
	if n.Type == NodeMenu {
		s.startTimer("timeout", n.Timeout)
		return
	}
	if s.st.Digits == "" {
		s.startTimer("first", n.FirstDigit)
	}
	s.beginInput(n)
}

func (s *Session) beginInput(n *Node) {
	if !s.st.InputBegan && n.Overall > 0 {
		s.startTimer("overall", n.Overall)
	}
	s.st.InputBegan = true
}

func (s *Session) startTimer(purpose string, after time.Duration) {
	id := s.newID("t") + "-" + purpose
	s.st.Timers = append(s.st.Timers, Timer{ID: id, Purpose: purpose})
	s.emit(Action{Kind: ActStartTimer, ID: id, After: after})
}

func (s *Session) cancelTimers(purposes ...string) {
	s.st.Timers = slices.DeleteFunc(s.st.Timers, func(t Timer) bool {
		if len(purposes) == 0 || slices.Contains(purposes, t.Purpose) {
			s.emit(Action{Kind: ActCancelTimer, ID: t.ID})
			return true
		}
		return false
	})
}

func (s *Session) stopPlayback() {
	if s.st.Playback != "" {
		s.emit(Action{Kind: ActStopPlayback, ID: s.st.Playback})
		s.st.Playback = ""
	}
}

func validDigit(d string) bool { return len(d) == 1 && strings.Contains("0123456789*#", d) }

func (s *Session) digit(n *Node, d string) {
	if !validDigit(d) {
		return
	}
	switch s.st.Phase {
	case PhaseLookup:
		if len(s.st.Typeahead) < maxTypeahead {
			s.st.Typeahead += d
		}
		return
	case PhasePlaying, PhaseWaiting:
	default:
		return
	}
	playing := s.st.Phase == PhasePlaying
	switch n.Type {
	case NodeMenu, NodeCollect:
		if playing {
			if !n.Interruptible {
				return
			}
			s.stopPlayback()
		}
		var next string
		if n.Type == NodeMenu {
			next = s.menuDigit(n, d)
		} else {
			next = s.collectDigit(n, d)
		}
		s.goTo(next)
	case NodePlay:
		if playing && n.Interruptible {
			s.stopPlayback()
			s.st.Typeahead += d
			s.goTo(n.Next)
		}
	}
}

func (s *Session) menuDigit(n *Node, d string) string {
	s.cancelTimers()
	for _, o := range n.Options {
		if o.Key == d {
			s.st.Vars["input."+n.ID] = d
			s.path("input", d)
			return o.Target
		}
	}
	s.path("invalid", d)
	return s.retry(n, n.InvalidPrompts)
}

func (s *Session) collectDigit(n *Node, d string) string {
	s.cancelTimers("first", "inter")
	s.beginInput(n)
	if n.Terminator != "" && d == n.Terminator {
		return s.collectDone(n)
	}
	s.st.Digits += d
	if len(s.st.Digits) >= n.MaxDigits {
		return s.collectDone(n)
	}
	s.st.Phase = PhaseWaiting
	s.startTimer("inter", n.InterDigit)
	return ""
}

func (s *Session) collectDone(n *Node) string {
	s.cancelTimers()
	v := s.st.Digits
	s.st.Digits = ""
	shown := v
	if n.Sensitive {
		shown = Masked
	}
	if len(v) < n.MinDigits || (n.Pattern != nil && !n.Pattern.MatchString(v)) {
		s.path("invalid", shown)
		return s.retry(n, n.InvalidPrompts)
	}
	name := orElse(n.Var, "input."+n.ID)
	s.st.Vars[name] = v
	if n.Sensitive {
		if s.st.Sensitive == nil {
			s.st.Sensitive = map[string]bool{}
		}
		s.st.Sensitive[name] = true
	} else {
		delete(s.st.Sensitive, name)
	}
	s.path("input", shown)
	s.emit(Action{Kind: ActSetVar, Name: name, Value: shown, Sensitive: n.Sensitive})
	return n.Next
}

// retry re-prompts after invalid input or silence, or gives up.
func (s *Session) retry(n *Node, prompts []Prompt) string {
	s.st.Retries++
	s.st.Digits, s.st.InputBegan = "", false
	if s.st.Retries > n.Retries {
		s.path("failed", fmt.Sprintf("after %d tries", s.st.Retries))
		if n.OnFail != "" {
			return n.OnFail
		}
		s.emit(Action{Kind: ActHangUp})
		s.finish(OutcomeHungUp)
		return ""
	}
	s.st.Typeahead = ""
	s.prompt(n, prompts)
	return ""
}

func (s *Session) played(n *Node) {
	switch n.Type {
	case NodePlay:
		s.goTo(n.Next)
	case NodeMenu, NodeCollect:
		if s.st.Phase == PhasePlaying {
			s.awaitInput(n)
		}
	default:
		if n.Type.terminal() {
			s.terminal(n)
		}
	}
}

func (s *Session) timeout(n *Node, purpose string) {
	switch {
	case n.Type == NodeMenu && purpose == "timeout":
		s.path("timeout", "")
		s.goTo(s.retry(n, n.TimeoutPrompts))
	case n.Type == NodeCollect:
		if s.st.Digits == "" {
			s.cancelTimers()
			s.path("timeout", "")
			s.goTo(s.retry(n, n.TimeoutPrompts))
			return
		}
		s.goTo(s.collectDone(n))
	}
}

func (s *Session) clearCustomer() {
	for k := range s.st.Vars {
		if strings.HasPrefix(k, "customer.") {
			delete(s.st.Vars, k)
		}
	}
}

func (s *Session) lookupResult(n *Node, in Input) {
	s.clearCustomer()
	if !in.Found {
		s.path("not-found", "")
		s.goTo(orElse(n.NotFound, n.Next))
		return
	}
	for _, k := range sortedKeys(in.Fields) {
		if varRE.MatchString(k) {
			s.st.Vars["customer."+k] = in.Fields[k]
		}
	}
	s.path("found", s.st.Vars["customer.id"])
	s.goTo(n.Next)
}

// get reads a variable; time.* is computed from now in the flow's zone.
func (s *Session) get(name string) string {
	if !strings.HasPrefix(name, "time.") {
		return s.st.Vars[name]
	}
	f := s.flow()
	loc := time.UTC
	if f != nil {
		loc = f.Location()
	}
	t := s.now.In(loc)
	switch name {
	case "time.hour":
		return fmt.Sprintf("%02d", t.Hour())
	case "time.minute":
		return fmt.Sprintf("%02d", t.Minute())
	case "time.clock":
		return t.Format("15:04")
	case "time.weekday":
		return weekdayNames[t.Weekday()]
	case "time.date":
		return t.Format(time.DateOnly)
	case "time.open":
		return strconv.FormatBool(f == nil || f.Hours == nil || f.Hours.Open(s.now))
	case "time.holiday":
		return strconv.FormatBool(f != nil && f.Hours != nil && f.Hours.Holiday(s.now))
	}
	return ""
}

// expand replaces ${name} with variable values (raw: mask the result
// before showing it).
func (s *Session) expand(t string) string {
	if !strings.Contains(t, "${") {
		return t
	}
	var b strings.Builder
	for {
		i := strings.Index(t, "${")
		if i < 0 {
			break
		}
		j := strings.IndexByte(t[i:], '}')
		if j < 0 {
			break
		}
		b.WriteString(t[:i])
		b.WriteString(s.get(t[i+2 : i+j]))
		t = t[i+j+1:]
	}
	b.WriteString(t)
	return b.String()
}

func (s *Session) eval(c Cond) bool {
	if c.Var != "" {
		v := s.get(c.Var)
		if c.Eq != nil && v != *c.Eq ||
			c.Ne != nil && v == *c.Ne ||
			c.In != nil && !slices.Contains(c.In, v) ||
			c.Matches != nil && !c.Matches.MatchString(v) ||
			c.IsSet != nil && (v != "") != *c.IsSet {
			return false
		}
	}
	f := s.flow()
	if c.Open != nil && s.get("time.open") != strconv.FormatBool(*c.Open) {
		return false
	}
	if c.Holiday != nil && s.get("time.holiday") != strconv.FormatBool(*c.Holiday) {
		return false
	}
	loc := time.UTC
	if f != nil {
		loc = f.Location()
	}
	t := s.now.In(loc)
	if c.Weekdays != nil && !slices.Contains(c.Weekdays, t.Weekday()) {
		return false
	}
	if c.Between != nil && !c.Between.contains(t.Hour()*60+t.Minute()) {
		return false
	}
	return true
}

// terminal carries out a final node.
func (s *Session) terminal(n *Node) {
	var o Outcome
	switch n.Type {
	case NodeQueue:
		s.emit(s.enqueue(n))
		o = OutcomeQueued
	case NodeVoicemail:
		s.emit(Action{Kind: ActVoicemail, MaxDuration: n.MaxDuration})
		o = OutcomeVoicemail
	case NodeCallback:
		s.emit(Action{Kind: ActCallback, Number: s.expand(orElse(n.Number, "${caller.number}"))})
		o = OutcomeCallback
	case NodeTransfer:
		s.emit(Action{Kind: ActTransfer, Number: s.expand(n.Number)})
		o = OutcomeTransferred
	default:
		s.emit(Action{Kind: ActHangUp})
		o = OutcomeHungUp
	}
	s.clearNode(true)
	s.finish(o)
}

func (s *Session) enqueue(n *Node) Action {
	a := Action{Kind: ActEnqueue, OnWait: n.OnWait}
	a.Queue = s.expand(orElse(n.Queue, "${queue}"))
	if a.Queue == "" {
		a.Queue = "default"
	}
	skills := map[string]int{}
	for _, sk := range n.Skills {
		skills[sk.Name] = max(skills[sk.Name], sk.Min)
	}
	for item := range strings.SplitSeq(s.expand(orElse(n.SkillsVar, "${skills}")), ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, lvl, _ := strings.Cut(item, ":")
		m, err := strconv.Atoi(orElse(lvl, "0"))
		if err != nil || !idRE.MatchString(name) {
			s.path("error", s.mask("bad skill "+item))
			continue
		}
		skills[name] = max(skills[name], m)
	}
	for _, k := range sortedKeys(skills) {
		a.Skills = append(a.Skills, SkillReq{Name: k, Min: skills[k]})
	}
	if p := strings.TrimSpace(s.expand(orElse(n.Priority, "${priority}"))); p != "" {
		v, err := strconv.Atoi(p)
		if err != nil {
			s.path("error", s.mask("bad priority "+p))
		}
		a.Priority = v
	}
	attrs := map[string]string{}
	if l := s.st.Vars["language"]; l != "" {
		attrs["language"] = l
	}
	for _, at := range n.Attributes {
		if v := s.mask(s.expand(at.Value)); v != "" {
			attrs[at.Name] = v
		}
	}
	if len(attrs) > 0 {
		a.Attributes = attrs
	}
	return a
}

// Mask hides the session's sensitive values inside text, for logs of
// actions that must carry them raw (a Lookup by a sensitive account number).
func (s *Session) Mask(text string) string { return s.mask(text) }
