package engine

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
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
	ws, owner := fold(batch, false)
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

// A new call's start carries the updates that follow it in the batch when it can (its queue, its customer, its agent): one
// insert rather than an insert and updates. Not an answer or a recording (the store writes events for those), nor a move to
// another queue (the store keeps the queue left); the caller's start and maps stay as they were.
func TestFoldCarriesUpdatesInTheStart(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	start := &cti.Interaction{ID: "x", CallerNumber: "100", ArrivedAt: t0, Inputs: map[string]string{"lang": "en"}}
	t1, t2 := t0.Add(time.Second), t0.Add(2*time.Second)
	version := 3
	batch := []writeReq{
		{w: cti.InteractionWrite{ID: "x", Start: start}},
		{w: cti.InteractionWrite{ID: "x", Update: &cti.InteractionUpdate{Queue: strp("sales"), QueuedAt: &t1,
			Inputs: map[string]string{"pin": "*"}, IVRPath: []cti.IVRStep{{Node: "menu"}}}}},
		{w: cti.InteractionWrite{ID: "y", Start: &cti.Interaction{ID: "y", Queue: "sales"}}},
		{w: cti.InteractionWrite{ID: "x", Update: &cti.InteractionUpdate{CustomerID: strp("c1"), AgentID: strp("a1"), OfferedAt: &t2,
			ChannelID: strp("ch"), BridgeID: strp("br"), ScriptID: strp("s1"), ScriptVersion: &version}}},
		{w: cti.InteractionWrite{ID: "y", Update: &cti.InteractionUpdate{Queue: strp("general")}}}, // a move: apart
		{w: cti.InteractionWrite{ID: "x", Update: &cti.InteractionUpdate{AnsweredAt: &t2}}},        // an answer: apart
		{w: cti.InteractionWrite{ID: "x", Update: &cti.InteractionUpdate{Queue: strp("sales")}}},   // follows the answer: merged with it
	}
	ws, owner := fold(batch, true)
	var kinds []string
	for _, w := range ws {
		kinds = append(kinds, w.ID+":"+w.Kind())
	}
	if want := []string{"x:start", "y:start", "y:update", "x:update"}; !slices.Equal(kinds, want) {
		t.Fatalf("folded to %v, want %v", kinds, want)
	}
	in := ws[0].Start
	if in.Queue != "sales" || !in.QueuedAt.Equal(t1) || in.CustomerID != "c1" || in.AgentID != "a1" || !in.OfferedAt.Equal(t2) ||
		in.ChannelID != "ch" || in.BridgeID != "br" || in.ScriptID != "s1" || in.ScriptVersion != 3 || in.CallerNumber != "100" ||
		!in.AnsweredAt.IsZero() || len(in.IVRPath) != 1 || in.Inputs["lang"] != "en" || in.Inputs["pin"] != "*" {
		t.Errorf("the start with its updates: %+v", in)
	}
	if start.Queue != "" || len(start.Inputs) != 1 {
		t.Errorf("the caller's start was changed: %+v", start)
	}
	if !slices.Equal(owner[0], []int{0, 1, 3}) || !slices.Equal(owner[3], []int{5, 6}) {
		t.Errorf("owners %v", owner)
	}
}

// A start refused with the updates it carried is written again apart from them: a bad update (a queue deleted meanwhile)
// must not cost the call its row.
func TestWriterWritesARefusedStartApartFromItsUpdates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rounds [][]string
		store := writeFunc(func(_ context.Context, ws []cti.InteractionWrite) ([]error, error) {
			var round []string
			rejected := make([]error, len(ws))
			for i, w := range ws {
				round = append(round, w.Kind())
				if (w.Start != nil && w.Start.Queue == "nosuch") || (w.Update != nil && w.Update.Queue != nil && *w.Update.Queue == "nosuch") {
					rejected[i] = cti.Invalid("queue", "no such queue")
				}
			}
			rounds = append(rounds, round)
			return rejected, nil
		})
		var thens []string
		w := newInteractionWriter(store, slog.New(slog.DiscardHandler), nil, time.Second, 10*time.Millisecond,
			func(then func(error), err error) { then(err) })
		note := func(name string) func(error) {
			return func(err error) { thens = append(thens, name+":"+cti.ErrorCode(err)) }
		}
		w.put(writeReq{w: cti.InteractionWrite{ID: "a", Start: &cti.Interaction{ID: "a"}}, then: note("start")})
		w.put(writeReq{w: cti.InteractionWrite{ID: "a", Update: &cti.InteractionUpdate{Queue: strp("nosuch")}}, then: note("queue")})
		w.stop()
		w.run(context.Background())
		if want := [][]string{{"start"}, {"start", "update"}}; len(rounds) != 2 || !slices.Equal(rounds[0], want[0]) ||
			!slices.Equal(rounds[1], want[1]) {
			t.Fatalf("rounds %v, want %v", rounds, want)
		}
		if want := []string{"start:", "queue:" + cti.EINVALID}; !slices.Equal(thens, want) {
			t.Errorf("then calls %v, want %v", thens, want)
		}
	})
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
		w := newInteractionWriter(store, slog.New(slog.DiscardHandler), nil, time.Second, 10*time.Millisecond,
			func(then func(error), err error) { then(err) })
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

