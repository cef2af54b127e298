package queue

import (
	"fmt"
	"time"
)

// State is an agent's server-authoritative state.
type State uint8

// Agent states. The zero value is LoggedOut so a fresh agent needs no setup.
const (
	LoggedOut State = iota
	NotReady
	Ready
	Reserved
	OnCall
	WrapUp
	NumStates // number of states; sizes per-state arrays
)

var stateNames = [...]string{"LoggedOut", "NotReady", "Ready", "Reserved", "OnCall", "WrapUp"}

func (s State) String() string {
	if s < NumStates {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Strategy picks among several eligible Ready agents of a queue.
type Strategy uint8

// Strategies. LongestIdle is the default because it spreads work most evenly.
const (
	LongestIdle     Strategy = iota // longest in Ready first
	FewestCalls                     // fewest answered calls today, then longest idle
	RoundRobin                      // least recently offered a call of this queue
	BestProficiency                 // highest level in the first required skill, then longest idle
)

var strategyNames = [...]string{"longest-idle", "fewest-calls", "round-robin", "best-proficiency"}

func (s Strategy) String() string {
	if int(s) < len(strategyNames) {
		return strategyNames[s]
	}
	return fmt.Sprintf("Strategy(%d)", uint8(s))
}

// MarshalText writes the strategy's name so stored configs stay readable.
func (s Strategy) MarshalText() ([]byte, error) {
	if int(s) >= len(strategyNames) {
		return nil, fmt.Errorf("queue: unknown strategy %d", uint8(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText accepts the names written by MarshalText.
func (s *Strategy) UnmarshalText(b []byte) error {
	for i, n := range strategyNames {
		if n == string(b) {
			*s = Strategy(i)
			return nil
		}
	}
	return fmt.Errorf("queue: unknown strategy %q", b)
}

// NoAgents says what a queue does with a call when none of its agents is logged in.
type NoAgents uint8

// No-agents behaviours.
const (
	NoAgentsWait     NoAgents = iota // keep the call waiting (escalation and max wait still apply)
	NoAgentsOverflow                 // overflow to the queue's overflow target at once
)

var noAgentsNames = [...]string{"wait", "overflow"}

func (n NoAgents) String() string {
	if int(n) < len(noAgentsNames) {
		return noAgentsNames[n]
	}
	return fmt.Sprintf("NoAgents(%d)", uint8(n))
}

// MarshalText writes the behaviour's name.
func (n NoAgents) MarshalText() ([]byte, error) {
	if int(n) >= len(noAgentsNames) {
		return nil, fmt.Errorf("queue: unknown no-agents behaviour %d", uint8(n))
	}
	return []byte(n.String()), nil
}

// UnmarshalText accepts the names written by MarshalText.
func (n *NoAgents) UnmarshalText(b []byte) error {
	for i, s := range noAgentsNames {
		if s == string(b) {
			*n = NoAgents(i)
			return nil
		}
	}
	return fmt.Errorf("queue: unknown no-agents behaviour %q", b)
}

// SkillReq requires a skill at a minimum proficiency (1–10).
type SkillReq struct {
	Skill string `json:"skill"`
	Min   int    `json:"min"`
}

func (r SkillReq) String() string { return fmt.Sprintf("%s>=%d", r.Skill, r.Min) }

// QueueConfig configures one queue. Zero durations mean "off" except where noted.
type QueueConfig struct {
	Name     string   `json:"name"`
	Strategy Strategy `json:"strategy"`
	// Service-level target: SLPercent of calls answered within SLTarget.
	SLTarget  time.Duration `json:"sl_target"`
	SLPercent float64       `json:"sl_percent"`
	// ShortAbandon: calls abandoned sooner do not count in service level nor abandon rate.
	ShortAbandon time.Duration `json:"short_abandon"`
	WrapUp       time.Duration `json:"wrap_up"`
	// OfferTimeout is how long an offer rings before RONA; 0 means DefaultOfferTimeout.
	OfferTimeout time.Duration `json:"offer_timeout"`
	// MaxWait sends a call to Overflow after this long in the queue.
	MaxWait  time.Duration `json:"max_wait"`
	Overflow string        `json:"overflow"` // another queue, "voicemail", "callback"… the engine interprets it
	// MaxLength refuses (overflows) arrivals when this many calls wait; 0 is unlimited.
	MaxLength int      `json:"max_length"`
	NoAgents  NoAgents `json:"no_agents"`
	Steps     []Step   `json:"steps"`
	// AnnounceEvery re-evaluates each waiting call's position and EWT this often and
	// announces them if they changed; 0 announces only on arrival.
	AnnounceEvery time.Duration `json:"announce_every"`
	// DefaultHandle is the handle time assumed for EWT before any call was handled; 0 means 3 min.
	DefaultHandle time.Duration `json:"default_handle"`
	// Location sets "today" for statistics. Loading it is the caller's job; nil is UTC.
	Location *time.Location `json:"-"`
}

// DefaultOfferTimeout applies when a queue sets no offer timeout.
const DefaultOfferTimeout = 20 * time.Second

// AgentConfig configures one agent: skills (name → proficiency 1–10) and queue memberships.
type AgentConfig struct {
	ID     string         `json:"id"`
	Skills map[string]int `json:"skills"`
	Queues []string       `json:"queues"`
}

// Config builds a Router.
type Config struct {
	Queues []QueueConfig
	Agents []AgentConfig
	// TraceLimit is how many routing traces are kept; 0 means 100.
	TraceLimit int
	// Location sets the day boundary of agents' "calls today" (FewestCalls); nil is UTC.
	Location *time.Location
}

// EventKind names an input of the router.
type EventKind uint8

// Events. Each is idempotent: repeating it changes nothing and returns no error.
const (
	Tick              EventKind = iota // only fires due timers
	AgentLogin                         // LoggedOut → NotReady(Reason or "login")
	AgentLogout                        // → LoggedOut, or pending after the current call
	SetState                           // Ready, or NotReady(Reason); pending while busy
	CallArrived                        // Call with Arrival enters its queue
	CallLeft                           // the caller abandoned (or the callback was dropped)
	OfferAccepted                      // Agent answered Call → OnCall
	OfferRejected                      // Agent declined → NotReady("rejected"), call back in line
	OfferTimedOut                      // RONA: → NotReady("missed"), call back in line
	CallEnded                          // the connected call ended → WrapUp
	WrapUpDone                         // Agent finished wrap-up early
	CallbackRequested                  // Call leaves the line but keeps its place
	numEventKinds
)

var eventNames = [...]string{"Tick", "AgentLogin", "AgentLogout", "SetState", "CallArrived", "CallLeft",
	"OfferAccepted", "OfferRejected", "OfferTimedOut", "CallEnded", "WrapUpDone", "CallbackRequested"}

func (k EventKind) String() string {
	if k < numEventKinds {
		return eventNames[k]
	}
	return fmt.Sprintf("EventKind(%d)", uint8(k))
}

// Event is one input to Apply. Only the fields its Kind documents are read.
type Event struct {
	Kind    EventKind `json:"kind"`
	Agent   string    `json:"agent,omitempty"`
	Call    string    `json:"call,omitempty"`
	Ready   bool      `json:"ready,omitempty"`  // SetState: true for Ready, false for NotReady(Reason)
	Reason  string    `json:"reason,omitempty"` // SetState, AgentLogin
	Arrival *Arrival  `json:"arrival,omitempty"`
}

// Arrival describes a call entering a queue. Its enqueued-at time is the Apply time.
type Arrival struct {
	Queue    string     `json:"queue"`
	Priority int        `json:"priority"` // 0–9, higher first
	Skills   []SkillReq `json:"skills,omitempty"`
	// Preferred agent and until when only they may take the call.
	Preferred      string            `json:"preferred,omitempty"`
	PreferredUntil time.Time         `json:"preferred_until,omitzero"`
	Attributes     map[string]string `json:"attributes,omitempty"`
}

// DecisionKind names an output of the router.
type DecisionKind uint8

// Decisions the engine must carry out.
const (
	Offer             DecisionKind = iota // ring Agent with Call until Deadline
	DialCallback                          // Agent is reserved: dial the callback Call, answer by Deadline
	CancelOffer                           // stop ringing Agent with Call (Reason: timeout, abandoned, logout)
	Overflow                              // Call left the queue for Target (Reason: max wait, escalation, full, no agents)
	Announce                              // tell Call its Position and EWT
	AgentStateChanged                     // Agent is now in State (Reason for NotReady)
	numDecisionKinds
)

var decisionNames = [...]string{"Offer", "DialCallback", "CancelOffer", "Overflow", "Announce", "AgentStateChanged"}

func (k DecisionKind) String() string {
	if k < numDecisionKinds {
		return decisionNames[k]
	}
	return fmt.Sprintf("DecisionKind(%d)", uint8(k))
}

// Decision is one output of Apply.
type Decision struct {
	Kind     DecisionKind  `json:"kind"`
	Call     string        `json:"call,omitempty"`
	Agent    string        `json:"agent,omitempty"`
	Queue    string        `json:"queue,omitempty"`
	Deadline time.Time     `json:"deadline,omitzero"`
	Target   string        `json:"target,omitempty"`
	Reason   string        `json:"reason,omitempty"`
	Position int           `json:"position,omitempty"`
	EWT      time.Duration `json:"ewt,omitempty"` // negative: unknown (no agent working)
	State    State         `json:"state,omitempty"`
	Trace    *Trace        `json:"trace,omitempty"`
}

// Code classifies an Error.
type Code uint8

// Error codes, in the spirit of the project's application errors.
const (
	EInvalid  Code = iota + 1 // malformed input
	ENotFound                 // unknown agent or queue
	EConflict                 // the event does not fit the agent's or call's state
)

var codeNames = [...]string{"", "EINVALID", "ENOTFOUND", "ECONFLICT"}

func (c Code) String() string {
	if int(c) < len(codeNames) {
		return codeNames[c]
	}
	return fmt.Sprintf("Code(%d)", uint8(c))
}

// Error is the only error type Apply returns; State and Event name an invalid transition.
type Error struct {
	Code  Code
	Event EventKind
	Agent string
	Call  string
	State State
	Msg   string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("queue: %s: %s", e.Code, e.Event)
	if e.Agent != "" {
		s += fmt.Sprintf(" agent %q", e.Agent)
		if e.Code == EConflict {
			s += " in state " + e.State.String()
		}
	}
	if e.Call != "" {
		s += fmt.Sprintf(" call %q", e.Call)
	}
	return s + ": " + e.Msg
}
