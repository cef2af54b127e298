package crmstore_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/crmstore"
	"github.com/switchboard-cc/switchboard/cti"
)

// outboxEvent is an outbox row as a test reads it.
type outboxEvent struct {
	Type, Key string
	Payload   map[string]any
}

// outboxAfter returns the outbox's events after seq, in order, and the last seq.
func outboxAfter(tb testing.TB, s *crmstore.Store, seq int64) ([]outboxEvent, int64) {
	tb.Helper()
	rows, err := s.DB().Pool.Query(context.Background(), `select seq, type, key, payload from outbox where seq > $1 order by seq`, seq)
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	var out []outboxEvent
	for rows.Next() {
		var e outboxEvent
		var b []byte
		if err := rows.Scan(&seq, &e.Type, &e.Key, &b); err != nil {
			tb.Fatal(err)
		}
		if err := json.Unmarshal(b, &e.Payload); err != nil {
			tb.Fatal(err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return out, seq
}

// Every write of a customer the API can make writes its event in the same transaction; a write that fails writes none.
func TestCustomerWritesEmitEvents(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	sub := &cti.WebhookSubscription{URL: "http://127.0.0.1:1/hooks", Secret: "0123456789abcdef",
		Events: []string{cti.EventCustomerCreated, cti.EventCustomerUpdated}, Active: true}
	if err := s.CreateSubscription(ctx, sub); err != nil {
		t.Fatal(err)
	}
	other := mustCreate(t, s, &cti.Customer{Name: "Other", Phones: []cti.Phone{{Number: "+8613800000001"}}})
	c := mustCreate(t, s, &cti.Customer{Name: "Li Lei"})
	evs, seq := outboxAfter(t, s, 0)
	if len(evs) != 2 || evs[0].Type != cti.EventCustomerCreated || evs[1].Key != c.ID || evs[1].Payload["name"] != "Li Lei" {
		t.Fatalf("creations: events %+v", evs)
	}
	steps := []struct {
		name  string
		write func() error
		check func(p map[string]any) bool
	}{
		{"update with tags", func() error {
			c.Tags = []string{"vip"}
			return s.UpdateCustomer(ctx, c)
		}, func(p map[string]any) bool { tags, _ := p["tags"].([]any); return len(tags) == 1 && tags[0] == "vip" }},
		{"add phone", func() error {
			_, err := s.AddPhone(ctx, c.ID, cti.Phone{Number: "+8613800000002"})
			return err
		}, func(p map[string]any) bool { return len(p["phones"].([]any)) == 1 }},
		{"add e-mail", func() error {
			_, err := s.AddEmail(ctx, c.ID, cti.Email{Address: "li@example.com"})
			return err
		}, func(p map[string]any) bool { return len(p["emails"].([]any)) == 1 }},
		{"remove phone", func() error {
			_, err := s.RemovePhone(ctx, c.ID, "+8613800000002")
			return err
		}, func(p map[string]any) bool { return p["phones"] == nil || len(p["phones"].([]any)) == 0 }},
		{"remove e-mail", func() error {
			_, err := s.RemoveEmail(ctx, c.ID, "li@example.com")
			return err
		}, func(p map[string]any) bool { return p["emails"] == nil || len(p["emails"].([]any)) == 0 }},
	}
	for _, st := range steps {
		if err := st.write(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		evs, seq = outboxAfter(t, s, seq)
		if len(evs) != 1 || evs[0].Type != cti.EventCustomerUpdated || evs[0].Key != c.ID || !st.check(evs[0].Payload) {
			t.Fatalf("%s: events %+v", st.name, evs)
		}
	}
	// A failed write leaves no event: another customer's number is a conflict.
	if _, err := s.AddPhone(ctx, c.ID, cti.Phone{Number: other.Phones[0].Number}); cti.ErrorCode(err) != cti.ECONFLICT {
		t.Fatalf("taken number: %v", err)
	}
	if evs, _ := outboxAfter(t, s, seq); len(evs) != 0 {
		t.Fatalf("a failed write emitted %+v", evs)
	}
	cur, err := s.Customer(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCustomer(ctx, c.ID, cur.Version); err != nil {
		t.Fatal(err)
	}
	evs, _ = outboxAfter(t, s, seq)
	if len(evs) != 1 || evs[0].Type != cti.EventCustomerUpdated || evs[0].Payload["id"] != c.ID || evs[0].Payload["deleted_at"] == nil ||
		evs[0].Payload["version"] != float64(cur.Version+1) {
		t.Fatalf("soft delete: events %+v", evs)
	}
}

// PruneOutbox deletes delivered events older than the cutoff, in batches, and keeps dead letters, pending deliveries and
// recent events.
func TestPruneOutbox(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	pool := s.DB().Pool
	subs := make([]*cti.WebhookSubscription, 2)
	for i := range subs {
		subs[i] = &cti.WebhookSubscription{URL: "http://127.0.0.1:1/hooks", Secret: "0123456789abcdef",
			Events: []string{cti.EventCustomerCreated}, Active: true}
		if err := s.CreateSubscription(ctx, subs[i]); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	for range 7 {
		ids = append(ids, mustCreate(t, s, &cti.Customer{Name: "Prune"}).ID)
	}
	old := time.Now().Add(-10 * 24 * time.Hour)
	// Events 0–3 old and delivered to both; 4 old, dead for one subscription; 5 old, pending for one; 6 recent and delivered.
	for i, id := range ids {
		at := old
		if i == 6 {
			at = time.Now()
		}
		if _, err := pool.Exec(ctx, `update outbox set occurred_at = $2 where key = $1`, id, at); err != nil {
			t.Fatal(err)
		}
		if _, err := pool.Exec(ctx, `update webhook_deliveries d set state = 'delivered', delivered_at = $2
			from outbox o where o.id = d.event_id and o.key = $1`, id, at.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	for i, state := range map[int]string{4: "dead", 5: "pending"} {
		if _, err := pool.Exec(ctx, `update webhook_deliveries d set state = $3, delivered_at = null
			from outbox o where o.id = d.event_id and o.key = $1 and d.subscription_id = $2`, ids[i], subs[0].ID, state); err != nil {
			t.Fatal(err)
		}
	}
	cutoff := time.Now().Add(-7 * 24 * time.Hour)
	if n, err := s.PruneOutbox(ctx, cutoff, 3); err != nil || n != 3 {
		t.Fatalf("first batch: %d, %v", n, err)
	}
	if n, err := s.PruneOutbox(ctx, cutoff, 3); err != nil || n != 1 {
		t.Fatalf("second batch: %d, %v", n, err)
	}
	if n, err := s.PruneOutbox(ctx, cutoff, 3); err != nil || n != 0 {
		t.Fatalf("nothing left: %d, %v", n, err)
	}
	var left []string
	rows, err := pool.Query(ctx, `select key from outbox order by seq`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k string
		rows.Scan(&k)
		left = append(left, k)
	}
	if len(left) != 3 || left[0] != ids[4] || left[1] != ids[5] || left[2] != ids[6] {
		t.Fatalf("left %v, want events 4, 5 and 6", left)
	}
	var deliveries int
	pool.QueryRow(ctx, `select count(*) from webhook_deliveries`).Scan(&deliveries)
	if deliveries != 6 {
		t.Errorf("%d deliveries left, want the 6 of the kept events", deliveries)
	}
	dead, err := s.DeadLetters(ctx, 10)
	if err != nil || len(dead) != 1 || dead[0].Event.Key != ids[4] {
		t.Errorf("dead letters %+v, %v", dead, err)
	}
}
