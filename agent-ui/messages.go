package agentui

import (
	"time"

	"github.com/switchboard-cc/switchboard/cti"
)

// The websocket protocol. The server sends JSON text frames, one Message each; the client sends nothing but pongs (commands go
// through the JSON API, where roles are checked per endpoint).
//
// Every message carries seq, counting from 1 on each connection. The first message is always a snapshot; the client replaces its
// state with it, then applies the others in order. A gap in seq, or a reconnect, means the client must start again from a new
// snapshot (it reconnects, which sends one). States in messages are whole (an agent's full status, a call's full view), so applying
// one twice is harmless.
//
// What each role receives: an agent gets their own status, their own calls and their own offers; supervisors and admins get every
// agent and call and the queue statistics, but no screen-pops.
type Message struct {
	Seq  uint64      `json:"seq"`
	Type MessageType `json:"type"`

	Snapshot *Snapshot         `json:"snapshot,omitempty"` // TypeSnapshot
	Offer    *cti.ScreenPop    `json:"offer,omitempty"`    // TypeOffer
	Call     *cti.CallView     `json:"call,omitempty"`     // TypeCall
	Agent    *cti.AgentStatus  `json:"agent,omitempty"`    // TypeAgent
	Queues   []cti.QueueStatus `json:"queues,omitempty"`   // TypeQueues
	Error    *errorJSON        `json:"error,omitempty"`    // TypeError, TypeLogout
}

// MessageType names a message.
type MessageType string

const (
	// TypeSnapshot is the whole state the connection may see, first on every connection.
	TypeSnapshot MessageType = "snapshot"
	// TypeOffer rings the agent: the screen-pop of the offered call.
	TypeOffer MessageType = "offer"
	// TypeCall is a call's new state (ringing, connected, held, ended…).
	TypeCall MessageType = "call"
	// TypeAgent is an agent's new state.
	TypeAgent MessageType = "agent"
	// TypeQueues carries the latest statistics of the queues that changed, at most twice a second.
	TypeQueues MessageType = "queues"
	// TypeError reports a problem the page should show (the snapshot could not be read…).
	TypeError MessageType = "error"
	// TypeLogout says the session ended (a supervisor's force logout): the page goes to the sign-in page and must not reconnect.
	TypeLogout MessageType = "logout"
)

// Snapshot is the state a connection starts from, filtered by role.
type Snapshot struct {
	Me     Me                `json:"me"`
	Now    time.Time         `json:"now"` // the server's clock, so countdowns agree with it
	Seq    uint64            `json:"engine_seq"`
	Agents []cti.AgentStatus `json:"agents"`
	Calls  []cti.CallView    `json:"calls"`
	Queues []cti.QueueStatus `json:"queues"`
	// Offer is the agent's current screen-pop (ringing or in a call), so a reload keeps the customer on screen.
	Offer *cti.ScreenPop `json:"offer,omitempty"`
}
