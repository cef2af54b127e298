package cti

import (
	"encoding/json"
	"maps"
	"time"
)

// The CRM vocabulary: who calls (Customer), what happened on each contact (Interaction), and how the contact center is configured
// (agents, queues, scripts, dispositions, reason codes). The enums below are strings because they are stored and exchanged as text;
// each has Valid so adapters reject unknown values at the edge.

// Tier is a customer's value segment; the top tiers get priority in the queue (the CRM "80/20" view).
type Tier string

const (
	TierPlatinum Tier = "platinum"
	TierGold     Tier = "gold"
	TierStandard Tier = "standard"
)

// Valid reports whether t is a known tier.
func (t Tier) Valid() bool { return t == TierPlatinum || t == TierGold || t == TierStandard }

// PhoneKind says what a number is for.
type PhoneKind string

const (
	PhoneMobile PhoneKind = "mobile"
	PhoneWork   PhoneKind = "work"
	PhoneHome   PhoneKind = "home"
)

// Valid reports whether k is a known kind.
func (k PhoneKind) Valid() bool { return k == PhoneMobile || k == PhoneWork || k == PhoneHome }

// Phone is one number of a customer. Number is E.164 once stored; on input it may be in any common format.
type Phone struct {
	Number string    `json:"number"`
	Kind   PhoneKind `json:"kind"`
}

// Email is one address of a customer, stored lower-cased.
type Email struct {
	Address string `json:"address"`
}

// Customer is a person or account the contact center serves. Version increases with every write; an update must carry the version
// it read, so two agents editing one customer never silently overwrite each other.
type Customer struct {
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Company  string            `json:"company,omitempty"`
	Language string            `json:"language,omitempty"` // BCP 47, e.g. "zh-CN"
	Tier     Tier              `json:"tier"`
	Tags     []string          `json:"tags,omitempty"`
	Notes    string            `json:"notes,omitempty"`
	Fields   map[string]string `json:"fields,omitempty"` // custom fields, shown on the screen-pop and usable in scripts
	// OwnerAgentID is the agent this customer prefers (sticky routing); empty when none.
	OwnerAgentID string    `json:"owner_agent_id,omitempty"`
	Phones       []Phone   `json:"phones"`
	Emails       []Email   `json:"emails"`
	CreatedAt    time.Time `json:"created_at,omitzero"`
	UpdatedAt    time.Time `json:"updated_at,omitzero"`
	Version      int64     `json:"version"`
}

// Channel is how a contact reached us.
type Channel string

const (
	ChannelPhone    Channel = "phone"
	ChannelWebRTC   Channel = "webrtc"
	ChannelCallback Channel = "callback"
)

// Valid reports whether c is a known channel.
func (c Channel) Valid() bool { return c == ChannelPhone || c == ChannelWebRTC || c == ChannelCallback }

// Direction of a contact, seen from the contact center.
type Direction string

const (
	Inbound  Direction = "inbound"
	Outbound Direction = "outbound"
)

// Valid reports whether d is a known direction.
func (d Direction) Valid() bool { return d == Inbound || d == Outbound }

// Outcome is how a contact ended; empty while it is live.
type Outcome string

const (
	OutcomeAnswered          Outcome = "answered"
	OutcomeAbandoned         Outcome = "abandoned"
	OutcomeOverflowed        Outcome = "overflowed"
	OutcomeVoicemail         Outcome = "voicemail"
	OutcomeCallbackRequested Outcome = "callback-requested"
	OutcomeFailed            Outcome = "failed"
)

// Valid reports whether o is a known outcome (the empty outcome of a live contact is not).
func (o Outcome) Valid() bool {
	switch o {
	case OutcomeAnswered, OutcomeAbandoned, OutcomeOverflowed, OutcomeVoicemail, OutcomeCallbackRequested, OutcomeFailed:
		return true
	}
	return false
}

// IVRStep is one node the caller went through. A Sensitive step's input (a PIN, a card number) is masked before it is stored, and
// so is the collected input of the same Var.
type IVRStep struct {
	Node      string    `json:"node"`
	Var       string    `json:"var,omitempty"`   // the variable the input was collected into, e.g. "account"
	Input     string    `json:"input,omitempty"` // DTMF or recognised speech
	Event     string    `json:"event,omitempty"` // what happened there: input, invalid, timeout, found, not-found, failed, hangup
	Sensitive bool      `json:"sensitive,omitempty"`
	At        time.Time `json:"at,omitzero"`
}

