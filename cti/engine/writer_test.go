package engine

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchboard-cc/switchboard/cti"
)

func strp(s string) *string { return &s }

func TestFoldMergesConsecutiveUpdatesOfOneInteraction(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	first := &cti.InteractionUpdate{Queue: strp("sales"), QueuedAt: &t0, Inputs: map[string]string{"a": "1"}}
	batch := []writeReq{
		{w: cti.InteractionWrite{ID: "x", Start: &cti.Interaction{ID: "x"}}},
		{w: cti.InteractionWrite{ID: "x", Update: first}},
		{w: cti.InteractionWrite{ID: "y", Start: &cti.Interaction{ID: "y"}}},
		{w: cti.InteractionWrite{ID: "x", Update: &cti.InteractionUpdate{AgentID: strp("a1"), Inputs: map[string]string{"b": "2"}}}},
		{w: cti.InteractionWrite{ID: "x", Update: &cti.InteractionUpdate{Queue: strp("general")}}}, // another queue: not merged
		{w: cti.InteractionWrite{ID: "x", Finish: &cti.InteractionFinish{Outcome: cti.OutcomeAnswered}}},
		{w: cti.InteractionWrite{ID: "x", Update: &cti.InteractionUpdate{BridgeID: strp("b")}}}, // after the finish: kept apart
	}
	ws, owner := fold(batch)
	var kinds []string
	for _, w := range ws {
		kinds = append(kinds, w.ID+":"+w.Kind())
	}
	want := []string{"x:start", "x:update", "y:start", "x:update", "x:finish", "x:update"}
	if len(kinds) != len(want) {
		t.Fatalf("folded to %v, want %v", kinds, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("folded to %v, want %v", kinds, want)
		}
	}
	u := ws[1].Update
	if *u.Queue != "sales" || *u.AgentID != "a1" || u.Inputs["a"] != "1" || u.Inputs["b"] != "2" || !u.QueuedAt.Equal(t0) {
		t.Errorf("merged update %+v", u)
	}
	if first.AgentID != nil || len(first.Inputs) != 1 {
		t.Errorf("the caller's update was changed: %+v", first)
	}
	if len(owner[1]) != 2 || owner[1][0] != 1 || owner[1][1] != 3 {
		t.Errorf("owner of the merged update %v, want [1 3]", owner[1])
	}
}

// writeFunc is a cti.InteractionWriter from a function.
type writeFunc func(ctx context.Context, ws []cti.InteractionWrite) ([]error, error)

func (f writeFunc) WriteInteractions(ctx context.Context, ws []cti.InteractionWrite) ([]error, error) {
	return f(ctx, ws)
}

// A store that fails for a while delays writes, never drops them; a refused write is dropped and its then told why; writes
// queued meanwhile go out together in the next round.
func TestWriterRetriesUntilStored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var rounds [][]string
		failUntil := time.Now().Add(3 * time.Second)
		store := writeFunc(func(_ context.Context, ws []cti.InteractionWrite) ([]error, error) {
			if time.Now().Before(failUntil) {
				return nil, cti.Errorf(cti.EUNAVAILABLE, "the database cannot be reached")
			}
			var round []string
			var rejected []error
			for i, w := range ws {
				round = append(round, w.ID+":"+w.Kind())
				if w.ID == "bad" {
					rejected = make([]error, len(ws))
					rejected[i] = cti.Invalid("queue", "no such queue")
				}
			}
			mu.Lock()
			rounds = append(rounds, round)
			mu.Unlock()
			return rejected, nil
		})
		var thens []string
		var thenMu sync.Mutex
		w := newInteractionWriter(store, slog.New(slog.DiscardHandler), nil, time.Second, func(then func(error), err error) {
			then(err)
		})
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan struct{})
		go func() {
			defer close(done)
			w.run(ctx)
		}()
		note := func(name string) func(error) {
			return func(err error) {
				thenMu.Lock()
				thens = append(thens, name+":"+cti.ErrorCode(err))
				thenMu.Unlock()
			}
		}
		w.put(writeReq{w: cti.InteractionWrite{ID: "a", Start: &cti.Interaction{ID: "a"}}, then: note("a")})
		synctest.Wait()
		w.put(writeReq{w: cti.InteractionWrite{ID: "bad", Update: &cti.InteractionUpdate{Queue: strp("nosuch")}}, then: note("bad")})
		w.put(writeReq{w: cti.InteractionWrite{ID: "a", Finish: &cti.InteractionFinish{Outcome: cti.OutcomeAbandoned}}, then: note("a2")})
		time.Sleep(10 * time.Second)
		w.stop()
		<-done
		mu.Lock()
		defer mu.Unlock()
		if len(rounds) != 2 || len(rounds[0]) != 1 || rounds[0][0] != "a:start" || len(rounds[1]) != 2 {
			t.Fatalf("rounds %v: want the start alone (in flight while the store failed), then the two queued meanwhile", rounds)
		}
		if len(thens) != 3 || thens[0] != "a:" || thens[1] != "bad:"+cti.EINVALID || thens[2] != "a2:" {
			t.Errorf("then calls %v", thens)
		}
		if w.pending() != 0 {
			t.Errorf("%d writes left", w.pending())
		}
	})
}

// A stop while a caller's lookup is still out does not lose the call's row: the start, and the writes held behind it, are
// written as the engine stops (the restarted engine rebuilds the call and updates it).
func TestStopWritesInteractionsWaitingForTheirLookup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, func(_ *Config, crm *fakeCRM) { crm.lookupBlock = make(chan struct{}) })
		h.ready("a1")
		id := h.inbound("100.1", "+15551230001") // queued, offered: writes held behind the start
		if in := h.crm.interaction(id); in.ID != "" {
			t.Fatalf("the row was written before the lookup ended: %+v", in)
		}
		h.stop()
		synctest.Wait()
		in := h.crm.interaction(id)
		if in.ID != id || in.Queue != "general" || in.CallerNumber != "+15551230001" {
			t.Fatalf("after the stop the row is %+v, want the call's start and its queue", in)
		}
	})
}
