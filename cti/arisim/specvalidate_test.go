package arisim

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var astTimeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}$`)

// specDeviations are values Asterisk 22.10.1 really sends although its own
// description does not list them (seen in the transcripts).
var specDeviations = map[string]bool{
	"Playback.state=paused": true, // i-channel-controls: GET /playbacks/{id} while paused
}

// validateModel checks v against a spec model: required members present, no
// unknown members, the right JSON kinds and allowable values.
func validateModel(path, model string, v any) []string {
	m, found := specModels[model]
	if !found {
		return []string{fmt.Sprintf("%s: unknown model %s", path, model)}
	}
	obj, isObj := v.(map[string]any)
	if !isObj {
		return []string{fmt.Sprintf("%s: %s must be an object, got %T", path, model, v)}
	}
	props := map[string]specProp{}
	for k, p := range m.Props {
		props[k] = p
	}
	if isEventModel(model) {
		for _, base := range []string{"Event", "Message"} {
			for k, p := range specModels[base].Props {
				props[k] = p
			}
		}
	}
	var errs []string
	for k, p := range props {
		if _, present := obj[k]; p.Required && !present {
			errs = append(errs, fmt.Sprintf("%s: required member %q missing", path, k))
		}
	}
	for k, val := range obj {
		p, known := props[k]
		if !known {
			errs = append(errs, fmt.Sprintf("%s: member %q not in model %s", path, k, model))
			continue
		}
		errs = append(errs, validateType(path+"."+k, model+"."+k, p.Type, p.Enum, val)...)
	}
	return errs
}

func isEventModel(model string) bool {
	for _, st := range specModels["Event"].SubTypes {
		if st == model {
			return true
		}
	}
	return false
}

func validateType(path, key, typ string, enum []string, v any) []string {
	if inner, isList := strings.CutPrefix(typ, "List["); isList {
		arr, ok := v.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: %s must be an array, got %T", path, typ, v)}
		}
		var errs []string
		for i, e := range arr {
			errs = append(errs, validateType(fmt.Sprintf("%s[%d]", path, i), key, strings.TrimSuffix(inner, "]"), enum, e)...)
		}
		return errs
	}
	switch typ {
	case "string":
		s, ok := v.(string)
		if !ok {
			return []string{fmt.Sprintf("%s: string expected, got %T", path, v)}
		}
		if len(enum) > 0 && !contains(enum, s) && !specDeviations[strings.SplitN(key, ".", 2)[0]+"."+key[strings.LastIndex(key, ".")+1:]+"="+s] {
			return []string{fmt.Sprintf("%s: %q not in %v", path, s, enum)}
		}
	case "Date":
		s, ok := v.(string)
		if !ok || !astTimeRE.MatchString(s) {
			return []string{fmt.Sprintf("%s: Asterisk timestamp expected, got %v", path, v)}
		}
	case "int", "long", "double":
		f, ok := v.(float64)
		if !ok || typ != "double" && f != float64(int64(f)) {
			return []string{fmt.Sprintf("%s: %s expected, got %v", path, typ, v)}
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return []string{fmt.Sprintf("%s: boolean expected, got %T", path, v)}
		}
	case "object":
		if _, ok := v.(map[string]any); !ok {
			return []string{fmt.Sprintf("%s: object expected, got %T", path, v)}
		}
	default:
		return validateModel(path, typ, v)
	}
	return nil
}

// validateEventJSON checks one websocket message against events.json.
func validateEventJSON(raw []byte) []string {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return []string{err.Error()}
	}
	typ, _ := m["type"].(string)
	return validateModel(typ, typ, m)
}

// operationFor finds the spec operation a request was routed to.
func operationFor(method, path string) *specOperation {
	n := buildRoutes()
	for _, seg := range strings.Split(strings.Trim(path, "/"), "/") {
		if c := n.children[seg]; c != nil {
			n = c
		} else if n.wild != nil {
			n = n.wild
		} else {
			return nil
		}
	}
	return n.ops[method]
}

// validateResponse checks a 2xx REST response against the operation's
// responseClass, and error bodies against Asterisk's {"message": ...} shape.
func validateResponse(method, path string, status int, body []byte) []string {
	op := operationFor(method, path)
	if op == nil {
		return []string{fmt.Sprintf("%s %s: no such operation in the spec", method, path)}
	}
	where := method + " " + op.Path
	if status >= 400 {
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil || len(m) != 1 {
			return []string{fmt.Sprintf("%s: error body %q", where, body)}
		}
		if status != 500 && status != 501 && !containsInt(op.Errors, status) && status != 400 {
			return []string{fmt.Sprintf("%s: status %d not among the spec's %v", where, status, op.Errors)}
		}
		return nil
	}
	switch op.ResponseClass {
	case "void":
		if status != 204 || len(body) != 0 {
			return []string{fmt.Sprintf("%s: void operation answered %d %q", where, status, body)}
		}
		return nil
	case "binary":
		return nil
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return []string{fmt.Sprintf("%s: %v", where, err)}
	}
	return validateType(where, op.ResponseClass, op.ResponseClass, nil, v)
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func TestValidatorCatchesErrors(t *testing.T) {
	bad := `{"type":"StasisStart","timestamp":"2026-01-01","args":[],"asterisk_id":"x","application":"a","extra":1}`
	errs := validateEventJSON([]byte(bad))
	if len(errs) < 3 { // bad timestamp, missing channel, unknown member
		t.Errorf("validator missed errors: %v", errs)
	}
}

// TestRecordedAgainstSpec runs the validator over the real Asterisk's
// transcripts: it must accept them (up to specDeviations), or it is wrong.
func TestRecordedAgainstSpec(t *testing.T) {
	ari := sharedARI(t)
	files, _ := filepath.Glob(ari + "/transcripts/*.events.jsonl")
	n := 0
	for _, f := range files {
		for i, e := range readJSONL[eventLine](t, f) {
			n++
			for _, err := range validateEventJSON(e.Event) {
				t.Errorf("%s event %d: %s", f, i, err)
			}
		}
	}
	rest, _ := filepath.Glob(ari + "/transcripts/*.rest.jsonl")
	for _, f := range rest {
		for i, r := range readJSONL[restLine](t, f) {
			body := []byte(r.Response)
			if len(body) > 0 && body[0] == '"' {
				continue // binary body replaced by a note
			}
			for _, err := range validateResponse(r.Method, r.Path, r.Status, body) {
				t.Errorf("%s line %d: %s", f, i, err)
			}
		}
	}
	if n == 0 {
		t.Fatal("no recorded events found")
	}
}
