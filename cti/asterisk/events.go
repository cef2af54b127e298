package asterisk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/CyCoreSystems/ari/v6"
	"github.com/switchboard-cc/switchboard/cti"
)

// handled are the ARI event types the adapter translates, each with a new value of the library's type to decode it into;
// every other type is ignored before decoding, so a type the library does not know (ChannelTransfer, ChannelToneDetected,
// ApplicationRegistered…) costs one small unmarshal. Decoding straight into the type read from the head, rather than through
// ari.DecodeEvent (which unmarshals the message once more to find the type), saves a third of the decoding of every event.
var handled = map[string]func() ari.Event{
	"StasisStart":          func() ari.Event { return new(ari.StasisStart) },
	"StasisEnd":            func() ari.Event { return new(ari.StasisEnd) },
	"ChannelHangupRequest": func() ari.Event { return new(ari.ChannelHangupRequest) },
	"ChannelDestroyed":     func() ari.Event { return new(ari.ChannelDestroyed) },
	"ChannelStateChange":   func() ari.Event { return new(ari.ChannelStateChange) },
	"Dial":                 func() ari.Event { return new(ari.Dial) },
	"ChannelDtmfReceived":  func() ari.Event { return new(ari.ChannelDtmfReceived) },
	"PlaybackStarted":      func() ari.Event { return new(ari.PlaybackStarted) },
	"PlaybackFinished":     func() ari.Event { return new(ari.PlaybackFinished) },
	"RecordingStarted":     func() ari.Event { return new(ari.RecordingStarted) },
	"RecordingFinished":    func() ari.Event { return new(ari.RecordingFinished) },
	"RecordingFailed":      func() ari.Event { return new(ari.RecordingFailed) },
	"ApplicationReplaced":  func() ari.Event { return new(ari.ApplicationReplaced) },
}

// translate turns one websocket message into a cti event; nil means the event is not one we deliver.
func (c *Client) translate(msg []byte) (ev cti.Event, err error) {
	var head struct {
		Type string `json:"type"`
	}
	if typ, ok := leadingType(msg); ok {
		if handled[string(typ)] == nil { // no allocation: most messages end here
			return nil, nil
		}
		head.Type = string(typ)
	} else if err := json.Unmarshal(msg, &head); err != nil {
		return nil, fmt.Errorf("not an event: %w", err)
	}
	newEvent := handled[head.Type]
	if newEvent == nil {
		return nil, nil
	}
	defer func() {
		// The library's types may carry custom unmarshalers (its DecodeEvent panicked in v5.3.1). Guard anyway: an event
		// the library cannot digest must cost one log line, never the process.
		if r := recover(); r != nil {
			ev, err = nil, fmt.Errorf("decoding %s: panic: %v", head.Type, r)
		}
	}()
	e := newEvent()
	if err := json.Unmarshal(msg, e); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", head.Type, err)
	}
	return c.convert(e), nil
}

// leadingType reads the event type when it is the message's first member, as Asterisk writes it, without scanning the rest:
// most of the messages of a call (ChannelVarset above all) are of types we ignore, and a full JSON pass over each of them was
// a tenth of the controller's CPU under load. ok is false when the message does not start that way (the caller then decodes
// the head properly); the whole message is still validated when its type is one we decode.
func leadingType(msg []byte) (typ []byte, ok bool) {
	i := skipSpace(msg, 0)
	if i >= len(msg) || msg[i] != '{' {
		return nil, false
	}
	i = skipSpace(msg, i+1)
	const key = `"type"`
	if !bytes.HasPrefix(msg[i:], []byte(key)) {
		return nil, false
	}
	i = skipSpace(msg, i+len(key))
	if i >= len(msg) || msg[i] != ':' {
		return nil, false
	}
	i = skipSpace(msg, i+1)
	if i >= len(msg) || msg[i] != '"' {
		return nil, false
	}
	rest := msg[i+1:]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return nil, false
	}
	for _, c := range rest[:end] {
		if c == '\\' || c < 0x20 || c >= 0x80 {
			return nil, false // escapes, control bytes or non-ASCII: let the JSON decoder read it
		}
	}
	return rest[:end], true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// convert maps a decoded ARI event to its cti event.
