package crmstore

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-cc/switchboard/cti"
)

var _ cti.AgentStateLog = (*Store)(nil)

// RecordAgentState closes the agent's open stretch at s.Since and opens one in s.State (none for logged-out), in one transaction
// with its agent.state_changed event. A repeat of the open state, reason and call is not a change. Closing a wrap-up stretch adds
// its length to the interaction's wrap_up_ms, so AHT includes the wrap-up the agent really took. The engine records states
// through WriteInteractions (cti.InteractionWrite.AgentState), batched with the calls' interaction writes.
func (s *Store) RecordAgentState(ctx context.Context, st cti.AgentStatus) error {
	a, err := s.prepareAgentState(st)
	if err != nil {
		return err
	}
	return s.inTx(ctx, "record agent state", func(tx pgx.Tx) error { return s.recordAgentState(ctx, tx, a) })
}

// agentStateWrite is a validated agent state: times in the database's precision, a call id only when it is an interaction's.
type agentStateWrite struct {
	st    cti.AgentStatus
	since time.Time
	call  string
}

func (s *Store) prepareAgentState(st cti.AgentStatus) (agentStateWrite, error) {
	if _, err := parseID(st.AgentID, "agent"); err != nil {
		return agentStateWrite{}, err
	}
	switch st.State {
	case cti.AgentLoggedOut, cti.AgentNotReady, cti.AgentReady, cti.AgentReserved, cti.AgentOnCall, cti.AgentWrapUp:
	default:
		return agentStateWrite{}, cti.Invalid("state", "unknown agent state %q", st.State)
	}
	since := st.Since.UTC().Truncate(time.Microsecond)
	if since.IsZero() {
		since = s.now()
	}
	call := st.CallID
	if call != "" {
		if _, err := parseID(call, "interaction"); err != nil {
			call = "" // a call of ours always has a UUID; anything else is not an interaction
		}
	}
	return agentStateWrite{st: st, since: since, call: call}, nil
}

// recordAgentState applies a in tx with its event; the way a batch goes when a webhook subscription wants events.
func (s *Store) recordAgentState(ctx context.Context, tx pgx.Tx, a agentStateWrite) error {
	st, since, call := a.st, a.since, a.call
	var id int64
	var state, reason, openCall string
	var started time.Time
	err := tx.QueryRow(ctx, `select id, state, reason, coalesce(call_id::text, ''), started_at from agent_states
			where agent_id = $1 and ended_at is null for update`, st.AgentID).Scan(&id, &state, &reason, &openCall, &started)
	open := err == nil
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if open && state == string(st.State) && reason == st.Reason && openCall == call {
		return nil
	}
	var replayed bool // see agentStateSQL
	if err := tx.QueryRow(ctx, `select exists (select 1 from agent_states where agent_id = $1 and started_at >= $2 and
			(started_at > $2 or (state = $3 and reason = $4 and coalesce(call_id::text, '') = $5)))`,
		st.AgentID, since, string(st.State), st.Reason, call).Scan(&replayed); err != nil || replayed {
		return err
	}
	if !open && st.State == cti.AgentLoggedOut {
		return nil
	}
	if open {
		end := since
		if end.Before(started) {
			end = started
		}
		if _, err := tx.Exec(ctx, `update agent_states set ended_at = $2 where id = $1`, id, end); err != nil {
			return err
		}
		if state == string(cti.AgentWrapUp) && openCall != "" {
			if _, err := tx.Exec(ctx, `update interactions set wrap_up_ms = wrap_up_ms + $2 where id = $1`, openCall,
				end.Sub(started).Milliseconds()); err != nil {
				return err
			}
		}
	}
	if st.State != cti.AgentLoggedOut {
		_, err := tx.Exec(ctx, `insert into agent_states (agent_id, state, reason, call_id, started_at) values ($1, $2, $3, $4, $5)`,
			st.AgentID, string(st.State), st.Reason, nullable(call), since)
		if code, _ := pgCode(err); code == pgForeignKeyViolation {
			return cti.Errorf(cti.ENOTFOUND, "agent %s not found", st.AgentID)
		}
		if err != nil {
			return err
		}
	}
	return s.emit(ctx, tx, cti.EventAgentStateChanged, st.AgentID, since, func() (any, error) {
		return struct {
			AgentID string         `json:"agent_id"`
			Login   string         `json:"login,omitempty"`
			State   cti.AgentState `json:"state"`
			Reason  string         `json:"reason,omitempty"`
			CallID  string         `json:"call_id,omitempty"`
			Since   time.Time      `json:"since"`
			Prev    string         `json:"previous_state,omitempty"`
		}{st.AgentID, st.Login, st.State, st.Reason, call, since, state}, nil
	})
}

