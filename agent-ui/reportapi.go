package agentui

import (
	"encoding/csv"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-cc/switchboard/cti"
)

// Historical reports for supervisors (JSON, or CSV with format=csv) and webhook administration for admins. Both are optional:
// without Config.Reports or Config.Webhooks the routes answer 501.

func (s *Server) registerReports(mux router) {
	s.handle(mux, "GET /api/v1/reports/queues", supervisorRole, s.queueReport)
	s.handle(mux, "GET /api/v1/reports/agents", supervisorRole, s.agentReport)
	s.handle(mux, "GET /api/v1/reports/value", supervisorRole, s.valueReport)

	s.handle(mux, "GET /api/v1/admin/webhooks", adminRole, s.listWebhooks)
	s.handle(mux, "POST /api/v1/admin/webhooks", adminRole, s.createWebhook)
	s.handle(mux, "PUT /api/v1/admin/webhooks/{id}", adminRole, s.updateWebhook)
	s.handle(mux, "DELETE /api/v1/admin/webhooks/{id}", adminRole, s.deleteWebhook)
	s.handle(mux, "GET /api/v1/admin/dead-letters", adminRole, s.deadLetters)
	s.handle(mux, "POST /api/v1/admin/dead-letters/{subscription}/{event}/replay", adminRole, s.replayDeadLetter)
}

// parseWall reads a wall-clock time: "2025-03-03", "2025-03-03T09:15" or "2025-03-03T09:15:00"; "" is the zero time.
func parseWall(field, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{"2006-01-02", "2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, cti.Invalid(field, "a date (2025-03-03) or a local time (2025-03-03T09:15)")
}

func (s *Server) reportQuery(r *http.Request) (cti.ReportQuery, error) {
	if s.cfg.Reports == nil {
		return cti.ReportQuery{}, cti.Errorf(cti.ENOTIMPLEMENTED, "reports are not available")
	}
	v := r.URL.Query()
	from, err := parseWall("from", v.Get("from"))
	if err != nil {
		return cti.ReportQuery{}, err
	}
	to, err := parseWall("to", v.Get("to"))
	if err != nil {
		return cti.ReportQuery{}, err
	}
	if f := v.Get("format"); f != "" && f != "json" && f != "csv" {
		return cti.ReportQuery{}, cti.Invalid("format", "json or csv")
	}
	return cti.ReportQuery{From: from, To: to, Interval: cti.ReportInterval(v.Get("interval")), Queue: v.Get("queue"),
		AgentID: v.Get("agent"), TimeZone: v.Get("tz")}, nil
}

func wantCSV(r *http.Request) bool { return r.URL.Query().Get("format") == "csv" }

// writeCSV sends a CSV attachment.
func writeCSV(w http.ResponseWriter, name string, header []string, rows [][]string) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	cw.Write(header)  //nolint:errcheck // the client went away
	cw.WriteAll(rows) //nolint:errcheck // the client went away
}

func itoa(n int64) string           { return strconv.FormatInt(n, 10) }
func ftoa(f float64) string         { return strconv.FormatFloat(f, 'f', 4, 64) }
func secsOf(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) }

func (s *Server) queueReport(w http.ResponseWriter, r *http.Request, _ *cti.Session) error {
	q, err := s.reportQuery(r)
	if err != nil {
		return err
	}
	rows, err := s.cfg.Reports.QueueReport(r.Context(), q)
	if err != nil {
		return err
	}
	if !wantCSV(r) {
		writeJSON(w, http.StatusOK, map[string]any{"items": rows})
		return nil
	}
	out := make([][]string, 0, len(rows))
	for _, x := range rows {
		out = append(out, []string{x.Queue, x.Local, x.Start.Format(time.RFC3339), itoa(x.Offered), itoa(x.Answered),
			itoa(x.AnsweredInSL), itoa(x.Abandoned), itoa(x.ShortAbandoned), itoa(x.Overflowed), itoa(x.Handled), itoa(x.Transfers),
			itoa(x.Callbacks), ftoa(x.ServiceLevel), ftoa(x.ServiceLevelAnswered), ftoa(x.AbandonRate), secsOf(x.ASA), secsOf(x.AHT),
			secsOf(x.Talk), secsOf(x.Hold), secsOf(x.WrapUp)})
	}
	writeCSV(w, "queue-report.csv", []string{"queue", "interval", "start_utc", "offered", "answered", "answered_in_sl", "abandoned",
		"short_abandoned", "overflowed", "handled", "transfers", "callbacks", "service_level", "service_level_answered",
		"abandon_rate", "asa_s", "aht_s", "talk_s", "hold_s", "wrap_up_s"}, out)
	return nil
}

