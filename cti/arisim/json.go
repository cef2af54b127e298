package arisim

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"time"
)

// kv is one member of an ordered JSON object.
type kv struct {
	K string
	V any
}

// obj is a JSON object that keeps its members in order, because Asterisk's
// event JSON has a stable field order that controllers and tests may rely on.
type obj []kv

func (o obj) MarshalJSON() ([]byte, error) { return appendJSON(nil, o) }

// marshal encodes compactly without HTML escaping, as jansson does.
func marshal(v any) ([]byte, error) { return appendJSON(nil, v) }

// appendJSON appends the JSON of v to b, byte for byte what encoding/json
// (compact, SetEscapeHTML(false)) produces. The types every event and most
// responses are made of are written directly, because reflection and the
// re-validation of nested MarshalJSON output were most of the emulator's
// CPU time under load; anything else goes through encoding/json.
func appendJSON(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case obj:
		b = append(b, '{')
		for i, m := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, m.K)
			b = append(b, ':')
			var err error
			if b, err = appendJSON(b, m.V); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	case string:
		return appendString(b, v), nil
	case int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case bool:
		return strconv.AppendBool(b, v), nil
	case []string:
		return appendStrings(b, v), nil
	case channelJSON:
		return appendChannel(b, &v), nil
	case liveChannel:
		j := v.c.json()
		return appendChannel(b, &j), nil
	case liveBridge:
		return appendJSON(b, v.b.json())
	case []channelJSON:
		if v == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '[')
		for i := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendChannel(b, &v[i])
		}
		return append(b, ']'), nil
	case bridgeJSON:
		b = appendField(b, '{', "id", v.ID)
		b = appendField(b, ',', "technology", v.Technology)
		b = appendField(b, ',', "bridge_type", v.BridgeType)
		b = appendField(b, ',', "bridge_class", v.BridgeClass)
		b = appendField(b, ',', "creator", v.Creator)
		b = appendField(b, ',', "name", v.Name)
		b = appendKey(b, ',', "channels")
		b = appendStrings(b, v.Channels)
		b = appendField(b, ',', "creationtime", v.Creationtime)
		b = appendField(b, ',', "video_mode", v.VideoMode)
		return append(b, '}'), nil
	case playbackJSON:
		b = appendField(b, '{', "id", v.ID)
		b = appendField(b, ',', "media_uri", v.MediaURI)
		if v.NextMediaURI != "" {
			b = appendField(b, ',', "next_media_uri", v.NextMediaURI)
		}
		b = appendField(b, ',', "target_uri", v.TargetURI)
		b = appendField(b, ',', "language", v.Language)
		b = appendField(b, ',', "state", v.State)
		return append(b, '}'), nil
	case liveRecordingJSON:
		b = appendField(b, '{', "name", v.Name)
		b = appendField(b, ',', "format", v.Format)
		b = appendField(b, ',', "state", v.State)
		b = appendField(b, ',', "target_uri", v.TargetURI)
		if v.Duration != nil {
			b = appendKey(b, ',', "duration")
			b = strconv.AppendInt(b, int64(*v.Duration), 10)
		}
		return append(b, '}'), nil
	case variableJSON:
		b = appendField(b, '{', "value", v.Value)
		return append(b, '}'), nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return append(b, bytes.TrimRight(buf.Bytes(), "\n")...), nil
}

