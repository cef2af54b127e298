package crmstore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/switchboard-cc/switchboard/cti"
)

// The historical reports, in SQL over interactions and agent_states. Their definitions are those of the live statistics
// (queue.Period, cti.Rates) and are described once, in docs/reports.md:
//
//   - an interaction belongs to the interval its arrival falls in, in the queue's time zone;
//   - offered: interactions that reached the queue (queue set), plus those that overflowed from it to another queue;
//   - answered: answered_at set; in service level when its wait (enqueued → answered) is at most the queue's threshold;
//   - abandoned: outcome abandoned; short when it waited less than cti.ShortAbandon;
//   - overflowed: outcome overflowed (no queue to go to) or moved to another queue (overflow_from);
//   - handled: answered and ended; AHT = (talk + hold + wrap-up) / handled, wrap-up from the agent's wrap-up state;
//   - transfers: interactions of the queue that were transferred (they have a child); callbacks: outcome callback-requested.

var _ cti.Reports = (*Store)(nil)

// maxReportRows bounds a report's intervals × queues (or agents), so a careless query cannot build a huge answer.
const maxReportRows = 100_000

// maxIntervals bounds a report's number of intervals: a year of hours.
const maxIntervals = 366 * 24

// bucketSQL returns the SQL expression of the start of the interval of the local timestamp expression x, and the interval's width.
func bucketSQL(iv cti.ReportInterval, x string) (expr, step string) {
	switch iv {
	case cti.Interval15m:
		return "date_bin('15 minutes', " + x + ", timestamp '2000-01-03')", "15 minutes"
	case cti.IntervalHour:
		return "date_trunc('hour', " + x + ")", "1 hour"
	case cti.IntervalWeek:
		return "date_trunc('week', " + x + ")", "7 days"
	default:
		return "date_trunc('day', " + x + ")", "1 day"
	}
}

// checkReport validates q and fills its defaults: the interval is a day, the period the last 7 days up to now (wall clock).
func (s *Store) checkReport(q *cti.ReportQuery) error {
	if q.Interval == "" {
		q.Interval = cti.IntervalDay
	}
	if !q.Interval.Valid() {
		return cti.Invalid("interval", "15m, hour, day or week")
	}
	if q.To.IsZero() {
		q.To = s.now().Truncate(24 * time.Hour).Add(24 * time.Hour)
	}
	if q.From.IsZero() {
		q.From = q.To.Add(-7 * 24 * time.Hour)
	}
	if !q.From.Before(q.To) {
		return cti.Invalid("from", "must be before to")
	}
	width := map[cti.ReportInterval]time.Duration{cti.Interval15m: 15 * time.Minute, cti.IntervalHour: time.Hour,
		cti.IntervalDay: 24 * time.Hour, cti.IntervalWeek: 7 * 24 * time.Hour}[q.Interval]
	if q.To.Sub(q.From)/width > maxIntervals {
		return cti.Invalid("interval", "too many intervals in the period; choose a wider interval or a shorter period")
	}
	if q.AgentID != "" {
		if _, err := parseID(q.AgentID, "agent"); err != nil {
			return cti.Invalid("agent", "not an agent id")
		}
	}
	return nil
}

// wall returns t's wall clock as a timestamp without time zone.
func wall(t time.Time) pgtype.Timestamp {
	return pgtype.Timestamp{Time: time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC),
		Valid: true}
}

const localFormat = "2006-01-02T15:04"

// QueueReport returns one row per queue and interval that had traffic, in queue then time order. It sums the rollup's days
// and 15-minute buckets and, where they cannot be used, the raw rows (rollupCTEs; docs/reports.md, "Rollups").
func (s *Store) QueueReport(ctx context.Context, q cti.ReportQuery) ([]cti.QueueReportRow, error) {
	return s.queueReport(ctx, q, queueCountsSQL)
}

