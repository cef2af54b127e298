package crmstore_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/switchboard-cc/switchboard/crmstore"
	"github.com/switchboard-cc/switchboard/crmstore/pgtest"
	"github.com/switchboard-cc/switchboard/cti"
)

// BenchmarkReports measures the historical reports on a seeded CRM. SWITCHBOARD_BENCH_ROWS is the number of interactions to seed
// (about two per customer, spread over three years; default 4,000 so `go test` keeps it from rotting); the target is
// ≤ 1 s at 1,000,000:
//
//	SWITCHBOARD_BENCH_ROWS=1000000 go test ./crmstore/ -run '^$' -bench Reports -benchtime 10x -timeout 40m
//
// The rollup job runs until it has caught up with the seed before the reports are measured; the .../raw cases run the same
// report over the raw rows only (the reports before the rollups), for comparison; cpu-ms/op is the database server's CPU time
// per report (backendCPU), which a loaded machine inflates far less than the latency. Each agent also gets a state history (a change every 5 minutes over the last 90 days). Every sub-benchmark reports p50 and p99.
func BenchmarkReports(b *testing.B) {
	ctx := context.Background()
	url, kept := benchReportsDB(b)
	db, err := crmstore.Open(ctx, url)
	if err != nil {
		benchFatal(b, err)
	}
	b.Cleanup(db.Close)
	s := crmstore.NewStore(db, crmstore.Options{})
	if !kept {
		seedReports(b, db, s, benchRows(b, 4000))
	}
	today := time.Now().In(shanghai)
	end := wallClock(time.Date(today.Year(), today.Month(), today.Day()+1, 0, 0, 0, 0, shanghai))
	cases := []struct {
		name string
		run  func(s *crmstore.Store) error
	}{
		{"Queue/15m/1d/all", func(s *crmstore.Store) error {
			_, err := s.QueueReport(ctx, cti.ReportQuery{From: end.AddDate(0, 0, -1), To: end, Interval: cti.Interval15m})
			return err
		}},
		{"Queue/day/30d/all", func(s *crmstore.Store) error {
			_, err := s.QueueReport(ctx, cti.ReportQuery{From: end.AddDate(0, 0, -30), To: end, Interval: cti.IntervalDay})
			return err
		}},
		{"Queue/week/3y/all", func(s *crmstore.Store) error { // every interaction
			_, err := s.QueueReport(ctx, cti.ReportQuery{From: end.AddDate(-3, 0, -7), To: end, Interval: cti.IntervalWeek})
			return err
		}},
		{"Queue/week/3y/all/raw", func(s *crmstore.Store) error { // the same without the rollup, for comparison
			_, err := s.QueueReportRaw(ctx, cti.ReportQuery{From: end.AddDate(-3, 0, -7), To: end, Interval: cti.IntervalWeek})
			return err
		}},
		{"Queue/hour/1y/sales", func(s *crmstore.Store) error {
			_, err := s.QueueReport(ctx, cti.ReportQuery{From: end.AddDate(-1, 0, 0), To: end, Interval: cti.IntervalHour, Queue: "sales"})
			return err
		}},
		{"Agent/day/30d/all", func(s *crmstore.Store) error {
			_, err := s.AgentReport(ctx, cti.ReportQuery{From: end.AddDate(0, 0, -30), To: end, Interval: cti.IntervalDay})
			return err
		}},
		{"Agent/15m/7d/all", func(s *crmstore.Store) error {
			_, err := s.AgentReport(ctx, cti.ReportQuery{From: end.AddDate(0, 0, -7), To: end, Interval: cti.Interval15m})
			return err
		}},
		{"Agent/week/3y/all", func(s *crmstore.Store) error {
			_, err := s.AgentReport(ctx, cti.ReportQuery{From: end.AddDate(-3, 0, -7), To: end, Interval: cti.IntervalWeek})
			return err
		}},
		{"Agent/week/3y/all/raw", func(s *crmstore.Store) error {
			_, err := s.AgentReportRaw(ctx, cti.ReportQuery{From: end.AddDate(-3, 0, -7), To: end, Interval: cti.IntervalWeek})
			return err
		}},
		{"Value/30d", func(s *crmstore.Store) error {
			_, err := s.ValueReport(ctx, cti.ReportQuery{From: end.AddDate(0, 0, -30), To: end}, 20)
			return err
		}},
		{"Value/30d/raw", func(s *crmstore.Store) error { // the value view before its rollup, for comparison
			_, err := s.ValueReportRaw(ctx, cti.ReportQuery{From: end.AddDate(0, 0, -30), To: end}, 20)
			return err
		}},
		{"Value/1y", func(s *crmstore.Store) error {
			_, err := s.ValueReport(ctx, cti.ReportQuery{From: end.AddDate(-1, 0, 0), To: end}, 20)
			return err
		}},
		{"Value/1y/raw", func(s *crmstore.Store) error {
			_, err := s.ValueReportRaw(ctx, cti.ReportQuery{From: end.AddDate(-1, 0, 0), To: end}, 20)
			return err
		}},
	}
	// The server's CPU time per report, which a busy machine does not inflate as it does the latency: one connection, no
	// parallel workers, its backend's user + system time read from /proc (the cluster runs on this machine).
	cpuDB, err := crmstore.Open(ctx, withParams(url, "pool_max_conns=1&max_parallel_workers_per_gather=0"))
	if err != nil {
		benchFatal(b, err)
	}
	b.Cleanup(cpuDB.Close)
	cpuStore := crmstore.NewStore(cpuDB, crmstore.Options{})
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if err := c.run(s); err != nil { // warm the cache, as a server that has been answering would be
				benchFatal(b, err)
			}
			var lat []time.Duration
			for b.Loop() {
				t0 := time.Now()
				if err := c.run(s); err != nil {
					benchFatal(b, err)
				}
				lat = append(lat, time.Since(t0))
			}
			reportPercentiles(b, lat)
			if cpu, ok := backendCPU(b, cpuStore, 5, c.run); ok {
				b.ReportMetric(float64(cpu.Microseconds())/1000, "cpu-ms/op")
			}
		})
	}
}

