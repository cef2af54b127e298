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

// recordAgentState applies a in tx with its event; the way a batch goes when a webhook subscription wants events. The agent's
// open stretch is locked first, so the close and the next stretch see no other writer.
func (s *Store) recordAgentState(ctx context.Context, tx pgx.Tx, a agentStateWrite) error {
	st, since, call := a.st, a.since, a.call
	var id int64
	var state, reason, openCall string
	var started time.Time
	err := tx.QueryRow(ctx, `select id, state, reason, coalesce(call_id::text, ''), started_at from agent_state_open
			where agent_id = $1 for update`, st.AgentID).Scan(&id, &state, &reason, &openCall, &started)
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
		if _, err := tx.Exec(ctx, `insert into agent_state_history (id, agent_id, state, reason, call_id, started_at, ended_at)
				values ($1, $2, $3, $4, $5, $6, $7)`, id, st.AgentID, state, reason, nullable(openCall), started, end); err != nil {
			return err
		}
		if state == string(cti.AgentWrapUp) && openCall != "" {
			if _, err := tx.Exec(ctx, `update interactions set wrap_up_ms = wrap_up_ms + $2 where id = $1`, openCall,
				end.Sub(started).Milliseconds()); err != nil {
				return err
			}
		}
	}
	switch {
	case st.State == cti.AgentLoggedOut:
		_, err = tx.Exec(ctx, `delete from agent_state_open where agent_id = $1`, st.AgentID)
	case open:
		_, err = tx.Exec(ctx, `update agent_state_open set id = nextval('agent_state_ids'), state = $2, reason = $3, call_id = $4,
				started_at = $5 where agent_id = $1`, st.AgentID, string(st.State), st.Reason, nullable(call), since)
	default:
		_, err = tx.Exec(ctx, `insert into agent_state_open (agent_id, state, reason, call_id, started_at) values ($1, $2, $3, $4, $5)`,
			st.AgentID, string(st.State), st.Reason, nullable(call), since)
		if code, _ := pgCode(err); code == pgForeignKeyViolation {
			return cti.Errorf(cti.ENOTFOUND, "agent %s not found", st.AgentID)
		}
	}
	if err != nil {
		return err
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
// A change moves the agent's open stretch (agent_state_open) into the history (agent_state_history) with its end, and rewrites
// the open row in place with the new state (a HOT update: migration 0018), or deletes it for logged-out; an agent with no open
// stretch gets a new row. The open stretches are read without a lock: the update or delete that moves one locks it, and only
// if it is still the stretch read (same id), and only what it moved goes into the history. A writer that changed it meanwhile
// makes this one insert a second open row for the agent, which the primary key refuses: the batch fails and is retried on the
// new state. The replay check reads each agent's history from its new state's time on, an index range, not the whole history.
// Two agents may close wrap-ups of the same interaction (a transfer): their times are added together.
//
// The rows are found by "= any" of the ids (and the replay check by a lateral probe per agent), so that every plan reads them
// through their index whatever the planner thinks of the table's size: a hash join over a whole (small, fresh) table cost more
// than every other part of the write.
const agentStateSetSQL = `with w as (
	select * from unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::timestamptz[]) w (agent, state, reason, call, since)
), prev as (
	select o.agent_id as agent, o.id, o.state, o.reason, coalesce(o.call_id::text, '') as call, o.started_at
	from agent_state_open o where o.agent_id = any($1::uuid[])
), change as (
	select w.*, p.id as open_id, p.state as open_state, p.reason as open_reason, p.call as open_call, p.started_at as open_since,
		not coalesce(p.state = w.state and p.reason = w.reason and p.call = w.call, false)
		and not coalesce(p.started_at > w.since, false) and r.replayed is null
		and (w.state <> 'logged-out' or p.agent is not null) as yes
	from w left join prev p on p.agent = w.agent
	left join lateral (select true as replayed from agent_state_history h where h.agent_id = w.agent and h.started_at >= w.since
		and (h.started_at > w.since or (h.state = w.state and h.reason = w.reason and coalesce(h.call_id::text, '') = w.call))
		limit 1) r on true
), moved as (
	update agent_state_open o set id = nextval('agent_state_ids'), state = c.state, reason = c.reason,
		call_id = nullif(c.call, '')::uuid, started_at = c.since
	from change c
	where c.yes and c.state <> 'logged-out' and o.agent_id = c.agent and o.id = c.open_id and o.agent_id = any($1::uuid[])
	returning c.agent, c.open_id, c.open_state, c.open_reason, c.open_call, c.open_since, c.since
), dropped as (
	delete from agent_state_open o using change c
	where c.yes and c.state = 'logged-out' and o.agent_id = c.agent and o.id = c.open_id and o.agent_id = any($1::uuid[])
	returning c.agent, c.open_id, c.open_state, c.open_reason, c.open_call, c.open_since, c.since
), closed as (
	insert into agent_state_history (id, agent_id, state, reason, call_id, started_at, ended_at)
	select open_id, agent, open_state, open_reason, nullif(open_call, '')::uuid, open_since, greatest(since, open_since)
	from (select * from moved union all select * from dropped) x
	returning state, call_id, started_at, ended_at
), wrapped as (
	update interactions i set wrap_up_ms = i.wrap_up_ms + x.ms
	from (select call_id as id, sum(floor(extract(epoch from ended_at - started_at) * 1000))::bigint as ms from closed
		where state = 'wrap-up' and call_id is not null group by 1) x
	where i.id = x.id and i.id = any(array(select call_id from closed where state = 'wrap-up' and call_id is not null))
	returning 1
), opened as (
	insert into agent_state_open (agent_id, state, reason, call_id, started_at)
	select agent, state, reason, nullif(call, '')::uuid, since from change c
	where yes and state <> 'logged-out' and not exists (select 1 from moved m where m.agent = c.agent)
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