// agentStateSetSQL is RecordAgentState in one statement for many agents, one state each ($1 agents, $2 states, $3 reasons, $4
// calls, $5 times), for the pipelined batch of WriteInteractions (no event: that batch runs only when no subscription wants
// one). It returns the agents whose state changed. A state older than the agent's latest stretch, or one recorded already, is
// a batch replayed after its commit went unacknowledged: no change, like a repeat of the open state, so a retry never records
// a stretch twice.
//
// The open stretches are read without a lock: the update that closes one locks it, and only if it is still open (a writer that
// closed it meanwhile makes this one insert a second open stretch, which the unique index refuses: the batch fails and is
// retried on the new state). The replay check reads each agent's stretches from its new state's time on, an index range, not
// the whole history. Two agents may close wrap-ups of the same interaction (a transfer): their times are added together.
//
// The rows are found by "= any" of the ids (and the replay check by a lateral probe per agent), so that every plan reads them
// through their index whatever the planner thinks of the table's size: a hash join over a whole (small, fresh) table cost more
// than every other part of the write.
const agentStateSetSQL = `with w as (
	select * from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[]) w (agent, state, reason, call, since)
), prev as (
	select s.agent_id as agent, s.id, s.state, s.reason, coalesce(s.call_id::text, '') as call, s.started_at
	from agent_states s where s.agent_id = any($1::uuid[]) and s.ended_at is null
), change as (
	select w.*, not exists (select 1 from prev where prev.agent = w.agent and prev.state = w.state and prev.reason = w.reason
			and prev.call = w.call)
		and r.replayed is null
		and (w.state <> 'logged-out' or exists (select 1 from prev where prev.agent = w.agent)) as yes
	from w left join lateral (select true as replayed from agent_states a where a.agent_id = w.agent and a.started_at >= w.since
		and (a.started_at > w.since or (a.state = w.state and a.reason = w.reason and coalesce(a.call_id::text, '') = w.call))
		limit 1) r on true
), closed as (
	update agent_states a set ended_at = greatest(change.since, prev.started_at)
	from prev join change on change.agent = prev.agent
	where change.yes and a.id = prev.id and a.agent_id = any($1::uuid[]) and a.ended_at is null
	returning prev.state, prev.call, prev.started_at, a.ended_at
), wrapped as (
	update interactions i set wrap_up_ms = i.wrap_up_ms + x.ms
	from (select call::uuid as id, sum(floor(extract(epoch from ended_at - started_at) * 1000))::bigint as ms from closed
		where state = 'wrap-up' and call <> '' group by 1) x
	where i.id = x.id and i.id = any(array(select call::uuid from closed where state = 'wrap-up' and call <> ''))
	returning 1
), opened as (
	insert into agent_states (agent_id, state, reason, call_id, started_at)
	select agent, state, reason, nullif(call, '')::uuid, since from change
	where yes and state <> 'logged-out' and (select count(*) from closed) >= 0 -- after the close: one open stretch per agent
	returning 1
)
select agent from change where yes`

// agentStateSQL is agentStateSetSQL for one agent, its arguments scalars (see batchSQL).
var agentStateSQL = strings.NewReplacer(
	`unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[])`,
	`(values ($1::uuid, $2::text, $3::text, $4::text, $5::timestamptz))`,
	`any($1::uuid[])`, `any(array[$1::uuid])`).Replace(agentStateSetSQL)

func (a agentStateWrite) args() []any {
	return []any{a.st.AgentID, string(a.st.State), a.st.Reason, a.call, a.since}
}

// agentFKError maps an agent state naming no agent of ours.
func agentFKError(st *cti.AgentStatus, err error) error {
	if code, _ := pgCode(err); code == pgForeignKeyViolation {
		return cti.Errorf(cti.ENOTFOUND, "agent %s not found", st.AgentID)
	}
	return err
}
