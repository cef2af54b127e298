package queue

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
// earliest deadline. Ties are broken by (kind, id) so timers fire in an order
// that survives Snapshot/Restore.
type timer struct {
	at   int64
	kind uint8 // 0 agent, 1 call
	id   string
	idx  int // position in the heap, -1 when not scheduled
	a    *agent
	c    *call
}

type timerHeap []*timer

func timerLess(a, b *timer) bool {
	if a.at != b.at {
		return a.at < b.at
	}
	if a.kind != b.kind {
		return a.kind < b.kind
	}
	return a.id < b.id
}

func (h *timerHeap) up(i int) {
	s := *h
	for i > 0 {
		p := (i - 1) / 2
		if !timerLess(s[i], s[p]) {
			break
		}
		s[i], s[p] = s[p], s[i]
		s[i].idx, s[p].idx = i, p
		i = p
	}
}

func (h *timerHeap) down(i int) {
	s := *h
	for {
		l := 2*i + 1
		if l >= len(s) {
			return
		}
		m := l
		if r := l + 1; r < len(s) && timerLess(s[r], s[l]) {
			m = r
		}
		if !timerLess(s[m], s[i]) {
			return
		}
		s[i], s[m] = s[m], s[i]
		s[i].idx, s[m].idx = i, m
		i = m
	}
}

// set schedules t at at (or moves it there); at < 0 unschedules it.
func (h *timerHeap) set(t *timer, at int64) {
	if at < 0 {
		h.remove(t)
		return
	}
	if t.idx >= 0 {
		t.at = at
		h.up(t.idx)
		h.down(t.idx)
		return
	}
	t.at = at
	t.idx = len(*h)
	*h = append(*h, t)
	h.up(t.idx)
}

func (h *timerHeap) remove(t *timer) {
	i := t.idx
	if i < 0 {
		return
	}
	s := *h
	last := len(s) - 1
	if i != last {
		s[i] = s[last]
		s[i].idx = i
	}
	s[last] = nil
	*h = s[:last]
	t.idx = -1
	if i != last {
		h.up(i)
		h.down(i)
	}
}

func (h timerHeap) peek() *timer {
	if len(h) == 0 {
		return nil
	}
	return h[0]
}
