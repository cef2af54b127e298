package queue

// btree is an order-statistic B+tree of unique uint64 keys, each with a value.
// Keys sit inline in arrays of up to bMax per node, so a search touches a few
// cache lines per level and a queue of thousands of calls is two levels deep;
// inner nodes keep their children's sizes, so Rank costs the same. The zero
// value is an empty tree.
//
// Nodes are merged with a neighbour when both fit in one, never split below
// bMax/2 on insert, and a root with one child is dropped, so the tree stays
// O(log n) deep under any sequence of inserts and deletes.
type btree[V any] struct {
	root  *bnode[V]
	n     int
	spare *bnode[V] // the last root leaf, kept for reuse when the tree empties
}

const bMax = 64

type bnode[V any] struct {
	// keys: a leaf's keys; an inner node's lower bound of each child (every
	// key of child i is ≥ keys[i] and < keys[i+1]).
	keys []uint64
	vals []V         // leaf only
	kids []*bnode[V] // inner only
	cnt  []int32     // inner only: size of each child's subtree
}

func (n *bnode[V]) leaf() bool { return n.kids == nil }

func newLeaf[V any]() *bnode[V] {
	return &bnode[V]{keys: make([]uint64, 0, 4), vals: make([]V, 0, 4)}
}

func newInner[V any]() *bnode[V] {
	return &bnode[V]{keys: make([]uint64, 0, bMax+1), kids: make([]*bnode[V], 0, bMax+1), cnt: make([]int32, 0, bMax+1)}
}