// benchReportsDB returns the database BenchmarkReports runs on: a new one, dropped at the end, or, with
// SWITCHBOARD_BENCH_DATABASE_URL, that one, migrated and kept, and seeded only when it holds no interaction yet (kept is
// then true once it does), so a 1 M-row database is seeded once and measured many times (drop it if a seed was interrupted:
// it is not resumed):
//
//	psql -c 'create database bench_reports'
//	SWITCHBOARD_BENCH_DATABASE_URL=postgres://.../bench_reports SWITCHBOARD_BENCH_ROWS=1000000 go test ./crmstore/ -run '^$' -bench ...
func benchReportsDB(b *testing.B) (url string, kept bool) {
	url = os.Getenv("SWITCHBOARD_BENCH_DATABASE_URL")
	if url == "" {
		return pgtest.URL(b), false
	}
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		benchFatal(b, err)
	}
	defer pool.Close()
	if _, err := crmstore.Migrate(ctx, pool); err != nil {
		benchFatal(b, err)
	}
	if err := pool.QueryRow(ctx, `select exists (select 1 from interactions)`).Scan(&kept); err != nil {
		benchFatal(b, err)
	}
	return url, kept
}

// seedReports seeds about rows interactions (two per customer), the agents' state history, and runs the rollup job until it
// has caught up.
func seedReports(b *testing.B, db *crmstore.DB, s *crmstore.Store, rows int) {
	ctx := context.Background()
	rep, err := crmstore.Seed(ctx, db, crmstore.SeedOptions{Customers: max(1, rows/2), Rand: 1})
	if err != nil {
		benchFatal(b, err)
	}
	t0 := time.Now()
	// The agents' state history: the three agents cycle ready → on-call → wrap-up → not-ready every 5 minutes for 90 days.
	_, err = db.Pool.Exec(ctx, `insert into agent_state_history (id, agent_id, state, reason, started_at, ended_at)
		select nextval('agent_state_ids'), a.id, (array['ready', 'on-call', 'wrap-up', 'not-ready'])[1 + (n % 4)],
			case when n % 4 = 3 then (array['break', 'lunch', 'training'])[1 + (n / 4) % 3] else '' end,
			now() - interval '90 days' + n * interval '5 minutes', now() - interval '90 days' + (n + 1) * interval '5 minutes'
		from agents a, generate_series(0, 90 * 288 - 1) n where a.role <> 'admin'`)
	if err != nil {
		benchFatal(b, err)
	}
	seeded := rep.Elapsed + time.Since(t0)
	// The rollup job catches up with the seed, as the server's would within its first minutes.
	t0 = time.Now()
	marks := 0
	for {
		n, err := s.RefreshReports(ctx, 50000)
		if err != nil {
			benchFatal(b, err)
		}
		if n == 0 {
			break
		}
		marks += n
	}
	refreshed := time.Since(t0)
	// Index-only scans need the visibility map: what autovacuum would have done by the time anyone reads a report.
	if _, err := db.Pool.Exec(ctx, `vacuum analyze interactions, agent_state_history, customers, report_queue_15m, report_agent_15m,
		report_dirty`); err != nil {
		benchFatal(b, err)
	}
	b.Logf("seeded %d customers, %d interactions (+ agent states) in %v; rollup job: %d marks in %v", rep.Customers,
		rep.Interactions, seeded.Round(time.Millisecond), marks, refreshed.Round(time.Millisecond))
}

