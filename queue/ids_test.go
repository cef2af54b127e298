package queue

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestIDIndex checks the index against a map over random puts and removes,
// with a line that is renewed many times over (the deletes' backward shifts).
func TestIDIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ids := make([]string, 4096) // by slot; "" free
	x := newIDIndex(func(s uint32) string { return ids[s] })
	want := map[string]uint32{}
	for i := range 200_000 {
		s := uint32(rng.IntN(len(ids)))
		if ids[s] == "" {
			ids[s] = "c" + strconv.Itoa(i)
			x.put(ids[s], s)
			want[ids[s]] = s
		} else {
			x.remove(ids[s], s)
			delete(want, ids[s])
			if _, ok := x.get(ids[s]); ok {
				t.Fatalf("removed %s still found", ids[s])
			}
			ids[s] = ""
		}
		probe := "c" + strconv.Itoa(rng.IntN(i+1))
		got, ok := x.get(probe)
		if w, wok := want[probe]; ok != wok || got != w {
			t.Fatalf("get(%s) = %d, %v; want %d, %v", probe, got, ok, w, wok)
		}
	}
	if x.len() != len(want) {
		t.Fatalf("len %d, want %d", x.len(), len(want))
	}
	n := 0
	for id, s := range x.all() {
		if want[id] != s {
			t.Fatalf("all: %s at %d, want %d", id, s, want[id])
		}
		n++
	}
	if n != len(want) {
		t.Fatalf("all yielded %d, want %d", n, len(want))
	}
}
