package asterisk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// decodeEvent reads an ARI event message into e: the members event names (matched as encoding/json matches them, exactly or
// else case-insensitively), every other member checked for well-formed JSON and skipped. With whole, it accepts and
// rejects what json.Unmarshal into an event does and gives the same values (FuzzDecodeEvent holds it to that); without,
// it reads of a channel only its id, which is all convert takes from any event but StasisStart, and leaves the rest
// unread but checked. It exists because encoding/json allocated ≈ 40 objects an event (scanner states, field stacks,
// a string per member) and decoding was a fifth of the controller's CPU under load. Strings without escapes or non-ASCII
// bytes, nearly all of them, are copied straight from the message (a handled type is not copied at all); the others are
// unquoted by encoding/json.
func decodeEvent(msg []byte, e *event, whole bool) error {
	r := reader{b: msg, whole: whole}
	r.ws()
	if err := r.object(func(key []byte) error { return r.eventMember(e, key) }); err != nil {
		return err
	}
	r.ws()
	if r.i != len(r.b) {
		return r.syntax("after the event")
	}
	return nil
}

// eventType reads the type member of a message wherever it stands and checks the rest is JSON, without decoding the rest:
// one of handledTypes, or "" for any other type, with no allocation for a type written plainly.
func eventType(msg []byte) (string, error) {
	r := reader{b: msg}
	r.ws()
	typ := ""
	err := r.object(func(key []byte) error {
		if member(key, eventKeys) != "type" {
			return r.skip()
		}
		typ = ""
		if r.i < len(r.b) && r.b[r.i] == '"' {
			if end, plain, err := r.scanString(); err == nil && plain {
				typ = handledType(r.b[r.i+1 : end-1])
				r.i = end
				return nil
			}
		}
		var s string
		if err := r.str(&s); err != nil {
			return err
		}
		typ = handledType([]byte(s))
		return nil
	})
	if err != nil {
		return "", err
	}
	r.ws()
	if r.i != len(r.b) {
		return "", r.syntax("after the event")
	}
	return typ, nil
}

// The member names of each object, in the order looked up.
var (
	eventKeys    = []string{"type", "timestamp", "channel", "args", "cause", "cause_txt", "digit", "playback", "recording"}
	channelKeys  = []string{"id", "name", "state", "caller", "dialplan", "creationtime", "channelvars"}
	callerKeys   = []string{"name", "number"}
	dialplanKeys = []string{"exten", "app_name", "app_data"}
	playbackKeys = []string{"id", "state", "target_uri"}
	recordKeys   = []string{"name", "duration"}
)

func (r *reader) eventMember(e *event, key []byte) error {
	switch member(key, eventKeys) {
	case "type":
		return r.eventTypeName(&e.Type)
	case "timestamp":
		return r.time(&e.Timestamp)
	case "channel":
		return r.channel(&e.Channel)
	case "args":
		return r.strings(&e.Args)
	case "cause":
		return r.int(&e.Cause)
	case "cause_txt":
		return r.str(&e.CauseTxt)
	case "digit":
		return r.str(&e.Digit)
	case "playback":
		return r.object(func(k []byte) error {
			switch member(k, playbackKeys) {
			case "id":
				return r.str(&e.Playback.ID)
			case "state":
				return r.str(&e.Playback.State)
			case "target_uri":
				return r.str(&e.Playback.TargetURI)
			}
			return r.skip()
		})
	case "recording":
		return r.object(func(k []byte) error {
			switch member(k, recordKeys) {
			case "name":
				return r.str(&e.Recording.Name)
			case "duration":
				return r.int(&e.Recording.Duration)
			}
			return r.skip()
		})
	}
	return r.skip()
}

func (r *reader) channel(ch *channel) error {
	return r.object(func(key []byte) error {
		m := member(key, channelKeys)
		if m == "id" {
			return r.str(&ch.ID)
		}
		if !r.whole {
			return r.skip()
		}
		switch m {
		case "state":
			return r.str(&ch.State)
		case "name":
			return r.str(&ch.Name)
		case "caller":
			return r.object(func(k []byte) error {
				switch member(k, callerKeys) {
				case "name":
					return r.str(&ch.Caller.Name)
				case "number":
					return r.str(&ch.Caller.Number)
				}
				return r.skip()
			})
		case "dialplan":
			return r.object(func(k []byte) error {
				switch member(k, dialplanKeys) {
				case "exten":
					return r.str(&ch.Dialplan.Exten)
				case "app_name":
					return r.str(&ch.Dialplan.AppName)
				case "app_data":
					return r.str(&ch.Dialplan.AppData)
				}
				return r.skip()
			})
		case "creationtime":
			return r.time(&ch.Creationtime)
		case "channelvars":
			return r.strMap(&ch.ChannelVars)
		}
		return r.skip()
	})
}

