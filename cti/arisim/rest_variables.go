package arisim

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// This file holds the channel variable endpoints: the single ones Asterisk
// has had since 12 and the bulk ones (getChannelVars / setChannelVars) added
// in 20.20.0 / 22.10.0 / 23.4.0. The spec describes the bulk ones only in
// outline; where it is silent they answer exactly as the single endpoints do
// for the same variable (the f-callerid-variables transcript).

func init() {
	handlers["channels.getChannelVars"] = (*Server).channelsGetVars
	handlers["channels.setChannelVars"] = (*Server).channelsSetVars
}

func (s *Server) channelsGetVar(q *request) response {
	c := s.channels[q.str("channelId")]
	if c == nil {
		return errMsg(http.StatusNotFound, "Provided channel was not found")
	}
	v, resp, good := s.readVar(c, q.str("variable"))
	if !good {
		return resp
	}
	return ok(variableJSON{v})
}

// readVar reads one channel variable or dialplan function the way
// ast_ari_channels_get_channel_var does: a name ending in ")" is a function
// (500 when it cannot be read), anything else a variable of the channel or,
// failing that, a global (404 when neither has it).
func (s *Server) readVar(c *channel, name string) (string, response, bool) {
	if strings.HasSuffix(name, ")") {
		v, known := s.readFunction(c, name)
		if !known {
			return "", errMsg(http.StatusInternalServerError, "Unable to read provided function"), false
		}
		return v, response{}, true
	}
	switch name {
	case "EXTEN":
		return c.dp.exten, response{}, true
	case "CONTEXT":
		return c.dp.context, response{}, true
	case "PRIORITY":
		return strconv.Itoa(c.dp.priority), response{}, true
	case "UNIQUEID":
		return c.id, response{}, true
	case "CHANNEL":
		return c.name, response{}, true
	}
	v, found := c.vars[name]
	if !found {
		if v, found = s.globals[name]; !found {
			return "", errMsg(http.StatusNotFound, "Provided variable was not found"), false
		}
	}
	return v, response{}, true
}

// channelsGetVars answers GET /channels/{id}/variables?variables=A,B with
// {"variables":{"A":"...","B":"..."}} in the order asked. Each name is read
// as the single GET reads it, and the first one that fails fails the whole
// request with that name's single-GET answer (404 for an unknown variable,
// 500 for an unreadable function), so a client never gets a partial answer.
// The spec lists 409 for a channel outside Stasis; the emulator enforces it
// (as for every other bulk operation) rather than guess that Asterisk skips
// the check like the single GET's C code does.
func (s *Server) channelsGetVars(q *request) response {
	c := s.channels[q.str("channelId")]
	if c == nil {
		return errMsg(http.StatusNotFound, "Provided channel was not found")
	}
	if !c.inStasis {
		return errMsg(http.StatusConflict, "Channel not in Stasis application")
	}
	// Asterisk's generated parser keeps the last occurrence of the
	// parameter and splits it with ast_app_separate_args, which leaves
	// commas inside a function's parentheses alone (PJSIP_HEADER(read,To)).
	names := separateArgs(q.str("variables"))
	vars := make(obj, 0, len(names))
	for _, name := range names {
		if name == "" {
			return errMsg(http.StatusBadRequest, "Variable name is required")
		}
		v, resp, good := s.readVar(c, name)
		if !good {
			return resp
		}
		vars = vars.set(name, v)
	}
	return ok(obj{{"variables", vars}})
}

// separateArgs splits s at commas like ast_app_separate_args: not inside
// parentheses, not inside double quotes (which are removed), and a
// backslash escapes the next character.
func separateArgs(s string) []string {
	var out []string
	var cur strings.Builder
	depth, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
		case ch == '"':
			quoted = !quoted
		case quoted:
			cur.WriteByte(ch)
		case ch == '(':
			depth++
			cur.WriteByte(ch)
		case ch == ')':
			if depth > 0 {
				depth--
			}
			cur.WriteByte(ch)
		case ch == ',' && depth == 0:
			out = append(out, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(ch)
		}
	}
	return append(out, strings.TrimSpace(cur.String()))
}

// set replaces the value of k, keeping its first position, or appends it:
// duplicate names in a request behave like duplicate keys in jansson.
func (o obj) set(k string, v any) obj {
	for i := range o {
		if o[i].K == k {
			o[i].V = v
			return o
		}
	}
	return append(o, kv{k, v})
}

func (s *Server) channelsSetVar(q *request) response {
	c, resp, good := s.findControl(q.str("channelId"))
	if !good {
		return resp
	}
	name := q.str("variable")
	if resp, bad := checkWritable(name); bad {
		return resp
	}
	s.writeVar(c, name, q.str("value"))
	return noContent()
}

// checkWritable rejects a function the emulator cannot write: of the
// dialplan functions only CALLERID(name|num|number|all) is writable, the
// rest get Asterisk's 400 "Failed to execute function".
func checkWritable(name string) (response, bool) {
	if !strings.HasSuffix(name, ")") {
		return response{}, false
	}
	fn, arg, _ := strings.Cut(strings.TrimSuffix(name, ")"), "(")
	if strings.ToUpper(fn) == "CALLERID" {
		switch strings.ToLower(arg) {
		case "name", "num", "number", "all":
			return response{}, false
		}
	}
	return errMsg(http.StatusBadRequest, "Failed to execute function"), true
}

