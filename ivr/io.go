package ivr

import (
	"fmt"
	"strings"
	"time"
)

// InputKind is the kind of an event fed to a Session.
type InputKind int

// Input kinds.
const (
	InputInvalid InputKind = iota
	// InputStart begins the session: Caller, Dialed, Attributes, and
	// optionally Flow (run that flow instead of the one bound to Dialed)
	// and Vars (preset variables, e.g. customer.* for a wait flow).
	InputStart
	// InputDigit is one DTMF key in Digit: 0-9, * or #.
	InputDigit
	// InputPlaybackFinished reports that playback ID ended, played out or
	// stopped. Stale ids are ignored.
	InputPlaybackFinished
	// InputTimeout reports that timer ID fired. Stale ids are ignored.
	InputTimeout
	// InputLookupResult answers a Lookup action: Found and Fields.
	InputLookupResult
	// InputHangUp reports that the caller hung up.
	InputHangUp
)

var inputNames = [...]string{"invalid", "start", "digit", "playback-finished", "timeout", "lookup-result", "hangup"}

func (k InputKind) String() string {
	if k < 0 || int(k) >= len(inputNames) {
		return "invalid"
	}
	return inputNames[k]
}

// Input is one event for a Session. Which fields matter depends on Kind.
type Input struct {
	Kind       InputKind
	Caller     string            `json:",omitempty"`
	Dialed     string            `json:",omitempty"`
	Flow       string            `json:",omitempty"`
	Attributes map[string]string `json:",omitempty"`
	Vars       map[string]string `json:",omitempty"`
	Digit      string            `json:",omitempty"`
	ID         string            `json:",omitempty"`
	Found      bool              `json:",omitempty"`
	Fields     map[string]string `json:",omitempty"`
}

// Start is the first input of a call. Attributes become call.<name> variables.
func Start(caller, dialed string, attributes map[string]string) Input {
	return Input{Kind: InputStart, Caller: caller, Dialed: dialed, Attributes: attributes}
}

// Digit is one DTMF key.
func Digit(d string) Input { return Input{Kind: InputDigit, Digit: d} }

// PlaybackFinished reports the end of a playback.
func PlaybackFinished(id string) Input { return Input{Kind: InputPlaybackFinished, ID: id} }

// Timeout reports that a timer fired.
func Timeout(id string) Input { return Input{Kind: InputTimeout, ID: id} }

// LookupFound answers a Lookup with the customer's fields (they become
// customer.<name>; "id" identifies the customer for the screen-pop).
func LookupFound(fields map[string]string) Input {
	return Input{Kind: InputLookupResult, Found: true, Fields: fields}
}

// LookupNotFound answers a Lookup that found no customer (or failed).
func LookupNotFound() Input { return Input{Kind: InputLookupResult} }

// HangUp reports that the caller hung up.
func HangUp() Input { return Input{Kind: InputHangUp} }

// ActionKind is the kind of an effect the engine must carry out.
type ActionKind int

// Action kinds.
const (
	ActInvalid ActionKind = iota
	// ActPlay plays Sounds in order as one playback ID; Interruptible
	// means a digit will stop it. Answer with PlaybackFinished(ID).
	ActPlay
	// ActStopPlayback stops playback ID (barge-in).
	ActStopPlayback
	// ActStartTimer asks for Timeout(ID) after After.
	ActStartTimer
	// ActCancelTimer cancels timer ID; a late Timeout is harmless.
	ActCancelTimer
	// ActLookup looks a customer up By "caller" or "account" with Key.
	// Answer with LookupFound or LookupNotFound.
	ActLookup
	// ActSetVar reports a variable set by the flow (Value is masked when
	// Sensitive) so the engine can copy it onto the call.
	ActSetVar
	// ActEnqueue puts the call into Queue with Skills, Priority and
	// Attributes; OnWait, when set, asks for a wait flow later. Final.
	ActEnqueue
	// ActVoicemail records a message of up to MaxDuration into the
	// interaction. Final.
	ActVoicemail
	// ActCallback: the caller accepted a callback at Number; the queue
	// keeps the caller's virtual place. Final.
	ActCallback
	// ActTransfer transfers the call to the external Number. Final.
	ActTransfer
	// ActHangUp hangs up. Final.
	ActHangUp
	// ActError reports a problem (Err). When the session is Done with
	// OutcomeFailed the engine must take the call over (e.g. default queue).
	ActError
)