// appendChannel writes the Channel model in Asterisk's member order.
func appendChannel(b []byte, c *channelJSON) []byte {
	b = appendField(b, '{', "id", c.ID)
	b = appendField(b, ',', "name", c.Name)
	b = appendField(b, ',', "state", c.State)
	b = appendField(b, ',', "protocol_id", c.ProtocolID)
	b = appendKey(b, ',', "caller")
	b = appendParty(b, c.Caller)
	b = appendKey(b, ',', "connected")
	b = appendParty(b, c.Connected)
	b = appendField(b, ',', "accountcode", c.Accountcode)
	b = appendKey(b, ',', "dialplan")
	b = appendField(b, '{', "context", c.Dialplan.Context)
	b = appendField(b, ',', "exten", c.Dialplan.Exten)
	b = appendKey(b, ',', "priority")
	b = strconv.AppendInt(b, int64(c.Dialplan.Priority), 10)
	b = appendField(b, ',', "app_name", c.Dialplan.AppName)
	b = appendField(b, ',', "app_data", c.Dialplan.AppData)
	b = append(b, '}')
	b = appendField(b, ',', "creationtime", c.Creationtime)
	b = appendField(b, ',', "language", c.Language)
	if len(c.Channelvars) > 0 {
		b = append(appendKey(b, ',', "channelvars"), '{')
		for i, k := range slices.Sorted(maps.Keys(c.Channelvars)) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendString(b, c.Channelvars[k])
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

func appendParty(b []byte, p partyJSON) []byte {
	b = appendField(b, '{', "name", p.Name)
	b = appendField(b, ',', "number", p.Number)
	return append(b, '}')
}

// appendKey writes sep, then "key":. Keys are plain ASCII.
func appendKey(b []byte, sep byte, key string) []byte {
	b = append(b, sep, '"')
	b = append(b, key...)
	return append(b, '"', ':')
}

// appendField writes sep, then "key":"value".
func appendField(b []byte, sep byte, key, value string) []byte {
	return appendString(appendKey(b, sep, key), value)
}

func appendStrings(b []byte, list []string) []byte {
	if list == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// appendString quotes s. Printable ASCII without quote or backslash, which
// is nearly every string the emulator sends, is copied as it is; anything
// else is left to encoding/json so escaping stays exactly its own.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.Encode(s) //nolint:errcheck // a string always encodes
			return append(b, bytes.TrimRight(buf.Bytes(), "\n")...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// astTime formats t as Asterisk does in ARI: 2026-11-22T12:41:41.292+0000.
func astTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000-0700")
}

type partyJSON struct {
	Name   string `json:"name"`
	Number string `json:"number"`
}

type dialplanJSON struct {
	Context  string `json:"context"`
	Exten    string `json:"exten"`
	Priority int    `json:"priority"`
	AppName  string `json:"app_name"`
	AppData  string `json:"app_data"`
}

type channelJSON struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	State        string            `json:"state"`
	ProtocolID   string            `json:"protocol_id"`
	Caller       partyJSON         `json:"caller"`
	Connected    partyJSON         `json:"connected"`
	Accountcode  string            `json:"accountcode"`
	Dialplan     dialplanJSON      `json:"dialplan"`
	Creationtime string            `json:"creationtime"`
	Language     string            `json:"language"`
	Channelvars  map[string]string `json:"channelvars,omitempty"`
}

type bridgeJSON struct {
	ID           string   `json:"id"`
	Technology   string   `json:"technology"`
	BridgeType   string   `json:"bridge_type"`
	BridgeClass  string   `json:"bridge_class"`
	Creator      string   `json:"creator"`
	Name         string   `json:"name"`
	Channels     []string `json:"channels"`
	Creationtime string   `json:"creationtime"`
	VideoMode    string   `json:"video_mode"`
}

type playbackJSON struct {
	ID           string `json:"id"`
	MediaURI     string `json:"media_uri"`
	NextMediaURI string `json:"next_media_uri,omitempty"`
	TargetURI    string `json:"target_uri"`
	Language     string `json:"language"`
	State        string `json:"state"`
}

type liveRecordingJSON struct {
	Name      string `json:"name"`
	Format    string `json:"format"`
	State     string `json:"state"`
	TargetURI string `json:"target_uri"`
	Duration  *int   `json:"duration,omitempty"`
}

type storedRecordingJSON struct {
	Name   string `json:"name"`
	Format string `json:"format"`
}

type endpointJSON struct {
	Technology string   `json:"technology"`
	Resource   string   `json:"resource"`
	State      string   `json:"state"`
	ChannelIDs []string `json:"channel_ids"`
}

type deviceStateJSON struct {
	Name  string `json:"name"`
	State string `json:"state"`
}

type applicationJSON struct {
	Name             string   `json:"name"`
	ChannelIDs       []string `json:"channel_ids"`
	BridgeIDs        []string `json:"bridge_ids"`
	EndpointIDs      []string `json:"endpoint_ids"`
	DeviceNames      []string `json:"device_names"`
	EventsAllowed    []any    `json:"events_allowed"`
	EventsDisallowed []any    `json:"events_disallowed"`
}

type variableJSON struct {
	Value string `json:"value"`
}