// queueCountsSQL returns the CTEs of a queue report that end in agg (queue, tz, b and the counts) from the queues f (key, tz,
// lo, hi), read from the rollups where they can be used (rollupCTEs).
func queueCountsSQL(iv cti.ReportInterval) string {
	b, _ := bucketSQL(iv, "(t.at at time zone t.tz)")
	return fmt.Sprintf(`%[1]s,
		t as (
			select rb.key as queue, rb.tz, x.arrived_at as at, x.offered, x.answered, x.in_sl, x.abandoned, x.short_abandoned,
				x.overflowed, x.handled, x.callbacks, x.transfers, x.wait_ms, x.talk_ms, x.hold_ms, x.wrap_ms
			from rb, lateral report_queue_facts(rb.key, greatest(rb.u, rb.lo), least(rb.u + interval '15 minutes', rb.hi), $4) x
			union all
			select g.key, g.tz, r.bucket, r.offered, r.answered, r.in_sl, r.abandoned, r.short_abandoned, r.overflowed, r.handled,
				r.callbacks, r.transfers, r.wait_ms, r.talk_ms, r.hold_ms, r.wrap_ms
			from g cross join lateral (select * from report_queue_15m r
				where r.queue = g.key and r.bucket >= g.lo and r.bucket < g.hi and r.bucket + interval '15 minutes' <= g.hi
				offset 0) r
			where not exists (select 1 from rb where rb.key = r.queue and rb.u = r.bucket)
			union all
			select d.queue, d.tz, d.day, d.offered, d.answered, d.in_sl, d.abandoned, d.short_abandoned, d.overflowed, d.handled,
				d.callbacks, d.transfers, d.wait_ms, d.talk_ms, d.hold_ms, d.wrap_ms
			from dy d),
		agg as (
			select queue, tz, %[2]s as b, sum(offered)::bigint as offered, sum(answered)::bigint as answered,
				sum(in_sl)::bigint as in_sl, sum(abandoned)::bigint as abandoned, sum(short_abandoned)::bigint as short_abandoned,
				sum(overflowed)::bigint as overflowed, sum(handled)::bigint as handled, sum(callbacks)::bigint as callbacks,
				sum(transfers)::bigint as transfers, sum(wait_ms)::bigint as wait_ms, sum(talk_ms)::bigint as talk_ms,
				sum(hold_ms)::bigint as hold_ms, sum(wrap_ms)::bigint as wrap_ms
			from t group by queue, tz, b)`, rollupCTEs("q", iv), b)
}

// queueReport runs a queue report whose counts per queue and interval come from the CTEs counts returns (see queueCountsSQL).
func (s *Store) queueReport(ctx context.Context, q cti.ReportQuery, counts func(cti.ReportInterval) string) ([]cti.QueueReportRow, error) {
	if err := s.checkReport(&q); err != nil {
		return nil, err
	}
	if q.Queue != "" {
		if err := s.queueExists(ctx, q.Queue); err != nil {
			return nil, err
		}
	}
	sql := fmt.Sprintf(`with f as (
			select name as key, time_zone as tz, sl_threshold_ms as sl, ($2::timestamp at time zone time_zone) as lo,
				($3::timestamp at time zone time_zone) as hi
			from queues where $1 = '' or name = $1),
		%[1]s
		select queue, b, b at time zone tz, offered, answered, in_sl, abandoned, short_abandoned, overflowed, handled,
			callbacks, transfers, wait_ms, talk_ms, hold_ms, wrap_ms
		from agg
		order by queue, b
		limit %[2]d`, counts(q.Interval), maxReportRows)
	out := []cti.QueueReportRow{}
	err := s.readReport(ctx, "queue report", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sql, q.Queue, wall(q.From), wall(q.To), cti.ShortAbandon.Milliseconds())
		if err != nil {
			return err
		}
		out, err = scanQueueReport(rows)
		return err
	})
	return out, err
}

