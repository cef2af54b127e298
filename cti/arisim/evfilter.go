package arisim

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
)

func init() {
	handlers["applications.filter"] = (*Server).applicationsFilter
}

// eventFilter is an application's event type filter (PUT /applications/{name}/eventFilter). As in Asterisk it belongs
// to the application, not to its websocket: it outlives a reconnect while the application does (see serveEvents).
type eventFilter struct {
	// allowed and disallowed are the lists' entries as they were given (objects with at least a non-empty "type"),
	// compacted: the Application model shows them back as they came. nil: the list is empty.
	allowed, disallowed []json.RawMessage
	// allow and deny are the entries' types, which is all the filter compares.
	allow, deny []string
}

// passes reports whether an event of type typ reaches the application: a disallowed type never does; an empty allowed
// list lets every other type through, a non-empty one only its own.
func (f *eventFilter) passes(typ string) bool {
	if slices.Contains(f.deny, typ) {
		return false
	}
	return len(f.allow) == 0 || slices.Contains(f.allow, typ)
}

// errFilterFormat is a list that is not an array of objects each with a non-empty string "type".
var errFilterFormat = errors.New("invalid format definition")

// filterFormatMessage is Asterisk's 400 message for it.
const filterFormatMessage = "Invalid format definition"

// parseFilterList reads one list of the filter: a JSON array whose entries are objects with a non-empty string "type".
func parseFilterList(v json.RawMessage) (entries []json.RawMessage, types []string, err error) {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || v[0] != '[' { // null too: Asterisk wants an array
		return nil, nil, errFilterFormat
	}
	var list []json.RawMessage
	if err := json.Unmarshal(v, &list); err != nil {
		return nil, nil, errFilterFormat
	}
	for _, e := range list {
		var o map[string]json.RawMessage
		if e = bytes.TrimSpace(e); len(e) == 0 || e[0] != '{' || json.Unmarshal(e, &o) != nil {
			return nil, nil, errFilterFormat
		}
		var typ string
		if t := bytes.TrimSpace(o["type"]); len(t) == 0 || t[0] != '"' || json.Unmarshal(t, &typ) != nil || typ == "" {
			return nil, nil, errFilterFormat
		}
		var buf bytes.Buffer
		json.Compact(&buf, e) //nolint:errcheck // e was just decoded: it is valid JSON
		entries = append(entries, buf.Bytes())
		types = append(types, typ)
	}
	return entries, types, nil
}

// applicationsFilter sets an application's event filter as Asterisk does (res/stasis/app.c): the body is the filter; an
// empty body (or one that is not JSON, which Asterisk does not read) or {} empties both lists; otherwise each list the
// object names is replaced, disallowed first, and a list that is not an array of typed entries answers 400 and is left as
// it was (a valid disallowed list before a bad allowed one stays set, as in Asterisk). A top-level array is taken as both
// lists, as Asterisk's code takes any array it is given.
func (s *Server) applicationsFilter(q *request) response {
	reg := s.apps[q.str("applicationName")]
	if reg == nil || reg.conn == nil {
		return errMsg(http.StatusNotFound, "Application not found")
	}
	bad := errMsg(http.StatusBadRequest, filterFormatMessage)
	body := bytes.TrimSpace(q.jsonBody())
	switch {
	case len(body) == 0:
		reg.filter = eventFilter{}
	case body[0] == '[':
		entries, types, err := parseFilterList(body)
		if err != nil {
			return bad
		}
		reg.filter = eventFilter{allowed: entries, disallowed: entries, allow: types, deny: types}
	default:
		var lists map[string]json.RawMessage
		if err := json.Unmarshal(body, &lists); err != nil {
			return bad // cannot happen: readParams took it as an object
		}
		if len(lists) == 0 {
			reg.filter = eventFilter{}
			break
		}
		if v, ok := lists["disallowed"]; ok {
			entries, types, err := parseFilterList(v)
			if err != nil {
				return bad
			}
			reg.filter.disallowed, reg.filter.deny = entries, types
		}
		if v, ok := lists["allowed"]; ok {
			entries, types, err := parseFilterList(v)
			if err != nil {
				return bad
			}
			reg.filter.allowed, reg.filter.allow = entries, types
		}
	}
	return ok(s.applicationJSON(reg))
}

// jsonBody is the request body when Asterisk would read it as JSON (readParams' rule: a JSON content type, or none), else
// nil.
func (q *request) jsonBody() []byte {
	if q.http == nil || q.rawBody == nil {
		return nil
	}
	ct := q.http.Header.Get("Content-Type")
	if ct != "" && !strings.HasPrefix(ct, "application/json") {
		return nil
	}
	return q.rawBody
}

// appInUse reports whether Asterisk would still hold the application object after its websocket went away: it keeps an
// application while channels, bridges or endpoints are subscribed to it, and destroys it (and its event filter) once
// none is.
func (s *Server) appInUse(reg *appReg) bool {
	if len(reg.channels)+len(reg.bridges)+len(reg.endpoints) > 0 {
		return true
	}
	for _, c := range s.channels {
		if c.app == reg.name && c.inStasis {
			return true
		}
	}
	for _, b := range s.bridges {
		if b.app == reg.name {
			return true
		}
	}
	return false
}

// filterJSON lists a filter's entries for the Application model (an empty array for none).
func filterJSON(entries []json.RawMessage) []any {
	out := make([]any, len(entries))
	for i, e := range entries {
		out[i] = e
	}
	return out
}
