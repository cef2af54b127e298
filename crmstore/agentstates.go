package crmstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-cc/switchboard/cti"
)

var _ cti.AgentStateLog = (*Store)(nil)

// RecordAgentState closes the agent's open stretch at s.Since and opens one in s.State (none for logged-out), in one transaction
// with its agent.state_changed event. A repeat of the open state, reason and call is not a change. Closing a wrap-up stretch adds
// its length to the interaction's wrap_up_ms, so AHT includes the wrap-up the agent really took.
func (s *Store) RecordAgentState(ctx context.Context, st cti.AgentStatus) error {
	if _, err := parseID(st.AgentID, "agent"); err != nil {
		return err
	}
	switch st.State {
	case cti.AgentLoggedOut, cti.AgentNotReady, cti.AgentReady, cti.AgentReserved, cti.AgentOnCall, cti.AgentWrapUp:
	default:
		return cti.Invalid("state", "unknown agent state %q", st.State)
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
	return s.inTx(ctx, "record agent state", func(tx pgx.Tx) error {
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
	})
}
