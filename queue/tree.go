package queue

import "slices"

// tree is an intrusive order-statistic treap: the caller owns the nodes (one per
// membership, embedded in calls and agents) so inserting allocates nothing, and
// Min, Rank, Insert and Delete cost O(log n) whatever the queue size. Items must
// be unique under less.
type tree[T any] struct {
	root *tnode[T]
	less func(a, b T) bool
	rng  uint64 // xorshift state for node priorities; only the shape depends on it
}

type tnode[T any] struct {
	item        T
	left, right *tnode[T]
	pri         uint32
	size        int32
}

func newTree[T any](less func(a, b T) bool) *tree[T] {
	return &tree[T]{less: less, rng: 0x9e3779b97f4a7c15}
}

func (t *tree[T]) Len() int { return int(t.root.sz()) }

func (n *tnode[T]) sz() int32 {
	if n == nil {
		return 0
	}
	return n.size
}

func (n *tnode[T]) fix() { n.size = 1 + n.left.sz() + n.right.sz() }

// Insert links n, which carries item, into the tree.
func (t *tree[T]) Insert(n *tnode[T], item T) {
	t.rng ^= t.rng << 13
	t.rng ^= t.rng >> 7
	t.rng ^= t.rng << 17
	n.item, n.left, n.right, n.pri, n.size = item, nil, nil, uint32(t.rng>>32), 1
	t.root = t.insert(t.root, n)
}

func (t *tree[T]) insert(root, n *tnode[T]) *tnode[T] {
	if root == nil {
		return n
	}
	if n.pri > root.pri {
		n.left, n.right = t.split(root, n.item)
		n.fix()
		return n
	}
	if t.less(n.item, root.item) {
		root.left = t.insert(root.left, n)
	} else {
		root.right = t.insert(root.right, n)
	}
	root.fix()
	return root
}

// split cuts n into items less than x and the rest.
func (t *tree[T]) split(n *tnode[T], x T) (l, r *tnode[T]) {
	if n == nil {
		return nil, nil
	}
	if t.less(n.item, x) {
		a, b := t.split(n.right, x)
		n.right = a
		n.fix()
		return n, b
	}
	a, b := t.split(n.left, x)
	n.left = b
	n.fix()
	return a, n
}

func merge[T any](l, r *tnode[T]) *tnode[T] {
	if l == nil {
		return r
	}
	if r == nil {
		return l
	}
	if l.pri > r.pri {
		l.right = merge(l.right, r)
		l.fix()
		return l
	}
	r.left = merge(l, r.left)
	r.fix()
	return r
}

// Delete unlinks item; it reports whether the item was found.
func (t *tree[T]) Delete(item T) bool {
	var found bool
	t.root = t.delete(t.root, item, &found)
	return found
}

func (t *tree[T]) delete(n *tnode[T], x T, found *bool) *tnode[T] {
	if n == nil {
		return nil
	}
	switch {
	case t.less(x, n.item):
		n.left = t.delete(n.left, x, found)
	case t.less(n.item, x):
		n.right = t.delete(n.right, x, found)
	default:
		*found = true
		m := merge(n.left, n.right)
		n.left, n.right = nil, nil
		return m
	}
	n.fix()
	return n
}

// Min returns the least item.
func (t *tree[T]) Min() (T, bool) {
	n := t.root
	if n == nil {
		var zero T
		return zero, false
	}
	for n.left != nil {
		n = n.left
	}
	return n.item, true
}

// Rank counts the items less than x.
func (t *tree[T]) Rank(x T) int {
	k := int32(0)
	for n := t.root; n != nil; {
		if t.less(n.item, x) {
			k += n.left.sz() + 1
			n = n.right
		} else {
			n = n.left
		}
	}
	return int(k)
}

// Ascend calls fn on items in order until fn returns false.
func (t *tree[T]) Ascend(fn func(T) bool) {
	var stack [64]*tnode[T]
	st := stack[:0]
	n := t.root
	for n != nil || len(st) > 0 {
		for n != nil {
			st = append(st, n)
			n = n.left
		}
		n = st[len(st)-1]
		st = st[:len(st)-1]
		if !fn(n.item) {
			return
		}
		n = n.right
	}
}

