package queue

import "math/bits"

// line holds a queue's waiting calls in line order — priority, then arrival
// — and answers a call's position from a few hundred bytes per priority
// rather than a leaf of a tree of all the calls. A due announcement reads it
// for every waiting call once a minute; a tree's leaf, last touched a minute
// before, was a cache miss each time.
//
// Each priority has a lane: its calls numbered in arrival order within the
// queue (call.ln), a bitmap of the numbers still waiting and a Fenwick tree of
// the bitmap's word counts, so a position is the waiting calls of higher
// priorities plus a prefix sum and a popcount.
type line struct {
	n     int
	lanes [10]lane // by priority
}

// lane is one priority of a line. It covers the numbers from base to
// base+64*len(words); the words before head are empty, and dropped once
// they are half of them, so a lane's size follows the arrivals between its
// oldest waiting call and its newest, not all arrivals ever.
type lane struct {
	next  uint64   // the number of the next arrival
	base  uint64   // the number of bit 0 of words[0]
	words []uint64 // bit i of words[w]: number base+64w+i waits
	fen   []int32  // Fenwick tree over the words' popcounts (fen[i] is 1-based node i+1)
	slots []uint32 // the slot of each number from base, while it waits
	head  int      // words[:head] are empty
	n     int
}

// number gives a call arriving at priority prio its place in the lane.
func (l *line) number(prio int8) uint64 {
	ln := &l.lanes[prio]
	n := ln.next
	ln.next++
	return n
}

// insert adds the call in slot s, numbered num, at priority prio.
func (l *line) insert(prio int8, num uint64, s uint32) {
	l.lanes[prio].insert(num, s)
	l.n++
}

// remove takes the call numbered num at priority prio out.
func (l *line) remove(prio int8, num uint64) {
	l.lanes[prio].remove(num)
	l.n--
}

// rank counts the calls ahead of the call numbered num at priority prio.
func (l *line) rank(prio int8, num uint64) int {
	r := 0
	for p := int(prio) + 1; p < len(l.lanes); p++ {
		r += l.lanes[p].n
	}
	return r + l.lanes[prio].rank(num)
}

// each calls fn on the waiting calls' slots in line order until fn returns false.
func (l *line) each(fn func(s uint32) bool) {
	for p := len(l.lanes) - 1; p >= 0; p-- {
		if !l.lanes[p].each(fn) {
			return
		}
	}
}

// first returns the slot of the earliest arrival of each priority that has
// calls waiting.
func (l *line) first(fn func(s uint32)) {
	for p := range l.lanes {
		l.lanes[p].each(func(s uint32) bool { fn(s); return false })
	}
}

func (ln *lane) insert(num uint64, s uint32) {
	if num < ln.base {
		ln.prepend(int((ln.base - num + 63) / 64))
	}
	i := num - ln.base
	w := int(i / 64)
	for w >= len(ln.words) {
		ln.grow()
	}
	ln.words[w] |= 1 << (i % 64)
	ln.slots[i] = s
	ln.add(w, 1)
	if w < ln.head {
		ln.head = w
	}
	ln.n++
}

func (ln *lane) remove(num uint64) {
	i := num - ln.base
	w := int(i / 64)
	ln.words[w] &^= 1 << (i % 64)
	ln.add(w, -1)
	ln.n--
	for ln.head < len(ln.words) && ln.words[ln.head] == 0 {
		ln.head++
	}
	if ln.head >= 16 && ln.head*2 >= len(ln.words) {
		ln.trim()
	}
}

// rank counts the waiting calls numbered below num.
func (ln *lane) rank(num uint64) int {
	i := num - ln.base
	w := int(i / 64)
	r := bits.OnesCount64(ln.words[w] & (1<<(i%64) - 1))
	for j := w; j > 0; j &= j - 1 {
		r += int(ln.fen[j-1])
	}
	return r
}

func (ln *lane) each(fn func(s uint32) bool) bool {
	for w := ln.head; w < len(ln.words); w++ {
		for m := ln.words[w]; m != 0; m &= m - 1 {
			if !fn(ln.slots[w*64+bits.TrailingZeros64(m)]) {
				return false
			}
		}
	}
	return true
}

// add adds d to word w's count in the Fenwick tree.
func (ln *lane) add(w, d int) {
	for j := w + 1; j <= len(ln.fen); j += j & -j {
		ln.fen[j-1] += int32(d)
	}
}

// grow appends an empty word and its Fenwick node.
func (ln *lane) grow() {
	ln.words = append(ln.words, 0)
	ln.slots = append(ln.slots, make([]uint32, 64)...)
	j := len(ln.words)
	// Node j covers words j-lowbit(j)+1 … j (1-based), the new one empty:
	// walking down from j-1 visits exactly the nodes that cover the others.
	var sum int32
	for k := j - 1; k > j-(j&-j); k &= k - 1 {
		sum += ln.fen[k-1]
	}
	ln.fen = append(ln.fen, sum)
}

// trim drops the empty words before head.
func (ln *lane) trim() {
	h := ln.head
	n := copy(ln.words, ln.words[h:])
	ln.words = ln.words[:n]
	n = copy(ln.slots, ln.slots[h*64:])
	ln.slots = ln.slots[:n]
	ln.base += uint64(h) * 64
	ln.head = 0
	ln.rebuild()
}

// prepend adds k empty words in front, for a call put back in line (after a
// failed offer) whose number was trimmed meanwhile.
func (ln *lane) prepend(k int) {
	ln.words = append(make([]uint64, k, k+len(ln.words)), ln.words...)
	ln.slots = append(make([]uint32, 64*k, 64*len(ln.words)), ln.slots...)
	ln.base -= uint64(k) * 64
	ln.head = 0
	ln.rebuild()
}

func (ln *lane) rebuild() {
	ln.fen = ln.fen[:0]
	for _, w := range ln.words {
		ln.fen = append(ln.fen, int32(bits.OnesCount64(w)))
	}
	for j := 1; j <= len(ln.fen); j++ {
		if p := j + j&-j; p <= len(ln.fen) {
			ln.fen[p-1] += ln.fen[j-1]
		}
	}
}
