package cti

import (
	"context"
	"time"
)

// AgentState is the live state of an agent, as the queue engine keeps it.
type AgentState string

const (
	AgentLoggedOut AgentState = "logged-out"
	AgentNotReady  AgentState = "not-ready"
	AgentReady     AgentState = "ready"
	AgentReserved  AgentState = "reserved" // an offer is ringing
	AgentOnCall    AgentState = "on-call"
	AgentWrapUp    AgentState = "wrap-up"
)

// AgentStatus is an agent's live state as the desktops and the wallboard show it.
type AgentStatus struct {
	AgentID     string     `json:"agent_id"`
	Login       string     `json:"login"`
	DisplayName string     `json:"display_name"`
	State       AgentState `json:"state"`
	Reason      string     `json:"reason,omitempty"`  // not-ready reason code
	Pending     string     `json:"pending,omitempty"` // not-ready reason to apply after the current call
	Since       time.Time  `json:"since"`
	Deadline    time.Time  `json:"deadline,omitzero"` // end of the offer or of wrap-up
	CallID      string     `json:"call_id,omitempty"`
	Connected   bool       `json:"connected"` // the desktop is open
}

// CallState is where a live call stands.
type CallState string

const (
	CallIVR        CallState = "ivr"
	CallQueued     CallState = "queued"
	CallRinging    CallState = "ringing" // offered to an agent
	CallConnected  CallState = "connected"
	CallHeld       CallState = "held"
	CallConsulting CallState = "consulting" // the agent talks to a transfer target, the customer holds
	CallConference CallState = "conference"
	CallEnded      CallState = "ended"
)

// CallView is a live call as the desktops and the wallboard show it.
type CallView struct {
	ID           string    `json:"id"` // the interaction id
	State        CallState `json:"state"`
	Direction    Direction `json:"direction"`
	Channel      Channel   `json:"channel"`
	Queue        string    `json:"queue,omitempty"`
	Caller       Party     `json:"caller"`
	CustomerID   string    `json:"customer_id,omitempty"`
	CustomerName string    `json:"customer_name,omitempty"`
	Tier         Tier      `json:"tier,omitempty"`
	AgentID      string    `json:"agent_id,omitempty"`
	ArrivedAt    time.Time `json:"arrived_at"`
	AnsweredAt   time.Time `json:"answered_at,omitzero"`
	Recording    string    `json:"recording,omitempty"` // "on", "paused" or ""
	Monitors     []Monitor `json:"monitors,omitempty"`
	Outcome      Outcome   `json:"outcome,omitempty"` // when ended
}

// Monitor is a supervisor listening to, whispering into or barged into a call.
type Monitor struct {
	SupervisorID string      `json:"supervisor_id"`
	Mode         MonitorMode `json:"mode"`
}

// MonitorMode is how a supervisor joins a call.
type MonitorMode string

const (
	MonitorListen  MonitorMode = "listen"  // hears both sides, nobody hears them
	MonitorWhisper MonitorMode = "whisper" // hears both sides, only the agent hears them
	MonitorBarge   MonitorMode = "barge"   // joins the conversation
	MonitorStop    MonitorMode = "stop"
)

// ScreenPop is what the agent's desktop shows the moment a call is offered: who calls, their history, what they did in the IVR
// and the script to follow.
type ScreenPop struct {
	InteractionID string            `json:"interaction_id"`
	Queue         string            `json:"queue"`
	Caller        Party             `json:"caller"`
	Wait          time.Duration     `json:"wait"`
	Customer      *Customer         `json:"customer,omitempty"` // nil: unknown caller
	Timeline      []Interaction     `json:"timeline,omitempty"` // the latest interactions, newest first
	IVRPath       []IVRStep         `json:"ivr_path,omitempty"`
	Inputs        map[string]string `json:"inputs,omitempty"` // sensitive ones masked
	Script        *RenderedScript   `json:"script,omitempty"`
	Dispositions  []Disposition     `json:"dispositions,omitempty"`
	Deadline      time.Time         `json:"deadline"` // the offer rings until then
}

// RenderedScript is a call script with the customer's fields filled in.
type RenderedScript struct {
	ScriptID string `json:"script_id"`
	Version  int    `json:"version"`
	Title    string `json:"title"`
	Body     string `json:"body"` // HTML-safe Markdown, see RenderScript
}

