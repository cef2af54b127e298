package crmstore

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-cc/switchboard/cti"
)

// The report rollups (migration 0013, docs/reports.md "Rollups"): report_queue_15m and report_agent_15m hold per 15-minute
// UTC bucket what report_queue_facts and report_agent_facts give for its raw rows. A trigger marks the buckets an interaction
// write changes in report_dirty; RefreshReports recomputes marked buckets. Reports read marked buckets raw, so they never
// depend on how far behind the job is.

// rollupLockID serializes RefreshReports across processes: a refresh must see every refresh committed before it, or an older
// snapshot could overwrite a newer bucket after the newer one removed the mark.
const rollupLockID = 0x5b0a_7d01

// refreshBatch is how many marks one refresh statement takes: a few milliseconds of work.
const refreshBatch = 2000

// RefreshReports recomputes the buckets marked in report_dirty — those its first limit marks name (refreshBatch when limit ≤ 0),
// with every mark they have — and returns how many marks it took. It removes the marks and writes the buckets in one statement, so a crash leaves both as they were;
// recomputing rather than adding makes it safe to run again.
func (s *Store) RefreshReports(ctx context.Context, limit int) (int, error) {
	return s.refreshReports(ctx, limit, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC))
}

// settleFor is how long after a bucket ends the rollup job leaves it marked: a bucket still filling gets a mark with nearly
// every write, so computing it before it settles is work done again seconds later (reports read marked buckets raw anyway).
const settleFor = time.Minute

// refreshReports is RefreshReports for the buckets that start before `before`. It takes every mark of the buckets its first
// limit marks name, so a bucket is computed once however many writes marked it.
func (s *Store) refreshReports(ctx context.Context, limit int, before time.Time) (int, error) {
	if limit <= 0 {
		limit = refreshBatch
	}
	var n int
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		// Read committed: the statement below takes its snapshot after the lock, so it sees the previous refresh's work.
		if _, err := tx.Exec(ctx, `select pg_advisory_xact_lock($1)`, rollupLockID); err != nil {
			return err
		}
		// Customer marks first: the value view's days they name are marked in this transaction and taken below.
		var customers int
		if err := tx.QueryRow(ctx, resolveCustomerMarksSQL, limit).Scan(&customers); err != nil {
			return err
		}
		// The marks are locked first and the buckets read by the next statement, on a snapshot taken once every writer that
		// relied on one of these marks (migration 0016) has committed.
		var ids []int64
		if err := tx.QueryRow(ctx, takeMarksSQL, limit, before).Scan(&ids); err != nil {
			return err
		}
		var kinds, keys []string
		var buckets []time.Time
		if err := tx.QueryRow(ctx, refreshSQL, ids, cti.ShortAbandon.Milliseconds()).Scan(&n, &kinds, &keys, &buckets); err != nil {
			return err
		}
		// While customer marks are backlogged (a bulk load writes one per contact), the value view's days wait: each batch of
		// them marks days all over the history, and computing days between batches would compute most of them many times.
		values := 0
		var err error
		if customers < limit {
			if values, err = refreshValueDays(ctx, tx, limit, before); err != nil {
				return err
			}
		}
		n += customers + values
		// The days of the buckets just computed, from the buckets as they now are (this transaction's second snapshot sees
		// the first statement's work; only refreshers, one at a time, write the rollups).
		if _, err := tx.Exec(ctx, refreshDaysSQL, kinds, keys, buckets); err != nil {
			return err
		}
		// A bucket left marked while it fills keeps one mark: reports look its marks up, and a mark per write would make that
		// lookup grow with the rate. Queue and agent marks are seldom doubled (migration 0016); the value view's are not
		// (one per contact written).
		_, err = tx.Exec(ctx, `delete from report_dirty r where r.bucket >= $1 and exists (select 1 from report_dirty o
			where o.kind = r.kind and o.key = r.key and o.bucket = r.bucket and o.id < r.id)`, before)
		return err
	})
	return n, dbError(err, "refresh report rollups")
}

