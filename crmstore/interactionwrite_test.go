package crmstore_test

import (
	"context"
	"fmt"
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

// agentStateHistory lists an agent's stretches as "state reason call-or-dash started+ms ended+ms", relative to t0.
func agentStateHistory(tb testing.TB, s *crmstore.Store, agentID string, t0 time.Time) []string {
	tb.Helper()
	rows, err := s.DB().Pool.Query(context.Background(), `select state, reason, coalesce(call_id::text, '-'), started_at, ended_at
		from agent_states where agent_id = $1 order by started_at, id`, agentID)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var state, reason, call string
		var started time.Time
		var ended *time.Time
		if err := rows.Scan(&state, &reason, &call, &started, &ended); err != nil {
			tb.Fatal(err)
		}
		end := "open"
		if ended != nil {
			end = ended.Sub(t0).String()
		}
		if call != "-" {
			call = "call"
		}
		out = append(out, fmt.Sprintf("%s %s %s %s %s", state, reason, call, started.Sub(t0), end))
	}
	return out
}

// Agent states ride in the interaction batches: the pipelined way (no subscription) and the way with events write the same
// history, the closed wrap-up adds to its interaction's wrap-up time, a repeat is no change, and a replayed batch changes nothing.
func TestWriteInteractionsAgentStates(t *testing.T) {
	for _, subscribed := range []bool{false, true} {
		t.Run(fmt.Sprintf("subscribed=%v", subscribed), func(t *testing.T) {
			ctx := context.Background()
			s := MustStore(t)
			agent, err := s.AgentByLogin(ctx, "agent1")
			if err != nil {
				t.Fatal(err)
			}
			if subscribed {
				sub := &cti.WebhookSubscription{URL: "https://example.com/hook", Secret: "0123456789abcdef0123",
					Events: []string{cti.EventAgentStateChanged}, Active: true}
				if err := s.CreateSubscription(ctx, sub); err != nil {
					t.Fatal(err)
				}
			}
			t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
			id := crmstore.NewID()
			state := func(st cti.AgentState, reason string, call string, at time.Duration) cti.InteractionWrite {
				return cti.InteractionWrite{AgentState: &cti.AgentStatus{AgentID: agent.ID, State: st, Reason: reason, CallID: call,
					Since: t0.Add(at)}}
			}
			ws := []cti.InteractionWrite{
				state(cti.AgentReady, "", "", 0),
				callWrites(id, agent.ID, t0)[0],
				state(cti.AgentReserved, "", id, time.Second),
				state(cti.AgentOnCall, "", id, 5*time.Second),
				state(cti.AgentOnCall, "", id, 6*time.Second), // a repeat
				state(cti.AgentWrapUp, "", id, time.Minute),
				state(cti.AgentReady, "", "", time.Minute+1500*time.Millisecond),
				state(cti.AgentNotReady, "lunch", "", 2*time.Minute),
				state(cti.AgentLoggedOut, "", "", 3*time.Minute),
			}
			for range 2 { // the second time: a replay after a commit the writer did not see acknowledged
				if rejected, err := s.WriteInteractions(ctx, ws); err != nil || rejected != nil {
					t.Fatalf("write: %v %v", rejected, err)
				}
			}
			want := []string{"ready  - 0s 1s", "reserved  call 1s 5s", "on-call  call 5s 1m0s", "wrap-up  call 1m0s 1m1.5s",
				"ready  - 1m1.5s 2m0s", "not-ready lunch - 2m0s 3m0s"}
			if got := agentStateHistory(t, s, agent.ID, t0); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("history\n got %q\nwant %q", got, want)
			}
			in, err := s.Interaction(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if in.Durations.WrapUp != 1500*time.Millisecond {
				t.Errorf("wrap-up %v, want 1.5s", in.Durations.WrapUp)
			}
			var events int
			if err := s.DB().Pool.QueryRow(ctx, `select count(*) from outbox where type = $1`, cti.EventAgentStateChanged).Scan(&events); err != nil {
				t.Fatal(err)
			}
			if want := map[bool]int{false: 0, true: 7}[subscribed]; events != want {
				t.Errorf("%d agent.state_changed events, want %d", events, want)
			}
			unknown := state(cti.AgentReady, "", "", 4*time.Minute)
			unknown.AgentState.AgentID = crmstore.NewID()
			rejected, err := s.WriteInteractions(ctx, []cti.InteractionWrite{unknown})
			if err != nil || len(rejected) != 1 || cti.ErrorCode(rejected[0]) != cti.ENOTFOUND {
				t.Errorf("unknown agent: %v %v, want ENOTFOUND", rejected, err)
			}
		})
	}
}

