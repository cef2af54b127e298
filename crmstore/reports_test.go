package crmstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/cti"
)

// shanghai is the seeded queues' time zone.
var shanghai = func() *time.Location {
	l, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		panic(err)
	}
	return l
}()

func TestQueueReport(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	a1, _ := s.AgentByLogin(ctx, "agent1")
	day := time.Date(2025, 3, 3, 0, 0, 0, 0, shanghai) // a Monday
	at := func(h, m int) time.Time { return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	answered := func(arr time.Time, wait, talk, hold, wrap time.Duration) cti.Interaction {
		q := arr.Add(10 * time.Second)
		return cti.Interaction{Channel: cti.ChannelPhone, Direction: cti.Inbound, Queue: "sales", AgentID: a1.ID, ArrivedAt: arr,
			QueuedAt: q, AnsweredAt: q.Add(wait), EndedAt: q.Add(wait + talk + hold), Outcome: cti.OutcomeAnswered,
			Durations: cti.Durations{Wait: wait, Talk: talk, Hold: hold, WrapUp: wrap}}
	}
	ended := func(arr time.Time, wait time.Duration, o cti.Outcome) cti.Interaction {
		q := arr.Add(10 * time.Second)
		return cti.Interaction{Channel: cti.ChannelPhone, Direction: cti.Inbound, Queue: "sales", ArrivedAt: arr, QueuedAt: q,
			EndedAt: q.Add(wait), Outcome: o, Durations: cti.Durations{Wait: wait}}
	}
	ins := []cti.Interaction{
		answered(at(9, 1), 10*time.Second, 100*time.Second, 20*time.Second, 30*time.Second), // in SL (20 s)
		answered(at(9, 20), 40*time.Second, 200*time.Second, 0, 10*time.Second),             // out of SL
		ended(at(9, 5), 60*time.Second, cti.OutcomeAbandoned),
		ended(at(9, 6), 2*time.Second, cti.OutcomeAbandoned), // short
		ended(at(9, 7), 30*time.Second, cti.OutcomeOverflowed),
		ended(at(9, 8), 30*time.Second, cti.OutcomeCallbackRequested),
		answered(at(10, 0), 5*time.Second, 60*time.Second, 0, 0),
		ended(day.Add(-time.Minute), time.Second, cti.OutcomeAbandoned), // the day before, in Shanghai
	}
	if err := s.LogInteractions(ctx, ins); err != nil {
		t.Fatal(err)
	}
	// A transfer of the first call: a child interaction.
	child := answered(at(9, 4), time.Second, time.Second, 0, 0)
	child.ParentID, child.Queue = ins[0].ID, "support"
	// An overflow from sales to support, the way the engine records it: queued in sales, moved.
	moved := cti.Interaction{Channel: cti.ChannelPhone, Direction: cti.Inbound, ArrivedAt: at(9, 30)}
	if err := s.LogInteractions(ctx, []cti.Interaction{child}); err != nil {
		t.Fatal(err)
	}
	if err := s.StartInteraction(ctx, &moved); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"sales", "support"} {
		if err := s.UpdateInteraction(ctx, moved.ID, cti.InteractionUpdate{Queue: &q}); err != nil {
			t.Fatal(err)
		}
	}

	rows, err := s.QueueReport(ctx, cti.ReportQuery{From: wallClock(day), To: wallClock(day.Add(24 * time.Hour)),
		Interval: cti.IntervalHour, Queue: "sales"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Local != "2025-03-03T09:00" || rows[1].Local != "2025-03-03T10:00" {
		t.Fatalf("rows %+v", rows)
	}
	r := rows[0]
	want := cti.ReportCounts{Offered: 7, Answered: 2, AnsweredInSL: 1, Abandoned: 2, ShortAbandoned: 1, Overflowed: 2, Handled: 2,
		Transfers: 1, Callbacks: 1, WaitAnswered: 50 * time.Second, Talk: 300 * time.Second, Hold: 20 * time.Second,
		WrapUp: 40 * time.Second}
	if r.ReportCounts != want {
		t.Errorf("9:00 counts\n got %+v\nwant %+v", r.ReportCounts, want)
	}
	if !r.Start.Equal(at(9, 0)) {
		t.Errorf("start %v", r.Start)
	}
	// SL = 1 / (2 + 2 − 1); abandon rate = (2 − 1) / (7 − 1); ASA = 50 s / 2; AHT = (300 + 20 + 40) s / 2.
	if r.ServiceLevel != 1.0/3 || r.ServiceLevelAnswered != 0.5 || r.AbandonRate != 1.0/6 || r.ASA != 25*time.Second ||
		r.AHT != 180*time.Second {
		t.Errorf("rates %+v", r.Rates)
	}

	// Days and weeks add up; every queue at once.
	days, err := s.QueueReport(ctx, cti.ReportQuery{From: wallClock(day.Add(-24 * time.Hour)), To: wallClock(day.Add(7 * 24 * time.Hour)),
		Interval: cti.IntervalWeek})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int64{}
	for _, r := range days {
		got[r.Queue+" "+r.Local] = r.Offered
	}
	if got["sales 2025-02-24T00:00"] != 1 || got["sales 2025-03-03T00:00"] != 8 || got["support 2025-03-03T00:00"] != 2 {
		t.Errorf("weeks %v", got)
	}
	if _, err := s.QueueReport(ctx, cti.ReportQuery{Queue: "nope"}); cti.ErrorCode(err) != cti.ENOTFOUND {
		t.Errorf("unknown queue: %v", err)
	}
	if _, err := s.QueueReport(ctx, cti.ReportQuery{Interval: "month"}); cti.ErrorCode(err) != cti.EINVALID {
		t.Errorf("bad interval: %v", err)
	}
}

// wallClock returns t's wall clock in UTC: the reports read From and To as wall-clock times.
func wallClock(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
}

func TestAgentStatesAndReport(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	a1, _ := s.AgentByLogin(ctx, "agent1")
	day := time.Date(2025, 3, 3, 0, 0, 0, 0, shanghai)
	at := func(h, m int) time.Time { return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	call := cti.Interaction{Channel: cti.ChannelPhone, Direction: cti.Inbound, Queue: "sales", AgentID: a1.ID, ArrivedAt: at(9, 10),
		QueuedAt: at(9, 10), AnsweredAt: at(9, 10), EndedAt: at(9, 20), Outcome: cti.OutcomeAnswered,
		Durations: cti.Durations{Talk: 10 * time.Minute}}
	logged := []cti.Interaction{call}
	if err := s.LogInteractions(ctx, logged); err != nil {
		t.Fatal(err)
	}
	call = logged[0]
	steps := []cti.AgentStatus{
		{State: cti.AgentNotReady, Reason: "break", Since: at(8, 30)},
		{State: cti.AgentReady, Since: at(9, 0)},
		{State: cti.AgentReady, Since: at(9, 5)}, // a repeat: no new stretch
		{State: cti.AgentReserved, CallID: call.ID, Since: at(9, 10)},
		{State: cti.AgentOnCall, CallID: call.ID, Since: at(9, 10)},
		{State: cti.AgentWrapUp, CallID: call.ID, Since: at(9, 20)},
		{State: cti.AgentNotReady, Reason: "lunch", Since: at(9, 30)},
		{State: cti.AgentLoggedOut, Since: at(10, 30)},
	}
	for _, st := range steps {
		st.AgentID = a1.ID
		if err := s.RecordAgentState(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	s.DB().Pool.QueryRow(ctx, `select count(*) from agent_states where agent_id = $1`, a1.ID).Scan(&n)
	if n != 6 {
		t.Errorf("%d stretches, want 6", n)
	}
	in, err := s.Interaction(ctx, call.ID)
	if err != nil {
		t.Fatal(err)
	}
	if in.Durations.WrapUp != 10*time.Minute {
		t.Errorf("wrap-up %v, want 10m from the wrap-up state", in.Durations.WrapUp)
	}
	rows, err := s.AgentReport(ctx, cti.ReportQuery{From: wallClock(day), To: wallClock(day.Add(24 * time.Hour)),
		Interval: cti.IntervalHour, AgentID: a1.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("rows %+v", rows)
	}
	r8, r9, r10 := rows[0], rows[1], rows[2]
	if r8.Local != "2025-03-03T08:00" || r8.NotReady != 30*time.Minute || r8.Reasons["break"] != 30*time.Minute || r8.Occupancy != 0 {
		t.Errorf("8:00 %+v", r8)
	}
	// 9:00: ready 10 min, on call 10, wrap-up 10, lunch 30; occupancy (10 + 10) / (60 − 30).
	if r9.Answered != 1 || r9.Handled != 1 || r9.AHT != 20*time.Minute || r9.Ready != 10*time.Minute || r9.OnCall != 10*time.Minute ||
		r9.WrapTime != 10*time.Minute || r9.Reasons["lunch"] != 30*time.Minute || r9.LoggedIn != time.Hour ||
		r9.Occupancy != 20.0/30 {
		t.Errorf("9:00 %+v", r9)
	}
	if r10.LoggedIn != 30*time.Minute || r10.Reasons["lunch"] != 30*time.Minute {
		t.Errorf("10:00 %+v", r10)
	}
}

func TestValueReport(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	gold := mustCreate(t, s, &cti.Customer{Name: "Gold One", Tier: cti.TierGold})
	std := mustCreate(t, s, &cti.Customer{Name: "Standard One", Tier: cti.TierStandard})
	day := time.Date(2025, 3, 3, 0, 0, 0, 0, shanghai)
	contact := func(c *cti.Customer, at time.Time, disp string) cti.Interaction {
		return cti.Interaction{Channel: cti.ChannelPhone, Direction: cti.Inbound, Queue: "support", CustomerID: c.ID, ArrivedAt: at,
			EndedAt: at.Add(time.Minute), Outcome: cti.OutcomeAnswered, AnsweredAt: at, Disposition: disp}
	}
	h := time.Hour
	err := s.LogInteractions(ctx, []cti.Interaction{
		contact(gold, day.Add(1*h), "ticket"), contact(gold, day.Add(5*h), "fixed"), // repeated within 24 h
		contact(gold, day.Add(3*24*h), "fixed"), // within 7 days of the second
		contact(std, day.Add(2*h), "fixed"),
	})
	if err != nil {
		t.Fatal(err)
	}
	v, err := s.ValueReport(ctx, cti.ReportQuery{From: wallClock(day), To: wallClock(day.Add(7 * 24 * h))}, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(v.TopCustomers) != 2 || v.TopCustomers[0].CustomerID != gold.ID || v.TopCustomers[0].Interactions != 3 {
		t.Errorf("top %+v", v.TopCustomers)
	}
	if v.Contacts != 4 || v.Repeat24h != 1 || v.Repeat7d != 2 || v.FCR24h != 0.75 || v.FCR7d != 0.5 {
		t.Errorf("repeats %+v", v)
	}
	if len(v.TopDispositions) != 2 || v.TopDispositions[0].Disposition != "fixed" || v.TopDispositions[0].Count != 3 {
		t.Errorf("dispositions %+v", v.TopDispositions)
	}
	if len(v.Tiers) != 2 || v.Tiers[0].Tier != cti.TierGold || v.Tiers[0].Interactions != 3 || v.Tiers[0].Contacted != 1 {
		t.Errorf("tiers %+v", v.Tiers)
	}
}