// Masked is what a sensitive input is stored as.
const Masked = "****"

// RecordingRef points at a call recording kept outside the database.
type RecordingRef struct {
	File     string        `json:"file"`
	Size     int64         `json:"size"`
	SHA256   string        `json:"sha256"` // hex
	Duration time.Duration `json:"-"`
}

// MarshalJSON writes the duration in milliseconds.
func (r RecordingRef) MarshalJSON() ([]byte, error) {
	type plain RecordingRef
	return json.Marshal(struct {
		plain
		DurationMS int64 `json:"duration_ms"`
	}{plain(r), r.Duration.Milliseconds()})
}

// Durations of the phases of a contact.
type Durations struct {
	IVR    time.Duration
	Wait   time.Duration
	Talk   time.Duration
	Hold   time.Duration
	WrapUp time.Duration
}

type durationsJSON struct {
	IVR    int64 `json:"ivr_ms"`
	Wait   int64 `json:"wait_ms"`
	Talk   int64 `json:"talk_ms"`
	Hold   int64 `json:"hold_ms"`
	WrapUp int64 `json:"wrap_up_ms"`
}

// MarshalJSON writes each duration in milliseconds.
func (d Durations) MarshalJSON() ([]byte, error) {
	return json.Marshal(durationsJSON{d.IVR.Milliseconds(), d.Wait.Milliseconds(), d.Talk.Milliseconds(), d.Hold.Milliseconds(),
		d.WrapUp.Milliseconds()})
}

// UnmarshalJSON reads durations in milliseconds.
func (d *Durations) UnmarshalJSON(b []byte) error {
	var j durationsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	ms := time.Millisecond
	*d = Durations{time.Duration(j.IVR) * ms, time.Duration(j.Wait) * ms, time.Duration(j.Talk) * ms, time.Duration(j.Hold) * ms,
		time.Duration(j.WrapUp) * ms}
	return nil
}

// Interaction is one contact (a call, a web call, a callback), from arrival to disposition. Zero times are "not yet".
type Interaction struct {
	ID           string    `json:"id"` // UUIDv7
	Channel      Channel   `json:"channel"`
	Direction    Direction `json:"direction"`
	CustomerID   string    `json:"customer_id,omitempty"` // empty for an unknown caller
	CallerNumber string    `json:"caller_number,omitempty"`
	DialedNumber string    `json:"dialed_number,omitempty"`
	Queue        string    `json:"queue,omitempty"`
	AgentID      string    `json:"agent_id,omitempty"`

	ArrivedAt  time.Time `json:"arrived_at"`
	QueuedAt   time.Time `json:"queued_at,omitzero"`
	OfferedAt  time.Time `json:"offered_at,omitzero"`
	AnsweredAt time.Time `json:"answered_at,omitzero"`
	EndedAt    time.Time `json:"ended_at,omitzero"`
	Durations  Durations `json:"durations"`

	Outcome     Outcome           `json:"outcome,omitempty"`
	IVRPath     []IVRStep         `json:"ivr_path,omitempty"`
	Inputs      map[string]string `json:"inputs,omitempty"` // collected IVR variables; sensitive ones masked
	Disposition string            `json:"disposition,omitempty"`
	Notes       string            `json:"notes,omitempty"`
	Recording   *RecordingRef     `json:"recording,omitempty"`
	ParentID    string            `json:"parent_id,omitempty"` // the interaction this one was transferred from
	ChannelID   string            `json:"channel_id,omitempty"`
	BridgeID    string            `json:"bridge_id,omitempty"`
	// ScriptID and ScriptVersion record which call script the agent saw.
	ScriptID      string `json:"script_id,omitempty"`
	ScriptVersion int    `json:"script_version,omitempty"`
}

