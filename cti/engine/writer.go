package engine

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-cc/switchboard/cti"
)

// The interaction writer records every call's CRM interaction off the telephony path. The loop queues writes (start, updates,
// finish, recording, disposition) and never waits; one goroutine, owned by Run, takes whatever is queued, folds consecutive
// updates of one interaction, and hands the lot to cti.InteractionWriter as one batch. A batch starts no sooner than
// Config.WriteWindow after the previous one started: while a batch is in flight, and for the rest of the window, the next one
// gathers, so under load a round carries a window's worth of calls (the database's cost per call falls steeply with the rows
// per statement) and after a quiet spell a write goes out at once; a full batch, or a stop, does not wait. A batch that fails
// (the database down, a timeout) is retried with backoff until it is written — writes are idempotent, so a retry repeats
// nothing; only a write the store refuses as invalid is dropped, logged as an error with its interaction. After Run's context
// ends the writer drains what is queued for up to Config.DrainFor.

// maxWriteBatch bounds one batch, so one transaction stays short.
const maxWriteBatch = 1000

// backlogWarn is the queue length past which the writer says, at most every 10 s, that the database falls behind.
const backlogWarn = 10 * maxWriteBatch

// writeReq is one queued write; then (may be nil) runs on the loop once it is written (err nil) or refused.
type writeReq struct {
	w    cti.InteractionWrite
	then func(err error)
}

type interactionWriter struct {
	store   cti.InteractionWriter
	log     *slog.Logger
	obs     Observer
	timeout time.Duration // per batch
	window  time.Duration // a batch starts no sooner than this after the previous one started
	done    func(then func(error), err error)
	warned  time.Time // the last backlog warning; owned by run

	mu      sync.Mutex
	q       []writeReq
	stopped bool
	wake    chan struct{}
	quit    chan struct{} // closed by stop: the window is cut short
}

func newInteractionWriter(store cti.InteractionWriter, log *slog.Logger, obs Observer, timeout, window time.Duration,
	done func(then func(error), err error)) *interactionWriter {
	return &interactionWriter{store: store, log: log, obs: obs, timeout: timeout, window: window, done: done,
		wake: make(chan struct{}, 1), quit: make(chan struct{})}
}

// put queues a write; it never blocks.
func (w *interactionWriter) put(r writeReq) {
	w.mu.Lock()
	w.q = append(w.q, r)
	w.mu.Unlock()
	w.signal()
}

func (w *interactionWriter) signal() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// stop makes run return once the queue is empty.
func (w *interactionWriter) stop() {
	w.mu.Lock()
	if !w.stopped {
		w.stopped = true
		close(w.quit)
	}
	w.mu.Unlock()
	w.signal()
}

// take removes up to maxWriteBatch queued writes.
func (w *interactionWriter) take() (batch []writeReq, stopped bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := min(len(w.q), maxWriteBatch)
	batch = w.q[:n:n]
	w.q = w.q[n:]
	if len(w.q) == 0 {
		w.q = nil
	}
	return batch, w.stopped
}

// pending counts the queued writes.
func (w *interactionWriter) pending() int {
	n, _ := w.queued()
	return n
}

func (w *interactionWriter) queued() (n int, stopped bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.q), w.stopped
}

