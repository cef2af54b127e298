package agentui

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-cc/switchboard/cti"
)

// The desk API: what the signed-in agent asks of the engine, and the supervisors' live actions. Every command is a POST with a
// JSON body (or none) answering 204; the engine checks that an agent acts on their own call.

func (s *Server) snapshot(w http.ResponseWriter, r *http.Request, sess *cti.Session) error {
	m := s.hub.snapshot(r.Context(), sess, s.clock.Now())
	if m.Type == TypeError {
		return &cti.Error{Code: m.Error.Code, Message: m.Error.Message}
	}
	writeJSON(w, http.StatusOK, m.Snapshot)
	return nil
}

func done(w http.ResponseWriter, err error) error {
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// simple adapts a desk command that takes only the agent.
func (s *Server) simple(f func(d cti.Desk, ctx context.Context, agentID string) error) func(http.ResponseWriter, *http.Request, *cti.Session) error {
	return func(w http.ResponseWriter, r *http.Request, sess *cti.Session) error {
		return done(w, f(s.cfg.Desk, r.Context(), sess.AgentID))
	}
}

func (s *Server) deskLogin(w http.ResponseWriter, r *http.Request, sess *cti.Session) error {
	return done(w, s.cfg.Desk.Login(r.Context(), sess.AgentID))
}

func (s *Server) setState(w http.ResponseWriter, r *http.Request, sess *cti.Session) error {
	var in cti.StateRequest
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if !in.Ready && strings.TrimSpace(in.Reason) == "" {
		return cti.Invalid("reason", "choose a reason")
	}
	return done(w, s.cfg.Desk.SetState(r.Context(), sess.AgentID, in))
}

type onInput struct {
	On bool `json:"on"`
}

func (s *Server) hold(w http.ResponseWriter, r *http.Request, sess *cti.Session) error {
	var in onInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	return done(w, s.cfg.Desk.Hold(r.Context(), sess.AgentID, in.On))
}

func (s *Server) transfer(w http.ResponseWriter, r *http.Request, sess *cti.Session) error {
	var in cti.TransferRequest
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.Kind != cti.TransferBlind && in.Kind != cti.TransferConsult {
		return cti.Invalid("kind", "blind or consult")
	}
	n := 0
	for _, v := range []string{in.Queue, in.AgentID, in.Number} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return cti.Invalid("target", "name exactly one of queue, agent or number")
	}
	return done(w, s.cfg.Desk.Transfer(r.Context(), sess.AgentID, in))
}

type pausedInput struct {
	Paused bool `json:"paused"`
}

func (s *Server) pauseRecording(w http.ResponseWriter, r *http.Request, sess *cti.Session) error {
	var in pausedInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	return done(w, s.cfg.Desk.PauseRecording(r.Context(), sess.AgentID, in.Paused))
}

type dialInput struct {
	Number     string `json:"number"`
	CustomerID string `json:"customer_id"`
}

func (s *Server) dial(w http.ResponseWriter, r *http.Request, sess *cti.Session) error {
	var in dialInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if strings.TrimSpace(in.Number) == "" {
		return cti.Invalid("number", "a number is required")
	}
	return done(w, s.cfg.Desk.Dial(r.Context(), sess.AgentID, in.Number, in.CustomerID))
}

// wrapUpInput is cti.WrapUpRequest with the extension in seconds, as forms send it.
type wrapUpInput struct {
	InteractionID string `json:"interaction_id"`
	Disposition   string `json:"disposition"`
	Notes         string `json:"notes"`
	Done          bool   `json:"done"`
	ExtendSeconds int    `json:"extend_seconds"`
}

func (s *Server) wrapUp(w http.ResponseWriter, r *http.Request, sess *cti.Session) error {
	var in wrapUpInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.InteractionID == "" {
		return cti.Invalid("interaction_id", "required")
	}
	if in.ExtendSeconds < 0 || in.ExtendSeconds > 600 {
		return cti.Invalid("extend_seconds", "0 to 600")
	}
	if len(in.Notes) > 10000 {
		return cti.Invalid("notes", "at most 10000 characters")
	}
	return done(w, s.cfg.Desk.WrapUp(r.Context(), sess.AgentID, cti.WrapUpRequest{InteractionID: in.InteractionID,
		Disposition: in.Disposition, Notes: in.Notes, Done: in.Done, Extend: time.Duration(in.ExtendSeconds) * time.Second}))
}

type monitorInput struct {
	AgentID string          `json:"agent_id"`
	Mode    cti.MonitorMode `json:"mode"`
}

func (s *Server) monitor(w http.ResponseWriter, r *http.Request, sess *cti.Session) error {
	var in monitorInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	switch in.Mode {
	case cti.MonitorListen, cti.MonitorWhisper, cti.MonitorBarge, cti.MonitorStop:
	default:
		return cti.Invalid("mode", "listen, whisper, barge or stop")
	}
	if in.AgentID == "" {
		return cti.Invalid("agent_id", "required")
	}
	if err := s.cfg.Desk.Monitor(r.Context(), sess.AgentID, in.AgentID, in.Mode); err != nil {
		return err
	}
	s.audit(r, sess.Login, "call."+string(in.Mode), in.AgentID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type forceStateInput struct {
	Reason string `json:"reason"`
}

// forceState makes an agent not ready (a supervisor's action); the reason defaults to "supervisor".
func (s *Server) forceState(w http.ResponseWriter, r *http.Request, sess *cti.Session) error {
	var in forceStateInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	if in.Reason == "" {
		in.Reason = "supervisor"
	}
	id := r.PathValue("id")
	if err := s.cfg.Desk.SetState(r.Context(), id, cti.StateRequest{Ready: false, Reason: in.Reason}); err != nil {
		return err
	}
	s.audit(r, sess.Login, "agent.force-not-ready", id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) trace(w http.ResponseWriter, r *http.Request, sess *cti.Session) error {
	t, err := s.cfg.Desk.Trace(r.Context(), r.PathValue("call"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

// recording plays an interaction's recording to supervisors, admins and the agent who handled it, with range requests so the
// page's player can seek. Every play (a request from the start) is audited.
func (s *Server) recording(w http.ResponseWriter, r *http.Request, sess *cti.Session) error {
	id := r.PathValue("id")
	in, err := s.cfg.Customers.Interaction(r.Context(), id)
	if err != nil {
		return err
	}
	if sess.Role == cti.RoleAgent && in.AgentID != sess.AgentID {
		return cti.Errorf(cti.EFORBIDDEN, "only the agent who handled the call and supervisors may play its recording")
	}
	if in.Recording == nil || s.cfg.Recordings == nil {
		return cti.Errorf(cti.ENOTFOUND, "no recording of interaction %s", id)
	}
	f, ref, err := s.cfg.Recordings.Open(r.Context(), id)
	if err != nil {
		return err
	}
	defer f.Close()
	if rg := r.Header.Get("Range"); rg == "" || strings.HasPrefix(rg, "bytes=0-") {
		s.audit(r, sess.Login, "recording.play", id)
	}
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("Content-Type", recordingType(ref.File))
	http.ServeContent(w, r, "", time.Time{}, f)
	return nil
}

func recordingType(name string) string {
	switch {
	case strings.HasSuffix(name, ".wav"):
		return "audio/wav"
	case strings.HasSuffix(name, ".mp3"):
		return "audio/mpeg"
	case strings.HasSuffix(name, ".ogg"), strings.HasSuffix(name, ".opus"):
		return "audio/ogg"
	}
	return "application/octet-stream"
}
