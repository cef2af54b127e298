package crmstore_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/crmstore"
	"github.com/switchboard-cc/switchboard/crmstore/pgtest"
	"github.com/switchboard-cc/switchboard/cti"
)

// callWrites are the writes of one answered call, as the engine queues them.
func callWrites(id, agentID string, t0 time.Time) []cti.InteractionWrite {
	q, ag := "general", agentID
	t1, t2 := t0.Add(time.Second), t0.Add(5*time.Second)
	return []cti.InteractionWrite{
		{ID: id, Start: &cti.Interaction{ID: id, Channel: cti.ChannelPhone, Direction: cti.Inbound, CallerNumber: "13800138000",
			ArrivedAt: t0}},
		{ID: id, Update: &cti.InteractionUpdate{Queue: &q, QueuedAt: &t1}},
		{ID: id, Update: &cti.InteractionUpdate{AgentID: &ag, AnsweredAt: &t2}},
		{ID: id, Finish: &cti.InteractionFinish{Outcome: cti.OutcomeAnswered, EndedAt: t0.Add(time.Minute),
			Durations: cti.Durations{Wait: 4 * time.Second, Talk: 55 * time.Second}}},
		{ID: id, Update: &cti.InteractionUpdate{Recording: &cti.RecordingRef{File: id + ".wav", Size: 10, Duration: time.Minute}}},
		{ID: id, Disposition: &cti.DispositionWrite{AgentID: agentID, Code: "resolved", Notes: "ok"}},
	}
}

func mustComplete(tb testing.TB, s *crmstore.Store, id, agentID string) {
	tb.Helper()
	got, err := s.Interaction(context.Background(), id)
	if err != nil {
		tb.Fatalf("interaction %s: %v", id, err)
	}
	if got.Queue != "general" || got.AgentID != agentID || got.AnsweredAt.IsZero() || got.Outcome != cti.OutcomeAnswered ||
		got.Recording == nil || got.Disposition != "resolved" || got.Durations.Talk != 55*time.Second {
		tb.Fatalf("interaction %s incomplete: %+v", id, got)
	}
}

// mustCountedStore is MustStore on a pool whose statements are counted (a pipelined batch once) from now on.
func mustCountedStore(tb testing.TB) (*crmstore.Store, *atomic.Int64) {
	tb.Helper()
	ctx := context.Background()
	db, err := crmstore.Open(ctx, pgtest.URL(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(db.Close)
	if _, err := crmstore.Seed(ctx, db, crmstore.SeedOptions{}); err != nil {
		tb.Fatal(err)
	}
	var statements atomic.Int64
	db.ObserveQueries(func(string, time.Duration, error) { statements.Add(1) })
	return crmstore.NewStore(db, crmstore.Options{}), &statements
}

// Many calls' writes in one batch: every row complete, in one round trip; a replay of the batch changes nothing and rejects
// nothing.
func TestWriteInteractionsBatch(t *testing.T) {
	ctx := context.Background()
	s, statements := mustCountedStore(t)
	agent, err := s.AgentByLogin(ctx, "agent1")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	var ws []cti.InteractionWrite
	var ids []string
	for i := range 50 {
		id := crmstore.NewID()
		ids = append(ids, id)
		ws = append(ws, callWrites(id, agent.ID, t0.Add(time.Duration(i)*time.Second))...)
	}
	before := statements.Load()
	rejected, err := s.WriteInteractions(ctx, ws)
	if err != nil || rejected != nil {
		t.Fatalf("write: %v %v", rejected, err)
	}
	if n := statements.Load() - before; n != 1 {
		t.Errorf("%d round trips for 50 calls, want 1 (one pipelined batch)", n)
	}
	for _, id := range ids {
		mustComplete(t, s, id, agent.ID)
	}
	rejected, err = s.WriteInteractions(ctx, ws)
	if err != nil || rejected != nil {
		t.Fatalf("replay: %v %v", rejected, err)
	}
	for _, id := range ids {
		mustComplete(t, s, id, agent.ID)
	}
}

// A write the database refuses is skipped and reported at its index; the rest of the batch is applied.
func TestWriteInteractionsSkipsRefusedWrite(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	agent, err := s.AgentByLogin(ctx, "agent1")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	a, b := crmstore.NewID(), crmstore.NewID()
	ws := callWrites(a, agent.ID, t0)
	nosuch := "nosuch"
	ws = append(ws,
		cti.InteractionWrite{ID: a, Update: &cti.InteractionUpdate{Queue: &nosuch}},                // unknown queue: refused by a foreign key
		cti.InteractionWrite{ID: crmstore.NewID(), Update: &cti.InteractionUpdate{Queue: &nosuch}}, // no such interaction
		cti.InteractionWrite{ID: a, Finish: &cti.InteractionFinish{Outcome: "lost"}})               // invalid before any statement
	ws = append(ws, callWrites(b, agent.ID, t0)...)
	rejected, err := s.WriteInteractions(ctx, ws)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rejected {
		want := ""
		switch i {
		case 6:
			want = cti.EINVALID
		case 7:
			want = cti.ENOTFOUND
		case 8:
			want = cti.EINVALID
		}
		if cti.ErrorCode(r) != want {
			t.Errorf("write %d (%s): %v, want %q", i, ws[i].Kind(), r, want)
		}
	}
	mustComplete(t, s, a, agent.ID)
	mustComplete(t, s, b, agent.ID)
}

// With a subscription, each write's events commit with it and carry the interaction as that write left it.
func TestWriteInteractionsEmitsEventsInOrder(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	agent, err := s.AgentByLogin(ctx, "agent1")
	if err != nil {
		t.Fatal(err)
	}
	sub := &cti.WebhookSubscription{URL: "https://example.com/hook", Secret: "0123456789abcdef0123", Events: []string{cti.EventInteractionStarted,
		cti.EventInteractionAnswered, cti.EventInteractionCompleted, cti.EventRecordingReady}, Active: true}
	if err := s.CreateSubscription(ctx, sub); err != nil {
		t.Fatal(err)
	}
	id := crmstore.NewID()
	if rejected, err := s.WriteInteractions(ctx, callWrites(id, agent.ID, time.Now().Add(-time.Hour))); err != nil || rejected != nil {
		t.Fatalf("write: %v %v", rejected, err)
	}
	rows, err := s.DB().Pool.Query(ctx, `select type, payload->>'answered_at' is not null from outbox where key = $1 order by seq`, id)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var typ string
		var answered bool
		if err := rows.Scan(&typ, &answered); err != nil {
			t.Fatal(err)
		}
		if typ == cti.EventInteractionStarted && answered {
			t.Errorf("the started event carries the later answer")
		}
		got = append(got, typ)
	}
	want := []string{cti.EventInteractionStarted, cti.EventInteractionAnswered, cti.EventInteractionCompleted, cti.EventRecordingReady}
	if len(got) != len(want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("events %v, want %v", got, want)
		}
	}
}