// rollupCTEs returns the CTEs that split a report's period, for each key of f (key, tz, lo, hi: a queue or an agent, its
// zone, the period as instants), into what is read where (docs/reports.md, "Rollups"):
//
//   - dy: whole local days of the period read from the day table (day and week reports only), none of whose buckets is marked;
//   - g (key, tz, lo, hi): the rest of the period, as ranges;
//   - rb (key, tz, lo, hi, u): the 15-minute buckets of g read raw: partial buckets at a range's edges, buckets marked in
//     report_dirty (changed since the rollup job last computed them), and buckets that do not fall in one quarter hour of the
//     zone (report_aligned). The other buckets of g are read from the 15-minute table.
//
// Every CTE is materialized and every table read through a lateral subquery on its key ("offset 0" keeps the planner from
// flattening it into a merge join over the whole table), so each is an index range scan per key and range.
func rollupCTEs(kind string, iv cti.ReportInterval) string {
	bucketTable, dayTable, keyCol := "report_queue_15m", "report_queue_day", "queue"
	if kind == "a" {
		bucketTable, dayTable, keyCol = "report_agent_15m", "report_agent_day", "agent_id"
	}
	days := iv == cti.IntervalDay || iv == cti.IntervalWeek
	return fmt.Sprintf(`dy as materialized (
			select d.* from f cross join lateral (
				select d.* from %[3]s d
				where %[5]t and d.%[4]s = f.key and d.tz = f.tz and d.day >= f.lo and d.day < f.hi and d.day_end <= f.hi
					and not exists (select 1 from report_dirty m
						where m.kind = '%[1]s' and m.key = d.%[4]s::text and m.bucket >= d.day and m.bucket < d.day_end)
				offset 0) d),
		g as materialized (
			select f.key, f.tz, lower(u) as lo, upper(u) as hi
			from f cross join lateral (select range_agg(tstzrange(dy.day, dy.day_end)) as cov from dy where dy.%[4]s = f.key) c
				cross join lateral unnest(tstzmultirange(tstzrange(f.lo, f.hi)) - coalesce(c.cov, '{}')) u),
		rb as materialized (
			select g.*, report_bucket(g.lo) as u from g where report_bucket(g.lo) <> g.lo
			union
			select g.*, report_bucket(g.hi) from g where report_bucket(g.hi) <> g.hi
			union
			select g.*, d.bucket from g cross join lateral (select d.bucket from report_dirty d
				where d.kind = '%[1]s' and d.key = g.key::text and d.bucket >= report_bucket(g.lo) and d.bucket < g.hi offset 0) d
			union
			select g.*, r.bucket from g cross join lateral (select r.bucket from %[2]s r
				where r.%[4]s = g.key and r.bucket >= g.lo and r.bucket < g.hi and not report_aligned(r.bucket, g.tz) offset 0) r)`,
		kind, bucketTable, dayTable, keyCol, days)
}

func scanQueueReport(rows pgx.Rows) ([]cti.QueueReportRow, error) {
	defer rows.Close()
	out := []cti.QueueReportRow{}
	ms := time.Millisecond
	for rows.Next() {
		var r cti.QueueReportRow
		var local time.Time
		var wait, talk, hold, wrap int64
		c := &r.ReportCounts
		if err := rows.Scan(&r.Queue, &local, &r.Start, &c.Offered, &c.Answered, &c.AnsweredInSL, &c.Abandoned, &c.ShortAbandoned,
			&c.Overflowed, &c.Handled, &c.Callbacks, &c.Transfers, &wait, &talk, &hold, &wrap); err != nil {
			return nil, err
		}
		r.Start, r.Local = r.Start.UTC(), local.Format(localFormat)
		c.WaitAnswered, c.Talk, c.Hold, c.WrapUp = time.Duration(wait)*ms, time.Duration(talk)*ms, time.Duration(hold)*ms,
			time.Duration(wrap)*ms
		r.Rates = c.Rates()
		out = append(out, r)
	}
	return out, rows.Err()
}

// readReport runs f in a read-only transaction on one snapshot. JIT compilation is off: PostgreSQL's estimate of the rows of
// generate_series makes it compile these queries for a second to save milliseconds.
func (s *Store) readReport(ctx context.Context, what string, f func(tx pgx.Tx) error) error {
	err := pgx.BeginTxFunc(ctx, s.db.Pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `set local jit = off`); err != nil {
			return err
		}
		return f(tx)
	})
	return dbError(err, what)
}

// reportZone returns q's time zone: its own, the queue's, or the one most queues use.
func (s *Store) reportZone(ctx context.Context, q cti.ReportQuery) (string, error) {
	if q.TimeZone != "" {
		if _, err := time.LoadLocation(q.TimeZone); err != nil {
			return "", cti.Invalid("tz", "unknown time zone %q", q.TimeZone)
		}
		return q.TimeZone, nil
	}
	var tz string
	err := s.db.Pool.QueryRow(ctx, `select coalesce((select time_zone from queues where $1 <> '' and name = $1),
		(select time_zone from queues group by time_zone order by count(*) desc, time_zone limit 1), 'UTC')`, q.Queue).Scan(&tz)
	return tz, dbError(err, "report time zone")
}

// AgentReport returns one row per agent and interval in which the agent handled calls or was logged in, in login then time
// order. With a queue, only the queue's members are shown; their calls are counted whatever the queue.
func (s *Store) AgentReport(ctx context.Context, q cti.ReportQuery) ([]cti.AgentReportRow, error) {
	return s.agentReport(ctx, q, agentCallsSQL)
}