// member returns the name in names that key matches, as encoding/json matches a member to a field: exactly, or else
// case-insensitively (Unicode simple folding); "" for none.
func member(key []byte, names []string) string {
	for _, n := range names {
		if string(key) == n {
			return n
		}
	}
	for _, c := range key {
		if 'A' <= c && c <= 'Z' || c >= 0x80 { // only then can it fold to one of our lower-case ASCII names
			for _, n := range names {
				if bytes.EqualFold(key, []byte(n)) {
					return n
				}
			}
			break
		}
	}
	return ""
}

// reader walks one JSON message. Each method reading a value starts at its first byte.
type reader struct {
	b     []byte
	i     int
	depth int
	whole bool // read every member of a channel, not only its id
}

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

func (r *reader) ws() {
	for r.i < len(r.b) {
		switch r.b[r.i] {
		case ' ', '\t', '\n', '\r':
			r.i++
		default:
			return
		}
	}
}

func (r *reader) syntax(what string) error {
	return fmt.Errorf("invalid JSON at offset %d: %s", r.i, what)
}

func (r *reader) mismatch(want string) error {
	return fmt.Errorf("JSON value at offset %d: want %s", r.i, want)
}

// null consumes a null literal if one is next.
func (r *reader) null() bool {
	if bytes.HasPrefix(r.b[r.i:], []byte("null")) {
		r.i += 4
		return true
	}
	return false
}

// object reads an object, calling member for each key with the reader at the member's value; null is no object and no error.
func (r *reader) object(member func(key []byte) error) error {
	if r.null() {
		return nil
	}
	if r.i >= len(r.b) || r.b[r.i] != '{' {
		return r.mismatchAfterValid("an object")
	}
	if r.depth++; r.depth > maxDepth {
		return r.syntax("nested too deep")
	}
	defer func() { r.depth-- }()
	r.i++
	r.ws()
	if r.i < len(r.b) && r.b[r.i] == '}' {
		r.i++
		return nil
	}
	for {
		r.ws()
		key, err := r.key()
		if err != nil {
			return err
		}
		r.ws()
		if r.i >= len(r.b) || r.b[r.i] != ':' {
			return r.syntax("want ':' after a member name")
		}
		r.i++
		r.ws()
		if err := member(key); err != nil {
			return err
		}
		r.ws()
		if r.i >= len(r.b) {
			return r.syntax("unterminated object")
		}
		switch r.b[r.i] {
		case ',':
			r.i++
		case '}':
			r.i++
			return nil
		default:
			return r.syntax("want ',' or '}' in an object")
		}
	}
}

// array reads an array, calling elem with the reader at each element; null is no array and no error.
func (r *reader) array(elem func() error) error {
	if r.i >= len(r.b) || r.b[r.i] != '[' {
		return r.mismatchAfterValid("an array")
	}
	if r.depth++; r.depth > maxDepth {
		return r.syntax("nested too deep")
	}
	defer func() { r.depth-- }()
	r.i++
	r.ws()
	if r.i < len(r.b) && r.b[r.i] == ']' {
		r.i++
		return nil
	}
	for {
		r.ws()
		if err := elem(); err != nil {
			return err
		}
		r.ws()
		if r.i >= len(r.b) {
			return r.syntax("unterminated array")
		}
		switch r.b[r.i] {
		case ',':
			r.i++
		case ']':
			r.i++
			return nil
		default:
			return r.syntax("want ',' or ']' in an array")
		}
	}
}

// mismatchAfterValid reports a value of the wrong kind, or a syntax error when the value is not JSON at all.
func (r *reader) mismatchAfterValid(want string) error {
	at := r.i
	if err := r.skip(); err != nil {
		return err
	}
	r.i = at
	return r.mismatch(want)
}

// key reads a member name: a slice of the message when it has no escapes (no allocation), else its unquoted copy.
func (r *reader) key() ([]byte, error) {
	if r.i >= len(r.b) || r.b[r.i] != '"' {
		return nil, r.syntax("want a member name")
	}
	start := r.i
	end, plain, err := r.scanString()
	if err != nil {
		return nil, err
	}
	r.i = end
	if plain {
		return r.b[start+1 : end-1], nil
	}
	var s string
	if err := json.Unmarshal(r.b[start:end], &s); err != nil {
		return nil, err
	}
	return []byte(s), nil
}

