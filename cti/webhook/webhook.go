// Package webhook delivers the outbox's events to the subscribers' URLs: at least once, in order per key (an interaction, agent
// or customer), signed with HMAC-SHA256, retried with exponential backoff and full jitter, and parked as a dead letter after the
// last attempt. Delivered events are pruned after a retention (Config.Retention); dead letters stay until an admin replays
// them. It is an adapter: net/http on one side, the cti.Outbox port (crmstore) on the other.
//
// It imports cti and the standard library only.
//
// # What a receiver gets
//
//	POST <url>
//	Content-Type: application/json
//	Idempotency-Key: <event id>             the same on every attempt: a receiver drops a repeat it has seen
//	X-Switchboard-Event: interaction.answered
//	X-Switchboard-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//
//	{"id": "...", "type": "interaction.answered", "occurred_at": "...", "data": {...}}
//
// Any 2xx is success. Verify checks a signature and its age.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-cc/switchboard/cti"
)

// Config configures a Worker. Outbox is required.
type Config struct {
	Outbox cti.Outbox
	Client *http.Client // default: 10 s timeout
	Clock  cti.Clock    // default: the wall clock
	Logger *slog.Logger
	// Batch is how many deliveries one claim takes, and delivers in parallel (default 16).
	Batch int
	// MaxAttempts before a delivery becomes a dead letter (default 10).
	MaxAttempts int
	// Backoff is the first retry's ceiling; each further retry doubles it up to MaxBackoff (defaults 1 s and 10 min). The wait is
	// drawn uniformly below the ceiling ("full jitter"), so receivers coming back are not hit by every sender at once.
	Backoff, MaxBackoff time.Duration
	// Lease is how long a claimed delivery is ours; a worker that dies holding it leaves it to another after that (default 1 min).
	Lease time.Duration
	// PollEvery is the pause when nothing is due (default 500 ms).
	PollEvery time.Duration
	// Retention is how long a delivered event is kept before the worker prunes it (default 7 days). Dead letters and events
	// still pending are kept whatever their age.
	Retention time.Duration
	// PruneEvery is the pause between prunings of the outbox (default 1 min); each deletes at most PruneBatch events (default
	// 500) in one short transaction, and the next follows at once while there are more.
	PruneEvery time.Duration
	PruneBatch int
	// Observe, when set, is told of each attempt: "delivered", "failed" or "dead", and its duration.
	Observe func(result string, d time.Duration)
	// Rand returns a uniform number in [0, 1); default math/rand/v2.
	Rand func() float64
}

// Worker delivers webhooks until its context ends, and prunes delivered events. Several workers, in one process or many, may
// share one outbox.
type Worker struct {
	cfg       Config
	nextPrune time.Time // owned by Run's goroutine
}

