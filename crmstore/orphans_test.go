package crmstore_test

import (
	"context"
	"fmt"
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

// BenchmarkOpenInteractions measures the read a controller makes once when it starts: the open interactions among
// SWITCHBOARD_BENCH_ROWS finished ones (default 20,000) and 200 open ones (the calls live at a crash). It reads the table
// without an index of its own; cpu-ms/op is the database server's CPU per read.
//
//	SWITCHBOARD_BENCH_ROWS=1000000 go test ./crmstore/ -run '^$' -bench OpenInteractions -benchtime 10x
func BenchmarkOpenInteractions(b *testing.B) {
	ctx := context.Background()
	s := MustStore(b)
	n, open := benchRows(b, 20000), 200
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const batch = 50000
	for done := 0; done < n; done += batch {
		ins := make([]cti.Interaction, 0, min(batch, n-done))
		for i := done; i < min(done+batch, n); i++ {
			at := t0.Add(time.Duration(i) * 30 * time.Second)
			ins = append(ins, cti.Interaction{ID: crmstore.NewID(), Channel: cti.ChannelPhone, Direction: cti.Inbound,
				CallerNumber: "13800138000", Queue: "general", ArrivedAt: at, QueuedAt: at.Add(5 * time.Second),
				EndedAt: at.Add(time.Minute), Outcome: cti.OutcomeAbandoned, ChannelID: fmt.Sprintf("1795351241.%d", i),
				Durations: cti.Durations{IVR: 5 * time.Second, Wait: 55 * time.Second}})
		}
		if err := s.LogInteractions(ctx, ins); err != nil {
			benchFatal(b, err)
		}
	}
	var ws []cti.InteractionWrite
	now := t0.Add(time.Duration(n) * 30 * time.Second)
	for i := range open {
		id := crmstore.NewID()
		ws = append(ws, cti.InteractionWrite{ID: id, Start: &cti.Interaction{ID: id, Channel: cti.ChannelPhone,
			Direction: cti.Inbound, CallerNumber: "13800138000", ArrivedAt: now.Add(-time.Duration(i) * time.Second),
			ChannelID: fmt.Sprintf("1795999999.%d", i)}})
	}
	if rejected, err := s.WriteInteractions(ctx, ws); err != nil || rejected != nil {
		benchFatal(b, rejected, err)
	}
	if _, err := s.DB().Pool.Exec(ctx, `analyze interactions`); err != nil {
		benchFatal(b, err)
	}
	read := func(s *crmstore.Store) error {
		got, err := s.OpenInteractions(ctx, now.Add(time.Hour))
		if err == nil && len(got) != open {
			err = fmt.Errorf("%d open interactions, want %d", len(got), open)
		}
		return err
	}
	for b.Loop() {
		if err := read(s); err != nil {
			benchFatal(b, err)
		}
	}
	if cpu, ok := backendCPU(b, s, 5, read); ok {
		b.ReportMetric(float64(cpu)/float64(time.Millisecond), "cpu-ms/op")
	}
}