// takeMarksSQL locks the marks of the buckets (before $2) that its first $1 marks name and returns their ids. It takes them in
// key and time order, so a backlog (after a bulk load, say) is worked through a few days at a time rather than every day of
// the backlog in every batch. A writer that found one of these marks holds it locked (FOR KEY SHARE) until it commits, so
// this waits for the writers whose changes the marks stand for; a writer that comes later finds them locked and inserts a
// mark of its own.
const takeMarksSQL = `with m as (
		select r.id from report_dirty r
		where (r.kind, r.key, r.bucket) in (select kind, key, bucket from report_dirty where kind in ('q', 'a') and bucket < $2
			order by kind, key, bucket limit $1)
		for update of r)
	select coalesce(array_agg(id), '{}') from m`

// refreshSQL deletes the marks $1 (locked by takeMarksSQL) and recomputes their buckets. Every part reads the same snapshot,
// taken after the marks were locked: every write a mark stood for is in it, and a mark inserted since is not deleted.
const refreshSQL = `with d as (
		delete from report_dirty r where r.id = any($1) returning r.kind, r.key, r.bucket),
	qd as (select distinct key as queue, bucket from d where kind = 'q'),
	ad as (select distinct key::uuid as agent_id, bucket from d where kind = 'a'),
	qa as (
		select b.* from qd, lateral report_queue_buckets(qd.queue, qd.bucket, qd.bucket + interval '15 minutes', $2) b),
	aa as (
		select b.* from ad, lateral report_agent_buckets(ad.agent_id, ad.bucket, ad.bucket + interval '15 minutes') b),
	qdel as (
		delete from report_queue_15m r using qd where r.queue = qd.queue and r.bucket = qd.bucket
			and not exists (select 1 from qa where qa.queue = r.queue and qa.bucket = r.bucket)),
	adel as (
		delete from report_agent_15m r using ad where r.agent_id = ad.agent_id and r.bucket = ad.bucket
			and not exists (select 1 from aa where aa.agent_id = r.agent_id and aa.bucket = r.bucket)),
	qup as (
		insert into report_queue_15m select * from qa
		on conflict (queue, bucket) do update set (offered, answered, in_sl, abandoned, short_abandoned, overflowed, handled,
			callbacks, transfers, wait_ms, talk_ms, hold_ms, wrap_ms) = (excluded.offered, excluded.answered, excluded.in_sl,
			excluded.abandoned, excluded.short_abandoned, excluded.overflowed, excluded.handled, excluded.callbacks,
			excluded.transfers, excluded.wait_ms, excluded.talk_ms, excluded.hold_ms, excluded.wrap_ms)),
	aup as (
		insert into report_agent_15m select * from aa
		on conflict (agent_id, bucket) do update set (calls, answered, handled, transfers, talk_ms, hold_ms, wrap_ms) =
			(excluded.calls, excluded.answered, excluded.handled, excluded.transfers, excluded.talk_ms, excluded.hold_ms,
			excluded.wrap_ms))
	select (select count(*) from d), coalesce(array_agg(kind), '{}'), coalesce(array_agg(key), '{}'), coalesce(array_agg(bucket), '{}')
	from (select distinct kind, key, bucket from d) m`