// agentCallsSQL returns the CTEs of an agent report that end in calls (agent_id, b, answered, handled, transfers, talk_ms,
// hold_ms, wrap_ms): the agents' (ag) interactions per interval, from the rollups where they can be used (rollupCTEs).
func agentCallsSQL(iv cti.ReportInterval) string {
	b, _ := bucketSQL(iv, "(t.at at time zone $5)")
	return fmt.Sprintf(`f as (select id as key, $5::text as tz, $2::timestamp at time zone $5 as lo, $3::timestamp at time zone $5 as hi from ag),
		%[2]s,
		t as (
			select rb.key as agent_id, x.arrived_at as at, x.calls, x.answered, x.handled, x.transfers, x.talk_ms, x.hold_ms, x.wrap_ms
			from rb, lateral report_agent_facts(rb.key, greatest(rb.u, rb.lo), least(rb.u + interval '15 minutes', rb.hi)) x
			union all
			select r.agent_id, r.bucket, r.calls, r.answered, r.handled, r.transfers, r.talk_ms, r.hold_ms, r.wrap_ms
			from g cross join lateral (select * from report_agent_15m r
				where r.agent_id = g.key and r.bucket >= g.lo and r.bucket < g.hi and r.bucket + interval '15 minutes' <= g.hi
				offset 0) r
			where not exists (select 1 from rb where rb.key = r.agent_id and rb.u = r.bucket)
			union all
			select d.agent_id, d.day, d.calls, d.answered, d.handled, d.transfers, d.talk_ms, d.hold_ms, d.wrap_ms from dy d),
		calls as (
			select agent_id, %[1]s as b, sum(answered)::bigint as answered, sum(handled)::bigint as handled,
				sum(transfers)::bigint as transfers, sum(talk_ms)::bigint as talk_ms, sum(hold_ms)::bigint as hold_ms,
				sum(wrap_ms)::bigint as wrap_ms
			from t group by 1, 2 having sum(calls) > 0)`, b, rollupCTEs("a", iv))
}

// agentReport runs an agent report whose calls per agent and interval come from the CTEs calls returns (see agentCallsSQL),
// and whose times in states come from the agent-state history.
func (s *Store) agentReport(ctx context.Context, q cti.ReportQuery, calls func(cti.ReportInterval) string) ([]cti.AgentReportRow, error) {
	if err := s.checkReport(&q); err != nil {
		return nil, err
	}
	if q.Queue != "" {
		if err := s.queueExists(ctx, q.Queue); err != nil {
			return nil, err
		}
	}
	tz, err := s.reportZone(ctx, q)
	if err != nil {
		return nil, err
	}
	now := s.now()
	sql := fmt.Sprintf(`with ag as (
			select id, login from agents a
			where ($1 = '' or a.id = nullif($1, '')::uuid)
				and ($4 = '' or exists (select 1 from queue_members m where m.agent_id = a.id and m.queue = $4))),
		%[1]s,
		%[2]s,
		keys as (select agent_id, b from calls union select agent_id, b from sj)
		select ag.id::text, ag.login, k.b, k.b at time zone $5,
			coalesce(c.answered, 0), coalesce(c.handled, 0), coalesce(c.transfers, 0),
			coalesce(c.talk_ms, 0), coalesce(c.hold_ms, 0), coalesce(c.wrap_ms, 0),
			coalesce(sj.j, '{}')
		from keys k join ag on ag.id = k.agent_id
			left join calls c on c.agent_id = k.agent_id and c.b = k.b
			left join sj on sj.agent_id = k.agent_id and sj.b = k.b
		order by ag.login, k.b
		limit %[3]d`, calls(q.Interval), agentStatesSQL(q.Interval), maxReportRows)
	out := []cti.AgentReportRow{}
	err = s.readReport(ctx, "agent report", func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sql, q.AgentID, wall(q.From), wall(q.To), q.Queue, tz, now)
		if err != nil {
			return err
		}
		out, err = scanAgentReport(rows)
		return err
	})
	return out, err
}

