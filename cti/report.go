package cti

import (
	"context"
	"encoding/json"
	"time"
)

// Historical reports. They count with the definitions of the queue engine's live statistics (queue.Period), so a day's report and
// the wallboard's "today" agree; docs/reports.md is the one place both are described, and a test in cmd/switchboard checks the
// formulas below against queue.Period.

// ShortAbandon is the wait under which an abandoned call is a short abandon: it counts as offered and abandoned, but neither in
// service level nor in the abandon rate (a caller who hangs up at once was never really waiting). The engine gives it to the
// router; the reports use the same value.
const ShortAbandon = 5 * time.Second

// ReportInterval is the width of a report's rows.
type ReportInterval string

const (
	Interval15m  ReportInterval = "15m"
	IntervalHour ReportInterval = "hour"
	IntervalDay  ReportInterval = "day"
	IntervalWeek ReportInterval = "week" // ISO weeks, starting on Monday
)

// Valid reports whether i is a known interval.
func (i ReportInterval) Valid() bool {
	return i == Interval15m || i == IntervalHour || i == IntervalDay || i == IntervalWeek
}

// ReportQuery selects a report. From and To are wall-clock times (their location is ignored): each queue reads them, and cuts
// intervals, in its own time zone, so "Monday" is Monday where the queue works. Agent reports, which are not tied to one queue, use
// TimeZone (default: the time zone of Queue when given, else the one most queues use).
type ReportQuery struct {
	From, To time.Time
	Interval ReportInterval
	Queue    string // "" for every queue
	AgentID  string // agent reports: "" for every agent
	TimeZone string
}

// ReportCounts are the additive facts of one report row; sums, not averages, so rows add up exactly.
type ReportCounts struct {
	Offered        int64         `json:"offered"`
	Answered       int64         `json:"answered"`
	AnsweredInSL   int64         `json:"answered_in_sl"`
	Abandoned      int64         `json:"abandoned"`
	ShortAbandoned int64         `json:"short_abandoned"`
	Overflowed     int64         `json:"overflowed"`
	Handled        int64         `json:"handled"`
	Transfers      int64         `json:"transfers"`
	Callbacks      int64         `json:"callbacks"` // callbacks requested by callers waiting in the queue
	WaitAnswered   time.Duration `json:"-"`         // sum over answered calls
	Talk           time.Duration `json:"-"`         // sums over handled calls
	Hold           time.Duration `json:"-"`
	WrapUp         time.Duration `json:"-"`
}

// Rates are what a report derives from its counts, with the formulas of queue.Period (ratios are 0 when their denominator is):
//
//	ServiceLevel         = AnsweredInSL / (Answered + Abandoned − ShortAbandoned)
//	ServiceLevelAnswered = AnsweredInSL / Answered
//	AbandonRate          = (Abandoned − ShortAbandoned) / (Offered − ShortAbandoned)
//	ASA                  = WaitAnswered / Answered
//	AHT                  = (Talk + Hold + WrapUp) / Handled
type Rates struct {
	ServiceLevel         float64       `json:"service_level"`
	ServiceLevelAnswered float64       `json:"service_level_answered"`
	AbandonRate          float64       `json:"abandon_rate"`
	ASA                  time.Duration `json:"-"`
	AHT                  time.Duration `json:"-"`
}

// Rates derives the rates of c.
func (c ReportCounts) Rates() Rates {
	ratio := func(a, b int64) float64 {
		if b <= 0 {
			return 0
		}
		return float64(a) / float64(b)
	}
	r := Rates{
		ServiceLevel:         ratio(c.AnsweredInSL, c.Answered+c.Abandoned-c.ShortAbandoned),
		ServiceLevelAnswered: ratio(c.AnsweredInSL, c.Answered),
		AbandonRate:          ratio(c.Abandoned-c.ShortAbandoned, c.Offered-c.ShortAbandoned),
	}
	if c.Answered > 0 {
		r.ASA = c.WaitAnswered / time.Duration(c.Answered)
	}
	if c.Handled > 0 {
		r.AHT = (c.Talk + c.Hold + c.WrapUp) / time.Duration(c.Handled)
	}
	return r
}

// QueueReportRow is one queue over one interval. Start is the interval's first instant; Local is the same instant as the queue's
// wall clock ("2025-03-03T09:15").
type QueueReportRow struct {
	Queue string    `json:"queue"`
	Start time.Time `json:"start"`
	Local string    `json:"local"`
	ReportCounts
	Rates
}

// AgentReportRow is one agent over one interval. Times in states come from the agent-state history, cut at the interval's edges.
//
//	Occupancy = (OnCall + WrapUp) / (LoggedIn − NotReady)
//
// where OnCall includes hold (the agent is busy with the call) and LoggedIn is every state but logged-out; 0 when the agent was
// never available.
type AgentReportRow struct {
	AgentID   string                   `json:"agent_id"`
	Login     string                   `json:"login"`
	Start     time.Time                `json:"start"`
	Local     string                   `json:"local"`
	Answered  int64                    `json:"answered"`
	Handled   int64                    `json:"handled"`
	Transfers int64                    `json:"transfers"`
	Talk      time.Duration            `json:"-"`
	Hold      time.Duration            `json:"-"`
	WrapUp    time.Duration            `json:"-"`
	AHT       time.Duration            `json:"-"`
	LoggedIn  time.Duration            `json:"-"`
	Ready     time.Duration            `json:"-"`
	OnCall    time.Duration            `json:"-"` // reserved (ringing) and on-call
	WrapTime  time.Duration            `json:"-"` // in the wrap-up state
	NotReady  time.Duration            `json:"-"`
	Reasons   map[string]time.Duration `json:"-"` // not-ready time by reason code
	Occupancy float64                  `json:"occupancy"`
}