// scanString checks the string starting at r.i and returns the offset after its closing quote; plain means no escapes and
// only ASCII, so its bytes are its value.
func (r *reader) scanString() (end int, plain bool, err error) {
	plain = true
	b := r.b
	for i := r.i + 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1, plain, nil
		case c == '\\':
			plain = false
			i++
			if i >= len(b) {
				return 0, false, r.syntax("unterminated string")
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if i+4 >= len(b) {
					return 0, false, r.syntax("unterminated string")
				}
				for _, h := range b[i+1 : i+5] {
					if !('0' <= h && h <= '9' || 'a' <= h && h <= 'f' || 'A' <= h && h <= 'F') {
						return 0, false, r.syntax("bad \\u escape in a string")
					}
				}
				i += 4
			default:
				return 0, false, r.syntax("bad escape in a string")
			}
		case c < 0x20:
			return 0, false, r.syntax("control character in a string")
		case c >= 0x80:
			plain = false // encoding/json replaces invalid UTF-8: let it
		}
	}
	return 0, false, r.syntax("unterminated string")
}

// str reads a string into p; null leaves p as it is.
func (r *reader) str(p *string) error {
	if r.null() {
		return nil
	}
	if r.i >= len(r.b) || r.b[r.i] != '"' {
		return r.mismatchAfterValid("a string")
	}
	start := r.i
	end, plain, err := r.scanString()
	if err != nil {
		return err
	}
	r.i = end
	if plain {
		*p = string(r.b[start+1 : end-1])
		return nil
	}
	return json.Unmarshal(r.b[start:end], p)
}

// eventTypeName reads the type into p, without a copy when it is a handled one.
func (r *reader) eventTypeName(p *string) error {
	if r.i < len(r.b) && r.b[r.i] == '"' {
		if end, plain, err := r.scanString(); err == nil && plain {
			if t := handledType(r.b[r.i+1 : end-1]); t != "" {
				*p, r.i = t, end
				return nil
			}
		}
	}
	return r.str(p)
}

// int reads an integer into p; null leaves p as it is.
func (r *reader) int(p *int) error {
	if r.null() {
		return nil
	}
	start := r.i
	if r.i >= len(r.b) || r.b[r.i] != '-' && (r.b[r.i] < '0' || r.b[r.i] > '9') {
		return r.mismatchAfterValid("a number")
	}
	if err := r.number(); err != nil {
		return err
	}
	v, err := strconv.ParseInt(string(r.b[start:r.i]), 10, 64)
	if err != nil {
		return fmt.Errorf("JSON number %s at offset %d: not an integer", r.b[start:r.i], start)
	}
	*p = int(v)
	return nil
}

// time reads an ARI date into p, through the same UnmarshalJSON encoding/json calls.
func (r *reader) time(p *ariTime) error {
	start := r.i
	if err := r.skip(); err != nil {
		return err
	}
	return p.UnmarshalJSON(r.b[start:r.i])
}

// strings reads an array of strings into p (a new slice, empty rather than nil for []); null sets p to nil.
func (r *reader) strings(p *[]string) error {
	if r.null() {
		*p = nil
		return nil
	}
	out := []string{}
	err := r.array(func() error {
		var s string
		if err := r.str(&s); err != nil {
			return err
		}
		out = append(out, s)
		return nil
	})
	if err != nil {
		return err
	}
	*p = out
	return nil
}

// strMap reads an object of strings into *p, adding to the map already there as encoding/json does; null sets p to nil.
func (r *reader) strMap(p *map[string]string) error {
	if r.null() {
		*p = nil
		return nil
	}
	if r.i >= len(r.b) || r.b[r.i] != '{' {
		return r.mismatchAfterValid("an object")
	}
	if *p == nil {
		*p = map[string]string{}
	}
	m := *p
	return r.object(func(key []byte) error {
		var v string
		if err := r.str(&v); err != nil {
			return err
		}
		m[string(key)] = v
		return nil
	})
}

// skip checks and passes over any value.
func (r *reader) skip() error {
	if r.i >= len(r.b) {
		return r.syntax("want a value")
	}
	switch c := r.b[r.i]; {
	case c == '"':
		end, _, err := r.scanString()
		if err != nil {
			return err
		}
		r.i = end
		return nil
	case c == '{':
		return r.object(func([]byte) error { return r.skip() })
	case c == '[':
		return r.array(r.skip)
	case c == 't':
		return r.literal("true")
	case c == 'f':
		return r.literal("false")
	case c == 'n':
		return r.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		return r.number()
	}
	return r.syntax("want a value")
}

func (r *reader) literal(lit string) error {
	if !bytes.HasPrefix(r.b[r.i:], []byte(lit)) {
		return r.syntax("bad literal")
	}
	r.i += len(lit)
	return nil
}

// number passes over a number of JSON's grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (r *reader) number() error {
	b, i := r.b, r.i
	digits := func() bool {
		n := i
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
		return i > n
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case !digits():
		return r.syntax("bad number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return r.syntax("bad number")
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return r.syntax("bad number")
		}
	}
	r.i = i
	return nil
}