// agentStatesSQL returns the CTEs sp, st and sj of an agent report: the agents' (ag) state stretches cut at the period's and
// the intervals' edges, and the seconds per interval in each state and reason as JSON. Parameters: $2 and $3 the period
// (wall clock in zone $5), $6 the end of the open stretches.
func agentStatesSQL(iv cti.ReportInterval) string {
	gb, step := bucketSQL(iv, "(sp.s at time zone $5)")
	return fmt.Sprintf(`sp as (
			select a.agent_id, a.state, a.reason,
				greatest(a.started_at, $2::timestamp at time zone $5) as s,
				least(coalesce(a.ended_at, $6), $3::timestamp at time zone $5) as e
			from ag join agent_states a on a.agent_id = ag.id
			where a.started_at < ($3::timestamp at time zone $5) and coalesce(a.ended_at, $6) > ($2::timestamp at time zone $5)),
		st as (
			select sp.agent_id, g as b, sp.state, sp.reason,
				sum(extract(epoch from least(sp.e, (g + interval '%[2]s') at time zone $5) - greatest(sp.s, g at time zone $5))) as secs
			from sp, lateral generate_series(%[1]s, (sp.e at time zone $5) - interval '1 microsecond', interval '%[2]s') g
			where sp.e > sp.s
			group by 1, 2, 3, 4),
		sj as (select agent_id, b, jsonb_object_agg(state || ':' || reason, secs) as j from st group by 1, 2)`, gb, step)
}

