package webrtcgw

import "time"

// ConnState is the browser connection's state (ICE and DTLS together, as RTCPeerConnection.connectionState).
type ConnState int

const (
	StateNew ConnState = iota
	StateConnecting
	StateConnected
	StateDisconnected // ICE lost consent; it may recover by itself
	StateFailed       // ICE gave up: only a restart or a reconnect helps
	StateClosed
)

var connStateNames = [...]string{"new", "connecting", "connected", "disconnected", "failed", "closed"}

func (s ConnState) String() string {
	if s < 0 || int(s) >= len(connStateNames) {
		return "unknown"
	}
	return connStateNames[s]
}

// EventKind says what an Event reports.
type EventKind int

const (
	EventState         EventKind = iota // the browser connection changed state (Event.State)
	EventMediaTimeout                   // one side (Event.From) sent nothing for Config.MediaTimeout
	EventMediaResumed                   // that side sends again
	EventRemoteLatched                  // the Asterisk side's address was learned from its first packet (Event.Remote)
)

var eventKindNames = [...]string{"state", "media_timeout", "media_resumed", "remote_latched"}

func (k EventKind) String() string {
	if k < 0 || int(k) >= len(eventKindNames) {
		return "unknown"
	}
	return eventKindNames[k]
}

// Side names one end of a leg.
type Side int

const (
	FromBrowser Side = iota // RTP from the browser, toward Asterisk
	FromPBX                 // RTP from Asterisk, toward the browser
)

func (s Side) String() string {
	if s == FromPBX {
		return "pbx"
	}
	return "browser"
}

// Event is what a Leg tells its owner. Events of one leg arrive in order, one at a time, on the leg's own goroutine; a
// callback that blocks delays the leg's later events (never its media), and events past a queue of 64 are dropped and counted.
type Event struct {
	Leg    string // LegOptions.ID
	Kind   EventKind
	State  ConnState // EventState
	From   Side      // EventMediaTimeout, EventMediaResumed
	Remote string    // EventRemoteLatched: host:port
	At     time.Time
}