// InteractionUpdate is a partial update of a live interaction: nil fields are left as they are. IVRPath, when non-nil, replaces the
// path; Inputs are merged into the stored ones.
type InteractionUpdate struct {
	CustomerID    *string
	Queue         *string
	AgentID       *string
	QueuedAt      *time.Time
	OfferedAt     *time.Time
	AnsweredAt    *time.Time
	IVRPath       []IVRStep
	Inputs        map[string]string
	Recording     *RecordingRef
	ChannelID     *string
	BridgeID      *string
	ScriptID      *string
	ScriptVersion *int
}

// InteractionFinish ends an interaction. Finishing twice with the same values is not an error (a retry after a crash); with
// different values it is a conflict.
type InteractionFinish struct {
	Outcome   Outcome
	EndedAt   time.Time
	Durations Durations
}

// InteractionWrite is one change of an interaction as InteractionWriter takes it: exactly one of Start, Update, Finish and
// Disposition is set; ID names the interaction (Start.ID when Start is set).
type InteractionWrite struct {
	ID          string
	Start       *Interaction
	Update      *InteractionUpdate
	Finish      *InteractionFinish
	Disposition *DispositionWrite
	// AgentState records an agent's state change in the history the reports read (ID is unused). It rides with the
	// interaction writes so that closing a wrap-up, which adds to its interaction's wrap-up time, comes after that
	// interaction's start.
	AgentState *AgentStatus
}

// DispositionWrite is the wrap-up code and notes an agent chose (see InteractionLog.SetDisposition).
type DispositionWrite struct {
	AgentID string
	Code    string
	Notes   string
}

// Kind names the write for logs: start, update, finish, disposition or agent-state.
func (w InteractionWrite) Kind() string {
	switch {
	case w.Start != nil:
		return "start"
	case w.Update != nil:
		return "update"
	case w.Finish != nil:
		return "finish"
	case w.Disposition != nil:
		return "disposition"
	case w.AgentState != nil:
		return "agent-state"
	}
	return "empty"
}

// Mergeable reports whether u.Merge(v) has the effect of applying u then v. It does not when both move the interaction to
// different queues: the store keeps the first queue as the one the call overflowed from.
func (u *InteractionUpdate) Mergeable(v InteractionUpdate) bool {
	return u.Queue == nil || v.Queue == nil || *u.Queue == *v.Queue
}

// Merge folds a later update v into u: v's set fields win, IVRPath is replaced when v has one, Inputs are merged.
func (u *InteractionUpdate) Merge(v InteractionUpdate) {
	set := func(dst **string, src *string) {
		if src != nil {
			*dst = src
		}
	}
	setT := func(dst **time.Time, src *time.Time) {
		if src != nil {
			*dst = src
		}
	}
	set(&u.CustomerID, v.CustomerID)
	set(&u.Queue, v.Queue)
	set(&u.AgentID, v.AgentID)
	setT(&u.QueuedAt, v.QueuedAt)
	setT(&u.OfferedAt, v.OfferedAt)
	setT(&u.AnsweredAt, v.AnsweredAt)
	if v.IVRPath != nil {
		u.IVRPath = v.IVRPath
	}
	if v.Inputs != nil {
		in := maps.Clone(u.Inputs)
		if in == nil {
			in = make(map[string]string, len(v.Inputs))
		}
		maps.Copy(in, v.Inputs)
		u.Inputs = in
	}
	if v.Recording != nil {
		u.Recording = v.Recording
	}
	set(&u.ChannelID, v.ChannelID)
	set(&u.BridgeID, v.BridgeID)
	set(&u.ScriptID, v.ScriptID)
	if v.ScriptVersion != nil {
		u.ScriptVersion = v.ScriptVersion
	}
}

// Apply applies u to a new interaction as the store applies it to a row: set fields win (a zero time leaves the field as it
// was), IVRPath is replaced, Inputs are merged. Merge is the same rule between two updates.
func (in *Interaction) Apply(u InteractionUpdate) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	setT := func(dst *time.Time, src *time.Time) {
		if src != nil && !src.IsZero() {
			*dst = *src
		}
	}
	set(&in.CustomerID, u.CustomerID)
	set(&in.Queue, u.Queue)
	set(&in.AgentID, u.AgentID)
	setT(&in.QueuedAt, u.QueuedAt)
	setT(&in.OfferedAt, u.OfferedAt)
	setT(&in.AnsweredAt, u.AnsweredAt)
	if u.IVRPath != nil {
		in.IVRPath = u.IVRPath
	}
	if u.Inputs != nil {
		inputs := maps.Clone(in.Inputs) // the start's map stays the caller's
		if inputs == nil {
			inputs = make(map[string]string, len(u.Inputs))
		}
		maps.Copy(inputs, u.Inputs)
		in.Inputs = inputs
	}
	if u.Recording != nil {
		r := *u.Recording
		in.Recording = &r
	}
	set(&in.ChannelID, u.ChannelID)
	set(&in.BridgeID, u.BridgeID)
	set(&in.ScriptID, u.ScriptID)
	if u.ScriptVersion != nil {
		in.ScriptVersion = *u.ScriptVersion
	}
}

