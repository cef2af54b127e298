package main

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/crmstore"
	"github.com/switchboard-cc/switchboard/crmstore/pgtest"
	"github.com/switchboard-cc/switchboard/cti"
	"github.com/switchboard-cc/switchboard/queue"
)

// TestReportRatesAgreeWithRouter plays the same four calls through the live router (queue.Router) and into the CRM as the engine
// records them, and checks that the router's "today" and the day's historical report give the same counts, service levels,
// abandon rate, ASA and AHT: one set of definitions (docs/reports.md).
func TestReportRatesAgreeWithRouter(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2025, 3, 3, 10, 0, 0, 0, loc)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	r, err := queue.New(queue.Config{Queues: []queue.QueueConfig{{Name: "sales", SLTarget: 20 * time.Second, SLPercent: 80,
		WrapUp: time.Minute, OfferTimeout: time.Minute, ShortAbandon: cti.ShortAbandon, Location: loc}},
		Agents: []queue.AgentConfig{{ID: "a", Queues: []string{"sales"}}}})
	if err != nil {
		t.Fatal(err)
	}
	apply := func(s int, ev queue.Event) {
		t.Helper()
		if _, err := r.Apply(at(s), ev); err != nil {
			t.Fatalf("%v at %d s: %v", ev.Kind, s, err)
		}
	}
	arrive := func(s int, call string) {
		apply(s, queue.Event{Kind: queue.CallArrived, Call: call, Arrival: &queue.Arrival{Queue: "sales"}})
	}
	apply(0, queue.Event{Kind: queue.AgentLogin, Agent: "a"})
	apply(0, queue.Event{Kind: queue.SetState, Agent: "a", Ready: true})
	arrive(0, "c1") // offered to a at once
	apply(10, queue.Event{Kind: queue.OfferAccepted, Agent: "a", Call: "c1"})
	apply(70, queue.Event{Kind: queue.CallEnded, Agent: "a", Call: "c1"})
	apply(80, queue.Event{Kind: queue.WrapUpDone, Agent: "a"})
	arrive(100, "c2")
	apply(130, queue.Event{Kind: queue.OfferAccepted, Agent: "a", Call: "c2"})
	apply(160, queue.Event{Kind: queue.CallEnded, Agent: "a", Call: "c2"})
	apply(165, queue.Event{Kind: queue.WrapUpDone, Agent: "a"})
	apply(170, queue.Event{Kind: queue.SetState, Agent: "a", Reason: "break"})
	arrive(200, "c3")
	apply(202, queue.Event{Kind: queue.CallLeft, Call: "c3"}) // a short abandon
	arrive(210, "c4")
	apply(250, queue.Event{Kind: queue.CallLeft, Call: "c4"})
	live, err := r.Stats("sales", at(260))
	if err != nil {
		t.Fatal(err)
	}

	// The same calls as the engine stores them (wrap-up from the agent's wrap-up state).
	ctx := context.Background()
	db := pgtest.DB(t)
	if _, err := crmstore.Seed(ctx, db, crmstore.SeedOptions{}); err != nil {
		t.Fatal(err)
	}
	store := crmstore.NewStore(db, crmstore.Options{})
	a1, _ := store.AgentByLogin(ctx, "agent1")
	s := time.Second
	answered := func(q, ans, end int, wrap time.Duration) cti.Interaction {
		return cti.Interaction{Channel: cti.ChannelPhone, Direction: cti.Inbound, Queue: "sales", AgentID: a1.ID, ArrivedAt: at(q),
			QueuedAt: at(q), AnsweredAt: at(ans), EndedAt: at(end), Outcome: cti.OutcomeAnswered,
			Durations: cti.Durations{Wait: at(ans).Sub(at(q)), Talk: at(end).Sub(at(ans)), WrapUp: wrap}}
	}
	abandoned := func(q, end int) cti.Interaction {
		return cti.Interaction{Channel: cti.ChannelPhone, Direction: cti.Inbound, Queue: "sales", ArrivedAt: at(q), QueuedAt: at(q),
			EndedAt: at(end), Outcome: cti.OutcomeAbandoned, Durations: cti.Durations{Wait: at(end).Sub(at(q))}}
	}
	if err := store.LogInteractions(ctx, []cti.Interaction{answered(0, 10, 70, 10*s), answered(100, 130, 160, 5*s),
		abandoned(200, 202), abandoned(210, 250)}); err != nil {
		t.Fatal(err)
	}
	day := time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC) // wall clock
	rows, err := store.QueueReport(ctx, cti.ReportQuery{From: day, To: day.AddDate(0, 0, 1), Interval: cti.IntervalDay, Queue: "sales"})
	if err != nil || len(rows) != 1 {
		t.Fatalf("report %+v, %v", rows, err)
	}
	hist, p := rows[0], live.Today
	if hist.Offered != p.Offered || hist.Answered != p.Answered || hist.AnsweredInSL != p.AnsweredInSL || hist.Abandoned != p.Abandoned ||
		hist.ShortAbandoned != p.ShortAbandoned || hist.Overflowed != p.Overflowed || hist.Handled != p.Handled {
		t.Errorf("counts differ\nhistory %+v\nlive    %+v", hist.ReportCounts, p)
	}
	if hist.ServiceLevel != p.ServiceLevel || hist.ServiceLevelAnswered != p.ServiceLevelAnswered || hist.AbandonRate != p.AbandonRate ||
		hist.ASA != p.ASA || hist.AHT != p.AHT {
		t.Errorf("rates differ\nhistory %+v\nlive    SL %v SLA %v AR %v ASA %v AHT %v", hist.Rates, p.ServiceLevel,
			p.ServiceLevelAnswered, p.AbandonRate, p.ASA, p.AHT)
	}
	if p.Offered != 4 || p.ShortAbandoned != 1 || p.AHT != 52500*time.Millisecond {
		t.Errorf("the scenario did not play as written: %+v", p)
	}
}
