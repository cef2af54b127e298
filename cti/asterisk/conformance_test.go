package asterisk_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The conformance check: every REST request the adapter sends in these tests must exist in Asterisk's own API description
// (../shared/ari/spec next to the repository): method and path template, required parameters present, no unknown
// parameter, enum and range values respected.

type specParam struct {
	Name            string `json:"name"`
	ParamType       string `json:"paramType"`
	Required        bool   `json:"required"`
	AllowMultiple   bool   `json:"allowMultiple"`
	DataType        string `json:"dataType"`
	AllowableValues *struct {
		ValueType string   `json:"valueType"`
		Values    []string `json:"values"`
		Min       *float64 `json:"min"`
		Max       *float64 `json:"max"`
	} `json:"allowableValues"`
}

type specOp struct {
	Path     string
	Method   string      `json:"httpMethod"`
	Nickname string      `json:"nickname"`
	Params   []specParam `json:"parameters"`
}

var (
	specOnce sync.Once
	specOps  []specOp
	specErr  error
)

// specDir finds ../shared/ari/spec relative to the repository root (the directory holding go.mod).
func specDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			spec := filepath.Join(dir, "..", "shared", "ari", "spec")
			if _, err := os.Stat(spec); err != nil {
				return "", err
			}
			return spec, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}

func loadSpec() ([]specOp, error) {
	specOnce.Do(func() {
		dir, err := specDir()
		if err != nil {
			specErr = err
			return
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*.json"))
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err != nil {
				specErr = err
				return
			}
			var doc struct {
				APIs []struct {
					Path       string   `json:"path"`
					Operations []specOp `json:"operations"`
				} `json:"apis"`
			}
			if err := json.Unmarshal(raw, &doc); err != nil {
				specErr = fmt.Errorf("%s: %w", f, err)
				return
			}
			for _, api := range doc.APIs {
				for _, op := range api.Operations {
					op.Path = api.Path
					specOps = append(specOps, op)
				}
			}
		}
		if len(specOps) == 0 {
			specErr = fmt.Errorf("no operations in %s", dir)
		}
	})
	return specOps, specErr
}

// matchOp finds the operation for method and path, preferring the template with the most literal segments
// (/channels/externalMedia over /channels/{channelId}).
func matchOp(ops []specOp, method, path string) *specOp {
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	var best *specOp
	bestLit := -1
	for i := range ops {
		op := &ops[i]
		if op.Method != method {
			continue
		}
		tsegs := strings.Split(strings.TrimPrefix(op.Path, "/"), "/")
		if len(tsegs) != len(segs) {
			continue
		}
		lit, ok := 0, true
		for j, ts := range tsegs {
			if strings.HasPrefix(ts, "{") {
				if segs[j] == "" {
					ok = false
				}
				continue
			}
			if ts != segs[j] {
				ok = false
				break
			}
			lit++
		}
		if ok && lit > bestLit {
			best, bestLit = op, lit
		}
	}
	return best
}

