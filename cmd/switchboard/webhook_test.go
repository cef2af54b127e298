package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/crmstore"
	"github.com/switchboard-cc/switchboard/crmstore/pgtest"
	"github.com/switchboard-cc/switchboard/cti"
	"github.com/switchboard-cc/switchboard/cti/webhook"
)

// receiver is a webhook endpoint that can be down (503, or the connection closed without an answer) and records what arrives.
type receiver struct {
	secret string
	down   atomic.Int32 // 0 up, 1 answers 503, 2 closes the connection
	mu     sync.Mutex
	got    []cti.WebhookEvent // every accepted delivery, repeats included, in arrival order
	bad    []string           // protocol violations
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch rc.down.Load() {
	case 1:
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	case 2:
		if hj, ok := w.(http.Hijacker); ok {
			c, _, _ := hj.Hijack()
			c.Close()
			return
		}
	}
	body, _ := io.ReadAll(r.Body)
	var e cti.WebhookEvent
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if err := webhook.Verify(rc.secret, r.Header.Get("X-Switchboard-Signature"), body, time.Now(), 5*time.Minute); err != nil {
		rc.bad = append(rc.bad, err.Error())
	}
	if err := json.Unmarshal(body, &e); err != nil {
		rc.bad = append(rc.bad, err.Error())
	}
	if k := r.Header.Get("Idempotency-Key"); k != e.ID || k == "" {
		rc.bad = append(rc.bad, fmt.Sprintf("idempotency key %q for event %q", k, e.ID))
	}
	if r.Header.Get("X-Switchboard-Event") != e.Type {
		rc.bad = append(rc.bad, "event header "+r.Header.Get("X-Switchboard-Event"))
	}
	rc.got = append(rc.got, e)
}

// TestWebhookDelivery is the test: events of many interactions are written while the receiver is down (answering 503,
// then dropping connections), the worker is stopped and a new one started on the same database in the middle, and two run at
// once for a while. In the end every event of the outbox has arrived, repeats carry the same idempotency key, and each
// interaction's events arrived in the order they were written.
func TestWebhookDelivery(t *testing.T) {
	ctx := context.Background()
	db := pgtest.DB(t)
	if _, err := crmstore.Seed(ctx, db, crmstore.SeedOptions{}); err != nil {
		t.Fatal(err)
	}
	store := crmstore.NewStore(db, crmstore.Options{})
	rc := &receiver{secret: "a-secret-of-32-characters-long!!"}
	rc.down.Store(1)
	srv := httptest.NewServer(rc)
	defer srv.Close()
	sub := &cti.WebhookSubscription{URL: srv.URL + "/hooks", Secret: rc.secret, Events: cti.EventTypes, Active: true}
	if err := store.CreateSubscription(ctx, sub); err != nil {
		t.Fatal(err)
	}

	var workers sync.WaitGroup
	var delivered atomic.Int64
	start := func() context.CancelFunc {
		w, err := webhook.New(webhook.Config{Outbox: store, Batch: 8, MaxAttempts: 1000, Backoff: 5 * time.Millisecond,
			MaxBackoff: 100 * time.Millisecond, Lease: 300 * time.Millisecond, PollEvery: 10 * time.Millisecond,
			Client: &http.Client{Timeout: 2 * time.Second},
			Observe: func(result string, _ time.Duration) {
				if result == "delivered" {
					delivered.Add(1)
				}
			}})
		if err != nil {
			t.Fatal(err)
		}
		wctx, cancel := context.WithCancel(ctx)
		workers.Go(func() { w.Run(wctx) }) //nolint:errcheck // ends with the context
		return cancel
	}
	stop1 := start()

	// Write: 40 interactions of three events each, 8 at a time, with agent states and customers between.
	a1, _ := store.AgentByLogin(ctx, "agent1")
	var writers sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range 40 {
		writers.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			now := time.Now().UTC()
			in := &cti.Interaction{Channel: cti.ChannelPhone, Direction: cti.Inbound, ArrivedAt: now, CallerNumber: fmt.Sprint(i)}
			if err := store.StartInteraction(ctx, in); err != nil {
				t.Error(err)
				return
			}
			q, ans := "sales", now.Add(time.Second)
			if err := store.UpdateInteraction(ctx, in.ID, cti.InteractionUpdate{Queue: &q, QueuedAt: &now, AnsweredAt: &ans}); err != nil {
				t.Error(err)
			}
			if err := store.FinishInteraction(ctx, in.ID, cti.InteractionFinish{Outcome: cti.OutcomeAnswered, EndedAt: now.Add(time.Minute)}); err != nil {
				t.Error(err)
			}
		})
	}
	for i, st := range []cti.AgentState{cti.AgentReady, cti.AgentReserved, cti.AgentOnCall, cti.AgentWrapUp, cti.AgentNotReady} {
		if err := store.RecordAgentState(ctx, cti.AgentStatus{AgentID: a1.ID, State: st, Since: time.Now().Add(time.Duration(i))}); err != nil {
			t.Fatal(err)
		}
	}
	c := &cti.Customer{Name: "Webhook Customer", Tier: cti.TierGold}
	if err := store.CreateCustomer(ctx, c); err != nil {
		t.Fatal(err)
	}
	c.Notes = "updated"
	if err := store.UpdateCustomer(ctx, c); err != nil {
		t.Fatal(err)
	}
	writers.Wait()

	// Down for a while with 503s, then dropped connections, then up; the worker restarts in the middle, and for a while two
	// workers share the outbox.
	time.Sleep(150 * time.Millisecond)
	rc.down.Store(2)
	time.Sleep(150 * time.Millisecond)
	rc.down.Store(0)
	checkFor(t, 10*time.Second, func() error {
		if delivered.Load() < 30 {
			return fmt.Errorf("%d delivered", delivered.Load())
		}
		return nil
	})
	stop1() // a restart: in-flight deliveries are left to their lease
	stop2 := start()
	stop3 := start()
	checkFor(t, 5*time.Second, func() error {
		if delivered.Load() < 60 {
			return fmt.Errorf("%d delivered", delivered.Load())
		}
		return nil
	})
	stop3()

	var want []struct{ id, typ, key string }
	checkFor(t, 20*time.Second, func() error {
		var pending int
		if err := db.Pool.QueryRow(ctx, `select count(*) from webhook_deliveries where state <> 'delivered'`).Scan(&pending); err != nil {
			return err
		}
		if pending > 0 {
			var dump string
			db.Pool.QueryRow(ctx, `select string_agg(o.type || ' ' || d.state || ' ' || d.attempts || ' ' || d.next_at || ' ' || d.last_error, '; ') from webhook_deliveries d join outbox o on o.id = d.event_id where d.state <> 'delivered'`).Scan(&dump)
			return fmt.Errorf("%d deliveries not delivered: %.600s", pending, dump)
		}
		return nil
	})
	stop2()
	workers.Wait()

	rows, err := db.Pool.Query(ctx, `select id::text, type, key from outbox order by seq`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var e struct{ id, typ, key string }
		rows.Scan(&e.id, &e.typ, &e.key)
		want = append(want, e)
	}
	if len(want) != 40*3+5+2 {
		t.Fatalf("%d events in the outbox, want %d", len(want), 40*3+5+2)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.bad) > 0 {
		t.Fatalf("protocol violations: %v", rc.bad[:min(5, len(rc.bad))])
	}
	seen := map[string]int{} // event id → first arrival
	for i, e := range rc.got {
		if _, ok := seen[e.ID]; !ok {
			seen[e.ID] = i
		}
	}
	repeats := len(rc.got) - len(seen)
	last := map[string]int{} // key → first arrival of its previous event
	for _, e := range want {
		at, ok := seen[e.id]
		if !ok {
			t.Errorf("event %s (%s of %s) never arrived", e.id, e.typ, e.key)
			continue
		}
		if prev, ok := last[e.key]; ok && at < prev {
			t.Errorf("%s of %s arrived before the event written before it", e.typ, e.key)
		}
		last[e.key] = at
	}
	if len(seen) != len(want) {
		t.Errorf("%d distinct events arrived, want %d", len(seen), len(want))
	}
	t.Logf("%d events, %d deliveries accepted (%d repeats, each with its event's idempotency key)", len(want), len(rc.got), repeats)
}