// Two agents close wrap-ups of one transferred call in the same batch (one set statement): both wrap-up times are added. A
// transfer's child written with another call's start (one insert) marks its parent's buckets, so the parent's report counts
// the transfer once the rollup job runs.
func TestWriteInteractionsTransferInOneBatch(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	a1, err := s.AgentByLogin(ctx, "agent1")
	if err != nil {
		t.Fatal(err)
	}
	a2, err := s.AgentByLogin(ctx, "agent2")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	parent := crmstore.NewID()
	state := func(agent string, st cti.AgentState, call string, at time.Duration) cti.InteractionWrite {
		return cti.InteractionWrite{AgentState: &cti.AgentStatus{AgentID: agent, State: st, CallID: call, Since: t0.Add(at)}}
	}
	ws := []cti.InteractionWrite{
		{ID: parent, Start: &cti.Interaction{ID: parent, Channel: cti.ChannelPhone, Direction: cti.Inbound, Queue: "general",
			AgentID: a1.ID, ArrivedAt: t0}},
		state(a1.ID, cti.AgentWrapUp, parent, time.Minute),
		state(a2.ID, cti.AgentWrapUp, parent, time.Minute),
		state(a1.ID, cti.AgentReady, "", time.Minute+time.Second),
		state(a2.ID, cti.AgentReady, "", time.Minute+2*time.Second),
	}
	if rejected, err := s.WriteInteractions(ctx, ws); err != nil || rejected != nil {
		t.Fatalf("write: %v %v", rejected, err)
	}
	in, err := s.Interaction(ctx, parent)
	if err != nil {
		t.Fatal(err)
	}
	if in.Durations.WrapUp != 3*time.Second {
		t.Errorf("wrap-up %v, want 3s (1s of agent1 and 2s of agent2)", in.Durations.WrapUp)
	}
	for {
		n, err := s.RefreshReports(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	child, other := crmstore.NewID(), crmstore.NewID()
	ws = []cti.InteractionWrite{
		{ID: other, Start: &cti.Interaction{ID: other, Channel: cti.ChannelPhone, Direction: cti.Inbound, Queue: "sales",
			ArrivedAt: t0.Add(2 * time.Hour)}},
		{ID: child, Start: &cti.Interaction{ID: child, Channel: cti.ChannelPhone, Direction: cti.Outbound, Queue: "sales",
			ParentID: parent, ArrivedAt: t0.Add(2 * time.Hour)}},
	}
	if rejected, err := s.WriteInteractions(ctx, ws); err != nil || rejected != nil {
		t.Fatalf("write: %v %v", rejected, err)
	}
	var marks []string
	rows, err := s.DB().Pool.Query(ctx, `select kind || ' ' || key from report_dirty where bucket = $1 and kind in ('q', 'a')
		order by 1`, t0)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var m string
		if err := rows.Scan(&m); err != nil {
			t.Fatal(err)
		}
		marks = append(marks, m)
	}
	if want := []string{"a " + a1.ID, "q general"}; fmt.Sprint(marks) != fmt.Sprint(want) {
		t.Errorf("marks of the parent's bucket after its child was written: %q, want %q", marks, want)
	}
}