// refreshDaysSQL recomputes the local days ($1 kinds, $2 keys, $3 buckets) from the rollup's buckets: a queue's in its zone,
// an agent's in every zone a queue uses. A day that fails report_day_ok, or has no bucket left, has no row.
const refreshDaysSQL = `with m as (select distinct kind, key, bucket from unnest($1::text[], $2::text[], $3::timestamptz[]) m (kind, key, bucket)),
	zones as (select distinct time_zone as tz from queues),
	qd as (
		select distinct m.key as queue, q.time_zone as tz, x.day, x.day_end
		from m join queues q on q.name = m.key and m.kind = 'q',
			lateral (select date_trunc('day', m.bucket at time zone q.time_zone) as d) l,
			lateral (select l.d at time zone q.time_zone as day, (l.d + interval '1 day') at time zone q.time_zone as day_end) x),
	ad as (
		select distinct m.key::uuid as agent_id, z.tz, x.day, x.day_end
		from m join zones z on m.kind = 'a',
			lateral (select date_trunc('day', m.bucket at time zone z.tz) as d) l,
			lateral (select l.d at time zone z.tz as day, (l.d + interval '1 day') at time zone z.tz as day_end) x),
	qs as (
		select qd.queue, qd.tz, qd.day, qd.day_end, sum(r.offered)::bigint as offered, sum(r.answered)::bigint as answered,
			sum(r.in_sl)::bigint as in_sl, sum(r.abandoned)::bigint as abandoned, sum(r.short_abandoned)::bigint as short_abandoned,
			sum(r.overflowed)::bigint as overflowed, sum(r.handled)::bigint as handled, sum(r.callbacks)::bigint as callbacks,
			sum(r.transfers)::bigint as transfers, sum(r.wait_ms)::bigint as wait_ms, sum(r.talk_ms)::bigint as talk_ms,
			sum(r.hold_ms)::bigint as hold_ms, sum(r.wrap_ms)::bigint as wrap_ms
		from qd join report_queue_15m r on r.queue = qd.queue and r.bucket >= qd.day and r.bucket < qd.day_end
		where report_day_ok(qd.day, qd.day_end, qd.tz)
		group by 1, 2, 3, 4),
	as_ as (
		select ad.agent_id, ad.tz, ad.day, ad.day_end, sum(r.calls)::bigint as calls, sum(r.answered)::bigint as answered,
			sum(r.handled)::bigint as handled, sum(r.transfers)::bigint as transfers, sum(r.talk_ms)::bigint as talk_ms,
			sum(r.hold_ms)::bigint as hold_ms, sum(r.wrap_ms)::bigint as wrap_ms
		from ad join report_agent_15m r on r.agent_id = ad.agent_id and r.bucket >= ad.day and r.bucket < ad.day_end
		where report_day_ok(ad.day, ad.day_end, ad.tz)
		group by 1, 2, 3, 4),
	qdel as (
		delete from report_queue_day x using qd where x.queue = qd.queue and x.tz = qd.tz and x.day = qd.day
			and not exists (select 1 from qs where qs.queue = x.queue and qs.tz = x.tz and qs.day = x.day)),
	adel as (
		delete from report_agent_day x using ad where x.agent_id = ad.agent_id and x.tz = ad.tz and x.day = ad.day
			and not exists (select 1 from as_ where as_.agent_id = x.agent_id and as_.tz = x.tz and as_.day = x.day)),
	qup as (
		insert into report_queue_day (queue, tz, day, day_end, offered, answered, in_sl, abandoned, short_abandoned, overflowed,
			handled, callbacks, transfers, wait_ms, talk_ms, hold_ms, wrap_ms)
		select * from qs
		on conflict (queue, tz, day) do update set (day_end, offered, answered, in_sl, abandoned, short_abandoned, overflowed,
			handled, callbacks, transfers, wait_ms, talk_ms, hold_ms, wrap_ms) = (excluded.day_end, excluded.offered,
			excluded.answered, excluded.in_sl, excluded.abandoned, excluded.short_abandoned, excluded.overflowed,
			excluded.handled, excluded.callbacks, excluded.transfers, excluded.wait_ms, excluded.talk_ms, excluded.hold_ms,
			excluded.wrap_ms))
	insert into report_agent_day (agent_id, tz, day, day_end, calls, answered, handled, transfers, talk_ms, hold_ms, wrap_ms)
	select * from as_
	on conflict (agent_id, tz, day) do update set (day_end, calls, answered, handled, transfers, talk_ms, hold_ms, wrap_ms) =
		(excluded.day_end, excluded.calls, excluded.answered, excluded.handled, excluded.transfers, excluded.talk_ms,
		excluded.hold_ms, excluded.wrap_ms)`