// writeVar sets a variable (ChannelVarset) or CALLERID(...) (ChannelCallerId).
// The name has passed checkWritable.
func (s *Server) writeVar(c *channel, name, value string) {
	if !strings.HasSuffix(name, ")") {
		s.emitVarset(c, name, value)
		return
	}
	_, arg, _ := strings.Cut(strings.TrimSuffix(name, ")"), "(")
	switch strings.ToLower(arg) {
	case "name":
		c.caller.name = value
	case "num", "number":
		c.caller.number = value
	case "all":
		c.caller = parseCallerID(value)
	}
	s.chanEvent("ChannelCallerId", c, kv{"caller_presentation", 0}, kv{"caller_presentation_txt", "Presentation Allowed, Not Screened"})
}

// varAssign is one member of a setChannelVars "variables" object.
type varAssign struct {
	name, value string
	// report is the member's report_events. It is validated and kept, but
	// like the single setChannelVar's report_events the emulator does not
	// add the variable to the channel snapshots' channelvars.
	report bool
}

// channelsSetVars answers POST /channels/{id}/variables with a JSON body
// {"variables": {"NAME": "value", "OTHER": {"value": "v", "report_events": true}}}.
// Each member is written as the single setChannelVar writes it, in body
// order, one ChannelVarset (or ChannelCallerId) each. Every member is
// checked before any is written, so a bad one leaves the channel untouched.
func (s *Server) channelsSetVars(q *request) response {
	c, resp, good := s.findControl(q.str("channelId"))
	if !good {
		return resp
	}
	raw, found := q.body["variables"]
	if !found {
		return errMsg(http.StatusBadRequest, "Missing variables parameter.")
	}
	assigns, valid := parseVarAssigns(raw)
	if !valid {
		return errMsg(http.StatusBadRequest, "Only string values in the 'variables' object allowed")
	}
	if len(assigns) == 0 {
		return errMsg(http.StatusBadRequest, "Missing variables parameter.")
	}
	for _, a := range assigns {
		if a.name == "" {
			return errMsg(http.StatusBadRequest, "Variable name is required")
		}
		if resp, bad := checkWritable(a.name); bad {
			return resp
		}
	}
	for _, a := range assigns {
		s.writeVar(c, a.name, a.value)
	}
	return noContent()
}

// parseVarAssigns reads a "variables" object keeping the members' order. A
// member is a string or {"value": string, "report_events": bool}; anything
// else makes the whole object invalid. A repeated name keeps its first
// position and its last value, as jansson does.
//
// The object is checked whole with json.Valid, then walked member by member
// (each key and value is found by its delimiters, which valid JSON makes
// unambiguous): json.Decoder's tokens cost ≈ 55 allocations for a body of
// five variables, on two requests of every call (TestParseVarAssignsAsDecoder
// compares the two).
func parseVarAssigns(raw json.RawMessage) ([]varAssign, bool) {
	if !json.Valid(raw) {
		return nil, false
	}
	i := skipSpace(raw, 0)
	if i == len(raw) || raw[i] != '{' {
		return nil, false
	}
	var out []varAssign
	var index map[string]int // past a few members, where each name is in out
	for i = skipSpace(raw, i+1); i < len(raw) && raw[i] != '}'; {
		end := jsonValueEnd(raw, i) // the key: a string
		name, ok := jsonString(raw[i:end])
		if !ok {
			return nil, false
		}
		i = skipSpace(raw, skipSpace(raw, end)+1) // past the ':'
		end = jsonValueEnd(raw, i)
		member := raw[i:end]
		a := varAssign{name: name}
		if a.value, ok = jsonString(member); !ok {
			if err := json.Unmarshal(member, &a.value); err != nil {
				var o struct {
					Value        *string `json:"value"`
					ReportEvents *bool   `json:"report_events"`
				}
				if member[0] == '{' && json.Unmarshal(member, &o) == nil && o.Value != nil {
					a.value = *o.Value
					a.report = o.ReportEvents != nil && *o.ReportEvents
				} else {
					return nil, false
				}
			}
		}
		if at := assignIndex(out, index, name); at >= 0 {
			out[at] = a
		} else {
			out = append(out, a)
			if index == nil && len(out) > 8 { // the names in out are distinct
				index = make(map[string]int, 2*len(out))
				for k, x := range out {
					index[x.name] = k
				}
			} else if index != nil {
				index[name] = len(out) - 1
			}
		}
		if i = skipSpace(raw, end); i < len(raw) && raw[i] == ',' {
			i = skipSpace(raw, i+1)
		}
	}
	return out, true
}

// assignIndex is where name is in out, or -1.
func assignIndex(out []varAssign, index map[string]int, name string) int {
	if index != nil {
		if k, ok := index[name]; ok {
			return k
		}
		return -1
	}
	for k := range out {
		if out[k].name == name {
			return k
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

// jsonValueEnd returns the end of the JSON value starting at b[i], in b
// that is valid JSON.
func jsonValueEnd(b []byte, i int) int {
	switch b[i] {
	case '"':
		return jsonStringEnd(b, i)
	case '{', '[':
		depth := 0
		for ; i < len(b); i++ {
			switch b[i] {
			case '"':
				i = jsonStringEnd(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	for i < len(b) && strings.IndexByte(",}] \t\n\r", b[i]) < 0 { // a number or literal
		i++
	}
	return i
}

// jsonStringEnd returns the end of the JSON string starting at b[i].
func jsonStringEnd(b []byte, i int) int {
	for i++; i < len(b) && b[i] != '"'; i++ {
		if b[i] == '\\' {
			i++
		}
	}
	return i + 1
}

// jsonString decodes v, a valid JSON value, if it is a string.
func jsonString(v []byte) (string, bool) {
	if len(v) == 0 || v[0] != '"' {
		return "", false
	}
	if isPlainString(v) {
		return string(v[1 : len(v)-1]), true
	}
	var s string
	err := json.Unmarshal(v, &s)
	return s, err == nil
}
