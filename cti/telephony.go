package cti

import (
	"context"
	"io"
	"time"
)

// Telephony is what the engine asks of the PBX (Asterisk over ARI in production, the emulator in tests). Every method is a
// command that returns once the PBX accepted it; what happens next arrives as Events. Ids of channels, bridges, playbacks and
// recordings we create are chosen by the caller, so an effect can be retried without creating a twin and an event can be matched
// to its command before the command has returned.
type Telephony interface {
	Answer(ctx context.Context, channelID string) error
	// Hangup hangs a channel up; reason is an ARI reason ("normal", "busy", "congestion", "no_answer"…). A channel that is already
	// gone is ENOTFOUND, which callers treat as done.
	Hangup(ctx context.Context, channelID, reason string) error
	// Play starts media on a channel: "sound:welcome", "digits:42", "number:17", "recording:name", "tone:ring".
	Play(ctx context.Context, channelID, playbackID string, media []string) error
	PlayOnBridge(ctx context.Context, bridgeID, playbackID string, media []string) error
	StopPlayback(ctx context.Context, playbackID string) error
	// MOH starts (class non-empty) or stops (class "") music on hold on a bridge.
	BridgeMOH(ctx context.Context, bridgeID, class string) error
	// ChannelMOH starts (class non-empty) or stops (class "") music on hold on one channel.
	ChannelMOH(ctx context.Context, channelID, class string) error
	// Hold tells the channel's peer it is on hold (or resumes it).
	Hold(ctx context.Context, channelID string, on bool) error
	// Mute mutes the channel's audio in the given direction ("in", "out", "both"), or unmutes it.
	Mute(ctx context.Context, channelID, direction string, on bool) error

	CreateBridge(ctx context.Context, bridgeID string, kind BridgeKind) error
	// AddChannel puts a channel into a bridge; role is informative ("customer", "agent", "supervisor").
	AddChannel(ctx context.Context, bridgeID, channelID, role string) error
	RemoveChannel(ctx context.Context, bridgeID, channelID string) error
	DestroyBridge(ctx context.Context, bridgeID string) error

	// Originate dials an endpoint into our application: the channel enters it (ChannelEntered with o.Args) when answered.
	// A failure to place the call at all (unknown or unregistered endpoint) is returned here; every later outcome is an event.
	Originate(ctx context.Context, o Originate) error
	// Snoop creates a channel that listens to and/or whispers into a channel, entering our application with s.Args.
	Snoop(ctx context.Context, s Snoop) error
	// ExternalMedia creates a channel that exchanges RTP with host:port, entering our application with args and carrying vars
	// from its creation (it cannot take SetVar before it is in the application); it returns the PBX's local RTP address.
	ExternalMedia(ctx context.Context, channelID, hostPort, format string, args []string, vars map[string]string) (localAddr string, err error)

	// RecordBridge starts recording a bridge into the stored recording name (format "wav").
	RecordBridge(ctx context.Context, bridgeID, name string) error
	StopRecording(ctx context.Context, name string) error
	PauseRecording(ctx context.Context, name string, paused bool) error
	// FetchRecording streams a stored recording; the caller closes it.
	FetchRecording(ctx context.Context, name string) (io.ReadCloser, error)
	DeleteRecording(ctx context.Context, name string) error

	SetVar(ctx context.Context, channelID, name, value string) error
	// SetVars sets several variables, in one request where the PBX can.
	SetVars(ctx context.Context, channelID string, vars map[string]string) error
	GetVar(ctx context.Context, channelID, name string) (string, error)

	// Snapshot lists the application's live channels (with the variables in vars that are set) and bridges, for reconciling after
	// a (re)connect.
	Snapshot(ctx context.Context, vars []string) ([]ChannelInfo, []BridgeInfo, error)
}

// BridgeKind is the mixing behaviour of a bridge.
type BridgeKind string

const (
	BridgeMixing  BridgeKind = "mixing"
	BridgeHolding BridgeKind = "holding"
)

// Originate describes an outbound leg.
type Originate struct {
	ChannelID string // chosen by us; tags the leg as ours
	Endpoint  string // "PJSIP/1001", "PJSIP/+8613800138000@trunk"
	CallerID  string // shown to the called party: `"Name" <number>`
	Timeout   time.Duration
	Args      []string // application arguments the channel enters with, e.g. ["agent", callID]
	Vars      map[string]string
}

// Snoop describes a supervisor's listening or whispering channel on a target channel.
type Snoop struct {
	ChannelID string   // the channel to spy on
	SnoopID   string   // id of the new snoop channel, chosen by us
	Spy       string   // "none", "in", "out", "both"
	Whisper   string   // "none", "in", "out", "both"
	Args      []string // application arguments the snoop channel enters with
}

// ChannelInfo is a live channel as the PBX reports it.
type ChannelInfo struct {
	ID     string
	Name   string
	State  string // "Down", "Ring", "Ringing", "Up"…
	Caller Party
	Dialed string
	Vars   map[string]string
	// Created is when the PBX created the channel.
	Created time.Time
}

// BridgeInfo is a live bridge as the PBX reports it.
type BridgeInfo struct {
	ID       string
	Kind     BridgeKind
	Channels []string
}

// Party is a caller or called party.
type Party struct {
	Number string `json:"number"`
	Name   string `json:"name,omitempty"`
}

// Clock is the shell's source of time; pure code takes time as an argument instead.
type Clock interface {
	Now() time.Time
}

// ClockFunc adapts a function to Clock.
type ClockFunc func() time.Time

// Now returns f().
func (f ClockFunc) Now() time.Time { return f() }
