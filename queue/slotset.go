package queue

import (
	"math/bits"
	"sort"
)

// slotSet is a set of call slots by key (call.key: priority, then arrival):
// up to two inline, more in runs. Most buckets hold a call or two (calls with
// skills of their own spread over many requirements), and inline the entries
// share the bucket's cache lines.
type slotSet struct {
	n    int // entries inline; big is empty while n > 0
	keys [2]uint64
	vals [2]uint32
	big  *runSet
}

// runSet holds a big bucket's calls as one arrival-order run per priority.
// Calls enter a bucket in arrival order (on arrival, or at a step change,
// which comes at enqueued-at + the step's after), so an insert is an append
// and the calls leaving at the front (taken by an agent, or moving on at the
// next step) are a pop, where a B+tree shifted its leaf and read its
// parents' counts. A call leaving from the middle (an abandon) is marked
// dead in place. Keys that come out of order (a call put back in line after
// a failed offer) go to a B+tree beside the runs. Insert returns the entry's
// position, which the caller keeps: Delete finds the entry there, without a
// binary search's misses in a run of tens of thousands, and searches only
// when the hint is stale.
type runSet struct {
	n    int
	runs [10]callRun // by 9-priority, as call.key's top byte
	some uint16      // bit p: runs[p] is not empty
	tree btree[uint32]
}

// callRun is a sorted array of entries from head on; dead entries keep their key
// so the order holds, and the front entry is always live.
type callRun struct {
	ents []runEntry
	off  uint32 // position of ents[0]: entries keep theirs while the front is dropped
	head int
	live int
}

type runEntry struct {
	key  uint64
	slot uint32
	dead bool
}

// Len returns the number of entries.
func (s *slotSet) Len() int {
	if s.big != nil {
		return s.n + s.big.n
	}
	return s.n
}

// Insert adds k with v; k must not be present. It returns a hint for Delete.
func (s *slotSet) Insert(k uint64, v uint32) uint32 {
	if (s.big == nil || s.big.n == 0) && s.n < len(s.keys) {
		i := s.n
		for ; i > 0 && s.keys[i-1] > k; i-- {
			s.keys[i], s.vals[i] = s.keys[i-1], s.vals[i-1]
		}
		s.keys[i], s.vals[i] = k, v
		s.n++
		return 0
	}
	if s.big == nil {
		s.big = &runSet{}
	}
	for i := range s.n { // full: move to the runs (their hints are lost: a search finds them)
		s.big.insert(s.keys[i], s.vals[i])
	}
	s.n = 0
	return s.big.insert(k, v)
}

// Delete removes k and reports whether it was present; hint is what Insert
// returned for k, or anything (then it searches).
func (s *slotSet) Delete(k uint64, hint uint32) bool {
	for i := range s.n {
		if s.keys[i] == k {
			for ; i+1 < s.n; i++ {
				s.keys[i], s.vals[i] = s.keys[i+1], s.vals[i+1]
			}
			s.n--
			return true
		}
	}
	return s.big != nil && s.big.delete(k, hint)
}

// Min returns the least key and its value.
func (s *slotSet) Min() (uint64, uint32, bool) {
	if s.n > 0 {
		return s.keys[0], s.vals[0], true
	}
	if s.big == nil {
		return 0, 0, false
	}
	return s.big.min()
}

func (b *runSet) insert(k uint64, v uint32) uint32 {
	b.n++
	p := k >> 56
	if p >= uint64(len(b.runs)) {
		b.tree.Insert(k, v)
		return 0
	}
	r := &b.runs[p]
	if n := len(r.ents); n > 0 && r.ents[n-1].key >= k {
		b.tree.Insert(k, v)
		return 0
	}
	if r.head >= 64 && 2*r.head >= len(r.ents) { // drop the popped front
		r.ents = r.ents[:copy(r.ents, r.ents[r.head:])]
		r.off += uint32(r.head)
		r.head = 0
	}
	r.ents = append(r.ents, runEntry{key: k, slot: v})
	r.live++
	b.some |= 1 << p
	return r.off + uint32(len(r.ents)-1)
}

func (b *runSet) delete(k uint64, hint uint32) bool {
	p := k >> 56
	if p >= uint64(len(b.runs)) {
		p = 0 // not in a run: runs[0] holds no such key
	}
	r := &b.runs[p]
	if r.live > 0 && k >= r.ents[r.head].key && k <= r.ents[len(r.ents)-1].key {
		lo := int(hint - r.off) // wraps past len when stale
		if lo < r.head || lo >= len(r.ents) || r.ents[lo].key != k {
			lo = r.head + sort.Search(len(r.ents)-r.head, func(i int) bool { return r.ents[r.head+i].key >= k })
		}
		if e := &r.ents[lo]; e.key == k && !e.dead {
			e.dead = true
			b.n--
			if r.live--; r.live == 0 {
				r.off += uint32(len(r.ents))
				r.ents, r.head = r.ents[:0], 0
				b.some &^= 1 << p
				return true
			}
			for r.ents[r.head].dead {
				r.head++
			}
			return true
		}
	}
	if b.tree.Delete(k) {
		b.n--
		return true
	}
	return false
}

func (b *runSet) min() (uint64, uint32, bool) {
	tk, tv, ok := b.tree.Min()
	if b.some == 0 {
		return tk, tv, ok
	}
	// The lowest non-empty run has the least key among the runs.
	r := &b.runs[bits.TrailingZeros16(b.some)]
	e := r.ents[r.head]
	if ok && tk < e.key {
		return tk, tv, true
	}
	return e.key, e.slot, true
}