// upper returns how many of the sorted keys are ≤ k.
func upper(keys []uint64, k uint64) int {
	lo, hi := 0, len(keys)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if keys[m] <= k {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// lower returns how many of the sorted keys are < k.
func lower(keys []uint64, k uint64) int {
	lo, hi := 0, len(keys)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if keys[m] < k {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// child returns the index of the child of inner node n that may hold k.
func (n *bnode[V]) child(k uint64) int {
	i := upper(n.keys, k) - 1
	if i < 0 {
		i = 0
	}
	return i
}

func (n *bnode[V]) size() int32 {
	if n.leaf() {
		return int32(len(n.keys))
	}
	var s int32
	for _, c := range n.cnt {
		s += c
	}
	return s
}

// Len returns the number of keys.
func (t *btree[V]) Len() int { return t.n }

// Insert adds k with v; k must not be present.
func (t *btree[V]) Insert(k uint64, v V) {
	if t.root == nil {
		// A bucket empties and fills again all day: reuse its leaf.
		t.root, t.spare = t.spare, nil
		if t.root == nil {
			t.root = newLeaf[V]()
		}
	}
	if s := t.insert(t.root, k, v); s != nil {
		r := newInner[V]()
		old := t.root
		r.keys = append(r.keys, old.keys[0], s.keys[0])
		r.kids = append(r.kids, old, s)
		r.cnt = append(r.cnt, old.size(), s.size())
		t.root = r
	}
	t.n++
}

// insert returns the new right sibling when n split.
func (t *btree[V]) insert(n *bnode[V], k uint64, v V) *bnode[V] {
	if n.leaf() {
		i := upper(n.keys, k)
		n.keys = append(n.keys, 0)
		copy(n.keys[i+1:], n.keys[i:])
		n.keys[i] = k
		var zero V
		n.vals = append(n.vals, zero)
		copy(n.vals[i+1:], n.vals[i:])
		n.vals[i] = v
		if len(n.keys) <= bMax {
			return nil
		}
		h := len(n.keys) / 2
		// A split leaf is in a big tree, where inserts come mostly at the
		// right end (calls arrive in seq order): give it its full size at once.
		s := &bnode[V]{keys: make([]uint64, 0, bMax+1), vals: make([]V, 0, bMax+1)}
		s.keys = append(s.keys, n.keys[h:]...)
		s.vals = append(s.vals, n.vals[h:]...)
		clear(n.vals[h:])
		n.keys, n.vals = n.keys[:h], n.vals[:h]
		return s
	}
	i := n.child(k)
	if k < n.keys[i] {
		n.keys[i] = k
	}
	n.cnt[i]++
	s := t.insert(n.kids[i], k, v)
	if s == nil {
		return nil
	}
	ss := s.size()
	n.cnt[i] -= ss
	n.keys = append(n.keys, 0)
	copy(n.keys[i+2:], n.keys[i+1:])
	n.keys[i+1] = s.keys[0]
	n.kids = append(n.kids, nil)
	copy(n.kids[i+2:], n.kids[i+1:])
	n.kids[i+1] = s
	n.cnt = append(n.cnt, 0)
	copy(n.cnt[i+2:], n.cnt[i+1:])
	n.cnt[i+1] = ss
	if len(n.kids) <= bMax {
		return nil
	}
	h := len(n.kids) / 2
	r := newInner[V]()
	r.keys = append(r.keys, n.keys[h:]...)
	r.kids = append(r.kids, n.kids[h:]...)
	r.cnt = append(r.cnt, n.cnt[h:]...)
	clear(n.kids[h:])
	n.keys, n.kids, n.cnt = n.keys[:h], n.kids[:h], n.cnt[:h]
	return r
}

// Delete removes k and reports whether it was present.
func (t *btree[V]) Delete(k uint64) bool {
	if t.root == nil || !t.delete(t.root, k) {
		return false
	}
	t.n--
	for !t.root.leaf() && len(t.root.kids) == 1 {
		t.root = t.root.kids[0]
	}
	if t.n == 0 {
		if t.root.leaf() {
			t.spare = t.root
		}
		t.root = nil
	}
	return true
}

func (t *btree[V]) delete(n *bnode[V], k uint64) bool {
	if n.leaf() {
		i := lower(n.keys, k)
		if i == len(n.keys) || n.keys[i] != k {
			return false
		}
		copy(n.keys[i:], n.keys[i+1:])
		n.keys = n.keys[:len(n.keys)-1]
		copy(n.vals[i:], n.vals[i+1:])
		var zero V
		n.vals[len(n.vals)-1] = zero
		n.vals = n.vals[:len(n.vals)-1]
		return true
	}
	i := n.child(k)
	c := n.kids[i]
	if !t.delete(c, k) {
		return false
	}
	n.cnt[i]--
	w := nodeWidth(c)
	if w >= bMax/4 {
		return true
	}
	if w == 0 {
		n.remove(i)
		return true
	}
	// Merge with a neighbour if both fit in one node.
	j := i + 1
	if j == len(n.kids) {
		i, j = i-1, i
	}
	if i < 0 {
		return true
	}
	a, b := n.kids[i], n.kids[j]
	if nodeWidth(a)+nodeWidth(b) > bMax {
		return true
	}
	a.keys = append(a.keys, b.keys...)
	if a.leaf() {
		a.vals = append(a.vals, b.vals...)
	} else {
		a.kids = append(a.kids, b.kids...)
		a.cnt = append(a.cnt, b.cnt...)
	}
	n.cnt[i] += n.cnt[j]
	n.remove(j)
	return true
}

func nodeWidth[V any](n *bnode[V]) int {
	if n.leaf() {
		return len(n.keys)
	}
	return len(n.kids)
}

// remove drops child i of inner node n.
func (n *bnode[V]) remove(i int) {
	copy(n.keys[i:], n.keys[i+1:])
	n.keys = n.keys[:len(n.keys)-1]
	copy(n.kids[i:], n.kids[i+1:])
	n.kids[len(n.kids)-1] = nil
	n.kids = n.kids[:len(n.kids)-1]
	copy(n.cnt[i:], n.cnt[i+1:])
	n.cnt = n.cnt[:len(n.cnt)-1]
}

// Min returns the least key and its value.
func (t *btree[V]) Min() (uint64, V, bool) {
	n := t.root
	if n == nil {
		var zero V
		return 0, zero, false
	}
	for !n.leaf() {
		n = n.kids[0]
	}
	return n.keys[0], n.vals[0], true
}

// Ceil returns the least key ≥ k and its value.
func (t *btree[V]) Ceil(k uint64) (uint64, V, bool) {
	var zero V
	if t.root == nil {
		return 0, zero, false
	}
	var kk uint64
	var vv V
	ok := false
	t.ascendFrom(t.root, k, func(key uint64, v V) bool {
		kk, vv, ok = key, v, true
		return false
	})
	if !ok {
		return 0, zero, false
	}
	return kk, vv, true
}

// Rank counts the keys less than k.
func (t *btree[V]) Rank(k uint64) int {
	n := t.root
	if n == nil {
		return 0
	}
	r := 0
	for !n.leaf() {
		i := n.child(k)
		for _, c := range n.cnt[:i] {
			r += int(c)
		}
		n = n.kids[i]
	}
	return r + lower(n.keys, k)
}

// Ascend calls fn on keys in order until fn returns false.
func (t *btree[V]) Ascend(fn func(uint64, V) bool) {
	if t.root != nil {
		t.ascendFrom(t.root, 0, fn)
	}
}

// ascendFrom calls fn on the keys ≥ k in order; it returns false when fn stopped.
func (t *btree[V]) ascendFrom(n *bnode[V], k uint64, fn func(uint64, V) bool) bool {
	if n.leaf() {
		for i := lower(n.keys, k); i < len(n.keys); i++ {
			if !fn(n.keys[i], n.vals[i]) {
				return false
			}
		}
		return true
	}
	for i := n.child(k); i < len(n.kids); i++ {
		if !t.ascendFrom(n.kids[i], k, fn) {
			return false
		}
	}
	return true
}