// withParams adds query parameters to a PostgreSQL URL.
func withParams(url, params string) string {
	if strings.Contains(url, "?") {
		return url + "&" + params
	}
	return url + "?" + params
}

// backendCPU runs report n times on s, whose pool has one connection, and returns the CPU time its server process spent per
// run; false when the process's /proc entry cannot be read (a server on another machine).
func backendCPU(b *testing.B, s *crmstore.Store, n int, report func(*crmstore.Store) error) (time.Duration, bool) {
	ctx := context.Background()
	var pid int
	if err := s.DB().Pool.QueryRow(ctx, `select pg_backend_pid()`).Scan(&pid); err != nil {
		benchFatal(b, err)
	}
	ticks := func() (int64, bool) {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return 0, false
		}
		// Fields 14 and 15 (utime, stime, in clock ticks of 10 ms) follow the command name, which is in parentheses.
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		return u + st, true
	}
	if err := report(s); err != nil { // warm this connection's caches
		benchFatal(b, err)
	}
	t0, ok := ticks()
	if !ok {
		return 0, false
	}
	for range n {
		if err := report(s); err != nil {
			benchFatal(b, err)
		}
	}
	t1, _ := ticks()
	return time.Duration(t1-t0) * 10 * time.Millisecond / time.Duration(n), true
}

// TestBenchmarkReportsRuns runs the benchmark once at the small default size.
func TestBenchmarkReportsRuns(t *testing.T) {
	if testing.Short() || os.Getenv("SWITCHBOARD_BENCH_ROWS") != "" {
		t.Skip("short mode, or a benchmark size was asked for")
	}
	benchFailure.Store("")
	testing.Benchmark(BenchmarkReports)
	if msg := benchFailure.Load().(string); msg != "" {
		t.Fatalf("BenchmarkReports: %s", msg)
	}
}

// BenchmarkReportMarks measures what the rollups' triggers add to an interaction's writes: a call of a known customer as the
// engine writes it (start, queued, answered, finished, disposition: five statements), one call at a time, with every trigger
// on ("marks"), with the queue and agent rollup's only ("queue-marks": before the value rollup, migration 0014) and with none
// ("none"). ns/op is the client's wall clock per call; run the modes side by side, several times:
//
//	go test ./crmstore/ -run '^$' -bench ReportMarks -benchtime 2000x -count 5 -cpu 1
func BenchmarkReportMarks(b *testing.B) {
	ctx := context.Background()
	s := MustStore(b)
	a1, err := s.AgentByLogin(ctx, "agent1")
	if err != nil {
		benchFatal(b, err)
	}
	customer := mustCreate(b, s, &cti.Customer{Name: "Caller", Tier: cti.TierGold})
	triggers := map[string][]string{
		"interactions_report_insert": {"marks", "queue-marks"}, "interactions_report_update": {"marks", "queue-marks"},
		"interactions_value_insert": {"marks"}, "interactions_value_update": {"marks"},
	}
	at := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	for _, mode := range []string{"marks", "queue-marks", "none"} {
		b.Run(mode, func(b *testing.B) {
			for trigger, on := range triggers {
				enable := "disable"
				if slices.Contains(on, mode) {
					enable = "enable"
				}
				if _, err := s.DB().Pool.Exec(ctx, `alter table interactions `+enable+` trigger `+trigger); err != nil {
					benchFatal(b, err)
				}
			}
			queue := "sales"
			for b.Loop() {
				in := cti.Interaction{Channel: cti.ChannelPhone, Direction: cti.Inbound, ArrivedAt: at, CustomerID: customer.ID}
				if err := s.StartInteraction(ctx, &in); err != nil {
					benchFatal(b, err)
				}
				q, ans := at.Add(5*time.Second), at.Add(20*time.Second)
				if err := s.UpdateInteraction(ctx, in.ID, cti.InteractionUpdate{Queue: &queue, QueuedAt: &q}); err != nil {
					benchFatal(b, err)
				}
				if err := s.UpdateInteraction(ctx, in.ID, cti.InteractionUpdate{AgentID: &a1.ID, AnsweredAt: &ans}); err != nil {
					benchFatal(b, err)
				}
				if err := s.FinishInteraction(ctx, in.ID, cti.InteractionFinish{Outcome: cti.OutcomeAnswered, EndedAt: ans.Add(time.Minute),
					Durations: cti.Durations{Wait: 15 * time.Second, Talk: time.Minute}}); err != nil {
					benchFatal(b, err)
				}
				if err := s.SetDisposition(ctx, in.ID, a1.ID, "resolved", ""); err != nil {
					benchFatal(b, err)
				}
				at = at.Add(time.Second)
			}
		})
	}
}
