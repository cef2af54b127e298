package queue

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Step is one escalation step of a queue: once a call has waited After, the
// step is in force. Exactly one of Skills, Any and Overflow is set:
//
//	{"after":"30s","skills":[{"skill":"billing","min":4}]}  agents with billing ≥ 4
//	{"after":"90s","any":true}                               any agent of the queue
//	{"after":"180s","overflow":"general"}                    leave for "general"
//
// Skills override the call's own requirement for the same skill and keep the others;
// Any drops every requirement. Steps are re-evaluated over the wait time of calls
// already waiting, so changing a queue's steps affects them too.
type Step struct {
	After    time.Duration
	Skills   []SkillReq
	Any      bool
	Overflow string
}

type stepJSON struct {
	After    string     `json:"after"`
	Skills   []SkillReq `json:"skills,omitempty"`
	Any      bool       `json:"any,omitempty"`
	Overflow string     `json:"overflow,omitempty"`
}

// MarshalJSON writes the shape documented on Step, with After as a Go duration string.
func (s Step) MarshalJSON() ([]byte, error) {
	return json.Marshal(stepJSON{After: s.After.String(), Skills: s.Skills, Any: s.Any, Overflow: s.Overflow})
}

// UnmarshalJSON reads one step and validates it; errors name the field.
func (s *Step) UnmarshalJSON(b []byte) error {
	var j stepJSON
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&j); err != nil {
		return fmt.Errorf("step: %w", err)
	}
	if j.After == "" {
		return fmt.Errorf("after: required (e.g. \"30s\")")
	}
	after, err := time.ParseDuration(j.After)
	if err != nil {
		return fmt.Errorf("after: %w", err)
	}
	*s = Step{After: after, Skills: j.Skills, Any: j.Any, Overflow: j.Overflow}
	return s.validate()
}

func (s Step) validate() error {
	if s.After < 0 {
		return fmt.Errorf("after: must not be negative, got %s", s.After)
	}
	n := 0
	if len(s.Skills) > 0 {
		n++
	}
	if s.Any {
		n++
	}
	if s.Overflow != "" {
		n++
	}
	if n != 1 {
		return fmt.Errorf("step: exactly one of skills, any, overflow must be set")
	}
	return validateSkills("skills", s.Skills)
}

func validateSkills(field string, reqs []SkillReq) error {
	seen := make(map[string]bool, len(reqs))
	for i, r := range reqs {
		if strings.TrimSpace(r.Skill) == "" {
			return fmt.Errorf("%s[%d].skill: required", field, i)
		}
		if r.Min < 1 || r.Min > 10 {
			return fmt.Errorf("%s[%d].min: must be 1–10, got %d", field, i, r.Min)
		}
		if seen[r.Skill] {
			return fmt.Errorf("%s[%d].skill: %q repeated", field, i, r.Skill)
		}
		seen[r.Skill] = true
	}
	return nil
}

// MaxSteps bounds a queue's escalation steps (a call keeps its step in a
// small integer); real queues have a handful.
const MaxSteps = 1000

// ValidateSteps checks a queue's steps: at most MaxSteps, each valid and After
// strictly increasing.
func ValidateSteps(steps []Step) error {
	if len(steps) > MaxSteps {
		return fmt.Errorf("steps: at most %d, got %d", MaxSteps, len(steps))
	}
	for i, s := range steps {
		if err := s.validate(); err != nil {
			return fmt.Errorf("steps[%d].%w", i, err)
		}
		if i > 0 && s.After <= steps[i-1].After {
			return fmt.Errorf("steps[%d].after: %s must be later than steps[%d].after %s", i, s.After, i-1, steps[i-1].After)
		}
	}
	return nil
}

// ParseSteps decodes a JSON array of steps, as stored in the CRM, and validates it.
func ParseSteps(data []byte) ([]Step, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("steps: %w", err)
	}
	steps := make([]Step, len(raw))
	for i, m := range raw {
		if err := steps[i].UnmarshalJSON(m); err != nil {
			return nil, fmt.Errorf("steps[%d].%w", i, err)
		}
	}
	if err := ValidateSteps(steps); err != nil {
		return nil, err
	}
	return steps, nil
}
