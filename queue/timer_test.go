package queue

import (
	"cmp"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
)

// TestTimerHeapRuns checks the timer heap, runs included, against a plain
// list: timers scheduled, moved and removed at random, into runs or the
// heap, in or out of order, fire in (deadline, kind, owner) order, each at its
// latest deadline, whatever the shape of the runs and compactions.
func TestTimerHeapRuns(t *testing.T) {
	for seed := range 20 {
		rng := rand.New(rand.NewPCG(uint64(seed), 5))
		ts := make(testTimers, 300)
		h := timerHeap{owners: ts}
		runs := []int32{0, h.newRun(), h.newRun(), h.newRun()}
		for i := range ts {
			if i%3 == 0 {
				ts[i] = &timer{kind: 0, own: uint32(i)}
			} else {
				ts[i] = &timer{kind: 1, own: uint32(i)}
			}
		}
		now := int64(0)
		for range 20000 {
			switch x := rng.IntN(10); {
			case x < 6:
				tm := ts[rng.IntN(len(ts))]
				at := now + 1 + rng.Int64N(50)
				switch x {
				case 0:
					at = now + 1 + rng.Int64N(3) // ties
				case 1:
					at = now + 1 + rng.Int64N(100_000) // far: left stale, compacted
				}
				h.set(tm, at, runs[rng.IntN(len(runs))])
			case x < 7:
				h.remove(ts[rng.IntN(len(ts))])
			default:
				now += rng.Int64N(5)
				// Expected: every scheduled timer due by now, in order.
				var want []*timer
				for _, tm := range ts {
					if tm.on && tm.at <= now {
						want = append(want, tm)
					}
				}
				slices.SortFunc(want, func(x, y *timer) int {
					if c := cmp.Compare(x.at, y.at); c != 0 {
						return c
					}
					if h.less(x, y) {
						return -1
					}
					return 1
				})
				var got []*timer
				for {
					batch, at := h.due(now)
					if len(batch) == 0 {
						break
					}
					for _, tm := range batch {
						if tm.at != at || !tm.on {
							t.Fatalf("seed %d: timer %d/%d fired at %d, scheduled %d on %v", seed, tm.kind, tm.own, at, tm.at, tm.on)
						}
						h.remove(tm)
						got = append(got, tm)
					}
				}
				if !slices.Equal(got, want) {
					t.Fatalf("seed %d now %d: fired %d timers, want %d, or in another order", seed, now, len(got), len(want))
				}
			}
		}
		if h.live < 0 || h.queued < 0 {
			t.Fatalf("seed %d: live %d queued %d", seed, h.live, h.queued)
		}
	}
}

// testTimers owns the timers of TestTimerHeapRuns: timer i has handle i;
// owners of the same kind are ordered by handle, backwards for agents.
type testTimers []*timer

func (ts testTimers) timer(_ uint8, own uint32) *timer { return ts[own] }

func (ts testTimers) ownerLess(kind uint8, a, b uint32) bool {
	if kind == 0 {
		return a > b
	}
	return a < b
}

// TestCallLayout holds the layout the timer path relies on (see call): 128
// bytes a call, and every field declared before st, the first of its second
// cache line, within the first 64.
func TestCallLayout(t *testing.T) {
	ct := reflect.TypeFor[call]()
	if ct.Size() != 128 {
		t.Errorf("call is %d bytes, want 128: adjust its padding", ct.Size())
	}
	for i := range ct.NumField() {
		f := ct.Field(i)
		if f.Name == "st" {
			break
		}
		if end := f.Offset + f.Type.Size(); end > 64 {
			t.Errorf("call.%s ends at byte %d, past the first cache line", f.Name, end)
		}
	}
}