// resolveCustomerMarksSQL turns up to $1 customer marks (kind c: a contact of the customer appeared, went or moved at bucket)
// into marks of the value view's buckets whose contacts' repeat flags that can change: the customer's contacts in the 7 days up
// to it (migration 0014). It reads on a snapshot taken after the writes that made the marks committed, so it sees every
// contact a writer could not (one of the same customer written at the same time).
const resolveCustomerMarksSQL = `with pick as (select id from report_dirty where kind = 'c' order by id limit $1),
	d as (delete from report_dirty r using pick where r.id = pick.id returning r.key, r.bucket),
	ins as (
		insert into report_dirty (kind, key, bucket)
		select distinct 'v', '', report_bucket(i.arrived_at)
		from d join interactions i on i.customer_id = d.key::uuid and i.arrived_at >= d.bucket - interval '7 days'
			and i.arrived_at <= d.bucket)
	select count(*) from d`

// refreshValueDays recomputes the value view's days (migration 0014) of the buckets its first limit marks (kind v, buckets
// before `before`) name, taking every mark of those buckets, and returns how many marks it took. The days are rewritten from
// a snapshot at least as new as the one the marks were taken on, so nothing a taken mark stood for is missed.
func refreshValueDays(ctx context.Context, tx pgx.Tx, limit int, before time.Time) (int, error) {
	// The buckets are picked first and their marks deleted by value: a join of the two would be planned from statistics of
	// report_dirty, whose size swings from nothing to millions (a bulk load), and was once a nested loop over the whole table.
	var buckets []time.Time
	if err := tx.QueryRow(ctx, `select coalesce(array_agg(distinct bucket), '{}') from (select bucket from report_dirty
		where kind = 'v' and key = '' and bucket < $2 order by bucket limit $1) m`, limit, before).Scan(&buckets); err != nil ||
		len(buckets) == 0 {
		return 0, err
	}
	tag, err := tx.Exec(ctx, `delete from report_dirty where kind = 'v' and key = '' and bucket = any($1)`, buckets)
	if err != nil {
		return 0, err
	}
	// Every zone's day around each bucket goes (a zone no queue uses any more keeps no day that could go stale); the days of
	// the zones in use are computed again.
	if _, err := tx.Exec(ctx, `delete from report_value_day h using unnest($1::timestamptz[]) b (bucket)
		where h.day > b.bucket - interval '2 days' and h.day <= b.bucket and h.day_end > b.bucket`, buckets); err != nil {
		return 0, err
	}
	// Each day's contacts are read through the function per day ("offset 0" keeps it a subquery): flattened, the planner
	// joined the days with every contact's facts and probed the next contact of all 1 M interactions to compute two days.
	_, err = tx.Exec(ctx, `with zones as (select distinct time_zone as tz from queues),
		days as (
			select distinct z.tz, x.day, x.day_end
			from unnest($1::timestamptz[]) b (bucket) cross join zones z,
				lateral (select date_trunc('day', b.bucket at time zone z.tz) as d) l,
				lateral (select l.d at time zone z.tz as day, (l.d + interval '1 day') at time zone z.tz as day_end) x
			where report_day_ok(x.day, x.day_end, z.tz)),
		h as (insert into report_value_day (tz, day, day_end) select tz, day, day_end from days)
		insert into report_value_counts (tz, day, queue, disposition, contacts, repeat_24h, repeat_7d)
		select days.tz, days.day, f.queue, f.disposition, count(*), sum(f.repeat_24h), sum(f.repeat_7d)
		from days cross join lateral (select * from report_value_facts(days.day, days.day_end) offset 0) f
		group by 1, 2, 3, 4`, buckets)
	return int(tag.RowsAffected()), err
}

// RunReportRollup refreshes the rollups every period until ctx ends, and at once again while marks remain; it returns ctx's
// error. A failed refresh is logged and tried again next period.
func (s *Store) RunReportRollup(ctx context.Context, every time.Duration, log *slog.Logger) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		for {
			// Buckets that ended at least settleFor ago: the current quarter hour stays marked while it fills.
			n, err := s.refreshReports(ctx, 0, s.now().Add(-15*time.Minute-settleFor))
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err != nil {
				log.Warn("report rollup refresh failed", "err", err)
			}
			if err != nil || n < refreshBatch {
				break
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
