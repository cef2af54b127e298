package webrtcgw

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"time"

	"github.com/switchboard-cc/switchboard/cti"
)

// MessageType names a signalling message. The pages (the "call us" widget and the agent desktop) and the server exchange JSON
// objects {"type": ..., ...fields} over one websocket per page; Message lists every field and which types carry it.
type MessageType string

const (
	// MsgOffer (page → server): {sdp, restart?, resume?}. The first offer starts the media; restart is an ICE restart on the same
	// connection; resume (with the id from a "state" message) asks to reconnect a leg after the websocket was lost. Answered by
	// MsgAnswer.
	MsgOffer MessageType = "offer"
	// MsgAnswer (server → page): {sdp}. With trickle, the candidates follow as MsgCandidate.
	MsgAnswer MessageType = "answer"
	// MsgCandidate (both ways): {candidate}; a candidate whose "candidate" string is empty ends that side's candidates.
	MsgCandidate MessageType = "candidate"
	// MsgDTMF (page → server): {digit} — one of 0-9 * # A-D, pressed on the widget's keypad. The engine feeds it to the IVR as it
	// would a phone's RFC 4733 digit (pion has none).
	MsgDTMF MessageType = "dtmf"
	// MsgHangup (both ways): {reason?}. From the page: the caller or agent hung up. From the server: the call ended.
	MsgHangup MessageType = "hangup"
	// MsgState (server → page): {state, position?, ewt?, reason?, resume?} — what the widget shows: in the IVR, queued at position
	// with an estimated wait of ewt seconds, ringing, connected, reconnecting, ended.
	MsgState MessageType = "state"
	// MsgError (server → page): {code, message} — code is a cti error code or one of the Reason* values; message is for people.
	MsgError MessageType = "error"
	// MsgLoopStart and MsgLoopStop (page → server): the media-verified Ready test. Between them the page's audio comes back to
	// it through the gateway; MsgLoopStop is answered by MsgLoopResult.
	MsgLoopStart MessageType = "loop_start"
	MsgLoopStop  MessageType = "loop_stop"
	// MsgLoopResult (server → page): {loop}.
	MsgLoopResult MessageType = "loop_result"
)

// Call states shown by the widget and the agent page (Message.State).
const (
	StateIVR          = "ivr"
	StateQueued       = "queued"
	StateRinging      = "ringing"
	StateTalking      = "connected"
	StateHeld         = "held"
	StateReconnecting = "reconnecting"
	StateEnded        = "ended"
)

// Reasons a call ends or is refused (Message.Reason, Message.Code).
const (
	ReasonCaller    = "caller"     // the web caller hung up
	ReasonAgent     = "agent"      // the agent hung up
	ReasonClosed    = "closed"     // the contact center is closed
	ReasonMediaLost = "media_lost" // no media after the reconnect window
	ReasonRejected  = "rejected"   // token invalid or expired, rate limit
)

// Message is one signalling message. Every field but Type is optional and carried only by the types named in its comment.
type Message struct {
	Type MessageType `json:"type"`
	// Seq numbers server → page messages from 1 so the page notices a gap and re-syncs (it asks for nothing: the next "state"
	// carries the full picture).
	Seq       uint64     `json:"seq,omitempty"`
	SDP       string     `json:"sdp,omitempty"`       // offer, answer
	Restart   bool       `json:"restart,omitempty"`   // offer
	Resume    string     `json:"resume,omitempty"`    // offer, state: the id that lets a page reconnect its leg
	Candidate *Candidate `json:"candidate,omitempty"` // candidate
	Digit     string     `json:"digit,omitempty"`     // dtmf
	State     string     `json:"state,omitempty"`     // state: one of the State* values
	Position  int        `json:"position,omitempty"`  // state: 1 = next in line
	EWT       int        `json:"ewt,omitempty"`       // state: estimated wait, whole seconds (0: none or unknown)
	Reason    string     `json:"reason,omitempty"`    // hangup, state: one of the Reason* values
	Code      string     `json:"code,omitempty"`      // error
	Text      string     `json:"message,omitempty"`   // error
	Loop      *LoopJSON  `json:"loop,omitempty"`      // loop_result
}