// New checks cfg and fills its defaults.
func New(cfg Config) (*Worker, error) {
	if cfg.Outbox == nil {
		return nil, errors.New("webhook: Outbox is required")
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Clock == nil {
		cfg.Clock = cti.ClockFunc(time.Now)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 16
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 10
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 10 * time.Minute
	}
	if cfg.Lease <= 0 {
		cfg.Lease = time.Minute
	}
	if cfg.PollEvery <= 0 {
		cfg.PollEvery = 500 * time.Millisecond
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 7 * 24 * time.Hour
	}
	if cfg.PruneEvery <= 0 {
		cfg.PruneEvery = time.Minute
	}
	if cfg.PruneBatch <= 0 {
		cfg.PruneBatch = 500
	}
	return &Worker{cfg: cfg}, nil
}

// Run claims and delivers until ctx ends; it returns ctx's error. Deliveries in flight when ctx ends are abandoned to their
// lease: another worker (or this one, restarted) sends them again, with the same idempotency key.
func (w *Worker) Run(ctx context.Context) error {
	for {
		n, err := w.Once(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		w.Prune(ctx)
		if err != nil {
			w.cfg.Logger.Warn("webhook claim failed", "err", err)
		}
		if n == w.cfg.Batch && err == nil {
			continue // more may be due
		}
		t := time.NewTimer(w.cfg.PollEvery)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Once claims one batch of due deliveries and delivers them in parallel (they have distinct keys, so order is kept), and
// returns how many it claimed.
func (w *Worker) Once(ctx context.Context) (int, error) {
	ds, err := w.cfg.Outbox.ClaimDeliveries(ctx, w.cfg.Clock.Now(), w.cfg.Batch, w.cfg.Lease)
	if err != nil {
		return 0, err
	}
	var wg sync.WaitGroup
	for _, d := range ds {
		wg.Go(func() { w.deliver(ctx, d) })
	}
	wg.Wait()
	return len(ds), nil
}

// Prune deletes one batch of delivered events older than the retention when a pruning is due: at once again when the batch
// was full, after PruneEvery otherwise. A failure is logged and tried again after PruneEvery.
func (w *Worker) Prune(ctx context.Context) {
	now := w.cfg.Clock.Now()
	if now.Before(w.nextPrune) {
		return
	}
	n, err := w.cfg.Outbox.PruneOutbox(ctx, now.Add(-w.cfg.Retention), w.cfg.PruneBatch)
	if err != nil && ctx.Err() == nil {
		w.cfg.Logger.Warn("webhook: pruning the outbox failed", "err", err)
	}
	if err != nil || n < w.cfg.PruneBatch {
		w.nextPrune = now.Add(w.cfg.PruneEvery)
	}
}

// Body is the JSON a delivery posts.
func Body(e cti.WebhookEvent) ([]byte, error) { return json.Marshal(e) }

// Sign returns the X-Switchboard-Signature of body sent at t.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a signature header against body and secret, and that it was made within tolerance of now (replays of old
// deliveries fail).
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs []string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return errors.New("webhook: malformed signature header")
	}
	at := time.Unix(sec, 0)
	if d := now.Sub(at); d > tolerance || d < -tolerance {
		return errors.New("webhook: signature too old or from the future")
	}
	want := Sign(secret, at, body)[len("t="+ts+",v1="):]
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return errors.New("webhook: signature mismatch")
}

func (w *Worker) deliver(ctx context.Context, d cti.Delivery) {
	start := time.Now()
	status, err := w.post(ctx, d)
	if ctx.Err() != nil {
		return // stopping: the lease brings it back
	}
	now := w.cfg.Clock.Now()
	// The outcome is recorded even if we are stopping, so a delivered event is not sent twice needlessly.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err == nil {
		w.observe("delivered", start)
		if err := w.cfg.Outbox.Delivered(rctx, d, status, now); err != nil {
			w.cfg.Logger.Warn("webhook: cannot mark delivered; it will be sent again", "event", d.Event.ID, "err", err)
		}
		return
	}
	dead := d.Attempt >= w.cfg.MaxAttempts
	retry := now.Add(w.backoff(d.Attempt))
	if dead {
		retry = now
		w.observe("dead", start)
		// The URL may carry a token: log the subscription, not the URL or the secret.
		w.cfg.Logger.Warn("webhook delivery is a dead letter", "subscription", d.SubscriptionID, "event", d.Event.ID,
			"type", d.Event.Type, "attempts", d.Attempt, "err", err)
	} else {
		w.observe("failed", start)
	}
	if err := w.cfg.Outbox.DeliveryFailed(rctx, d, status, err.Error(), retry, dead); err != nil {
		w.cfg.Logger.Warn("webhook: cannot record a failed attempt", "event", d.Event.ID, "err", err)
	}
}

func (w *Worker) observe(result string, start time.Time) {
	if w.cfg.Observe != nil {
		w.cfg.Observe(result, time.Since(start))
	}
}

// backoff returns the wait before the retry after attempt n (1-based): uniform in [0, min(MaxBackoff, Backoff·2ⁿ⁻¹)).
func (w *Worker) backoff(n int) time.Duration {
	ceil := w.cfg.MaxBackoff
	if n-1 < 40 {
		ceil = min(ceil, w.cfg.Backoff<<(n-1))
	}
	return time.Duration(w.cfg.Rand() * float64(ceil))
}

// post sends one attempt and returns the status; an error for anything but 2xx.
func (w *Worker) post(ctx context.Context, d cti.Delivery) (int, error) {
	body, err := Body(d.Event)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		return 0, fmt.Errorf("bad subscription URL")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Switchboard-Webhooks/1")
	req.Header.Set("Idempotency-Key", d.Event.ID)
	req.Header.Set("X-Switchboard-Event", d.Event.Type)
	req.Header.Set("X-Switchboard-Signature", Sign(d.Secret, w.cfg.Clock.Now(), body))
	resp, err := w.cfg.Client.Do(req)
	if err != nil {
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) && ue.Unwrap() != nil {
			err = ue.Unwrap() // drop the URL, which may hold a token
		}
		return 0, err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) //nolint:errcheck // only to reuse the connection
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}
