package asterisk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-cc/switchboard/cti"
)

// handledTypes are the ARI event types the adapter translates (convert has a case for each): those of the cti events the
// engine acts on, and no others. Every other type is ignored before decoding, so a type the library does not know
// (ChannelTransfer, ChannelToneDetected, ApplicationRegistered…) costs nothing but reading its head. It is also the allowed
// list of the event filter the adapter sets on every connect (eventFilterBody), so Asterisk does not send the others at
// all: ChannelStateChange, Dial, PlaybackStarted and RecordingStarted, which a call has ≈ 7 of, are left out because
// nothing consumes them (the engine learns of an answer from StasisStart, of a failed leg from ChannelDestroyed's cause).
// Adding a type means adding its case in convert and a consumer of the cti event it becomes.
var handledTypes = []string{"StasisStart", "StasisEnd", "ChannelHangupRequest", "ChannelDestroyed", "ChannelDtmfReceived",
	"PlaybackFinished", "RecordingFinished", "RecordingFailed", "ApplicationReplaced"}

// eventFilterBody is the body of PUT /applications/{app}/eventFilter: {"allowed":[{"type":…},…],"disallowed":[]} with
// handledTypes. The disallowed list is emptied too, so the filter is exactly ours whatever was set before (disallowed wins
// over allowed).
var eventFilterBody = func() []byte {
	b := []byte(`{"allowed":[`)
	for i, t := range handledTypes {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(append(b, `{"type":`...), t)
		b = append(b, '}')
	}
	return append(b, `],"disallowed":[]}`...)
}()

// setEventFilter asks Asterisk to send the application only the event types the adapter handles: of the 51 messages of
// an answered, bridged and recorded call, 43 (ChannelVarset above all) are of types it ignores, and each costs Asterisk
// an encode and a write and the adapter a read. Nothing depends on it: without it (Asterisk before 13.26/16.3) the others are ignored as before.
// The first failure is logged at info, the following at debug.
func (c *Client) setEventFilter(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := c.do(ctx, call{method: http.MethodPut, path: []string{"applications", c.cfg.App, "eventFilter"}, body: eventFilterBody,
		what: "set the event filter of application " + c.cfg.App})
	switch {
	case err == nil:
		c.log.Debug("asterisk: event filter set", "app", c.cfg.App, "types", len(handledTypes))
	case errors.Is(ctx.Err(), context.Canceled):
		// The connection went away meanwhile: the next one sets it again.
	case c.filterLogged.CompareAndSwap(false, true):
		c.log.Info("asterisk: no event filter; receiving every event type", "app", c.cfg.App, "err", err)
	default:
		c.log.Debug("asterisk: no event filter; receiving every event type", "app", c.cfg.App, "err", err)
	}
}

func handled(typ string) bool { return slices.Contains(handledTypes, typ) }

// handledType returns typ as it stands in handledTypes (so without a copy), or "" when it is not there.
func handledType(typ []byte) string {
	for _, t := range handledTypes {
		if string(typ) == t {
			return t
		}
	}
	return ""
}

// event holds the members of the handled events that the adapter reads, and nothing else: the library's models decode every
// member of the channel snapshot (twice: ari.ChannelData re-unmarshals itself to convert its time to a protobuf timestamp)
// and were a fifth of the controller's CPU under load. decodeEvent fills it; its tags are what encoding/json would read,
// which the fuzz test holds decodeEvent to (and Snapshot decodes channels with). One struct serves every handled type because the spec
// (events.json) gives each shared member name one type: cause is an int, channel a Channel wherever they appear.
type event struct {
	Type      string   `json:"type"`
	Timestamp ariTime  `json:"timestamp"`
	Args      []string `json:"args"`      // StasisStart
	Channel   channel  `json:"channel"`   // channel events
	Cause     int      `json:"cause"`     // ChannelHangupRequest, ChannelDestroyed
	CauseTxt  string   `json:"cause_txt"` // ChannelDestroyed
	Digit     string   `json:"digit"`     // ChannelDtmfReceived
	Playback  struct {
		ID        string `json:"id"`
		State     string `json:"state"`
		TargetURI string `json:"target_uri"`
	} `json:"playback"`
	Recording struct {
		Name     string `json:"name"`
		Duration int    `json:"duration"` // seconds
	} `json:"recording"`
}

// channel is the part of ARI's Channel model the adapter reads.
type channel struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	State  string `json:"state"`
	Caller struct {
		Name   string `json:"name"`
		Number string `json:"number"`
	} `json:"caller"`
	Dialplan struct {
		Exten   string `json:"exten"`
		AppName string `json:"app_name"`
		AppData string `json:"app_data"`
	} `json:"dialplan"`
	Creationtime ariTime           `json:"creationtime"`
	ChannelVars  map[string]string `json:"channelvars"`
}

// ariTime is ARI's Date ("2026-11-22T12:41:56.764+0000").
type ariTime time.Time

const ariTimeLayout = "2006-01-02T15:04:05.000-0700"

