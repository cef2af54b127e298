package queue

import (
	"hash/maphash"
	"iter"
)

// idIndex maps the ids of live calls to their slots. It is an open-addressing
// table with linear probing and backward-shift deletion, because a Go map
// leaves a tombstone for most deletes once its groups fill: with a line of
// 100,000 calls renewed continuously the tombstones pile up, and each arrival's
// look-up of its new id (a miss) probed ever further, four times the cost of a
// hit in the benchmark's profile. Here a delete leaves nothing behind. An
// entry keeps 32 bits of its id's hash, so a probe reads a call's id only when
// they match, and growing reads no id at all.
type idIndex struct {
	seed maphash.Seed
	tab  []idEntry // length a power of two, at most half full
	n    int
	idOf func(slot uint32) string
}

type idEntry struct {
	h     uint32 // low bits of the id's hash; its home is h & mask
	slot1 uint32 // slot+1; 0 marks an empty entry
}

func newIDIndex(idOf func(slot uint32) string) idIndex {
	// The seed only spreads ids over the table: no decision depends on it.
	return idIndex{seed: maphash.MakeSeed(), idOf: idOf}
}

func (x *idIndex) hash(id string) uint32 { return uint32(maphash.String(x.seed, id)) }

// len returns the number of ids.
func (x *idIndex) len() int { return x.n }

// find returns the entry of id, or the empty entry where it would go.
func (x *idIndex) find(id string, h uint32) uint32 {
	m := uint32(len(x.tab) - 1)
	i := h & m
	for e := x.tab[i]; e.slot1 != 0; e = x.tab[i] {
		if e.h == h && x.idOf(e.slot1-1) == id {
			return i
		}
		i = (i + 1) & m
	}
	return i
}

// get returns the slot of id.
func (x *idIndex) get(id string) (uint32, bool) {
	if x.n == 0 {
		return 0, false
	}
	e := x.tab[x.find(id, x.hash(id))]
	if e.slot1 == 0 {
		return 0, false
	}
	return e.slot1 - 1, true
}

// put maps id to slot, replacing its former slot if any.
func (x *idIndex) put(id string, slot uint32) {
	if 2*(x.n+1) > len(x.tab) {
		x.grow()
	}
	h := x.hash(id)
	i := x.find(id, h)
	if x.tab[i].slot1 == 0 {
		x.n++
	}
	x.tab[i] = idEntry{h: h, slot1: slot + 1}
}

// grow doubles the table; an entry's home comes from its hash bits alone.
func (x *idIndex) grow() {
	old := x.tab
	x.tab = make([]idEntry, max(16, 2*len(old)))
	m := uint32(len(x.tab) - 1)
	for _, e := range old {
		if e.slot1 == 0 {
			continue
		}
		i := e.h & m
		for x.tab[i].slot1 != 0 {
			i = (i + 1) & m
		}
		x.tab[i] = e
	}
}

// remove deletes id, known to be at slot: its entry is found by slot, so no
// id is compared. The entries after it that may move closer to their home
// shift back, and the probe sequences stay as short as after an insert.
func (x *idIndex) remove(id string, slot uint32) {
	if x.n == 0 {
		return
	}
	m := uint32(len(x.tab) - 1)
	i := x.hash(id) & m
	for x.tab[i].slot1 != slot+1 {
		if x.tab[i].slot1 == 0 {
			return
		}
		i = (i + 1) & m
	}
	x.tab[i] = idEntry{}
	x.n--
	for j := (i + 1) & m; x.tab[j].slot1 != 0; j = (j + 1) & m {
		// The entry at j may fill the hole at i if i lies between its home and j.
		if home := x.tab[j].h & m; (j-home)&m >= (j-i)&m {
			x.tab[i], x.tab[j] = x.tab[j], idEntry{}
			i = j
		}
	}
}

// all yields every id with its slot, in no particular order.
func (x *idIndex) all() iter.Seq2[string, uint32] {
	return func(yield func(string, uint32) bool) {
		for _, e := range x.tab {
			if e.slot1 != 0 && !yield(x.idOf(e.slot1-1), e.slot1-1) {
				return
			}
		}
	}
}