// timer is one pending deadline of an agent (offer, wrap-up) or a call (step,
// max wait, preference, announcement). Each owner has at most one timer: its
// earliest deadline. Timers due at the same instant fire agents' first, by
// id, then calls' in arrival order (seq), so the order survives
// Snapshot/Restore. Ties are common: a call arriving while another's
// announcement fires is announced at the same instants from then on. It names its owner by kind and
// handle (agent index or call slot), not by pointer, so calls hold no pointers.
type timer struct {
	at   int64
	own  uint32 // the owner's handle: agent index (kind 0) or call slot (kind 1)
	on   bool
	kind uint8 // 0 agent, 1 call
}

// timerOwners resolves a timer's handle to the timer and orders the owners
// of timers due at the same instant.
type timerOwners interface {
	timer(kind uint8, own uint32) *timer
	ownerLess(kind uint8, a, b uint32) bool
}

// timerHeap is a 4-ary min-heap on deadlines kept inline, so sifting reads
// only the heap's own array. Removing or moving a timer leaves its old entry
// behind, stale, to be skipped when it surfaces; the heap is rebuilt when
// stale entries outnumber live ones. An entry is stale unless its timer is
// still scheduled at its deadline: one left by a moved timer, or by a call
// gone whose slot a new call took, fires nothing — or, should that timer be
// due at the very same instant, fires it on time, as its own entry would.
//
// Most deadlines do not need the heap: a queue's announcements fall due at
// now + AnnounceEvery, its offers at now + OfferTimeout, its wrap-ups at
// now + WrapUp, its escalation steps at enqueued-at + After, so each comes in
// deadline order. Such a deadline is appended to a run, a FIFO of entries in
// deadline order, and only each run's head sits in the heap: popping the head
// pushes the next entry. A deadline earlier than its run's tail (a requeued
// call, a changed configuration) goes to the heap on its own, so runs are an
// optimisation only: the firing order is the heap's (deadline, kind, id).
type timerHeap struct {
	owners timerOwners
	h      []tentry
	live   int
	batch  []*timer
	runs   []run // run i+1 is runs[i]; 0 means no run
	queued int   // entries waiting in runs behind their heads
}

// tentry is 16 bytes: runs are read in order, four entries a cache line.
type tentry struct {
	at  int64
	run int32  // the run this entry heads, 0 for none
	ref uint32 // the timer's owner handle<<1 | kind (handles stay below 2^31: a call is 128 bytes)
}

func (e tentry) timer(o timerOwners) *timer { return o.timer(uint8(e.ref&1), e.ref>>1) }

// run is a FIFO of entries in deadline order; e[head] is in the heap.
type run struct {
	e    []tentry
	head int
}

// valid reports whether e's timer is still scheduled at e's deadline. It
// reads the timer, in its owner: most entries surfacing are valid, and their
// owner is read next anyway.
func (h *timerHeap) valid(e tentry) bool {
	t := e.timer(h.owners)
	return t.on && t.at == e.at
}

// less is the firing order of timers due at the same instant: by kind, then owner.
func (h *timerHeap) less(a, b *timer) bool {
	if a.kind != b.kind {
		return a.kind < b.kind
	}
	return h.owners.ownerLess(a.kind, a.own, b.own)
}

// newRun returns the id of a new, empty run.
func (h *timerHeap) newRun() int32 {
	h.runs = append(h.runs, run{})
	return int32(len(h.runs))
}

// set schedules t at at (or moves it there) in run r (0: the heap); at < 0
// unschedules it.
func (h *timerHeap) set(t *timer, at int64, r int32) {
	if at < 0 {
		h.remove(t)
		return
	}
	if t.on && t.at == at {
		return
	}
	if !t.on {
		h.live++
	}
	t.on, t.at = true, at
	e := tentry{at: at, ref: t.own<<1 | uint32(t.kind)}
	if r > 0 {
		ru := &h.runs[r-1]
		switch n := len(ru.e); {
		case n == ru.head: // empty: the entry heads it
			ru.e, ru.head = append(ru.e[:0], e), 0
			e.run = r
			h.push(e)
		case ru.e[n-1].at <= at:
			ru.e = append(ru.e, e)
			h.queued++
		default:
			h.push(e)
		}
	} else {
		h.push(e)
	}
	if len(h.h)+h.queued > 2*h.live+1024 {
		h.compact()
	}
}

