package crmstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/crmstore"
	"github.com/switchboard-cc/switchboard/cti"
)

// OpenInteractions returns the interactions not ended that arrived before the given time, oldest first, with what a restarted
// engine resumes or finishes them from; ended ones and later arrivals are not among them.
func TestOpenInteractions(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	agent, err := s.AgentByLogin(ctx, "agent1")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	ended, waiting, talking, later := crmstore.NewID(), crmstore.NewID(), crmstore.NewID(), crmstore.NewID()
	q, ag := "general", agent.ID
	queued, answered := t0.Add(3*time.Second), t0.Add(9*time.Second)
	start := func(id, channel string, at time.Time) cti.InteractionWrite {
		return cti.InteractionWrite{ID: id, Start: &cti.Interaction{ID: id, Channel: cti.ChannelPhone, Direction: cti.Inbound,
			CallerNumber: "13800138000", ArrivedAt: at, ChannelID: channel}}
	}
	ws := callWrites(ended, agent.ID, t0)
	ws = append(ws,
		start(talking, "1795351241.2", t0.Add(2*time.Second)),
		cti.InteractionWrite{ID: talking, Update: &cti.InteractionUpdate{Queue: &q, QueuedAt: &queued}},
		cti.InteractionWrite{ID: talking, Update: &cti.InteractionUpdate{AgentID: &ag, AnsweredAt: &answered}},
		start(waiting, "1795351241.1", t0.Add(time.Second)),
		cti.InteractionWrite{ID: waiting, Update: &cti.InteractionUpdate{Queue: &q, QueuedAt: &queued}},
		start(later, "1795351241.3", t0.Add(time.Hour)))
	if rejected, err := s.WriteInteractions(ctx, ws); err != nil || rejected != nil {
		t.Fatalf("write: %v %v", rejected, err)
	}

	got, err := s.OpenInteractions(ctx, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != waiting || got[1].ID != talking {
		t.Fatalf("open interactions %+v, want %s then %s", got, waiting, talking)
	}
	if w := got[0]; w.ChannelID != "1795351241.1" || w.Queue != "general" || !w.QueuedAt.Equal(queued) || !w.AnsweredAt.IsZero() {
		t.Errorf("waiting call's row %+v", w)
	}
	if a := got[1]; a.AgentID != agent.ID || !a.AnsweredAt.Equal(answered) || !a.EndedAt.IsZero() {
		t.Errorf("answered call's row %+v", a)
	}
	if got, err := s.OpenInteractions(ctx, t0); err != nil || len(got) != 0 {
		t.Errorf("open before the first arrival: %v %v", got, err)
	}
	if _, err := s.OpenInteractions(ctx, time.Time{}); cti.ErrorCode(err) != cti.EINVALID {
		t.Errorf("no time: %v, want EINVALID", err)
	} else if e := err.(*cti.Error); e.Field != "before" {
		t.Errorf("no time: field %q, want before", e.Field)
	}
}
