package crmstore_test

import (
	"context"
	"os"
	"testing"
	"time"

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
// report over the raw rows only (the reports before the rollups), for comparison. Each agent also gets a state history (a change every 5 minutes over the last 90 days). Every sub-benchmark reports p50 and p99.
func BenchmarkReports(b *testing.B) {
	rows := benchRows(b, 4000)
	ctx := context.Background()
	db := pgtest.DB(b)
	s := crmstore.NewStore(db, crmstore.Options{})
	rep, err := crmstore.Seed(ctx, db, crmstore.SeedOptions{Customers: max(1, rows/2), Rand: 1})
	if err != nil {
		benchFatal(b, err)
	}
	t0 := time.Now()
	// The agents' state history: the three agents cycle ready → on-call → wrap-up → not-ready every 5 minutes for 90 days.
	_, err = db.Pool.Exec(ctx, `insert into agent_states (agent_id, state, reason, started_at, ended_at)
		select a.id, (array['ready', 'on-call', 'wrap-up', 'not-ready'])[1 + (n % 4)],
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
	if _, err := db.Pool.Exec(ctx, `vacuum analyze interactions, agent_states, customers, report_queue_15m, report_agent_15m,
		report_dirty`); err != nil {
		benchFatal(b, err)
	}
	b.Logf("seeded %d customers, %d interactions (+ agent states) in %v; rollup job: %d marks in %v", rep.Customers,
		rep.Interactions, seeded.Round(time.Millisecond), marks, refreshed.Round(time.Millisecond))

	today := time.Now().In(shanghai)
	end := wallClock(time.Date(today.Year(), today.Month(), today.Day()+1, 0, 0, 0, 0, shanghai))
	cases := []struct {
		name string
		run  func() error
	}{
		{"Queue/15m/1d/all", func() error {
			_, err := s.QueueReport(ctx, cti.ReportQuery{From: end.AddDate(0, 0, -1), To: end, Interval: cti.Interval15m})
			return err
		}},
		{"Queue/day/30d/all", func() error {
			_, err := s.QueueReport(ctx, cti.ReportQuery{From: end.AddDate(0, 0, -30), To: end, Interval: cti.IntervalDay})
			return err
		}},
		{"Queue/week/3y/all", func() error { // every interaction
			_, err := s.QueueReport(ctx, cti.ReportQuery{From: end.AddDate(-3, 0, -7), To: end, Interval: cti.IntervalWeek})
			return err
		}},
		{"Queue/week/3y/all/raw", func() error { // the same without the rollup, for comparison
			_, err := s.QueueReportRaw(ctx, cti.ReportQuery{From: end.AddDate(-3, 0, -7), To: end, Interval: cti.IntervalWeek})
			return err
		}},
		{"Queue/hour/1y/sales", func() error {
			_, err := s.QueueReport(ctx, cti.ReportQuery{From: end.AddDate(-1, 0, 0), To: end, Interval: cti.IntervalHour, Queue: "sales"})
			return err
		}},
		{"Agent/day/30d/all", func() error {
			_, err := s.AgentReport(ctx, cti.ReportQuery{From: end.AddDate(0, 0, -30), To: end, Interval: cti.IntervalDay})
			return err
		}},
		{"Agent/15m/7d/all", func() error {
			_, err := s.AgentReport(ctx, cti.ReportQuery{From: end.AddDate(0, 0, -7), To: end, Interval: cti.Interval15m})
			return err
		}},
		{"Agent/week/3y/all", func() error {
			_, err := s.AgentReport(ctx, cti.ReportQuery{From: end.AddDate(-3, 0, -7), To: end, Interval: cti.IntervalWeek})
			return err
		}},
		{"Agent/week/3y/all/raw", func() error {
			_, err := s.AgentReportRaw(ctx, cti.ReportQuery{From: end.AddDate(-3, 0, -7), To: end, Interval: cti.IntervalWeek})
			return err
		}},
		{"Value/30d", func() error {
			_, err := s.ValueReport(ctx, cti.ReportQuery{From: end.AddDate(0, 0, -30), To: end}, 20)
			return err
		}},
		{"Value/1y", func() error {
			_, err := s.ValueReport(ctx, cti.ReportQuery{From: end.AddDate(-1, 0, 0), To: end}, 20)
			return err
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if err := c.run(); err != nil { // warm the cache, as a server that has been answering would be
				benchFatal(b, err)
			}
			var lat []time.Duration
			for b.Loop() {
				t0 := time.Now()
				if err := c.run(); err != nil {
					benchFatal(b, err)
				}
				lat = append(lat, time.Since(t0))
			}
			reportPercentiles(b, lat)
		})
	}
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

// BenchmarkReportMarks measures what the rollup's triggers add to an interaction's writes: a call's life as the engine writes
// it (start, queued, answered, finished: four statements), one call at a time, with the triggers on ("marks") and off ("none").
// ns/op is the client's wall clock per call; run the two side by side, several times:
//
//	go test ./crmstore/ -run '^$' -bench ReportMarks -benchtime 2000x -count 5 -cpu 1
func BenchmarkReportMarks(b *testing.B) {
	ctx := context.Background()
	s := MustStore(b)
	a1, err := s.AgentByLogin(ctx, "agent1")
	if err != nil {
		benchFatal(b, err)
	}
	for _, mode := range []string{"marks", "none"} {
		b.Run(mode, func(b *testing.B) {
			enable := "enable"
			if mode == "none" {
				enable = "disable"
			}
			if _, err := s.DB().Pool.Exec(ctx, `alter table interactions `+enable+` trigger interactions_report_insert;
				alter table interactions `+enable+` trigger interactions_report_update`); err != nil {
				benchFatal(b, err)
			}
			queue := "sales"
			at := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
			for b.Loop() {
				in := cti.Interaction{Channel: cti.ChannelPhone, Direction: cti.Inbound, ArrivedAt: at}
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
				at = at.Add(time.Second)
			}
		})
	}
}