// run writes batches until stop was called and the queue is empty, or ctx ends (the writes still queued are then lost: the
// caller logs them).
func (w *interactionWriter) run(ctx context.Context) {
	var started time.Time // the previous batch's start
	for {
		n, stopped := w.queued()
		if n == 0 {
			if stopped {
				return
			}
			select {
			case <-w.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		if wait := w.window - time.Since(started); wait > 0 && n < maxWriteBatch && !stopped && !w.gather(ctx, wait) {
			return
		}
		batch, _ := w.take()
		started = time.Now()
		if !w.write(ctx, batch) {
			return
		}
	}
}

// gather lets writes queue up for d, or until stop; false if ctx ended meanwhile. Only the database write waits: the loop
// queues a call's writes and goes on (write, startInteraction), and what runs after a write (its then) is bookkeeping off the
// call's path — the PBX's copy of a stored recording deleted, a refused disposition logged.
func (w *interactionWriter) gather(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-w.quit: // the engine stops: what is queued goes out at once
	case <-ctx.Done():
		return false
	}
	return true
}

// write applies one batch, retrying until it is written or ctx ends (false).
func (w *interactionWriter) write(ctx context.Context, batch []writeReq) bool {
	return w.writeFolded(ctx, batch, true)
}

// writeFolded is write; intoStart says whether updates may be folded into their interaction's start (see fold).
func (w *interactionWriter) writeFolded(ctx context.Context, batch []writeReq, intoStart bool) bool {
	ws, owner := fold(batch, intoStart)
	// A batch that timed out is given twice the time on its next attempt, so a database slower than the timeout for a batch
	// this big still takes it in the end.
	backoff, timeout := 50*time.Millisecond, w.timeout
	for attempt := 1; ; attempt++ {
		start := time.Now()
		wctx, cancel := context.WithTimeout(ctx, timeout)
		rejected, err := w.store.WriteInteractions(wctx, ws)
		cancel()
		if w.obs != nil {
			w.obs.Effect("write-interactions", time.Since(start), err)
		}
		if err == nil {
			errs := make([]error, len(batch))
			var apart []writeReq // refused starts that carried updates: written again unfolded, so a bad update loses no row
			later := make(map[int]bool)
			for i, r := range rejected {
				if r == nil {
					continue
				}
				if ws[i].Start != nil && len(owner[i]) > 1 {
					for _, j := range owner[i] {
						apart = append(apart, batch[j])
						later[j] = true
					}
					continue
				}
				if a := ws[i].AgentState; a != nil {
					w.log.Error("agent state refused: dropped", "agent", a.AgentID, "state", a.State, "err", r)
				} else {
					w.log.Error("interaction write refused: dropped", "interaction", ws[i].ID, "write", ws[i].Kind(), "err", r)
				}
				for _, j := range owner[i] {
					errs[j] = r
				}
			}
			for j, r := range batch {
				if r.then != nil && !later[j] {
					w.done(r.then, errs[j])
				}
			}
			if len(apart) > 0 && !w.writeFolded(ctx, apart, false) {
				return false
			}
			if n := w.pending(); n >= backlogWarn && time.Since(w.warned) >= 10*time.Second {
				w.warned = time.Now()
				w.log.Warn("interaction writes queue up behind the database", "writes", n, "last_round", len(ws),
					"took", time.Since(start))
			}
			return true
		}
		w.log.Warn("interaction writes not stored yet: retrying", "writes", len(ws), "attempt", attempt, "retry_in", backoff,
			"err", err)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			w.mu.Lock()
			w.q = append(batch, w.q...) // still queued: counted as lost by the caller
			w.mu.Unlock()
			return false
		}
		backoff = min(2*backoff, 5*time.Second)
		if cti.ErrorCode(err) == cti.EUNAVAILABLE || errors.Is(err, context.DeadlineExceeded) {
			timeout = min(2*timeout, time.Minute)
		}
	}
}

// fold turns queued writes into a batch, merging each update into the previous write of its interaction when that is an update
// too (nothing of that interaction in between, so the order of its writes is kept), or, with intoStart, its start when the
// start can carry it (startCarries): a new call's queue is then written with its row rather than by an update right after
// it. owner[i] lists the queued writes that batch write i carries.
func fold(batch []writeReq, intoStart bool) (ws []cti.InteractionWrite, owner [][]int) {
	last := make(map[string]int, len(batch))
	merged := make(map[int]bool)
	ws = make([]cti.InteractionWrite, 0, len(batch))
	owner = make([][]int, 0, len(batch))
	for j, r := range batch {
		w := r.w
		if u := w.Update; u != nil {
			if i, ok := last[w.ID]; ok && ws[i].Update != nil && ws[i].Update.Mergeable(*u) {
				if !merged[i] {
					cp := *ws[i].Update // the first update stays the caller's; the merge works on a copy
					ws[i].Update = &cp
					merged[i] = true
				}
				ws[i].Update.Merge(*u)
				owner[i] = append(owner[i], j)
				continue
			}
			if i, ok := last[w.ID]; ok && intoStart && ws[i].Start != nil && startCarries(ws[i].Start, u) {
				if !merged[i] {
					cp := *ws[i].Start
					ws[i].Start = &cp
					merged[i] = true
				}
				ws[i].Start.Apply(*u)
				owner[i] = append(owner[i], j)
				continue
			}
		}
		last[w.ID] = len(ws)
		ws = append(ws, w)
		owner = append(owner, []int{j})
	}
	return ws, owner
}

// startCarries reports whether writing in with u applied is what writing in, then u, does to the database: not when u answers
// the call or links its recording (the store writes events for those changes of a row, not for a new row), nor when u moves
// the call from the start's queue to another (the store keeps the queue it left, in overflow_from).
func startCarries(in *cti.Interaction, u *cti.InteractionUpdate) bool {
	return u.AnsweredAt == nil && u.Recording == nil && (u.Queue == nil || in.Queue == "" || in.Queue == *u.Queue)
}

// flushUnstarted queues, when the loop has stopped, the start of every interaction still waiting for its caller lookup and the
// writes held behind it: a stop never loses a call's row (the restarted engine rebuilds the call from Asterisk and updates it).
func (e *Engine) flushUnstarted() {
	for _, id := range slices.Sorted(maps.Keys(e.calls)) {
		if c := e.calls[id]; c.pendingStart != nil && !c.startQueued {
			e.startInteraction(c, c.pendingStart)
		}
	}
}