// LoopJSON is a LoopReport as the page receives it.
type LoopJSON struct {
	Sent     uint64  `json:"sent"`
	Returned uint64  `json:"returned"`
	LoopMs   float64 `json:"loop_ms"`    // p50 through the gateway's RTP socket and back
	ICERTTMs float64 `json:"ice_rtt_ms"` // browser ↔ gateway
	OK       bool    `json:"ok"`         // enough came back to allow Ready
}

// JSON turns a report into its message form; ok says whether it proves media (MinLoopPackets returned, nothing lost).
func (r LoopReport) JSON() *LoopJSON {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	return &LoopJSON{Sent: r.Sent, Returned: r.Returned, LoopMs: ms(r.LoopP50), ICERTTMs: ms(r.ICERoundTrip),
		OK: r.Returned >= MinLoopPackets && r.Returned == r.Sent}
}

// MinLoopPackets is how many packets a loop test must bring back to prove media: half a second of 20 ms packets.
const MinLoopPackets = 25

// MaxMessage is the largest signalling message accepted (an offer with many candidates is a few kilobytes).
const MaxMessage = maxSDP + 4<<10

// ParseClient decodes and validates a message a page sent. Unknown fields are ignored (newer pages); unknown types, types only
// the server sends and bad values are EINVALID.
func ParseClient(data []byte) (Message, error) {
	var m Message
	if len(data) > MaxMessage {
		return m, cti.Invalid("message", "longer than %d bytes", MaxMessage)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&m); err != nil {
		return Message{}, cti.Invalid("message", "not a JSON message: %v", err)
	}
	switch m.Type {
	case MsgOffer:
		if m.SDP == "" {
			return m, cti.Invalid("sdp", "an offer needs sdp")
		}
		if len(m.Resume) > 128 {
			return m, cti.Invalid("resume", "too long")
		}
	case MsgCandidate:
		if m.Candidate == nil {
			return m, cti.Invalid("candidate", "missing")
		}
		if len(m.Candidate.Candidate) > 1024 {
			return m, cti.Invalid("candidate", "too long")
		}
	case MsgDTMF:
		if len(m.Digit) != 1 || !strings.Contains("0123456789*#ABCD", m.Digit) {
			return m, cti.Invalid("digit", "one of 0-9 * # A-D, got %q", m.Digit)
		}
	case MsgHangup, MsgLoopStart, MsgLoopStop:
	case "":
		return m, cti.Invalid("type", "missing")
	default:
		return m, cti.Invalid("type", "%q is not a message a page sends", m.Type)
	}
	return m, nil
}

// ErrorMessage is the error message for err: its code and its user-facing text.
func ErrorMessage(err error) Message {
	return Message{Type: MsgError, Code: cti.ErrorCode(err), Text: cti.ErrorMessage(err)}
}

// HandleSignal does the media part of a page's message on the leg: offers (first, ICE restart, or resume → Reconnect) are
// answered, candidates added, loop tests run; replies go to send. It returns false for what is not media (dtmf, hangup), which
// the caller passes to the engine. Errors are sent to the page as MsgError and returned.
func (l *Leg) HandleSignal(ctx context.Context, m Message, send func(Message)) (bool, error) {
	var err error
	switch m.Type {
	case MsgOffer:
		var answer string
		if m.Resume != "" {
			answer, err = l.Reconnect(ctx, m.SDP)
		} else {
			answer, err = l.Answer(ctx, m.SDP)
		}
		if err == nil {
			send(Message{Type: MsgAnswer, SDP: answer})
		}
	case MsgCandidate:
		err = l.AddCandidate(*m.Candidate)
	case MsgLoopStart:
		l.StartLoop()
	case MsgLoopStop:
		send(Message{Type: MsgLoopResult, Loop: l.StopLoop().JSON()})
	default:
		return false, nil
	}
	if err != nil {
		send(ErrorMessage(err))
	}
	return true, err
}
