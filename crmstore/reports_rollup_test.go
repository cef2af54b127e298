package crmstore_test

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/switchboard-cc/switchboard/crmstore"
	"github.com/switchboard-cc/switchboard/cti"
)

// TestReportRollupEqualsRaw checks that the reports, which read the rollups, give exactly what SQL over the raw rows gives
// (QueueReportRaw, AgentReportRaw: the reports as they were before the rollups), over random interactions in zones with
// whole-hour, half-hour, 45-minute and daylight-saving offsets and in a period with an offset that is not a multiple of 15
// minutes: before the rollup job has run, after it, after late edits the job has not seen yet, and after writes that raced
// with it.
func TestReportRollupEqualsRaw(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	pool := s.DB().Pool
	zones := map[string]string{"sales": "Asia/Kolkata", "support": "America/New_York", "billing": "Asia/Kathmandu",
		"general": "Asia/Shanghai", "priority": "UTC"}
	for q, tz := range zones {
		if _, err := pool.Exec(ctx, `update queues set time_zone = $2 where name = $1`, q, tz); err != nil {
			t.Fatal(err)
		}
	}
	var agents []string
	for _, login := range []string{"agent1", "agent2", "agent3"} {
		a, err := s.AgentByLogin(ctx, login)
		if err != nil {
			t.Fatal(err)
		}
		agents = append(agents, a.ID)
	}
	queues := []string{"sales", "support", "billing", "general", "priority"}
	r := rand.New(rand.NewPCG(9, 9))
	// Around New York's change to daylight-saving time (2025-03-09) and, in 1900, Shanghai's local mean time (+8:05:43).
	starts := []time.Time{time.Date(2025, 3, 5, 0, 0, 0, 0, time.UTC), time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)}
	random := func(n int) []cti.Interaction {
		out := make([]cti.Interaction, n)
		for i := range out {
			arr := starts[r.IntN(4)/3].Add(time.Duration(r.Int64N(int64(10 * 24 * time.Hour))))
			in := cti.Interaction{Channel: cti.ChannelPhone, Direction: cti.Inbound, Queue: queues[r.IntN(len(queues))],
				ArrivedAt: arr, QueuedAt: arr}
			wait := time.Duration(r.IntN(40)) * time.Second
			in.Durations.Wait = wait
			switch r.IntN(6) {
			case 0: // still waiting
			case 1:
				in.EndedAt, in.Outcome = arr.Add(wait), cti.OutcomeAbandoned
			case 2:
				in.EndedAt, in.Outcome = arr.Add(wait), []cti.Outcome{cti.OutcomeOverflowed, cti.OutcomeCallbackRequested}[r.IntN(2)]
			default:
				in.AgentID, in.AnsweredAt = agents[r.IntN(len(agents))], arr.Add(wait)
				if r.IntN(5) > 0 {
					in.Durations.Talk, in.Durations.Hold = time.Duration(r.IntN(600))*time.Second, time.Duration(r.IntN(3))*time.Second
					in.EndedAt, in.Outcome = in.AnsweredAt.Add(in.Durations.Talk+in.Durations.Hold), cti.OutcomeAnswered
				}
			}
			out[i] = in
		}
		if err := s.LogInteractions(ctx, out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	logged := random(600)

	// Late edits as the engine and the agent-state history make them: moves to another queue, transfers (a child), wrap-up
	// time added after the call, a new service-level threshold.
	lateEdits := func() {
		for range 40 {
			in := logged[r.IntN(len(logged))]
			switch r.IntN(4) {
			case 0:
				to := queues[r.IntN(len(queues))]
				if _, err := pool.Exec(ctx, `update interactions set overflow_from = queue, queue = $2 where id = $1 and queue <> $2`,
					in.ID, to); err != nil {
					t.Fatal(err)
				}
			case 1:
				child := cti.Interaction{Channel: cti.ChannelPhone, Direction: cti.Inbound, Queue: queues[r.IntN(len(queues))],
					ArrivedAt: in.ArrivedAt.Add(time.Minute), ParentID: in.ID}
				if err := s.LogInteractions(ctx, []cti.Interaction{child}); err != nil {
					t.Fatal(err)
				}
			case 2:
				if _, err := pool.Exec(ctx, `update interactions set wrap_up_ms = wrap_up_ms + 15000 where id = $1`, in.ID); err != nil {
					t.Fatal(err)
				}
			default:
				if _, err := pool.Exec(ctx, `update interactions set arrived_at = arrived_at + interval '20 minutes',
					ended_at = ended_at + interval '20 minutes', answered_at = answered_at + interval '20 minutes' where id = $1`,
					in.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
		if _, err := pool.Exec(ctx, `update queues set sl_threshold_ms = sl_threshold_ms + 5000 where name = 'support'`); err != nil {
			t.Fatal(err)
		}
	}

	type period struct {
		from, to time.Time
		iv       cti.ReportInterval
	}
	var periods []period
	for _, st := range starts {
		periods = append(periods,
			period{st.Add(-24 * time.Hour), st.Add(12 * 24 * time.Hour), cti.IntervalWeek},
			period{st, st.Add(11 * 24 * time.Hour), cti.IntervalDay},
			period{st.Add(24*time.Hour + 7*time.Minute), st.Add(8*24*time.Hour + 50*time.Minute), cti.IntervalHour},
			period{st.Add(3*24*time.Hour + 9*time.Minute), st.Add(6*24*time.Hour + 13*time.Minute), cti.Interval15m})
	}
	compare := func(stage string) {
		t.Helper()
		for _, p := range periods {
			for _, q := range []string{"", "support", "billing"} {
				rq := cti.ReportQuery{From: p.from, To: p.to, Interval: p.iv, Queue: q}
				got, want := queueReports(t, s, rq)
				if len(want) == 0 {
					t.Fatalf("%s: no rows in %+v: the test data miss the period", stage, rq)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s: queue report %+v\n got %+v\nwant %+v", stage, rq, got, want)
				}
			}
			for _, tz := range []string{"Asia/Kathmandu", "America/New_York", "Asia/Shanghai"} {
				rq := cti.ReportQuery{From: p.from, To: p.to, Interval: p.iv, TimeZone: tz}
				got, err := s.AgentReport(ctx, rq)
				if err != nil {
					t.Fatal(err)
				}
				want, err := s.AgentReportRaw(ctx, rq)
				if err != nil {
					t.Fatal(err)
				}
				if len(want) == 0 {
					t.Fatalf("%s: no rows in %+v", stage, rq)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s: agent report %+v\n got %+v\nwant %+v", stage, rq, got, want)
				}
			}
		}
	}
	refreshAll := func() { t.Helper(); refreshUntilDone(t, s, 50) }
	var marks int
	count := func(table string) int {
		if err := pool.QueryRow(ctx, `select count(*) from `+table).Scan(&marks); err != nil {
			t.Fatal(err)
		}
		return marks
	}

	compare("before the first refresh, every bucket marked")
	refreshAll()
	for _, table := range []string{"report_queue_15m", "report_agent_15m", "report_queue_day", "report_agent_day"} {
		if count(table) == 0 {
			t.Fatalf("after a refresh, %s is empty", table)
		}
	}
	if count("report_dirty") != 0 {
		t.Fatalf("after a refresh: %d marks", count("report_dirty"))
	}
	// Shanghai's days of 1900 (local mean time, +8:05:43) are not whole quarter hours of UTC: they have no day row.
	var lmt int
	if err := pool.QueryRow(ctx, `select count(*) from report_queue_day where day < '1901-01-01' and tz = 'Asia/Shanghai'`).Scan(&lmt); err != nil || lmt != 0 {
		t.Fatalf("%d day rows in 1900 (%v)", lmt, err)
	}
	compare("after the refresh, from the rollup")
	lateEdits()
	compare("after late edits, not refreshed")
	refreshAll()
	compare("after late edits, refreshed")

	// Writers and the job at once, two refreshers in parallel: nothing is counted twice or missed.
	whileRefreshing(t, s, func() {
		for range 5 {
			logged = append(logged, random(40)...)
			lateEdits()
		}
	})
	compare("after writes racing the job")
	refreshAll()
	compare("after writes racing the job, refreshed")
}

// The rollup's definitions are in SQL; the short-abandon threshold the migration's backfill used must be cti.ShortAbandon.
func TestReportRollupBackfill(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	if cti.ShortAbandon != 5*time.Second {
		t.Fatalf("cti.ShortAbandon is %v: migration 0013's backfill counts short abandons under 5000 ms", cti.ShortAbandon)
	}
	// The migration's backfill statement, run again over a populated table, gives what the job computes.
	day := time.Date(2025, 3, 3, 1, 2, 0, 0, time.UTC)
	var ins []cti.Interaction
	for i := range 50 {
		arr := day.Add(time.Duration(i) * 7 * time.Minute)
		ins = append(ins, cti.Interaction{Channel: cti.ChannelPhone, Direction: cti.Inbound, Queue: "sales", ArrivedAt: arr,
			QueuedAt: arr, EndedAt: arr.Add(time.Duration(i) * time.Second), Outcome: cti.OutcomeAbandoned,
			Durations: cti.Durations{Wait: time.Duration(i) * time.Second}})
	}
	if err := s.LogInteractions(ctx, ins); err != nil {
		t.Fatal(err)
	}
	refreshUntilDone(t, s, 0)
	var diff int
	err := s.DB().Pool.QueryRow(ctx, `select count(*) from (
			(select b.* from queues q, lateral report_queue_buckets(q.name, '-infinity', 'infinity', 5000) b
			except all select * from report_queue_15m)
			union all
			(select * from report_queue_15m
			except all select b.* from queues q, lateral report_queue_buckets(q.name, '-infinity', 'infinity', 5000) b)) d`).Scan(&diff)
	if err != nil {
		t.Fatal(err)
	}
	if diff != 0 {
		t.Errorf("the backfill and the job differ in %d buckets", diff)
	}
}

// RunReportRollup keeps refreshing until its context ends: marks made while it runs are taken (every mark of a bucket at once),
// the quarter hour still filling stays marked (reports read it raw), and it stops when told.
func TestRunReportRollup(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s := MustStore(t)
	done := make(chan error, 1)
	go func() { done <- s.RunReportRollup(ctx, 10*time.Millisecond, slog.New(slog.DiscardHandler)) }()
	at := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	now := time.Now().UTC()
	in := []cti.Interaction{{Channel: cti.ChannelPhone, Direction: cti.Inbound, Queue: "sales", ArrivedAt: at},
		{Channel: cti.ChannelPhone, Direction: cti.Inbound, Queue: "sales", ArrivedAt: at.Add(time.Minute)},
		{Channel: cti.ChannelPhone, Direction: cti.Inbound, Queue: "sales", ArrivedAt: now},
		{Channel: cti.ChannelPhone, Direction: cti.Inbound, Queue: "sales", ArrivedAt: now}}
	if err := s.LogInteractions(ctx, in); err != nil {
		t.Fatal(err)
	}
	filling := now.Truncate(15 * time.Minute)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var marks, buckets int
		err := s.DB().Pool.QueryRow(ctx, `select (select count(*) from report_dirty where bucket < $2),
			(select count(*) from report_queue_15m where queue = 'sales' and bucket = $1)`, at, filling).Scan(&marks, &buckets)
		if err != nil {
			t.Fatal(err)
		}
		if marks == 0 && buckets == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %d marks, %d buckets", marks, buckets)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // a few more rounds
	var filled, marked int
	if err := s.DB().Pool.QueryRow(ctx, `select (select count(*) from report_queue_15m where bucket = $1),
		(select count(*) from report_dirty where kind = 'q' and key = 'sales' and bucket = $1)`, filling).Scan(&filled, &marked); err != nil {
		t.Fatal(err)
	}
	if filled != 0 || marked != 1 {
		t.Errorf("the quarter hour still filling: %d rollup rows, %d marks; want none computed and one mark kept", filled, marked)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("RunReportRollup returned %v", err)
	}
}

// refreshUntilDone runs the rollup job, limit marks at a time, until it finds no mark left.
func refreshUntilDone(t *testing.T, s *crmstore.Store, limit int) {
	t.Helper()
	for {
		n, err := s.RefreshReports(t.Context(), limit)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}

// queueReports returns the queue report of rq from the rollups and from the raw rows.
func queueReports(t *testing.T, s *crmstore.Store, rq cti.ReportQuery) (got, want []cti.QueueReportRow) {
	t.Helper()
	got, err := s.QueueReport(t.Context(), rq)
	if err != nil {
		t.Fatal(err)
	}
	if want, err = s.QueueReportRaw(t.Context(), rq); err != nil {
		t.Fatal(err)
	}
	return got, want
}

// whileRefreshing runs write while two report refreshers run in parallel with it, and waits for both to stop.
func whileRefreshing(t *testing.T, s *crmstore.Store, write func()) {
	t.Helper()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := s.RefreshReports(context.Background(), 20); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	write()
	close(stop)
	wg.Wait()
}

// A write that finds its bucket marked already inserts no mark of its own (migration 0016). TestReportMarkRaces stages the two
// races that rule makes possible and checks that the report stays exact: a write relying on a mark commits while the job
// takes that mark (the job must wait for it, or its snapshot misses the write and the bucket loses its mark), and a write
// comes while the job holds the mark (it must not wait, and must leave a mark of its own).
func TestReportMarkRaces(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	pool := s.DB().Pool
	if _, err := pool.Exec(ctx, `update queues set time_zone = 'UTC' where name = 'sales'`); err != nil {
		t.Fatal(err)
	}
	bucket := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	in := cti.Interaction{Channel: cti.ChannelPhone, Direction: cti.Inbound, Queue: "sales", ArrivedAt: bucket.Add(time.Minute),
		EndedAt: bucket.Add(2 * time.Minute), Outcome: cti.OutcomeAbandoned, Durations: cti.Durations{Wait: time.Second}}
	ins := []cti.Interaction{in}
	if err := s.LogInteractions(ctx, ins); err != nil {
		t.Fatal(err)
	}
	in = ins[0]
	marks := func() int {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, `select count(*) from report_dirty where kind = 'q' and key = 'sales' and bucket = $1`,
			bucket).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	exact := func(stage string) {
		t.Helper()
		rq := cti.ReportQuery{From: bucket, To: bucket.Add(time.Hour), Interval: cti.Interval15m, Queue: "sales"}
		got, want := queueReports(t, s, rq)
		if len(want) != 1 || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: queue report\n got %+v\nwant %+v (one row)", stage, got, want)
		}
	}
	// The short abandon becomes a long one, then the reverse: each change moves the bucket's short_abandoned count.
	wait := 1
	edit := func(ctx context.Context, q interface {
		Exec(context.Context, string, ...any) (pgconn.CommandTag, error)
	}) error {
		wait = 61 - wait
		_, err := q.Exec(ctx, `update interactions set wait_ms = $2 where id = $1`, in.ID, wait*1000)
		return err
	}
	if n := marks(); n != 1 {
		t.Fatalf("after the insert: %d marks, want 1", n)
	}

	// 1. A writer relies on the mark; the job runs before it commits.
	w, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Rollback(ctx) //nolint:errcheck // committed below
	if err := edit(ctx, w); err != nil {
		t.Fatal(err)
	}
	if n := marks(); n != 1 {
		t.Fatalf("a write to a marked bucket: %d marks, want still 1", n)
	}
	refreshed := make(chan error, 1)
	go func() { _, err := s.RefreshReports(ctx, 0); refreshed <- err }()
	// The job waits for the writer (or, were it not to, finishes first: the comparison below then fails).
	deadline := time.Now().Add(10 * time.Second)
	for waiting := false; !waiting; {
		select {
		case err := <-refreshed:
			refreshed <- err
			waiting = true
		default:
			if err := pool.QueryRow(ctx, `select exists (select 1 from pg_stat_activity where wait_event_type = 'Lock'
				and datname = current_database())`).Scan(&waiting); err != nil {
				t.Fatal(err)
			}
			if time.Now().After(deadline) {
				t.Fatal("the refresh neither waits nor ends")
			}
		}
	}
	if err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-refreshed; err != nil {
		t.Fatal(err)
	}
	exact("a write committed while the job took its bucket's mark")
	refreshUntilDone(t, s, 0)
	exact("refreshed")

	// 2. The job holds the bucket's mark when a write comes.
	if err := edit(ctx, pool); err != nil {
		t.Fatal(err)
	}
	job, err := pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer job.Rollback(ctx) //nolint:errcheck // committed below
	var id int64
	if err := job.QueryRow(ctx, `select id from report_dirty where kind = 'q' and key = 'sales' and bucket = $1 for update`,
		bucket).Scan(&id); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := edit(wctx, pool); err != nil {
		t.Fatalf("a write while the job holds the mark: %v (it must not wait for the job)", err)
	}
	if n := marks(); n != 2 {
		t.Fatalf("a write while the job holds the mark: %d marks, want its own beside the job's", n)
	}
	// The job, on a snapshot from before that write, computes the bucket and deletes the mark it holds.
	if _, err := job.Exec(ctx, `delete from report_dirty where id = $1`, id); err != nil {
		t.Fatal(err)
	}
	if err := job.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n := marks(); n != 1 {
		t.Fatalf("after the job: %d marks, want the write's", n)
	}
	exact("a write while the job held the mark")
}
