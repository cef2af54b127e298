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