func (c *Client) convert(e ari.Event) cti.Event {
	switch e := e.(type) {
	case *ari.StasisStart:
		args := e.Args
		if args == nil {
			args = []string{}
		}
		return cti.ChannelEntered{At: c.at(e.Timestamp), Channel: channelInfo(&e.Channel), Args: args}
	case *ari.StasisEnd:
		return cti.ChannelLeft{At: c.at(e.Timestamp), ChannelID: e.Channel.ID}
	case *ari.ChannelHangupRequest:
		return cti.ChannelHangupRequested{At: c.at(e.Timestamp), ChannelID: e.Channel.ID, Cause: e.Cause}
	case *ari.ChannelDestroyed:
		return cti.ChannelDestroyed{At: c.at(e.Timestamp), ChannelID: e.Channel.ID, Cause: e.Cause, CauseText: e.CauseTxt}
	case *ari.ChannelStateChange:
		return cti.ChannelStateChanged{At: c.at(e.Timestamp), ChannelID: e.Channel.ID, State: e.Channel.State}
	case *ari.Dial:
		return cti.DialProgress{At: c.at(e.Timestamp), ChannelID: e.Peer.ID, Status: e.Dialstatus}
	case *ari.ChannelDtmfReceived:
		return cti.DTMFReceived{At: c.at(e.Timestamp), ChannelID: e.Channel.ID, Digit: e.Digit}
	case *ari.PlaybackStarted:
		return cti.PlaybackStarted{At: c.at(e.Timestamp), PlaybackID: e.Playback.ID, TargetID: targetID(e.Playback.TargetURI)}
	case *ari.PlaybackFinished:
		return cti.PlaybackFinished{At: c.at(e.Timestamp), PlaybackID: e.Playback.ID,
			TargetID: targetID(e.Playback.TargetURI), State: e.Playback.State}
	case *ari.RecordingStarted:
		return cti.RecordingStarted{At: c.at(e.Timestamp), Name: e.Recording.Name}
	case *ari.RecordingFinished:
		return cti.RecordingFinished{At: c.at(e.Timestamp), Name: e.Recording.Name, Duration: time.Duration(e.Recording.Duration)}
	case *ari.RecordingFailed:
		return cti.RecordingFinished{At: c.at(e.Timestamp), Name: e.Recording.Name, Duration: time.Duration(e.Recording.Duration),
			Failed: true}
	case *ari.ApplicationReplaced:
		return cti.TelephonyReplaced{At: c.at(e.Timestamp)}
	}
	return nil
}

// at is the event's own time, or now when Asterisk did not stamp it.
func (c *Client) at(ts ari.DateTime) cti.At {
	if t := time.Time(ts); !t.IsZero() {
		return cti.At{Time: t}
	}
	return cti.At{Time: c.cfg.Clock.Now()}
}

// targetID strips the kind from a playback's target_uri ("channel:123" → "123", "bridge:b1" → "b1").
func targetID(uri string) string {
	if _, id, ok := strings.Cut(uri, ":"); ok {
		return id
	}
	return uri
}

// channelInfo maps the library's channel model to ours.
func channelInfo(d *ari.ChannelData) cti.ChannelInfo {
	ci := cti.ChannelInfo{ID: d.ID, Name: d.Name, State: d.State}
	if d.Caller != nil {
		ci.Caller = cti.Party{Number: d.Caller.Number, Name: d.Caller.Name}
	}
	if d.Dialplan != nil {
		ci.Dialed = d.Dialplan.Exten
	}
	if len(d.ChannelVars) > 0 {
		ci.Vars = make(map[string]string, len(d.ChannelVars))
		for k, v := range d.ChannelVars {
			ci.Vars[k] = v
		}
	}
	if ts := d.Creationtime; ts != nil {
		ci.Created = time.Unix(ts.Seconds, int64(ts.Nanos)).UTC()
	}
	return ci
}
