package agentui

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/switchboard-cc/switchboard/cti"
)

// The configuration forms of the wallboard: supervisors read the configuration, admins change it. Every change is audited.

func (s *Server) adminAgents(w http.ResponseWriter, r *http.Request, _ *cti.Session) error {
	as, err := s.cfg.Settings.Agents(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": as})
	return nil
}

// queueJSON is a queue as the forms edit it: durations in seconds.
type queueJSON struct {
	Name               string          `json:"name"`
	Strategy           string          `json:"strategy"`
	SLTarget           float64         `json:"sl_target"`
	SLThresholdS       int             `json:"sl_threshold_s"`
	WrapUpS            int             `json:"wrap_up_s"`
	RingTimeoutS       int             `json:"ring_timeout_s"`
	MaxWaitS           int             `json:"max_wait_s"`
	Overflow           string          `json:"overflow"`
	MaxLength          int             `json:"max_length"`
	Escalation         json.RawMessage `json:"escalation"`
	TimeZone           string          `json:"time_zone"`
	RequireDisposition bool            `json:"require_disposition"`
}

func (s *Server) adminQueues(w http.ResponseWriter, r *http.Request, _ *cti.Session) error {
	qs, err := s.cfg.Settings.Queues(r.Context())
	if err != nil {
		return err
	}
	out := make([]queueJSON, 0, len(qs))
	for _, q := range qs {
		out = append(out, queueJSON{Name: q.Name, Strategy: q.Strategy, SLTarget: q.SLTarget, SLThresholdS: secs(q.SLThreshold),
			WrapUpS: secs(q.WrapUp), RingTimeoutS: secs(q.RingTimeout), MaxWaitS: secs(q.MaxWait), Overflow: q.Overflow,
			MaxLength: q.MaxLength, Escalation: q.Escalation, TimeZone: q.TimeZone, RequireDisposition: q.RequireDisposition})
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out})
	return nil
}

func secs(d time.Duration) int { return int(d / time.Second) }

func (s *Server) adminSkills(w http.ResponseWriter, r *http.Request, _ *cti.Session) error {
	sk, err := s.cfg.Settings.Skills(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": sk})
	return nil
}

func (s *Server) configAdmin() (cti.ConfigAdmin, error) {
	if s.cfg.ConfigAdmin == nil {
		return nil, cti.Errorf(cti.ENOTIMPLEMENTED, "configuration is read-only here")
	}
	return s.cfg.ConfigAdmin, nil
}

type agentInput struct {
	DisplayName string           `json:"display_name"`
	Role        cti.Role         `json:"role"`
	Endpoint    string           `json:"endpoint"`
	Skills      []cti.AgentSkill `json:"skills"`
	Queues      []string         `json:"queues"`
	Disabled    bool             `json:"disabled"`
	Password    string           `json:"password"` // "" keeps the current one
}

func (s *Server) putAgent(w http.ResponseWriter, r *http.Request, sess *cti.Session) error {
	ca, err := s.configAdmin()
	if err != nil {
		return err
	}
	var in agentInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	a := &cti.AgentConfig{Login: r.PathValue("login"), DisplayName: in.DisplayName, Role: in.Role, Endpoint: in.Endpoint,
		Skills: in.Skills, Queues: in.Queues, Disabled: in.Disabled}
	if a.Skills == nil {
		a.Skills = []cti.AgentSkill{}
	}
	if a.Queues == nil {
		a.Queues = []string{}
	}
	if err := ca.PutAgent(r.Context(), a, in.Password); err != nil {
		return err
	}
	s.audit(r, sess.Login, "config.agent", a.Login)
	if a.Disabled {
		// A disabled account's sessions stop working; close its pages too.
		s.hub.closeAgent(a.ID, "account disabled")
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

func (s *Server) putQueue(w http.ResponseWriter, r *http.Request, sess *cti.Session) error {
	ca, err := s.configAdmin()
	if err != nil {
		return err
	}
	var in queueJSON
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	sec := time.Second
	q := cti.QueueConfig{Name: r.PathValue("name"), Strategy: in.Strategy, SLTarget: in.SLTarget,
		SLThreshold: time.Duration(in.SLThresholdS) * sec, WrapUp: time.Duration(in.WrapUpS) * sec,
		RingTimeout: time.Duration(in.RingTimeoutS) * sec, MaxWait: time.Duration(in.MaxWaitS) * sec, Overflow: in.Overflow,
		MaxLength: in.MaxLength, Escalation: in.Escalation, TimeZone: in.TimeZone, RequireDisposition: in.RequireDisposition}
	if err := ca.PutQueue(r.Context(), q); err != nil {
		return err
	}
	s.audit(r, sess.Login, "config.queue", q.Name)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) putSkill(w http.ResponseWriter, r *http.Request, sess *cti.Session) error {
	ca, err := s.configAdmin()
	if err != nil {
		return err
	}
	var in struct {
		Label string `json:"label"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	name := r.PathValue("name")
	if err := ca.PutSkill(r.Context(), cti.Skill{Name: name, Label: in.Label}); err != nil {
		return err
	}
	s.audit(r, sess.Login, "config.skill", name)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) putScript(w http.ResponseWriter, r *http.Request, sess *cti.Session) error {
	ca, err := s.configAdmin()
	if err != nil {
		return err
	}
	var in struct {
		Queue string   `json:"queue"`
		Tier  cti.Tier `json:"tier"`
		Title string   `json:"title"`
		Body  string   `json:"body"`
	}
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	sc := &cti.Script{Queue: in.Queue, Tier: in.Tier, Title: in.Title, Body: in.Body}
	if err := ca.PutScript(r.Context(), sc); err != nil {
		return err
	}
	s.audit(r, sess.Login, "config.script", sc.Queue)
	writeJSON(w, http.StatusCreated, sc)
	return nil
}

type labelInput struct {
	Label    string `json:"label"`
	Queue    string `json:"queue"`
	Position int    `json:"position"`
}

func (s *Server) putDisposition(w http.ResponseWriter, r *http.Request, sess *cti.Session) error {
	ca, err := s.configAdmin()
	if err != nil {
		return err
	}
	var in labelInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	code := r.PathValue("code")
	if err := ca.PutDisposition(r.Context(), cti.Disposition{Code: code, Label: in.Label, Queue: in.Queue}, in.Position); err != nil {
		return err
	}
	s.audit(r, sess.Login, "config.disposition", code)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) putReasonCode(w http.ResponseWriter, r *http.Request, sess *cti.Session) error {
	ca, err := s.configAdmin()
	if err != nil {
		return err
	}
	var in labelInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.Queue != "" {
		return cti.Invalid("queue", "reason codes are global")
	}
	code := r.PathValue("code")
	if err := ca.PutReasonCode(r.Context(), cti.ReasonCode{Code: code, Label: in.Label}, in.Position); err != nil {
		return err
	}
	s.audit(r, sess.Login, "config.reason-code", code)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