func scanAgentReport(rows pgx.Rows) ([]cti.AgentReportRow, error) {
	defer rows.Close()
	out := []cti.AgentReportRow{}
	ms := time.Millisecond
	for rows.Next() {
		var r cti.AgentReportRow
		var local time.Time
		var talk, hold, wrap int64
		var states map[string]float64
		if err := rows.Scan(&r.AgentID, &r.Login, &local, &r.Start, &r.Answered, &r.Handled, &r.Transfers, &talk, &hold, &wrap,
			&states); err != nil {
			return nil, err
		}
		r.Start, r.Local = r.Start.UTC(), local.Format(localFormat)
		r.Talk, r.Hold, r.WrapUp = time.Duration(talk)*ms, time.Duration(hold)*ms, time.Duration(wrap)*ms
		if r.Handled > 0 {
			r.AHT = (r.Talk + r.Hold + r.WrapUp) / time.Duration(r.Handled)
		}
		r.Reasons = map[string]time.Duration{}
		keys := make([]string, 0, len(states))
		for k := range states {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			d := time.Duration(states[k] * float64(time.Second)).Round(time.Millisecond)
			state, reason := k, ""
			for i := range k {
				if k[i] == ':' {
					state, reason = k[:i], k[i+1:]
					break
				}
			}
			r.LoggedIn += d
			switch cti.AgentState(state) {
			case cti.AgentReady:
				r.Ready += d
			case cti.AgentReserved, cti.AgentOnCall:
				r.OnCall += d
			case cti.AgentWrapUp:
				r.WrapTime += d
			case cti.AgentNotReady:
				r.NotReady += d
				if reason == "" {
					reason = "none"
				}
				r.Reasons[reason] += d
			}
		}
		if avail := r.LoggedIn - r.NotReady; avail > 0 {
			r.Occupancy = float64(r.OnCall+r.WrapTime) / float64(avail)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ValueReport returns the CRM value view of [From, To) in the report's time zone. The ranking and the tiers are read from the
// raw rows (they do not add up across days); the repeat contacts and the dispositions from the value rollup's days where they
// can be used (valueCountsSQL; docs/reports.md, "The value view").
func (s *Store) ValueReport(ctx context.Context, q cti.ReportQuery, limit int) (*cti.ValueReport, error) {
	return s.valueReport(ctx, q, limit, valueTopSQL, valueCounts)
}

// valueTopSQL returns the top customers ($3 of them) and the tiers of the contacts of [$1, $2), of queue $4 if not empty: rows
// (top?, id, name, tier, contacts, answered, last, customers), top? true for a top customer, false for a tier's contacts and
// live customers, null for a tier's contacted customers.
//
// One pass counts the period's contacts per customer in customer order ("order by customer_id": over a long period the
// planner then streams them off the interactions_timeline index rather than building a hash table of every customer, which
// it prices lower but measured slower; over a short one it sorts them) and, in the same order, merges in the platinum and
// gold customers off their small index (the tiers are checked to be these three, so any other is standard). The ranking and
// the tier shares then read only that (customer, contacts, tier) list; names, answered contacts and the last contact are read
// for the top customers alone.
const valueTopSQL = `with per as materialized (
		select p.customer_id, p.n, coalesce(c.tier, 'standard') as tier
		from (select customer_id, count(*) as n
			from (select customer_id from interactions
				where customer_id is not null and arrived_at >= $1 and arrived_at < $2 and ($4 = '' or queue = $4)
				order by customer_id) i
			group by customer_id) p
			left join customers c on c.id = p.customer_id and c.tier <> 'standard'),
	top as (
		select customer_id, n, tier from per
		order by n desc, case tier when 'platinum' then 1 when 'gold' then 2 else 3 end, customer_id
		limit $3),
	p as (select tier, count(*) as contacted, sum(n) as n from per group by tier),
	t as (select tier, count(*) as customers from customers where deleted_at is null group by tier)
	select true, top.customer_id::text, c.name, top.tier, top.n, x.answered, x.last, 0::bigint
	from top join customers c on c.id = top.customer_id,
		lateral (select count(*) filter (where i.answered_at is not null) as answered, max(i.arrived_at) as last
			from interactions i
			where i.customer_id = top.customer_id and i.arrived_at >= $1 and i.arrived_at < $2 and ($4 = '' or i.queue = $4)) x
	union all
	select false, '', '', t.tier, coalesce(p.n, 0), 0, null, t.customers from t left join p on p.tier = t.tier
	union all
	select null, '', '', p.tier, p.contacted, 0, null, 0 from p`

// valueCountsFunc fills v's contacts, repeat contacts and top dispositions for [v.From, v.To) in zone tz, of queue if not empty.
type valueCountsFunc func(ctx context.Context, tx pgx.Tx, v *cti.ValueReport, queue, tz string) error

// valueReport runs the value view with the top customers and tiers of topSQL (see valueTopSQL) and the counts of counts.
func (s *Store) valueReport(ctx context.Context, q cti.ReportQuery, limit int, topSQL string, counts valueCountsFunc) (*cti.ValueReport, error) {
	if err := s.checkReport(&q); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 1000 {
		limit = 20
	}
	tz, err := s.reportZone(ctx, q)
	if err != nil {
		return nil, err
	}
	loc, _ := time.LoadLocation(tz)
	from := time.Date(q.From.Year(), q.From.Month(), q.From.Day(), q.From.Hour(), q.From.Minute(), q.From.Second(), 0, loc)
	to := time.Date(q.To.Year(), q.To.Month(), q.To.Day(), q.To.Hour(), q.To.Minute(), q.To.Second(), 0, loc)
	v := &cti.ValueReport{From: from.UTC(), To: to.UTC(), TopCustomers: []cti.CustomerValue{}, Tiers: []cti.TierShare{},
		TopDispositions: []cti.DispositionCount{}}
	err = s.readReport(ctx, "value report", func(tx pgx.Tx) error {
		// A year's ranking counts 700,000 contacts per customer: whatever is hashed or sorted stays in memory rather than
		// in batches on disk. Custom plans: pgx prepares these statements, and the generic plan, blind to the period and
		// the queue, sorts the period's contacts on disk and probes the tiers once per customer (3x the CPU over a year).
		// No Memoize: the planner puts one over the next-contact probe of the raw days, whose key (the contact's id) never
		// repeats, and sizes its table from the interactions it expects in the period — building it took 0.8 s of a year's view.
		if _, err := tx.Exec(ctx, `set local work_mem = '64MB'; set local plan_cache_mode = force_custom_plan;
			set local enable_memoize = off`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, topSQL, v.From, v.To, limit, q.Queue)
		if err != nil {
			return err
		}
		if err := scanValueTop(rows, v); err != nil {
			return err
		}
		if err := counts(ctx, tx, v, q.Queue, tz); err != nil {
			return err
		}
		if v.Contacts > 0 {
			v.RepeatRate24h = float64(v.Repeat24h) / float64(v.Contacts)
			v.RepeatRate7d = float64(v.Repeat7d) / float64(v.Contacts)
			v.FCR24h, v.FCR7d = 1-v.RepeatRate24h, 1-v.RepeatRate7d
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// scanValueTop reads the rows of a valueTopSQL query into v's top customers and tiers.
func scanValueTop(rows pgx.Rows, v *cti.ValueReport) error {
	defer rows.Close()
	contacted := map[string]int64{}
	for rows.Next() {
		var isTop *bool
		var id, name, tier string
		var n, answered, customers int64
		var last *time.Time
		if err := rows.Scan(&isTop, &id, &name, &tier, &n, &answered, &last, &customers); err != nil {
			return err
		}
		switch {
		case isTop == nil:
			contacted[tier] = n
		case *isTop:
			v.TopCustomers = append(v.TopCustomers, cti.CustomerValue{CustomerID: id, Name: name, Tier: cti.Tier(tier),
				Interactions: n, Answered: answered, Last: last.UTC()})
		default:
			v.Tiers = append(v.Tiers, cti.TierShare{Tier: cti.Tier(tier), Customers: customers, Interactions: n})
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	order := map[cti.Tier]int{cti.TierPlatinum: 0, cti.TierGold: 1, cti.TierStandard: 2}
	slices.SortFunc(v.Tiers, func(a, b cti.TierShare) int { return order[a.Tier] - order[b.Tier] })
	for i := range v.Tiers {
		v.Tiers[i].Contacted = contacted[string(v.Tiers[i].Tier)]
	}
	slices.SortStableFunc(v.TopCustomers, func(a, b cti.CustomerValue) int {
		if a.Interactions != b.Interactions {
			return int(b.Interactions - a.Interactions)
		}
		return order[a.Tier] - order[b.Tier]
	})
	return nil
}

// valueCountsSQL returns, per queue and disposition (either null), the contacts of known customers of [$1, $2) in zone $4, of
// queue $3 if not empty, and how many are repeated within 24 h and 7 days. It reads the value rollup's days (hd) that lie in
// the period and have no mark — a value mark in the day, or a customer mark the job has not taken yet whose contacts lie in
// the day (cm) — and the rest of the period (g) from the raw rows. Both sum report_value_facts.
const valueCountsSQL = `with cm as materialized (
		select distinct report_bucket(i.arrived_at) as bucket
		from report_dirty c join interactions i on i.customer_id = c.key::uuid and i.arrived_at >= c.bucket - interval '7 days'
			and i.arrived_at <= c.bucket
		where c.kind = 'c'),
	dd as materialized (
		select distinct date_trunc('day', m.bucket at time zone $4) as d
		from (select bucket from report_dirty where kind = 'v' and key = '' union all select bucket from cm) m),
	hd as materialized (
		select h.day, h.day_end from report_value_day h
		where h.tz = $4 and h.day >= $1 and h.day_end <= $2
			and not exists (select 1 from dd where dd.d = date_trunc('day', h.day at time zone $4))),
	g as materialized (
		select lower(u) as lo, upper(u) as hi
		from (select range_agg(tstzrange(day, day_end)) as cov from hd) c
			cross join lateral unnest(tstzmultirange(tstzrange($1, $2)) - coalesce(c.cov, '{}')) u),
	t as (
		select c.queue, c.disposition, c.contacts, c.repeat_24h, c.repeat_7d
		from hd join report_value_counts c on c.tz = $4 and c.day = hd.day
		union all
		select f.queue, f.disposition, 1, f.repeat_24h, f.repeat_7d from g, lateral report_value_facts(g.lo, g.hi) f)
	select queue, disposition, n, r24, r7, row_number() over (partition by queue, disposition is null order by n desc, disposition)
	from (
		select queue, disposition, sum(contacts)::bigint as n, sum(repeat_24h)::bigint as r24, sum(repeat_7d)::bigint as r7
		from t where $3 = '' or queue = $3
		group by 1, 2) x
	order by queue, n desc, disposition`

// valueCounts fills v's counts from valueCountsSQL, with the top 5 dispositions of each queue (ties: by code).
func valueCounts(ctx context.Context, tx pgx.Tx, v *cti.ValueReport, queue, tz string) error {
	rows, err := tx.Query(ctx, valueCountsSQL, v.From, v.To, queue, tz)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var q, d *string
		var n, r24, r7, rank int64
		if err := rows.Scan(&q, &d, &n, &r24, &r7, &rank); err != nil {
			return err
		}
		v.Contacts, v.Repeat24h, v.Repeat7d = v.Contacts+n, v.Repeat24h+r24, v.Repeat7d+r7
		if q != nil && d != nil && rank <= 5 {
			v.TopDispositions = append(v.TopDispositions, cti.DispositionCount{Queue: *q, Disposition: *d, Count: n})
		}
	}
	return rows.Err()
}