func (s *Server) agentReport(w http.ResponseWriter, r *http.Request, _ *cti.Session) error {
	q, err := s.reportQuery(r)
	if err != nil {
		return err
	}
	rows, err := s.cfg.Reports.AgentReport(r.Context(), q)
	if err != nil {
		return err
	}
	if !wantCSV(r) {
		writeJSON(w, http.StatusOK, map[string]any{"items": rows})
		return nil
	}
	// One column per not-ready reason seen in the report, sorted.
	var reasons []string
	for _, x := range rows {
		for k := range x.Reasons {
			if !slices.Contains(reasons, k) {
				reasons = append(reasons, k)
			}
		}
	}
	slices.Sort(reasons)
	header := []string{"agent", "interval", "start_utc", "answered", "handled", "transfers", "aht_s", "talk_s", "hold_s", "wrap_up_s",
		"logged_in_s", "ready_s", "on_call_s", "wrap_state_s", "not_ready_s", "occupancy"}
	for _, k := range reasons {
		header = append(header, "not_ready_"+k+"_s")
	}
	out := make([][]string, 0, len(rows))
	for _, x := range rows {
		line := []string{x.Login, x.Local, x.Start.Format(time.RFC3339), itoa(x.Answered), itoa(x.Handled), itoa(x.Transfers),
			secsOf(x.AHT), secsOf(x.Talk), secsOf(x.Hold), secsOf(x.WrapUp), secsOf(x.LoggedIn), secsOf(x.Ready), secsOf(x.OnCall),
			secsOf(x.WrapTime), secsOf(x.NotReady), ftoa(x.Occupancy)}
		for _, k := range reasons {
			line = append(line, secsOf(x.Reasons[k]))
		}
		out = append(out, line)
	}
	writeCSV(w, "agent-report.csv", header, out)
	return nil
}

func (s *Server) valueReport(w http.ResponseWriter, r *http.Request, _ *cti.Session) error {
	q, err := s.reportQuery(r)
	if err != nil {
		return err
	}
	limit := 0
	if v := r.URL.Query().Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 1000 {
			return cti.Invalid("limit", "1 to 1000")
		}
	}
	v, err := s.cfg.Reports.ValueReport(r.Context(), q, limit)
	if err != nil {
		return err
	}
	if !wantCSV(r) {
		writeJSON(w, http.StatusOK, v)
		return nil
	}
	out := make([][]string, 0, len(v.TopCustomers))
	for _, c := range v.TopCustomers {
		out = append(out, []string{c.CustomerID, c.Name, string(c.Tier), itoa(c.Interactions), itoa(c.Answered),
			c.Last.Format(time.RFC3339)})
	}
	writeCSV(w, "top-customers.csv", []string{"customer_id", "name", "tier", "interactions", "answered", "last_contact_utc"}, out)
	return nil
}

func (s *Server) webhooks() (cti.WebhookAdmin, error) {
	if s.cfg.Webhooks == nil {
		return nil, cti.Errorf(cti.ENOTIMPLEMENTED, "webhooks are not available")
	}
	return s.cfg.Webhooks, nil
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request, _ *cti.Session) error {
	wh, err := s.webhooks()
	if err != nil {
		return err
	}
	subs, err := wh.Subscriptions(r.Context())
	if err != nil {
		return err
	}
	for i := range subs {
		subs[i].Secret = "" // write-only
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": subs, "event_types": cti.EventTypes})
	return nil
}

// webhookInput is a subscription as an admin writes it; Active defaults to true.
type webhookInput struct {
	URL    string   `json:"url"`
	Secret string   `json:"secret"`
	Events []string `json:"events"`
	Active *bool    `json:"active"`
}

func (in webhookInput) subscription(id string) *cti.WebhookSubscription {
	sub := &cti.WebhookSubscription{ID: id, URL: strings.TrimSpace(in.URL), Secret: in.Secret, Events: in.Events, Active: true}
	if in.Active != nil {
		sub.Active = *in.Active
	}
	return sub
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request, sess *cti.Session) error {
	wh, err := s.webhooks()
	if err != nil {
		return err
	}
	var in webhookInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	sub := in.subscription("")
	if err := wh.CreateSubscription(r.Context(), sub); err != nil {
		return err
	}
	sub.Secret = ""
	s.audit(r, sess.Login, "webhook.create", sub.ID)
	writeJSON(w, http.StatusCreated, sub)
	return nil
}

func (s *Server) updateWebhook(w http.ResponseWriter, r *http.Request, sess *cti.Session) error {
	wh, err := s.webhooks()
	if err != nil {
		return err
	}
	var in webhookInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	sub := in.subscription(r.PathValue("id"))
	if err := wh.UpdateSubscription(r.Context(), sub); err != nil {
		return err
	}
	sub.Secret = ""
	s.audit(r, sess.Login, "webhook.update", sub.ID)
	writeJSON(w, http.StatusOK, sub)
	return nil
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request, sess *cti.Session) error {
	wh, err := s.webhooks()
	if err != nil {
		return err
	}
	if err := wh.DeleteSubscription(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	s.audit(r, sess.Login, "webhook.delete", r.PathValue("id"))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) deadLetters(w http.ResponseWriter, r *http.Request, _ *cti.Session) error {
	wh, err := s.webhooks()
	if err != nil {
		return err
	}
	limit := 0
	if v := r.URL.Query().Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 1000 {
			return cti.Invalid("limit", "1 to 1000")
		}
	}
	ds, err := wh.DeadLetters(r.Context(), limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": ds})
	return nil
}

func (s *Server) replayDeadLetter(w http.ResponseWriter, r *http.Request, sess *cti.Session) error {
	wh, err := s.webhooks()
	if err != nil {
		return err
	}
	if err := wh.ReplayDeadLetter(r.Context(), r.PathValue("subscription"), r.PathValue("event")); err != nil {
		return err
	}
	s.audit(r, sess.Login, "webhook.replay", r.PathValue("event"))
	w.WriteHeader(http.StatusAccepted)
	return nil
}
