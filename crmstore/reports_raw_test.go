package crmstore

import (
	"context"
	"fmt"

	"github.com/switchboard-cc/switchboard/cti"
)

// QueueReportRaw is QueueReport as it was before the rollups: SQL over the raw rows only. It is the reference the rollup is
// checked against.
func (s *Store) QueueReportRaw(ctx context.Context, q cti.ReportQuery) ([]cti.QueueReportRow, error) {
	return s.queueReport(ctx, q, func(iv cti.ReportInterval) string {
		b, _ := bucketSQL(iv, "(x.arrived_at at time zone x.tz)")
		pb, _ := bucketSQL(iv, "(p.arrived_at at time zone f.tz)")
		return fmt.Sprintf(`x as (
			select f.key as queue, f.tz, f.sl, i.arrived_at, i.answered_at, i.ended_at, i.outcome, i.wait_ms, i.talk_ms, i.hold_ms,
				i.wrap_up_ms, false as moved
			from f join interactions i on i.queue = f.key and i.arrived_at >= f.lo and i.arrived_at < f.hi
			union all
			select f.key, f.tz, f.sl, i.arrived_at, null, null, null, 0, 0, 0, 0, true
			from f join interactions i on i.overflow_from = f.key and i.arrived_at >= f.lo and i.arrived_at < f.hi),
		a0 as (
			select queue, tz, %[1]s as b,
				count(*) as offered,
				count(*) filter (where answered_at is not null) as answered,
				count(*) filter (where answered_at is not null and wait_ms <= sl) as in_sl,
				count(*) filter (where outcome = 'abandoned') as abandoned,
				count(*) filter (where outcome = 'abandoned' and wait_ms < $4) as short_abandoned,
				count(*) filter (where outcome = 'overflowed' or moved) as overflowed,
				count(*) filter (where answered_at is not null and ended_at is not null) as handled,
				count(*) filter (where outcome = 'callback-requested') as callbacks,
				coalesce(sum(wait_ms) filter (where answered_at is not null), 0) as wait_ms,
				coalesce(sum(talk_ms) filter (where answered_at is not null and ended_at is not null), 0) as talk_ms,
				coalesce(sum(hold_ms) filter (where answered_at is not null and ended_at is not null), 0) as hold_ms,
				coalesce(sum(wrap_up_ms) filter (where answered_at is not null and ended_at is not null), 0) as wrap_ms
			from x group by queue, tz, b),
		t as (
			select f.key as queue, %[2]s as b, count(distinct p.id) as transfers
			from interactions c join interactions p on p.id = c.parent_id
				join f on p.queue = f.key and p.arrived_at >= f.lo and p.arrived_at < f.hi
			where c.parent_id is not null
			group by 1, 2),
		agg as (
			select a0.queue, a0.tz, a0.b, offered, answered, in_sl, abandoned, short_abandoned, overflowed, handled, callbacks,
				coalesce(t.transfers, 0) as transfers, wait_ms, talk_ms, hold_ms, wrap_ms
			from a0 left join t on t.queue = a0.queue and t.b = a0.b)`, b, pb)
	})
}

// AgentReportRaw is AgentReport over the raw rows only, the reference for the rollup.
func (s *Store) AgentReportRaw(ctx context.Context, q cti.ReportQuery) ([]cti.AgentReportRow, error) {
	return s.agentReport(ctx, q, func(iv cti.ReportInterval) string {
		b, _ := bucketSQL(iv, "(i.arrived_at at time zone $5)")
		pb, _ := bucketSQL(iv, "(p.arrived_at at time zone $5)")
		return fmt.Sprintf(`c0 as (
			select i.agent_id, %[1]s as b,
				count(*) filter (where i.answered_at is not null) as answered,
				count(*) filter (where i.answered_at is not null and i.ended_at is not null) as handled,
				coalesce(sum(i.talk_ms) filter (where i.answered_at is not null and i.ended_at is not null), 0) as talk_ms,
				coalesce(sum(i.hold_ms) filter (where i.answered_at is not null and i.ended_at is not null), 0) as hold_ms,
				coalesce(sum(i.wrap_up_ms) filter (where i.answered_at is not null and i.ended_at is not null), 0) as wrap_ms
			from ag join interactions i on i.agent_id = ag.id
				and i.arrived_at >= ($2::timestamp at time zone $5) and i.arrived_at < ($3::timestamp at time zone $5)
			group by 1, 2),
		xfer as (
			select p.agent_id, %[2]s as b, count(distinct p.id) as transfers
			from interactions c join interactions p on p.id = c.parent_id join ag on ag.id = p.agent_id
			where c.parent_id is not null
				and p.arrived_at >= ($2::timestamp at time zone $5) and p.arrived_at < ($3::timestamp at time zone $5)
			group by 1, 2),
		calls as (
			select c0.agent_id, c0.b, c0.answered, c0.handled, coalesce(x.transfers, 0) as transfers, c0.talk_ms, c0.hold_ms, c0.wrap_ms
			from c0 left join xfer x on x.agent_id = c0.agent_id and x.b = c0.b)`, b, pb)
	})
}
