package queue

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestLine checks a line against a sorted list of (priority, number) under
// random arrivals, departures and returns of old calls (a failed offer puts a
// call back at its number, which may have been trimmed from its lane).
func TestLine(t *testing.T) {
	type entry struct {
		prio int8
		num  uint64
	}
	less := func(a, b entry) int { // line order: priority 9 first, then number
		if a.prio != b.prio {
			return int(b.prio) - int(a.prio)
		}
		return int(a.num) - int(b.num)
	}
	for seed := range 20 {
		rng := rand.New(rand.NewPCG(uint64(seed), 5))
		var l line
		var in []entry             // waiting, in line order
		var out []entry            // numbered, not waiting: may come back
		slot := map[entry]uint32{} // the slot given at insert
		prios := 1 + rng.IntN(4)   // how many priorities are in use
		for step := range 30000 {
			switch op := rng.IntN(10); {
			case op < 4 || len(in) == 0: // arrival
				e := entry{prio: int8(9 - rng.IntN(prios))}
				e.num = l.number(e.prio)
				slot[e] = uint32(step)
				l.insert(e.prio, e.num, slot[e])
				i, _ := slices.BinarySearchFunc(in, e, less)
				in = slices.Insert(in, i, e)
			case op < 8: // departure: mostly near the head, like answers
				i := rng.IntN(len(in))
				if op < 6 {
					i = rng.IntN(min(len(in), 3))
				}
				e := in[i]
				l.remove(e.prio, e.num)
				in = slices.Delete(in, i, i+1)
				if rng.IntN(4) == 0 {
					out = append(out, e)
				}
			case len(out) > 0: // a call comes back at its place
				j := rng.IntN(len(out))
				e := out[j]
				out = slices.Delete(out, j, j+1)
				l.insert(e.prio, e.num, slot[e])
				i, _ := slices.BinarySearchFunc(in, e, less)
				in = slices.Insert(in, i, e)
			}
			if l.n != len(in) {
				t.Fatalf("seed %d step %d: n %d, want %d", seed, step, l.n, len(in))
			}
			if len(in) > 0 {
				i := rng.IntN(len(in))
				if got := l.rank(in[i].prio, in[i].num); got != i {
					t.Fatalf("seed %d step %d: rank of %+v = %d, want %d", seed, step, in[i], got, i)
				}
			}
			if step%499 == 0 {
				var got []uint32
				l.each(func(s uint32) bool { got = append(got, s); return true })
				want := make([]uint32, len(in))
				for i, e := range in {
					want[i] = slot[e]
				}
				if !slices.Equal(got, want) {
					t.Fatalf("seed %d step %d: each gives %v, want %v", seed, step, got, want)
				}
				for p := range l.lanes {
					ln := &l.lanes[p]
					if ln.n > 0 && len(ln.words) > 64 && ln.head*2 >= len(ln.words) {
						t.Fatalf("seed %d step %d: lane %d keeps %d empty words of %d", seed, step, p, ln.head, len(ln.words))
					}
				}
			}
		}
	}
}
