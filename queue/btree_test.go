package queue

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestBTree checks the B+tree against a sorted slice under random inserts and
// deletes, including runs that grow it to several levels and drain it again.
func TestBTree(t *testing.T) {
	for seed := range 20 {
		rng := rand.New(rand.NewPCG(uint64(seed), 3))
		var tr btree[int]
		var ref []uint64
		keyRange := uint64(50 + rng.IntN(20000))
		for step := range 20000 {
			grow := step < 10000 || rng.IntN(3) == 0
			k := rng.Uint64N(keyRange)
			i, found := slices.BinarySearch(ref, k)
			if grow && !found {
				tr.Insert(k, int(k))
				ref = slices.Insert(ref, i, k)
			} else if !grow {
				if got := tr.Delete(k); got != found {
					t.Fatalf("seed %d: Delete(%d) = %v, want %v", seed, k, got, found)
				}
				if found {
					ref = slices.Delete(ref, i, i+1)
				}
			}
			if tr.Len() != len(ref) {
				t.Fatalf("seed %d: Len %d, want %d", seed, tr.Len(), len(ref))
			}
			if r := tr.Rank(k); r != i {
				t.Fatalf("seed %d: Rank(%d) = %d, want %d", seed, k, r, i)
			}
			ck, cv, ok := tr.Ceil(k)
			j, _ := slices.BinarySearch(ref, k)
			if ok != (j < len(ref)) || ok && (ck != ref[j] || cv != int(ref[j])) {
				t.Fatalf("seed %d: Ceil(%d) = %d %v", seed, k, ck, ok)
			}
			if step%997 == 0 {
				var got []uint64
				tr.Ascend(func(k uint64, v int) bool { got = append(got, k); return true })
				if !slices.Equal(got, ref) && len(ref) > 0 {
					t.Fatalf("seed %d: Ascend differs", seed)
				}
				if m, _, ok := tr.Min(); ok != (len(ref) > 0) || ok && m != ref[0] {
					t.Fatalf("seed %d: Min = %d", seed, m)
				}
			}
		}
		for len(ref) > 0 {
			k := ref[rng.IntN(len(ref))]
			i, _ := slices.BinarySearch(ref, k)
			ref = slices.Delete(ref, i, i+1)
			if !tr.Delete(k) || tr.Len() != len(ref) {
				t.Fatalf("seed %d: drain Delete(%d)", seed, k)
			}
		}
		if tr.root != nil {
			t.Fatalf("seed %d: empty tree keeps a root", seed)
		}
	}
}

// TestSlotSet checks a slot set against a sorted slice while it moves between
// its inline entries and its tree: sizes stay small, around the switch.
func TestSlotSet(t *testing.T) {
	for seed := range 20 {
		rng := rand.New(rand.NewPCG(uint64(seed), 4))
		var s slotSet
		var ref []uint64
		for step := range 20000 {
			k := rng.Uint64N(12)
			i, found := slices.BinarySearch(ref, k)
			if rng.IntN(2) == 0 && !found && len(ref) < 6 {
				s.Insert(k, uint32(k)+100)
				ref = slices.Insert(ref, i, k)
			} else {
				if got := s.Delete(k, rng.Uint32()); got != found {
					t.Fatalf("seed %d step %d: Delete(%d) = %v, want %v", seed, step, k, got, found)
				}
				if found {
					ref = slices.Delete(ref, i, i+1)
				}
			}
			if s.Len() != len(ref) {
				t.Fatalf("seed %d step %d: Len %d, want %d", seed, step, s.Len(), len(ref))
			}
			mk, mv, ok := s.Min()
			if ok != (len(ref) > 0) || ok && (mk != ref[0] || mv != uint32(ref[0])+100) {
				t.Fatalf("seed %d step %d: Min = %d %d %v, want %v", seed, step, mk, mv, ok, ref)
			}
			if s.n > 0 && s.big != nil && s.big.n > 0 {
				t.Fatalf("seed %d step %d: %d inline and %d in runs", seed, step, s.n, s.big.n)
			}
		}
	}
}

// TestSlotSetRuns checks a big slot set against a sorted slice with keys as
// calls have them: priorities 0–2 over arrival numbers that mostly grow, some
// put back after leaving (out of order, into the tree), removed from the
// front and from anywhere.
func TestSlotSetRuns(t *testing.T) {
	for seed := range 10 {
		rng := rand.New(rand.NewPCG(uint64(seed), 5))
		var s slotSet
		var ref, gone []uint64
		hints := map[uint64]uint32{}
		// hint is Insert's, or, one time in four, a stale one: Delete then searches.
		hint := func(k uint64) uint32 {
			if rng.IntN(4) == 0 {
				return rng.Uint32()
			}
			return hints[k]
		}
		seq := uint64(0)
		for step := range 50000 {
			switch op := rng.IntN(10); {
			case op < 4 || len(ref) == 0:
				seq++
				k := uint64(9-rng.IntN(3))<<56 | seq
				if op == 0 && len(gone) > 0 { // a call put back in line
					j := rng.IntN(len(gone))
					k = gone[j]
					gone = slices.Delete(gone, j, j+1)
				}
				hints[k] = s.Insert(k, uint32(k))
				i, _ := slices.BinarySearch(ref, k)
				ref = slices.Insert(ref, i, k)
			case op < 7: // the best call leaves
				if !s.Delete(ref[0], hint(ref[0])) {
					t.Fatalf("seed %d step %d: Delete(min %x) = false", seed, step, ref[0])
				}
				gone = append(gone, ref[0])
				ref = ref[1:]
			default: // any call leaves; and one that is not there is not found
				i := rng.IntN(len(ref))
				if !s.Delete(ref[i], hint(ref[i])) {
					t.Fatalf("seed %d step %d: Delete(%x) = false", seed, step, ref[i])
				}
				if s.Delete(ref[i], hint(ref[i])) {
					t.Fatalf("seed %d step %d: Delete(%x) twice = true", seed, step, ref[i])
				}
				gone = append(gone, ref[i])
				ref = slices.Delete(ref, i, i+1)
			}
			if s.Len() != len(ref) {
				t.Fatalf("seed %d step %d: Len %d, want %d", seed, step, s.Len(), len(ref))
			}
			mk, mv, ok := s.Min()
			if ok != (len(ref) > 0) || ok && (mk != ref[0] || mv != uint32(ref[0])) {
				t.Fatalf("seed %d step %d: Min = %x %d %v, want %x", seed, step, mk, mv, ok, ref[0])
			}
		}
	}
}
