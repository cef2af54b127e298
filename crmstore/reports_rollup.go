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

// RefreshReports recomputes the buckets marked in report_dirty, up to limit marks (refreshBatch when limit ≤ 0), and returns
// how many marks it took. It removes the marks and writes the buckets in one statement, so a crash leaves both as they were;
// recomputing rather than adding makes it safe to run again.
func (s *Store) RefreshReports(ctx context.Context, limit int) (int, error) {
	if limit <= 0 {
		limit = refreshBatch
	}
	var n int
	err := pgx.BeginFunc(ctx, s.db.Pool, func(tx pgx.Tx) error {
		// Read committed: the statement below takes its snapshot after the lock, so it sees the previous refresh's work.
		if _, err := tx.Exec(ctx, `select pg_advisory_xact_lock($1)`, rollupLockID); err != nil {
			return err
		}
		return tx.QueryRow(ctx, refreshSQL, limit, cti.ShortAbandon.Milliseconds()).Scan(&n)
	})
	return n, dbError(err, "refresh report rollups")
}

// refreshSQL takes marks and recomputes their buckets. Every part reads the same snapshot: a write committed after it has a
// mark this statement does not see, and so does not remove.
const refreshSQL = `with d as (
		delete from report_dirty where id in (select id from report_dirty order by id limit $1) returning kind, key, bucket),
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
	select count(*) from d`

// RunReportRollup refreshes the rollups every period until ctx ends, and at once again while marks remain; it returns ctx's
// error. A failed refresh is logged and tried again next period.
func (s *Store) RunReportRollup(ctx context.Context, every time.Duration, log *slog.Logger) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		for {
			n, err := s.RefreshReports(ctx, 0)
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
