package cti

import "time"

// Event is something the telephony adapter saw happen. Events carry the PBX's own time of the event. There is one kind for
// each thing the engine acts on and no more: every kind costs the PBX an encode and a write and the adapter a read for each
// occurrence (the adapter asks the PBX for exactly these), so a new kind comes with the engine's case that consumes it.
type Event interface {
	EventTime() time.Time
}

// At is the time of an event; embedding it makes a struct an Event.
type At struct{ Time time.Time }

// EventTime returns the time of the event.
func (a At) EventTime() time.Time { return a.Time }

// ChannelEntered: a channel entered our application (ARI StasisStart): a caller from the dialplan (Args[0] == "inbound"), or a
// leg, snoop or media channel we created (Args as we gave them).
type ChannelEntered struct {
	At
	Channel ChannelInfo
	Args    []string
}

// ChannelLeft: a channel left our application (ARI StasisEnd); it is hung up or continues in the dialplan.
type ChannelLeft struct {
	At
	ChannelID string
}

// ChannelHangupRequested: one side asked to hang up (ARI ChannelHangupRequest). Cause 0 means none was given (a remote BYE).
type ChannelHangupRequested struct {
	At
	ChannelID string
	Cause     int
}

// ChannelDestroyed: a channel is gone (ARI ChannelDestroyed). Originated legs that never answered end here, without
// ChannelEntered: cause 19 no answer, 17 busy, 21 rejected, 3 or 20 unreachable.
type ChannelDestroyed struct {
	At
	ChannelID string
	Cause     int
	CauseText string
}

// DTMFReceived: the caller pressed a key.
type DTMFReceived struct {
	At
	ChannelID string
	Digit     string
}

// PlaybackFinished: media we started with Play or PlayOnBridge ended (the whole list of one request). State is "done",
// "cancelled" or "failed".
type PlaybackFinished struct {
	At
	PlaybackID string
	TargetID   string // the channel or bridge
	State      string
}

// RecordingFinished: a recording we started is stored under Name. Failed is true when the PBX reports it could not record.
type RecordingFinished struct {
	At
	Name     string
	Duration time.Duration
	Failed   bool
}

// TelephonyConnected: the event stream is (again) up. The engine reconciles its state with Telephony.Snapshot.
type TelephonyConnected struct{ At }

// TelephonyDisconnected: the event stream is down; the adapter reconnects with backoff.
type TelephonyDisconnected struct {
	At
	Reason string
}

// TelephonyReplaced: another controller took our application over (ARI ApplicationReplaced). Two controllers must never drive
// the same calls: the process stops.
type TelephonyReplaced struct{ At }