// violations lists what is wrong with one request according to the spec.
func violations(ops []specOp, r sentRequest) []string {
	op := matchOp(ops, r.Method, r.Path)
	if op == nil {
		return []string{"no such operation in the spec"}
	}
	var out []string
	query, err := url.ParseQuery(r.Query)
	if err != nil {
		out = append(out, "bad query: "+err.Error())
	}
	byName := map[string]specParam{}
	var whole *specParam // a body parameter of dataType object is the body itself (Asterisk hands its code the whole body)
	for i, p := range op.Params {
		byName[p.Name] = p
		if p.ParamType == "body" && p.DataType == "object" {
			whole = &op.Params[i]
		}
	}
	var body map[string]json.RawMessage
	if len(r.Body) > 0 {
		if err := json.Unmarshal(r.Body, &body); err != nil {
			out = append(out, "body is not a JSON object")
		}
	}
	if whole != nil {
		if len(r.Body) > 0 && op.Nickname == "filter" {
			out = append(out, filterViolations(body)...)
		}
		body = nil // its members are not parameters
	}
	for name, vals := range query {
		p, ok := byName[name]
		if !ok || p.ParamType != "query" {
			out = append(out, fmt.Sprintf("%s: unknown query parameter %q", op.Nickname, name))
			continue
		}
		if len(vals) > 1 && !p.AllowMultiple {
			out = append(out, fmt.Sprintf("%s: %s given %d times", op.Nickname, name, len(vals)))
		}
		for _, v := range vals {
			items := []string{v}
			if p.AllowMultiple {
				items = strings.Split(v, ",")
			}
			for _, item := range items {
				if msg := checkValue(p, item); msg != "" {
					out = append(out, fmt.Sprintf("%s: %s=%q: %s", op.Nickname, name, item, msg))
				}
			}
		}
	}
	for name := range body {
		if p, ok := byName[name]; !ok || p.ParamType != "body" {
			out = append(out, fmt.Sprintf("%s: unknown body parameter %q", op.Nickname, name))
		}
	}
	for _, p := range op.Params {
		if !p.Required {
			continue
		}
		switch p.ParamType {
		case "query":
			if query.Get(p.Name) == "" {
				out = append(out, fmt.Sprintf("%s: required %s missing", op.Nickname, p.Name))
			}
		case "body":
			if whole != nil {
				if len(r.Body) == 0 {
					out = append(out, fmt.Sprintf("%s: required body %s missing", op.Nickname, p.Name))
				}
			} else if _, ok := body[p.Name]; !ok {
				out = append(out, fmt.Sprintf("%s: required body %s missing", op.Nickname, p.Name))
			}
		}
	}
	return out
}

// filterViolations checks an event filter (applications.filter) as the operation's notes describe it: an object with
// "allowed" and/or "disallowed", each an array of objects with a "type" naming an event type of events.json (the match is
// exact: a misspelt type would keep events back without a word).
func filterViolations(body map[string]json.RawMessage) []string {
	types, err := eventTypes()
	if err != nil {
		return []string{"event types: " + err.Error()}
	}
	var out []string
	for name, raw := range body {
		if name != "allowed" && name != "disallowed" {
			out = append(out, fmt.Sprintf("filter: unknown member %q", name))
			continue
		}
		var list []map[string]json.RawMessage
		if err := json.Unmarshal(raw, &list); err != nil || raw[0] != '[' {
			out = append(out, fmt.Sprintf("filter: %s is not an array of objects", name))
			continue
		}
		for i, entry := range list {
			var typ string
			if err := json.Unmarshal(entry["type"], &typ); err != nil || typ == "" {
				out = append(out, fmt.Sprintf("filter: %s[%d] has no type", name, i))
			} else if !slices.Contains(types, typ) {
				out = append(out, fmt.Sprintf("filter: %s[%d]: %q is no event type of events.json", name, i, typ))
			}
		}
	}
	return out
}

var (
	eventTypesOnce sync.Once
	eventTypeNames []string
	eventTypesErr  error
)