func (t *ariTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("date %s: not a string", b)
	}
	v, err := time.Parse(ariTimeLayout, string(b[1:len(b)-1]))
	if err != nil {
		return err
	}
	*t = ariTime(v)
	return nil
}

// translate turns one websocket message into a cti event; nil means the event is not one we deliver.
func (c *Client) translate(msg []byte) (cti.Event, error) {
	var typ string
	if b, ok := leadingType(msg); ok {
		typ = handledType(b) //: no allocation, and most messages end here
	} else {
		// Asterisk writes some events with their type further on (ChannelVarset leads with its variable, and is half of a
		// call's messages): find it without decoding the rest.
		var err error
		if typ, err = eventType(msg); err != nil {
			return nil, fmt.Errorf("not an event: %w", err)
		}
	}
	if typ == "" {
		return nil, nil
	}
	e := events.Get().(*event)
	defer func() {
		*e = event{}
		events.Put(e)
	}()
	// Only StasisStart carries a channel snapshot we read whole.
	if err := decodeEvent(msg, e, typ == "StasisStart"); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", typ, err)
	}
	if !handled(e.Type) {
		return nil, nil
	}
	return c.convert(e), nil
}

// events recycles the decoded events: one a delivered event was the largest allocation of the decoding.
var events = sync.Pool{New: func() any { return new(event) }}

// leadingType reads the event type when it leads the message as Asterisk writes it — first, or after ChannelVarset's
// "variable" and "value" strings — without scanning the rest: most of the messages of a call (ChannelVarset above all) are
// of types we ignore, and a full JSON pass over each of them was a tenth of the controller's CPU under load (finding
// ChannelVarset's type by a pass over the message still cost 2 %). ok is false when the message does not start that way
// (the caller then decodes the head properly); the whole message is still validated when its type is one we decode.
func leadingType(msg []byte) (typ []byte, ok bool) {
	i := skipSpace(msg, 0)
	if i >= len(msg) || msg[i] != '{' {
		return nil, false
	}
	i = skipSpace(msg, i+1)
	for _, lead := range []string{`"variable"`, `"value"`} {
		if !bytes.HasPrefix(msg[i:], []byte(lead)) {
			break
		}
		i = skipSpace(msg, i+len(lead))
		if i >= len(msg) || msg[i] != ':' {
			return nil, false
		}
		if i = skipString(msg, skipSpace(msg, i+1)); i < 0 {
			return nil, false
		}
		if i = skipSpace(msg, i); i >= len(msg) || msg[i] != ',' {
			return nil, false
		}
		i = skipSpace(msg, i+1)
	}
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

// skipString returns the index after the JSON string that starts at b[i], or -1 if none does (a control byte inside is not
// JSON).
func skipString(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1
		case c == '\\':
			i++ // the escaped byte; a bad escape is the decoder's to report once the type is one we decode
		case c < 0x20:
			return -1
		}
	}
	return -1
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// convert maps a decoded ARI event to its cti event.
func (c *Client) convert(e *event) cti.Event {
	at := c.at(e.Timestamp)
	switch e.Type {
	case "StasisStart":
		args := e.Args
		if args == nil {
			args = []string{}
		}
		return cti.ChannelEntered{At: at, Channel: channelInfo(&e.Channel), Args: args}
	case "StasisEnd":
		return cti.ChannelLeft{At: at, ChannelID: e.Channel.ID}
	case "ChannelHangupRequest":
		return cti.ChannelHangupRequested{At: at, ChannelID: e.Channel.ID, Cause: e.Cause}
	case "ChannelDestroyed":
		return cti.ChannelDestroyed{At: at, ChannelID: e.Channel.ID, Cause: e.Cause, CauseText: e.CauseTxt}
	case "ChannelDtmfReceived":
		return cti.DTMFReceived{At: at, ChannelID: e.Channel.ID, Digit: e.Digit}
	case "PlaybackFinished":
		return cti.PlaybackFinished{At: at, PlaybackID: e.Playback.ID, TargetID: targetID(e.Playback.TargetURI), State: e.Playback.State}
	case "RecordingFinished", "RecordingFailed":
		return cti.RecordingFinished{At: at, Name: e.Recording.Name, Duration: time.Duration(e.Recording.Duration) * time.Second,
			Failed: e.Type == "RecordingFailed"}
	case "ApplicationReplaced":
		return cti.TelephonyReplaced{At: at}
	}
	return nil
}

// at is the event's own time, or now when Asterisk did not stamp it.
func (c *Client) at(ts ariTime) cti.At {
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

// channelInfo maps ARI's channel to ours; the variables map is handed over, not copied.
func channelInfo(d *channel) cti.ChannelInfo {
	ci := cti.ChannelInfo{ID: d.ID, Name: d.Name, State: d.State,
		Caller: cti.Party{Number: d.Caller.Number, Name: d.Caller.Name}, Dialed: d.Dialplan.Exten}
	if len(d.ChannelVars) > 0 {
		ci.Vars = d.ChannelVars
	}
	if t := time.Time(d.Creationtime); !t.IsZero() {
		ci.Created = t.UTC()
	}
	return ci
}
