package crmstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/switchboard-cc/switchboard/crmstore"
	"github.com/switchboard-cc/switchboard/crmstore/pgtest"
	"github.com/switchboard-cc/switchboard/cti"
)

// Migration 0018 moves agent_states into the history and the open stretches: the view shows every stretch as the table held
// it (ids included), the next state closes the moved open stretch with an id after every old one, and an agent still has at
// most one open stretch.
func TestAgentStatesMigrationKeepsHistory(t *testing.T) {
	ctx := context.Background()
	db := pgtest.DB(t)
	pool := db.Pool
	// The schema as it was before 0018, recorded as applied so that Migrate applies only what follows.
	if _, err := pool.Exec(ctx, "drop schema public cascade; create schema public"); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `create table schema_migrations (version text primary key,
		applied_at timestamptz not null default now())`); err != nil {
		t.Fatal(err)
	}
	for _, m := range crmstore.Migrations() {
		if m.Version >= "0018" {
			break
		}
		if _, err := pool.Exec(ctx, m.SQL); err != nil {
			t.Fatalf("%s: %v", m.Version, err)
		}
		if _, err := pool.Exec(ctx, `insert into schema_migrations (version) values ($1)`, m.Version); err != nil {
			t.Fatal(err)
		}
	}
	agents := []string{crmstore.NewID(), crmstore.NewID()}
	for i, id := range agents {
		if _, err := pool.Exec(ctx, `insert into agents (id, login, display_name, password_hash, role, endpoint, created_at,
			updated_at) values ($1, $2, $2, 'x', 'agent', $3, now(), now())`, id, fmt.Sprint("m", i), fmt.Sprint("PJSIP/900", i)); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	call := crmstore.NewID()
	// Agent 0: ready, on a call, in wrap-up (open). Agent 1: not ready, then logged out (no open stretch).
	if _, err := pool.Exec(ctx, `insert into agent_states (agent_id, state, reason, call_id, started_at, ended_at) values
		($1, 'ready', '', null, $3::timestamptz, $3 + interval '1 minute'),
		($1, 'on-call', '', $4, $3 + interval '1 minute', $3 + interval '3 minutes'),
		($2, 'not-ready', 'break', null, $3::timestamptz, $3 + interval '10 minutes'),
		($1, 'wrap-up', '', $4, $3 + interval '3 minutes', null)`, agents[0], agents[1], t0, call); err != nil {
		t.Fatal(err)
	}
	all := func() []string {
		rows, err := pool.Query(ctx, `select id, agent_id, state, reason, coalesce(call_id::text, '-'), started_at,
			coalesce(ended_at::text, 'open') from agent_states order by id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var id int64
			var agent, state, reason, call, ended string
			var started time.Time
			if err := rows.Scan(&id, &agent, &state, &reason, &call, &started, &ended); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprint(id, agent, state, reason, call, started.UTC(), ended))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return out
	}
	before := all()
	if applied, err := crmstore.Migrate(ctx, pool); err != nil || !slices.Contains(applied, "0018_agent_state_open") {
		t.Fatalf("migrate applied %v, %v", applied, err)
	}
	if after := all(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("after the migration:\n%v\nbefore:\n%v", after, before)
	}
	var open int
	if err := pool.QueryRow(ctx, `select count(*) from agent_state_open`).Scan(&open); err != nil || open != 1 {
		t.Fatalf("%d open stretches (%v), want agent 0's wrap-up", open, err)
	}

	s := crmstore.NewStore(db, crmstore.Options{})
	if err := s.RecordAgentState(ctx, cti.AgentStatus{AgentID: agents[0], State: cti.AgentReady,
		Since: t0.Add(5 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	got := agentStateHistory(t, s, agents[0], t0)
	want := []string{"ready  - 0s 1m0s", "on-call  call 1m0s 3m0s", "wrap-up  call 3m0s 5m0s", "ready  - 5m0s open"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("agent 0's stretches %q, want %q", got, want)
	}
	var lastOld, newest int64
	if err := pool.QueryRow(ctx, `select (select max(id) from agent_state_history), (select id from agent_state_open)`).Scan(
		&lastOld, &newest); err != nil || newest <= lastOld {
		t.Fatalf("the new stretch's id %d is not after the history's %d (%v)", newest, lastOld, err)
	}
	if _, err := pool.Exec(ctx, `insert into agent_state_open (agent_id, state, started_at) values ($1, 'ready', $2)`,
		agents[0], t0.Add(6*time.Minute)); err == nil {
		t.Fatal("a second open stretch for agent 0 was accepted")
	}
}

// A state change whose agent's open stretch another writer changed meanwhile fails (the pipelined statement reads the open
// stretches without a lock) rather than record a stretch beside the other writer's; its retry applies it on the new state.
func TestAgentStateConcurrentChangeFailsAndRetries(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	pool := s.DB().Pool
	a, err := s.AgentByLogin(ctx, "agent1")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	state := func(st cti.AgentState, at time.Duration) []cti.InteractionWrite {
		return []cti.InteractionWrite{{AgentState: &cti.AgentStatus{AgentID: a.ID, State: st, Since: t0.Add(at)}}}
	}
	if _, err := s.WriteInteractions(ctx, state(cti.AgentReady, 0)); err != nil {
		t.Fatal(err)
	}
	// Another writer moves the agent to not-ready and holds its transaction open.
	other, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Rollback(ctx) //nolint:errcheck
	if _, err := other.Exec(ctx, `insert into agent_state_history (id, agent_id, state, reason, started_at, ended_at)
		select id, agent_id, state, reason, started_at, $2 from agent_state_open where agent_id = $1`, a.ID, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Exec(ctx, `update agent_state_open set id = nextval('agent_state_ids'), state = 'not-ready',
		reason = 'break', started_at = $2 where agent_id = $1`, a.ID, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.WriteInteractions(ctx, state(cti.AgentOnCall, 2*time.Minute))
		done <- err
	}()
	// Commit once the write waits on the other writer's row lock.
	for waiting := false; !waiting; {
		select {
		case err := <-done:
			t.Fatalf("the write did not wait for the other writer: %v", err)
		default:
		}
		if err := pool.QueryRow(ctx, `select exists (select 1 from pg_stat_activity where datname = current_database()
			and wait_event_type = 'Lock')`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
	}
	if err := other.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil || !strings.Contains(err.Error(), "agent_state_open_pkey") {
		t.Fatalf("the write over a stretch another writer had closed: %v, want the open stretch's key refusing a second", err)
	}
	if _, err := s.WriteInteractions(ctx, state(cti.AgentOnCall, 2*time.Minute)); err != nil {
		t.Fatalf("retry: %v", err)
	}
	got := agentStateHistory(t, s, a.ID, t0)
	want := []string{"ready  - 0s 1m0s", "not-ready break - 1m0s 2m0s", "on-call  - 2m0s open"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("stretches %q, want %q", got, want)
	}
}

// agent_state_history has no foreign key to agents (migration 0019): a closed stretch is only written by moving its agent's
// open stretch, whose foreign key holds the agent. A state for an agent that does not exist is refused either way (the
// pipelined statement, and the one with its event), deleting or truncating agents still deletes their history and open
// stretches, and an agent with history keeps its id.
func TestAgentStateHistoryKeepsItsAgent(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	pool := s.DB().Pool
	a := crmstore.NewID()
	if _, err := pool.Exec(ctx, `insert into agents (id, login, display_name, password_hash, role, endpoint, created_at, updated_at)
		values ($1, 'history-keeper', 'History Keeper', 'x', 'agent', 'PJSIP/9999', now(), now())`, a); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 3, 9, 0, 0, 0, time.UTC)
	state := func(agent string, st cti.AgentState, at time.Duration) cti.InteractionWrite {
		return cti.InteractionWrite{AgentState: &cti.AgentStatus{AgentID: agent, State: st, Since: t0.Add(at)}}
	}
	ghost := crmstore.NewID()
	rejected, err := s.WriteInteractions(ctx, []cti.InteractionWrite{state(ghost, cti.AgentReady, 0)})
	if err != nil || len(rejected) != 1 || cti.ErrorCode(rejected[0]) != cti.ENOTFOUND ||
		!strings.HasSuffix(rejected[0].Error(), fmt.Sprintf("agent %s not found", ghost)) {
		t.Fatalf("a state for no agent: %v %v, want ENOTFOUND naming the agent", rejected, err)
	}
	if err := s.RecordAgentState(ctx, *state(ghost, cti.AgentReady, 0).AgentState); cti.ErrorCode(err) != cti.ENOTFOUND {
		t.Fatalf("RecordAgentState for no agent: %v, want ENOTFOUND", err)
	}
	ws := []cti.InteractionWrite{state(a, cti.AgentReady, 0), state(a, cti.AgentNotReady, time.Minute),
		state(a, cti.AgentReady, 2*time.Minute)}
	if rejected, err := s.WriteInteractions(ctx, ws); err != nil || rejected != nil {
		t.Fatalf("write: %v %v", rejected, err)
	}
	var orphans int
	if err := pool.QueryRow(ctx, `select count(*) from agent_states s where not exists (select 1 from agents a where a.id = s.agent_id)`).
		Scan(&orphans); err != nil || orphans != 0 {
		t.Fatalf("%d stretches of no agent (%v)", orphans, err)
	}
	_, err = pool.Exec(ctx, `update agents set id = $2 where id = $1`, a, crmstore.NewID())
	if pe := (*pgconn.PgError)(nil); !errors.As(err, &pe) || pe.Code != "23503" || !strings.Contains(pe.Message, "state history") {
		t.Fatalf("an agent with history changed its id: %v, want a foreign-key violation", err)
	}
	if _, err := pool.Exec(ctx, `delete from agents where id = $1`, a); err != nil {
		t.Fatal(err)
	}
	var left int
	if err := pool.QueryRow(ctx, `select count(*) from agent_states where agent_id = $1`, a).Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d stretches of a deleted agent left (%v)", left, err)
	}
	// Truncating agents (with cascade, as its other references require) truncates the history too.
	other, err := s.AgentByLogin(ctx, "agent1")
	if err != nil {
		t.Fatal(err)
	}
	if rejected, err := s.WriteInteractions(ctx, []cti.InteractionWrite{state(other.ID, cti.AgentReady, 0),
		state(other.ID, cti.AgentNotReady, time.Minute)}); err != nil || rejected != nil {
		t.Fatalf("write: %v %v", rejected, err)
	}
	if _, err := pool.Exec(ctx, `truncate agents cascade`); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `select count(*) from agent_states`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d stretches left after truncating agents (%v)", left, err)
	}
}