// TestWebhookDeadLetter: a receiver that keeps failing makes a dead letter after the last attempt; a replay delivers it once the
// receiver is back.
func TestWebhookDeadLetter(t *testing.T) {
	ctx := context.Background()
	db := pgtest.DB(t)
	if _, err := crmstore.Seed(ctx, db, crmstore.SeedOptions{}); err != nil {
		t.Fatal(err)
	}
	store := crmstore.NewStore(db, crmstore.Options{})
	rc := &receiver{secret: "another-secret-0123456789"}
	rc.down.Store(1)
	srv := httptest.NewServer(rc)
	defer srv.Close()
	sub := &cti.WebhookSubscription{URL: srv.URL, Secret: rc.secret, Events: []string{cti.EventCustomerCreated}, Active: true}
	if err := store.CreateSubscription(ctx, sub); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateCustomer(ctx, &cti.Customer{Name: "Dead Letter"}); err != nil {
		t.Fatal(err)
	}
	w, err := webhook.New(webhook.Config{Outbox: store, MaxAttempts: 3, Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
		PollEvery: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var dead []cti.DeadLetter
	checkFor(t, 5*time.Second, func() error {
		if _, err := w.Once(ctx); err != nil {
			return err
		}
		dead, err = store.DeadLetters(ctx, 10)
		if err != nil || len(dead) != 1 {
			return fmt.Errorf("dead letters %v, %v", dead, err)
		}
		return nil
	})
	if d := dead[0]; d.Attempts != 3 || d.LastStatus != 503 || d.Event.Type != cti.EventCustomerCreated || d.SubscriptionID != sub.ID {
		t.Errorf("dead letter %+v", d)
	}
	rc.down.Store(0)
	if err := store.ReplayDeadLetter(ctx, sub.ID, dead[0].Event.ID); err != nil {
		t.Fatal(err)
	}
	if err := store.ReplayDeadLetter(ctx, sub.ID, dead[0].Event.ID); cti.ErrorCode(err) != cti.ENOTFOUND {
		t.Errorf("second replay: %v", err)
	}
	checkFor(t, 5*time.Second, func() error {
		if _, err := w.Once(ctx); err != nil {
			return err
		}
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if len(rc.got) != 1 || rc.got[0].ID != dead[0].Event.ID {
			return fmt.Errorf("received %v", rc.got)
		}
		return nil
	})
	if subs, _ := store.Subscriptions(ctx); len(subs) != 1 || subs[0].Secret != "" {
		t.Errorf("subscriptions %+v (the secret must not be read back)", subs)
	}
}
