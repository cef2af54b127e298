package crmstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
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

// ValueReportRaw is ValueReport as it was before the value rollup: three queries over the raw rows (a hash of every contacted
// customer joined with every customer; a window over the period's contacts for the next contact). It is the reference the
// rollup is checked against. Contacts of a customer at the same instant are ordered by id, as the rollup orders them.
func (s *Store) ValueReportRaw(ctx context.Context, q cti.ReportQuery, limit int) (*cti.ValueReport, error) {
	return s.valueReport(ctx, q, limit, `with agg as materialized (
				select customer_id, count(*) as n, count(*) filter (where answered_at is not null) as answered, max(arrived_at) as last
				from interactions
				where customer_id is not null and arrived_at >= $1 and arrived_at < $2 and ($4 = '' or queue = $4)
				group by customer_id),
			j as materialized (select agg.*, c.name, c.tier from agg join customers c on c.id = agg.customer_id),
			top as (select * from j order by n desc, array_position(array['platinum', 'gold', 'standard'], tier), customer_id limit $3),
			t as (select tier, count(*) as customers from customers where deleted_at is null group by tier),
			p as (select tier, count(*) as contacted, sum(n) as n from j group by tier)
			select true, customer_id::text, name, tier, n, answered, last, 0::bigint from top
			union all
			select false, '', '', t.tier, coalesce(p.n, 0), 0, null, t.customers from t left join p on p.tier = t.tier
			union all
			select null, '', '', p.tier, p.contacted, 0, null, 0 from p`,
		func(ctx context.Context, tx pgx.Tx, v *cti.ValueReport, queue, _ string) error {
			err := tx.QueryRow(ctx, `with c as (
					select customer_id, arrived_at, queue,
						lead(arrived_at) over (partition by customer_id order by arrived_at, id) as next
					from interactions
					where customer_id is not null and arrived_at >= $1 and arrived_at < $2::timestamptz + interval '7 days')
				select count(*), count(*) filter (where next < arrived_at + interval '24 hours'),
					count(*) filter (where next < arrived_at + interval '7 days')
				from c where arrived_at < $2 and ($3 = '' or queue = $3)`, v.From, v.To, queue).Scan(&v.Contacts, &v.Repeat24h, &v.Repeat7d)
			if err != nil {
				return err
			}
			rows, err := tx.Query(ctx, `select queue, disposition, n from (
					select queue, disposition, count(*) as n,
						row_number() over (partition by queue order by count(*) desc, disposition) as rank
					from interactions
					where customer_id is not null and arrived_at >= $1 and arrived_at < $2 and disposition is not null
						and queue is not null and ($3 = '' or queue = $3)
					group by queue, disposition) d
				where rank <= 5 order by queue, n desc, disposition`, v.From, v.To, queue)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var d cti.DispositionCount
				if err := rows.Scan(&d.Queue, &d.Disposition, &d.Count); err != nil {
					return err
				}
				v.TopDispositions = append(v.TopDispositions, d)
			}
			return rows.Err()
		})
}
