package crmstore_test

import (
	"context"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/cti"
)

// TestValueRollupEqualsRaw checks that the value view, which reads the value rollup's days, gives exactly what the raw SQL
// gives (ValueReportRaw: the view as it was before the rollup) over random contacts of a few customers — close enough in time
// that many are repeats, with and without a queue or a disposition, at the same instant now and then — in two zones in use
// and one not: before the rollup job has run, after it, after late edits and out-of-order inserts it has not seen yet
// (contacts moved in time or to another customer, queue or disposition, deleted, inserted before a customer's earlier
// contacts), after it has, and after writes that raced two refreshers.
func TestValueRollupEqualsRaw(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	pool := s.DB().Pool
	// Shanghai is every other queue's zone; New York's daylight-saving change (2025-03-09) falls in the data.
	if _, err := pool.Exec(ctx, `update queues set time_zone = 'America/New_York' where name = 'support'`); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(14, 14))
	tiers := []cti.Tier{cti.TierPlatinum, cti.TierGold, cti.TierStandard}
	var customers []string
	for i := range 12 {
		c := mustCreate(t, s, &cti.Customer{Name: "Customer " + string(rune('A'+i)), Tier: tiers[r.IntN(len(tiers))]})
		customers = append(customers, c.ID)
	}
	queues := []string{"sales", "support", "billing", ""}
	dispositions := []string{"resolved", "follow-up", "ticket", "fixed", "refund", "escalated", ""}
	start := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	var logged []cti.Interaction
	random := func(n int, at func() time.Time) {
		t.Helper()
		out := make([]cti.Interaction, n)
		for i := range out {
			arr := at()
			if i > 0 && r.IntN(15) == 0 { // the same instant as the previous contact: ordered by id
				arr = out[i-1].ArrivedAt
			}
			in := cti.Interaction{Channel: cti.ChannelPhone, Direction: cti.Inbound, Queue: queues[r.IntN(len(queues))],
				ArrivedAt: arr, Disposition: dispositions[r.IntN(len(dispositions))]}
			if r.IntN(8) > 0 {
				in.CustomerID = customers[r.IntN(len(customers))]
			}
			if r.IntN(3) > 0 {
				in.AnsweredAt, in.EndedAt, in.Outcome = arr.Add(10*time.Second), arr.Add(time.Minute), cti.OutcomeAnswered
			}
			out[i] = in
		}
		if err := s.LogInteractions(ctx, out); err != nil {
			t.Fatal(err)
		}
		logged = append(logged, out...)
	}
	inPeriod := func() time.Time { return start.Add(time.Duration(r.Int64N(int64(20 * 24 * time.Hour)))) }
	random(500, inPeriod)

	// Late edits: each changes the repeat flags of contacts other than the one written.
	lateEdits := func() {
		t.Helper()
		for range 30 {
			in := logged[r.IntN(len(logged))]
			var err error
			switch r.IntN(6) {
			case 0:
				_, err = pool.Exec(ctx, `update interactions set arrived_at = arrived_at + make_interval(hours => $2),
					answered_at = answered_at + make_interval(hours => $2), ended_at = ended_at + make_interval(hours => $2)
					where id = $1`, in.ID, r.IntN(96)-48)
			case 1:
				_, err = pool.Exec(ctx, `update interactions set customer_id = $2 where id = $1`, in.ID, customers[r.IntN(len(customers))])
			case 2:
				_, err = pool.Exec(ctx, `update interactions set queue = nullif($2, '') where id = $1`, in.ID, queues[r.IntN(len(queues))])
			case 3:
				_, err = pool.Exec(ctx, `update interactions set disposition = nullif($2, '') where id = $1`, in.ID,
					dispositions[r.IntN(len(dispositions))])
			case 4:
				_, err = pool.Exec(ctx, `delete from interactions where id = $1`, in.ID)
			default: // out of order: before a customer's contacts already written
				random(1, func() time.Time { return in.ArrivedAt.Add(-time.Duration(r.Int64N(int64(3 * 24 * time.Hour)))) })
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}

	type period struct{ from, to time.Time }
	periods := []period{
		{start, start.Add(21 * 24 * time.Hour)}, // whole days
		{start.Add(2*24*time.Hour + 9*time.Hour + 7*time.Minute), start.Add(12*24*time.Hour + 17*time.Hour + 3*time.Second)},
		{start.Add(5 * 24 * time.Hour), start.Add(6 * 24 * time.Hour)},
	}
	compare := func(stage string) {
		t.Helper()
		for _, p := range periods {
			for _, q := range []cti.ReportQuery{{}, {Queue: "support"}, {Queue: "billing"}, {TimeZone: "America/New_York"},
				{TimeZone: "Europe/Berlin"}} {
				q.From, q.To = p.from, p.to
				got, err := s.ValueReport(ctx, q, 5)
				if err != nil {
					t.Fatal(err)
				}
				want, err := s.ValueReportRaw(ctx, q, 5)
				if err != nil {
					t.Fatal(err)
				}
				if want.Contacts == 0 || len(want.TopCustomers) == 0 {
					t.Fatalf("%s: %+v: the test data miss the period: %+v", stage, q, want)
				}
				if p == periods[0] && q.Queue == "" && (want.Repeat24h == 0 || want.Repeat7d == want.Repeat24h ||
					len(want.TopDispositions) < 10) {
					t.Fatalf("%s: %+v: the test data have too few repeats or dispositions: %+v", stage, q, want)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("%s: value view %+v\n got %+v\nwant %+v", stage, q, got, want)
				}
			}
		}
	}
	refreshAll := func() { t.Helper(); refreshUntilDone(t, s, 50) }
	count := func(sql string) int {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, sql).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	compare("before the first refresh, every day marked")
	refreshAll()
	if n := count(`select count(*) from report_value_day where tz in ('Asia/Shanghai', 'America/New_York')`); n < 40 {
		t.Fatalf("after a refresh, %d value days in the two zones in use", n)
	}
	if n := count(`select count(*) from report_dirty`); n != 0 {
		t.Fatalf("after a refresh: %d marks", n)
	}
	compare("after the refresh, from the rollup")
	lateEdits()
	if n := count(`select count(*) from report_dirty where kind = 'c'`); n == 0 {
		t.Fatal("late edits left no customer marks")
	}
	compare("after late edits, not refreshed")
	refreshAll()
	compare("after late edits, refreshed")

	// A queue moved to Berlin gives Berlin its days; moved back, the Berlin days the job recomputes are dropped (reports in
	// Berlin read those raw), and the others stay exact: a day no mark touches has not changed.
	if _, err := pool.Exec(ctx, `update queues set time_zone = 'Europe/Berlin' where name = 'billing'`); err != nil {
		t.Fatal(err)
	}
	refreshAll()
	if n := count(`select count(*) from report_value_day where tz = 'Europe/Berlin'`); n == 0 {
		t.Fatal("a queue moved to Berlin: no value days in Berlin")
	}
	compare("billing in Berlin, refreshed")
	if _, err := pool.Exec(ctx, `update queues set time_zone = 'Asia/Shanghai' where name = 'billing'`); err != nil {
		t.Fatal(err)
	}
	lateEdits()
	compare("billing back in Shanghai, late edits")
	refreshAll()
	compare("billing back in Shanghai, refreshed")

	// Writers and the job at once, two refreshers in parallel: nothing is counted twice or missed.
	whileRefreshing(t, s, func() {
		for range 5 {
			random(20, inPeriod)
			lateEdits()
		}
	})
	compare("after writes racing the job")
	refreshAll()
	compare("after writes racing the job, refreshed")
}