func (h *timerHeap) remove(t *timer) {
	if !t.on {
		return
	}
	t.on = false
	h.live--
}

func (h *timerHeap) push(e tentry) {
	h.h = append(h.h, e)
	s := h.h
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 4
		if s[p].at <= e.at {
			break
		}
		s[i] = s[p]
		i = p
	}
	s[i] = e
}

// pop removes the heap's least entry; if it headed a run, the run's next
// entry takes its place.
func (h *timerHeap) pop() tentry {
	s := h.h
	top := s[0]
	if top.run > 0 {
		ru := &h.runs[top.run-1]
		ru.e[ru.head] = tentry{}
		ru.head++
		if ru.head < len(ru.e) {
			h.queued--
			next := ru.e[ru.head]
			next.run = top.run
			h.down(0, next)
			if ru.head >= 64 && ru.head*2 >= len(ru.e) {
				n := copy(ru.e, ru.e[ru.head:])
				clear(ru.e[n:])
				ru.e, ru.head = ru.e[:n], 0
			}
			return top
		}
		ru.e, ru.head = ru.e[:0], 0
	}
	last := len(s) - 1
	e := s[last]
	s[last] = tentry{}
	s = s[:last]
	h.h = s
	if last > 0 {
		h.down(0, e)
	}
	return top
}

// down places e at i or below.
func (h *timerHeap) down(i int, e tentry) {
	s := h.h
	n := len(s)
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		m := c
		end := min(c+4, n)
		for j := c + 1; j < end; j++ {
			if s[j].at < s[m].at {
				m = j
			}
		}
		if s[m].at >= e.at {
			break
		}
		s[i] = s[m]
		i = m
	}
	s[i] = e
}

// compact drops stale entries, from the heap and the runs, and re-heapifies.
func (h *timerHeap) compact() {
	s := h.h[:0]
	for _, e := range h.h {
		if e.run == 0 && h.valid(e) {
			s = append(s, e)
		}
	}
	clear(h.h[len(s):])
	h.queued = 0
	for i := range h.runs {
		ru := &h.runs[i]
		kept := ru.e[:0]
		for _, e := range ru.e[ru.head:] {
			if h.valid(e) {
				kept = append(kept, e)
			}
		}
		clear(ru.e[len(kept):])
		ru.e, ru.head = kept, 0
		if len(kept) > 0 {
			e := kept[0]
			e.run = int32(i + 1)
			s = append(s, e)
			h.queued += len(kept) - 1
		}
	}
	h.h = s
	for i := (len(s) - 2) / 4; i >= 0; i-- {
		h.down(i, s[i])
	}
}

// due returns the timers due at the earliest deadline not after now, in
// firing order, each once, and unschedules none of them: a timer fired
// earlier in the batch may remove or move a later one, which the caller
// checks. It returns nil when nothing is due.
func (h *timerHeap) due(now int64) ([]*timer, int64) {
	b := h.batch[:0]
	var at int64
	for len(h.h) > 0 && h.h[0].at <= now {
		if !h.valid(h.h[0]) {
			h.pop()
			continue
		}
		if len(b) > 0 && h.h[0].at != at {
			break
		}
		e := h.pop()
		// The timer stays scheduled until it fires.
		at = e.at
		b = append(b, e.timer(h.owners))
	}
	switch {
	case len(b) == 2: // the common case of a tie: no sort
		if b[0] == b[1] { // a stale entry of the same timer at the same instant
			b = b[:1]
		} else if h.less(b[1], b[0]) {
			b[0], b[1] = b[1], b[0]
		}
	case len(b) > 2:
		slices.SortFunc(b, func(x, y *timer) int {
			switch {
			case x == y:
				return 0
			case h.less(x, y):
				return -1
			}
			return 1
		})
		b = slices.Compact(b)
	}
	h.batch = b
	return b, at
}