// A batch starts no sooner than the window after the previous one started: a burst inside the window is one batch, a write
// after a quiet spell goes at once, a full batch does not wait, and a stop writes what is queued at once.
func TestWriterGathersWithinTheWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const window = 10 * time.Millisecond
		type round struct {
			at  time.Duration // since t0
			ids []string
		}
		t0 := time.Now()
		var mu sync.Mutex
		var rounds []round
		store := writeFunc(func(_ context.Context, ws []cti.InteractionWrite) ([]error, error) {
			r := round{at: time.Since(t0)}
			for _, w := range ws {
				r.ids = append(r.ids, w.ID)
			}
			mu.Lock()
			rounds = append(rounds, r)
			mu.Unlock()
			time.Sleep(2 * time.Millisecond) // the database's time: the window counts from the batch's start
			return nil, nil
		})
		take := func() []round {
			mu.Lock()
			defer mu.Unlock()
			r := rounds
			rounds = nil
			return r
		}
		var thens []string // appended on the writer's goroutine
		w := newInteractionWriter(store, slog.New(slog.DiscardHandler), nil, time.Second, window, func(then func(error), err error) {
			mu.Lock()
			then(err)
			mu.Unlock()
		})
		done := make(chan struct{})
		go func() {
			defer close(done)
			w.run(context.Background())
		}()
		put := func(ids ...string) {
			for _, id := range ids {
				w.put(writeReq{w: cti.InteractionWrite{ID: id, Start: &cti.Interaction{ID: id}},
					then: func(err error) { thens = append(thens, id) }})
			}
		}

		put("a") // the first write: at once
		synctest.Wait()
		if got := take(); len(got) != 1 || got[0].at != 0 || !slices.Equal(got[0].ids, []string{"a"}) {
			t.Fatalf("rounds %v, want [a] at once", got)
		}
		put("b", "c") // while a is written
		time.Sleep(5 * time.Millisecond)
		put("d") // after a, inside the window
		synctest.Wait()
		if got := take(); len(got) != 0 {
			t.Fatalf("rounds %v inside the window, want none", got)
		}
		time.Sleep(window)
		if got := take(); len(got) != 1 || got[0].at != window || !slices.Equal(got[0].ids, []string{"b", "c", "d"}) {
			t.Fatalf("rounds %v, want [b c d] one window after a", got)
		}
		mu.Lock()
		if !slices.Equal(thens, []string{"a", "b", "c", "d"}) {
			t.Errorf("then calls %v, want a, b, c, d once written", thens)
		}
		mu.Unlock()

		time.Sleep(time.Second) // a quiet spell: the next write goes at once
		at := time.Since(t0)
		put("e")
		synctest.Wait()
		if got := take(); len(got) != 1 || got[0].at != at || !slices.Equal(got[0].ids, []string{"e"}) {
			t.Fatalf("rounds %v, want [e] at once at %v", got, at)
		}

		// A full batch queued while e is written does not wait for the window.
		full := make([]string, maxWriteBatch)
		for i := range full {
			full[i] = "f" + strconv.Itoa(i)
		}
		put(full...)
		time.Sleep(2 * time.Millisecond) // e is written
		synctest.Wait()
		if got := take(); len(got) != 1 || got[0].at != at+2*time.Millisecond || len(got[0].ids) != maxWriteBatch {
			t.Fatalf("%d rounds, want one full batch at once after e", len(got))
		}

		// A stop does not wait for the window either.
		time.Sleep(2 * time.Millisecond)
		at = time.Since(t0)
		put("g", "h")
		synctest.Wait() // gathering
		if got := take(); len(got) != 0 {
			t.Fatalf("rounds %v inside the window, want none", got)
		}
		w.stop()
		<-done
		if got := take(); len(got) != 1 || got[0].at != at || !slices.Equal(got[0].ids, []string{"g", "h"}) {
			t.Fatalf("rounds %v, want [g h] at once at %v on the stop", got, at)
		}
		if len(thens) != 7+maxWriteBatch || w.pending() != 0 {
			t.Errorf("%d then calls, %d writes left", len(thens), w.pending())
		}
	})
}

// The window holds the database write, not the call: the caller is queued and offered to an agent while the queue's write is
// still gathering, and it is written one window after the start.
func TestWriteWindowDelaysNoCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := start(t, func(cfg *Config, _ *fakeCRM) { cfg.WriteWindow = 0 }) // the default
		h.ready("a1")
		h.post(entered("100.1", "+15551230001", "inbound"))
		h.contains("Answer 100.1", "Play 100.1 sb-call1-p1 sound:sb/welcome")
		if in := h.crm.interaction("call1"); in.ID != "call1" {
			t.Fatalf("the start after a quiet spell was not written at once: %+v", in)
		}
		h.post(cti.PlaybackFinished{PlaybackID: "sb-call1-p1", State: "done"})
		h.contains("Originate sb-agent-call1-1 PJSIP/1001 agent,call1")
		if in := h.crm.interaction("call1"); in.Queue != "" {
			t.Fatalf("queued inside the window: written already %+v", in)
		}
		time.Sleep(DefaultWriteWindow)
		synctest.Wait()
		if in := h.crm.interaction("call1"); in.Queue != "general" || in.QueuedAt.IsZero() {
			t.Fatalf("one window later the row is %+v, want its queue", in)
		}
	})
}