var actionNames = [...]string{"invalid", "play", "stop-playback", "start-timer", "cancel-timer", "lookup", "set-var", "enqueue", "voicemail", "callback", "transfer", "hangup", "error"}

func (k ActionKind) String() string {
	if k < 0 || int(k) >= len(actionNames) {
		return "invalid"
	}
	return actionNames[k]
}

// Action is one effect for the engine. Which fields matter depends on Kind.
type Action struct {
	Kind          ActionKind
	ID            string            `json:",omitempty"`
	Sounds        []string          `json:",omitempty"`
	Interruptible bool              `json:",omitempty"`
	After         time.Duration     `json:",omitempty"`
	By            string            `json:",omitempty"`
	Key           string            `json:",omitempty"`
	Name          string            `json:",omitempty"`
	Value         string            `json:",omitempty"`
	Sensitive     bool              `json:",omitempty"`
	Queue         string            `json:",omitempty"`
	Skills        []SkillReq        `json:",omitempty"`
	Priority      int               `json:",omitempty"`
	Attributes    map[string]string `json:",omitempty"`
	OnWait        *WaitHook         `json:",omitempty"`
	Number        string            `json:",omitempty"`
	MaxDuration   time.Duration     `json:",omitempty"`
	Err           string            `json:",omitempty"`
}

// String renders the action on one line, deterministically.
func (a Action) String() string {
	var b strings.Builder
	b.WriteString(a.Kind.String())
	switch a.Kind {
	case ActPlay:
		fmt.Fprintf(&b, " %s [%s]", a.ID, strings.Join(a.Sounds, " "))
		if a.Interruptible {
			b.WriteString(" interruptible")
		}
	case ActStopPlayback, ActCancelTimer:
		fmt.Fprintf(&b, " %s", a.ID)
	case ActStartTimer:
		fmt.Fprintf(&b, " %s %s", a.ID, a.After)
	case ActLookup:
		fmt.Fprintf(&b, " by=%s key=%s", a.By, a.Key)
	case ActSetVar:
		fmt.Fprintf(&b, " %s=%s", a.Name, a.Value)
	case ActEnqueue:
		fmt.Fprintf(&b, " queue=%s priority=%d skills=[", a.Queue, a.Priority)
		for i, s := range a.Skills {
			if i > 0 {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%s>=%d", s.Name, s.Min)
		}
		b.WriteByte(']')
		for _, k := range sortedKeys(a.Attributes) {
			fmt.Fprintf(&b, " %s=%s", k, a.Attributes[k])
		}
		if a.OnWait != nil {
			fmt.Fprintf(&b, " on_wait=%s after %s", a.OnWait.Flow, a.OnWait.After)
		}
	case ActVoicemail:
		fmt.Fprintf(&b, " max=%s", a.MaxDuration)
	case ActCallback, ActTransfer:
		fmt.Fprintf(&b, " %s", a.Number)
	case ActError:
		fmt.Fprintf(&b, " %s", a.Err)
	}
	return b.String()
}

// Outcome is how a session ended.
type Outcome int

// Outcomes.
const (
	OutcomeNone        Outcome = iota // still running
	OutcomeQueued                     // enqueued
	OutcomeVoicemail                  // recording a voicemail
	OutcomeCallback                   // callback accepted
	OutcomeTransferred                // transferred out
	OutcomeHungUp                     // the flow hung up
	OutcomeAbandoned                  // the caller hung up
	OutcomeReturned                   // a wait flow returned: keep waiting
	OutcomeFailed                     // an error: the engine takes over
)

var outcomeNames = [...]string{"running", "queued", "voicemail", "callback", "transferred", "hung-up", "abandoned", "returned", "failed"}

func (o Outcome) String() string {
	if o < 0 || int(o) >= len(outcomeNames) {
		return "invalid"
	}
	return outcomeNames[o]
}
