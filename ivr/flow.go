package ivr

import (
	"regexp"
	"time"
)

// NodeType is the kind of a flow node.
type NodeType int

// Node types. The YAML spelling is the lower-case name.
const (
	NodeInvalid NodeType = iota
	NodePlay
	NodeMenu
	NodeCollect
	NodeLookup
	NodeBranch
	NodeSet
	NodeQueue
	NodeVoicemail
	NodeCallback
	NodeTransfer
	NodeHangup
	NodeGoto
	NodeSubflow
	NodeReturn
)

var nodeTypeNames = [...]string{
	NodeInvalid:   "invalid",
	NodePlay:      "play",
	NodeMenu:      "menu",
	NodeCollect:   "collect",
	NodeLookup:    "lookup",
	NodeBranch:    "branch",
	NodeSet:       "set",
	NodeQueue:     "queue",
	NodeVoicemail: "voicemail",
	NodeCallback:  "callback",
	NodeTransfer:  "transfer",
	NodeHangup:    "hangup",
	NodeGoto:      "goto",
	NodeSubflow:   "subflow",
	NodeReturn:    "return",
}

func (t NodeType) String() string {
	if t < 0 || int(t) >= len(nodeTypeNames) {
		return "invalid"
	}
	return nodeTypeNames[t]
}

// terminal reports whether the node ends the flow (after its optional prompts).
func (t NodeType) terminal() bool {
	switch t {
	case NodeQueue, NodeVoicemail, NodeCallback, NodeTransfer, NodeHangup:
		return true
	}
	return false
}

// Pos is a position in a flow file, 1-based.
type Pos struct {
	Line, Col int
}

// Flow is one parsed and validated IVR flow (one YAML file).
type Flow struct {
	ID      string
	File    string
	Version string   // content hash of the file, to tell reloads apart
	Numbers []string // dialed numbers bound to this flow
	Default bool     // the flow for numbers bound to no flow
	Start   string
	Hours   *Calendar // nil when the flow declares no business hours
	Nodes   map[string]*Node
	Pos     Pos
}

// Location is the flow's time zone (the calendar's), UTC when none is set.
func (f *Flow) Location() *time.Location {
	if f.Hours != nil && f.Hours.Location != nil {
		return f.Hours.Location
	}
	return time.UTC
}

// Node is one step of a flow. It is a union: which fields matter depends on
// Type (see the field comments).
type Node struct {
	ID   string
	Type NodeType
	Pos  Pos

	// Prompts are played on entry (play, menu, collect) or before the
	// terminal action (queue, voicemail, callback, transfer, hangup).
	Prompts []Prompt
	// Interruptible lets a digit stop the prompt (barge-in). Default true for
	// menu and collect, false otherwise.
	Interruptible bool
	// Next is the following node (play, collect, lookup, set, goto, subflow).
	Next string

	// menu and collect
	Options        []Option // menu: key → target, in file order
	Timeout        time.Duration
	Retries        int
	InvalidPrompts []Prompt
	TimeoutPrompts []Prompt
	OnFail         string // after the retries are used up; empty hangs up

	// collect
	MinDigits, MaxDigits int
	Terminator           string // "#" by default; "" disables
	FirstDigit           time.Duration
	InterDigit           time.Duration
	Overall              time.Duration // 0: none
	Pattern              *regexp.Regexp
	Sensitive            bool
	Var                  string // variable set; input.<node id> by default

	// lookup
	By       string // "caller" or "account"
	Key      string // template of the account number; ${input.account} by default
	NotFound string // target when the customer is unknown; Next by default

	// branch
	Cases []Case
	Else  string

	// set (and queue attributes)
	Assign []Assign

	// queue
	Queue      string // template; ${queue} by default
	Skills     []SkillReq
	SkillsVar  string // template holding "skill:min,…", ${skills} by default
	Priority   string // template; ${priority} by default
	Attributes []Assign
	OnWait     *WaitHook

	// voicemail
	MaxDuration time.Duration

	// callback, transfer: the number (template)
	Number string

	// subflow
	Flow string

	fieldPos map[string]Pos // positions of the node's fields, for errors
}

// posOf returns the position of a field, or the node's position.
func (n *Node) posOf(field string) Pos {
	if p, ok := n.fieldPos[field]; ok {
		return p
	}
	return n.Pos
}

// Option is one menu choice.
type Option struct {
	Key    string // one of 0-9 * #
	Target string
	Pos    Pos
}

// SayKind is how a say prompt speaks its value.
type SayKind int

// Say kinds.
const (
	SayNone SayKind = iota
	SayDigits
	SayNumber
	SayDate
	SayAmount
)

var sayNames = [...]string{"", "digits", "number", "date", "amount"}

func (k SayKind) String() string {
	if k < 0 || int(k) >= len(sayNames) {
		return "invalid"
	}
	return sayNames[k]
}

// Prompt is a sound to play or a value to say.
type Prompt struct {
	Sound string  `json:",omitempty"` // Asterisk sound name, e.g. sb/welcome or beep
	Say   SayKind `json:",omitempty"`
	Value string  `json:",omitempty"` // template of the value said
	Pos   Pos     `json:"-"`
}

// Case is one branch condition and its target.
type Case struct {
	When Cond
	Goto string
	Pos  Pos
}

// Cond is a conjunction of tests; an empty Cond is true.
type Cond struct {
	Var     string   // variable tested by Eq, Ne, In, Matches, IsSet
	Eq      *string  // equal to
	Ne      *string  // not equal to
	In      []string // one of
	Matches *regexp.Regexp
	IsSet   *bool // variable non-empty (true) or empty (false)

	Open     *bool // within business hours (and not a holiday)
	Holiday  *bool // today is a holiday
	Weekdays []time.Weekday
	Between  *TimeRange // local time of day
}

// Assign sets a variable to a template.
type Assign struct {
	Name, Value string
	Pos         Pos
}

// SkillReq asks for a skill at a minimum proficiency.
type SkillReq struct {
	Name string
	Min  int
}

// WaitHook asks the engine to run another flow once the caller has waited in
// the queue for After (e.g. a callback offer).
type WaitHook struct {
	After time.Duration
	Flow  string
}

// TimeRange is a span of the day, [From, To) in minutes since midnight.
type TimeRange struct {
	From, To int
}

func (r TimeRange) contains(min int) bool { return min >= r.From && min < r.To }

// Calendar is a business-hours calendar: weekly opening hours in a time zone,
// and holiday dates on which the business is closed.
type Calendar struct {
	Location *time.Location
	Weekly   [7][]TimeRange  // indexed by time.Weekday
	Holidays map[string]bool // "2006-01-02" in Location
}

// Holiday reports whether t falls on a holiday.
func (c *Calendar) Holiday(t time.Time) bool {
	return c.Holidays[t.In(c.Location).Format(time.DateOnly)]
}

// Open reports whether t is within opening hours and not on a holiday.
func (c *Calendar) Open(t time.Time) bool {
	lt := t.In(c.Location)
	if c.Holiday(lt) {
		return false
	}
	m := lt.Hour()*60 + lt.Minute()
	for _, r := range c.Weekly[lt.Weekday()] {
		if r.contains(m) {
			return true
		}
	}
	return false
}