// eventTypes are the event types events.json defines (the subtypes of its Event model).
func eventTypes() ([]string, error) {
	eventTypesOnce.Do(func() {
		dir, err := specDir()
		if err != nil {
			eventTypesErr = err
			return
		}
		raw, err := os.ReadFile(filepath.Join(dir, "events.json"))
		if err != nil {
			eventTypesErr = err
			return
		}
		var doc struct {
			Models map[string]struct {
				SubTypes []string `json:"subTypes"`
			} `json:"models"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			eventTypesErr = err
			return
		}
		eventTypeNames = doc.Models["Event"].SubTypes
		if len(eventTypeNames) == 0 {
			eventTypesErr = fmt.Errorf("no event types in %s", dir)
		}
	})
	return eventTypeNames, eventTypesErr
}

func checkValue(p specParam, v string) string {
	switch p.DataType {
	case "int", "long":
		if _, err := strconv.Atoi(v); err != nil {
			return "not an integer"
		}
	case "boolean":
		if v != "true" && v != "false" {
			return "not a boolean"
		}
	}
	if av := p.AllowableValues; av != nil {
		switch strings.ToUpper(av.ValueType) {
		case "LIST":
			if !slices.Contains(av.Values, v) {
				return "not one of " + strings.Join(av.Values, ", ")
			}
		case "RANGE":
			n, err := strconv.ParseFloat(v, 64)
			if err != nil || av.Min != nil && n < *av.Min || av.Max != nil && n > *av.Max {
				return "out of range"
			}
		}
	}
	return ""
}

// checkConformance reports every request that breaks the spec; without the spec it only logs.
func checkConformance(t *testing.T, reqs []sentRequest) {
	t.Helper()
	ops, err := loadSpec()
	if err != nil {
		t.Logf("ARI spec not found (%v): requests not checked", err)
		return
	}
	for _, r := range reqs {
		for _, v := range violations(ops, r) {
			t.Errorf("%s %s?%s: %s", r.Method, r.Path, r.Query, v)
		}
	}
}

// The checker must catch what Asterisk would reject, and accept what the transcripts show.
func TestConformanceChecker(t *testing.T) {
	ops, err := loadSpec()
	if err != nil {
		t.Skipf("ARI spec not found: %v", err)
	}
	for _, tc := range []struct {
		r    sentRequest
		want string // substring of the only violation; "" for none
	}{
		{sentRequest{Method: "POST", Path: "/channels/123/answer"}, ""},
		{sentRequest{Method: "POST", Path: "/channels/123/play", Query: "media=sound:a,sound:b&playbackId=p1"}, ""},
		{sentRequest{Method: "POST", Path: "/channels/externalMedia", Query: "app=a&format=ulaw&encapsulation=rtp&transport=udp"}, ""},
		{sentRequest{Method: "POST", Path: "/channels", Query: "endpoint=PJSIP/1001&app=a", Body: []byte(`{"variables":{"A":"1"}}`)}, ""},
		{sentRequest{Method: "POST", Path: "/channels/123/anwser"}, "no such operation"},
		{sentRequest{Method: "PUT", Path: "/channels/123/answer"}, "no such operation"},
		{sentRequest{Method: "POST", Path: "/channels/123/play"}, "required media missing"},
		{sentRequest{Method: "POST", Path: "/channels/123/mute", Query: "direction=sideways"}, "not one of"},
		{sentRequest{Method: "POST", Path: "/channels/123/answer", Query: "force=1"}, "unknown query parameter"},
		{sentRequest{Method: "POST", Path: "/channels", Query: "endpoint=x&timeout=soon"}, "not an integer"},
		{sentRequest{Method: "POST", Path: "/channels", Query: "endpoint=x", Body: []byte(`{"vars":{}}`)}, "unknown body parameter"},
		{sentRequest{Method: "PUT", Path: "/applications/a/eventFilter", Body: []byte(`{"allowed":[{"type":"StasisStart"}],"disallowed":[]}`)}, ""},
		{sentRequest{Method: "PUT", Path: "/applications/a/eventFilter"}, ""},
		{sentRequest{Method: "PUT", Path: "/applications/a/eventFilter", Body: []byte(`{"allow":[]}`)}, "unknown member"},
		{sentRequest{Method: "PUT", Path: "/applications/a/eventFilter", Body: []byte(`{"allowed":{"type":"StasisStart"}}`)}, "not an array"},
		{sentRequest{Method: "PUT", Path: "/applications/a/eventFilter", Body: []byte(`{"allowed":[{"name":"StasisStart"}]}`)}, "has no type"},
		{sentRequest{Method: "PUT", Path: "/applications/a/eventFilter", Body: []byte(`{"disallowed":[{"type":"ChannelVarSet"}]}`)}, "no event type"},
		{sentRequest{Method: "POST", Path: "/applications/a/eventFilter", Body: []byte(`{}`)}, "no such operation"},
	} {
		got := violations(ops, tc.r)
		switch {
		case tc.want == "" && len(got) != 0:
			t.Errorf("%s %s?%s: unexpected %q", tc.r.Method, tc.r.Path, tc.r.Query, got)
		case tc.want != "" && (len(got) != 1 || !strings.Contains(got[0], tc.want)):
			t.Errorf("%s %s?%s: got %q, want one %q", tc.r.Method, tc.r.Path, tc.r.Query, got, tc.want)
		}
	}
}
