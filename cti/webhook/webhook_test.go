package webhook

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/cti"
)

func TestSignVerify(t *testing.T) {
	now := time.Unix(1_750_000_000, 0)
	body := []byte(`{"id":"e1","type":"interaction.started"}`)
	sig := Sign("s3cret-s3cret-s3cret", now, body)
	if err := Verify("s3cret-s3cret-s3cret", sig, body, now.Add(time.Minute), 5*time.Minute); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"other body":   Verify("s3cret-s3cret-s3cret", sig, []byte(`{}`), now, time.Minute),
		"other secret": Verify("another-secret-123", sig, body, now, time.Minute),
		"too old":      Verify("s3cret-s3cret-s3cret", sig, body, now.Add(time.Hour), 5*time.Minute),
		"malformed":    Verify("s3cret-s3cret-s3cret", "v1=abc", body, now, time.Minute),
	} {
		if err == nil {
			t.Errorf("%s: verified", name)
		}
	}
}

// TestBackoff: full jitter below a ceiling that doubles from Backoff up to MaxBackoff.
func TestBackoff(t *testing.T) {
	w, err := New(Config{Outbox: nopOutbox{}, Backoff: time.Second, MaxBackoff: time.Minute, Rand: func() float64 { return 0.999999 }})
	if err != nil {
		t.Fatal(err)
	}
	for n, ceil := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 4: 8 * time.Second, 7: time.Minute, 100: time.Minute} {
		if d := w.backoff(n); d >= ceil || d < ceil*99/100 {
			t.Errorf("attempt %d: %v, want just under %v", n, d, ceil)
		}
	}
	w.cfg.Rand = func() float64 { return 0 }
	if d := w.backoff(3); d != 0 {
		t.Errorf("jitter floor %v", d)
	}
}

type nopOutbox struct{}

func (nopOutbox) ClaimDeliveries(context.Context, time.Time, int, time.Duration) ([]cti.Delivery, error) {
	return nil, nil
}
func (nopOutbox) Delivered(context.Context, cti.Delivery, int, time.Time) error { return nil }
func (nopOutbox) DeliveryFailed(context.Context, cti.Delivery, int, string, time.Time, bool) error {
	return nil
}
func (nopOutbox) PruneOutbox(context.Context, time.Time, int) (int, error) { return 0, nil }

// pruneOutbox is an outbox that records prunings and answers each with the next of its counts.
type pruneOutbox struct {
	nopOutbox
	answers []int
	cutoffs []time.Time
}

func (o *pruneOutbox) PruneOutbox(_ context.Context, cutoff time.Time, limit int) (int, error) {
	o.cutoffs = append(o.cutoffs, cutoff)
	n := o.answers[0]
	o.answers = o.answers[1:]
	return min(n, limit), nil
}

// TestPrune: the worker prunes events older than the retention, batch after batch while batches come back full, then waits
// PruneEvery.
func TestPrune(t *testing.T) {
	now := time.Date(2025, 3, 3, 12, 0, 0, 0, time.UTC)
	out := &pruneOutbox{answers: []int{10, 10, 3, 0}}
	w, err := New(Config{Outbox: out, Clock: cti.ClockFunc(func() time.Time { return now }), Retention: 48 * time.Hour,
		PruneEvery: time.Minute, PruneBatch: 10})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 5 { // full, full, 3: then nothing until a minute has passed
		w.Prune(ctx)
	}
	if len(out.cutoffs) != 3 || !out.cutoffs[0].Equal(now.Add(-48*time.Hour)) {
		t.Fatalf("prunings %v", out.cutoffs)
	}
	now = now.Add(time.Minute)
	w.Prune(ctx)
	if len(out.cutoffs) != 4 || !out.cutoffs[3].Equal(now.Add(-48*time.Hour)) {
		t.Fatalf("prunings after a minute %v", out.cutoffs)
	}
	if d, _ := New(Config{Outbox: nopOutbox{}}); d.cfg.Retention != 7*24*time.Hour {
		t.Errorf("default retention %v", d.cfg.Retention)
	}
}