// CustomerValue is a customer in the value view.
type CustomerValue struct {
	CustomerID   string    `json:"customer_id"`
	Name         string    `json:"name"`
	Tier         Tier      `json:"tier"`
	Interactions int64     `json:"interactions"`
	Answered     int64     `json:"answered"`
	Last         time.Time `json:"last"`
}

// TierShare is one tier in the value view.
type TierShare struct {
	Tier         Tier  `json:"tier"`
	Customers    int64 `json:"customers"`    // live customers of the tier
	Contacted    int64 `json:"contacted"`    // of them, those with an interaction in the period
	Interactions int64 `json:"interactions"` // their interactions in the period
}

// DispositionCount is a disposition's use in a queue.
type DispositionCount struct {
	Queue       string `json:"queue"`
	Disposition string `json:"disposition"`
	Count       int64  `json:"count"`
}

// ValueReport is the CRM value view over a period: who calls most, how the tiers call, how often a contact is followed by another
// from the same customer (a repeat contact: the first one did not resolve it), and what the contacts ended with.
//
// RepeatRate24h = contacts followed by another of the same customer within 24 h / contacts of known customers;
// FCR24h = 1 − RepeatRate24h (first-contact resolution); the same over 7 days. A contact late in the period may be repeated after
// it: the follow-ups are looked for up to 7 days past To.
type ValueReport struct {
	From            time.Time          `json:"from"`
	To              time.Time          `json:"to"`
	TopCustomers    []CustomerValue    `json:"top_customers"`
	Tiers           []TierShare        `json:"tiers"`
	Contacts        int64              `json:"contacts"` // interactions of known customers in the period
	Repeat24h       int64              `json:"repeat_24h"`
	Repeat7d        int64              `json:"repeat_7d"`
	RepeatRate24h   float64            `json:"repeat_rate_24h"`
	RepeatRate7d    float64            `json:"repeat_rate_7d"`
	FCR24h          float64            `json:"fcr_24h"`
	FCR7d           float64            `json:"fcr_7d"`
	TopDispositions []DispositionCount `json:"top_dispositions"`
}

// Reports reads historical reports.
type Reports interface {
	QueueReport(ctx context.Context, q ReportQuery) ([]QueueReportRow, error)
	AgentReport(ctx context.Context, q ReportQuery) ([]AgentReportRow, error)
	// ValueReport covers [From, To) in TimeZone; limit bounds the top customers (default 20) and the dispositions per queue (5).
	ValueReport(ctx context.Context, q ReportQuery, limit int) (*ValueReport, error)
}

// AgentStateLog keeps the history of agent states the reports read. The engine writes each state change of an agent as it
// happens; a repeat of the open state is not a change.
type AgentStateLog interface {
	RecordAgentState(ctx context.Context, s AgentStatus) error
}

// MarshalJSON writes the row with its durations in milliseconds.
func (r QueueReportRow) MarshalJSON() ([]byte, error) {
	type plain QueueReportRow
	return json.Marshal(struct {
		plain
		WaitMS   int64 `json:"wait_answered_ms"`
		TalkMS   int64 `json:"talk_ms"`
		HoldMS   int64 `json:"hold_ms"`
		WrapUpMS int64 `json:"wrap_up_ms"`
		ASAMS    int64 `json:"asa_ms"`
		AHTMS    int64 `json:"aht_ms"`
	}{plain(r), r.WaitAnswered.Milliseconds(), r.Talk.Milliseconds(), r.Hold.Milliseconds(), r.WrapUp.Milliseconds(),
		r.ASA.Milliseconds(), r.AHT.Milliseconds()})
}

// MarshalJSON writes the row with its durations in milliseconds.
func (r AgentReportRow) MarshalJSON() ([]byte, error) {
	type plain AgentReportRow
	reasons := make(map[string]int64, len(r.Reasons))
	for k, v := range r.Reasons {
		reasons[k] = v.Milliseconds()
	}
	return json.Marshal(struct {
		plain
		TalkMS     int64            `json:"talk_ms"`
		HoldMS     int64            `json:"hold_ms"`
		WrapUpMS   int64            `json:"wrap_up_ms"`
		AHTMS      int64            `json:"aht_ms"`
		LoggedInMS int64            `json:"logged_in_ms"`
		ReadyMS    int64            `json:"ready_ms"`
		OnCallMS   int64            `json:"on_call_ms"`
		WrapTimeMS int64            `json:"wrap_state_ms"`
		NotReadyMS int64            `json:"not_ready_ms"`
		ReasonsMS  map[string]int64 `json:"not_ready_by_reason_ms"`
	}{plain(r), r.Talk.Milliseconds(), r.Hold.Milliseconds(), r.WrapUp.Milliseconds(), r.AHT.Milliseconds(),
		r.LoggedIn.Milliseconds(), r.Ready.Milliseconds(), r.OnCall.Milliseconds(), r.WrapTime.Milliseconds(),
		r.NotReady.Milliseconds(), reasons})
}