// Script is a call script: a Markdown template shown to the agent, per queue and optionally per tier. Every edit makes a new version.
type Script struct {
	ID        string    `json:"id"`
	Queue     string    `json:"queue"`
	Tier      Tier      `json:"tier,omitempty"` // empty: for every tier without a script of its own
	Version   int       `json:"version"`
	Title     string    `json:"title"`
	Body      string    `json:"body"` // Markdown with {{placeholders}}; see RenderScript
	CreatedAt time.Time `json:"created_at,omitzero"`
}

// Disposition is a wrap-up code an agent picks at the end of a contact; an empty Queue means every queue.
type Disposition struct {
	Code  string `json:"code"`
	Label string `json:"label"`
	Queue string `json:"queue,omitempty"`
}

// ReasonCode says why an agent is not ready.
type ReasonCode struct {
	Code  string `json:"code"`
	Label string `json:"label"`
}

// Role of a staff member.
type Role string

const (
	RoleAgent      Role = "agent"
	RoleSupervisor Role = "supervisor"
	RoleAdmin      Role = "admin"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return r == RoleAgent || r == RoleSupervisor || r == RoleAdmin }

// AgentSkill is a skill an agent has, with proficiency 1 (novice) to 10 (expert).
type AgentSkill struct {
	Skill       string `json:"skill"`
	Proficiency int    `json:"proficiency"`
}

// Skill is an entry of the skills catalogue.
type Skill struct {
	Name  string `json:"name"`
	Label string `json:"label"`
}

// AgentConfig is a staff member as configured (not their live state, which the engine owns).
type AgentConfig struct {
	ID          string       `json:"id"`
	Login       string       `json:"login"`
	DisplayName string       `json:"display_name"`
	Role        Role         `json:"role"`
	Endpoint    string       `json:"endpoint"` // "PJSIP/1001" or "webrtc"
	Skills      []AgentSkill `json:"skills"`   // sorted by skill
	Queues      []string     `json:"queues"`   // memberships, sorted
	Disabled    bool         `json:"disabled,omitempty"`
}

// QueueConfig is a queue as configured. Escalation is kept as raw JSON: the queue package owns its meaning.
type QueueConfig struct {
	Name     string `json:"name"`
	Strategy string `json:"strategy"` // longest-idle, fewest-calls, round-robin, best-proficiency
	// SLTarget is the fraction of calls to answer within SLThreshold, e.g. 0.8 within 20 s.
	SLTarget           float64         `json:"sl_target"`
	SLThreshold        time.Duration   `json:"sl_threshold"`
	WrapUp             time.Duration   `json:"wrap_up"`
	RingTimeout        time.Duration   `json:"ring_timeout"`
	MaxWait            time.Duration   `json:"max_wait"`
	Overflow           string          `json:"overflow,omitempty"` // target queue
	MaxLength          int             `json:"max_length"`         // 0: unbounded
	Escalation         json.RawMessage `json:"escalation,omitempty"`
	TimeZone           string          `json:"time_zone"` // IANA name
	RequireDisposition bool            `json:"require_disposition"`
}

// AuditEntry records who did what, when and from where.
type AuditEntry struct {
	ID     string          `json:"id"`
	At     time.Time       `json:"at"`
	Actor  string          `json:"actor"`  // agent login, or "system"
	Action string          `json:"action"` // e.g. "login", "customer.update", "recording.play", "call.barge"
	Target string          `json:"target,omitempty"`
	Remote string          `json:"remote,omitempty"` // client address
	Detail json.RawMessage `json:"detail,omitempty"`
}