// QueueStatus is a queue's live statistics for the wallboard.
type QueueStatus struct {
	Queue          string             `json:"queue"`
	Waiting        int                `json:"waiting"`
	LongestWait    time.Duration      `json:"longest_wait"`
	Agents         map[AgentState]int `json:"agents"`
	Offered        int                `json:"offered"`  // today
	Answered       int                `json:"answered"` // today
	Abandoned      int                `json:"abandoned"`
	Overflowed     int                `json:"overflowed"`
	ServiceLevel   float64            `json:"service_level"`     // today, 0..1
	ServiceLevel15 float64            `json:"service_level_15m"` // last 15 minutes
	Offered15      int                `json:"offered_15m"`       // calls the 15-minute figures count; 0: no figure yet
	ASA            time.Duration      `json:"asa"`
	AHT            time.Duration      `json:"aht"`
	AbandonRate    float64            `json:"abandon_rate"`
	At             time.Time          `json:"at"`
}

// Notifier pushes live state to browsers. The agent-ui hub implements it. Its methods never block the engine: a slow desktop is
// dropped and re-syncs from Desk.Snapshot.
type Notifier interface {
	// Offer rings an agent's desktop with the screen-pop.
	Offer(agentID string, pop ScreenPop)
	// Call reports a call's new state to its agent and to supervisors.
	Call(c CallView)
	// Agent reports an agent's new state to that agent and to supervisors.
	Agent(s AgentStatus)
	// Queues reports queue statistics to supervisors (coalesced by the hub).
	Queues(qs []QueueStatus)
}

// TransferKind is blind (the call goes at once) or consult (the agent talks to the target first).
type TransferKind string

const (
	TransferBlind   TransferKind = "blind"
	TransferConsult TransferKind = "consult"
)

// TransferRequest names exactly one target.
type TransferRequest struct {
	Kind    TransferKind `json:"kind"`
	Queue   string       `json:"queue,omitempty"`
	AgentID string       `json:"agent_id,omitempty"`
	Number  string       `json:"number,omitempty"`
}

// StateRequest is an agent's own choice of state. With Pending, it applies once the current call and wrap-up end.
type StateRequest struct {
	Ready   bool   `json:"ready"`
	Reason  string `json:"reason,omitempty"`
	Pending bool   `json:"pending,omitempty"`
}

// WrapUpRequest ends or extends an agent's wrap-up and records the disposition and notes on the interaction.
type WrapUpRequest struct {
	InteractionID string        `json:"interaction_id"`
	Disposition   string        `json:"disposition,omitempty"`
	Notes         string        `json:"notes,omitempty"`
	Done          bool          `json:"done"`             // ready now (or to the pending state)
	Extend        time.Duration `json:"extend,omitempty"` // more wrap-up time
}

// DeskSnapshot is the whole live state, for a desktop or wallboard (re)connecting.
type DeskSnapshot struct {
	Seq    uint64        `json:"seq"` // the sequence number of the last change included
	Agents []AgentStatus `json:"agents"`
	Calls  []CallView    `json:"calls"`
	Queues []QueueStatus `json:"queues"`
}

// RoutingTrace explains why a call went to an agent: the escalation step in force, the candidates and why others were skipped.
type RoutingTrace struct {
	CallID  string    `json:"call_id"`
	AgentID string    `json:"agent_id"`
	Queue   string    `json:"queue"`
	At      time.Time `json:"at"`
	Step    int       `json:"step"`
	Summary string    `json:"summary"`
	Skipped []string  `json:"skipped,omitempty"` // "agent2: not ready (lunch)", "agent3: billing 3 < 7"
}

// Desk is what agents' desktops and supervisors ask of the engine. actor is the signed-in staff member; the engine checks that
// an agent acts on their own calls only (EFORBIDDEN otherwise) and the web layer checks roles before calling.
type Desk interface {
	Login(ctx context.Context, agentID string) error
	Logout(ctx context.Context, agentID string) error
	SetState(ctx context.Context, agentID string, s StateRequest) error
	// Presence reports whether the agent's desktop is connected; a desktop gone for longer than the grace period makes the agent
	// NotReady("disconnected") so no call rings a closed tab.
	Presence(agentID string, connected bool)
	AcceptOffer(ctx context.Context, agentID string) error
	RejectOffer(ctx context.Context, agentID string) error
	Hold(ctx context.Context, agentID string, on bool) error
	Hangup(ctx context.Context, agentID string) error
	Transfer(ctx context.Context, agentID string, t TransferRequest) error
	CompleteTransfer(ctx context.Context, agentID string) error
	CancelTransfer(ctx context.Context, agentID string) error
	Conference(ctx context.Context, agentID string) error
	PauseRecording(ctx context.Context, agentID string, paused bool) error
	// Dial calls a customer for an agent: the agent's phone rings first, then the customer's number.
	Dial(ctx context.Context, agentID, number, customerID string) error
	WrapUp(ctx context.Context, agentID string, w WrapUpRequest) error
	Monitor(ctx context.Context, supervisorID, agentID string, mode MonitorMode) error
	Snapshot(ctx context.Context) (DeskSnapshot, error)
	Trace(ctx context.Context, callID string) (*RoutingTrace, error)
}
