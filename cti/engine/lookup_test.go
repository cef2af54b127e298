package engine

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/switchboard-cc/switchboard/cti"
)

// batchCRM looks callers up in batches and records each batch's numbers; the first batch waits for release.
type batchCRM struct {
	*fakeCRM
	mu      sync.Mutex
	batches [][]string
	release chan struct{}
	fail    error // every batch fails with it
}

func (b *batchCRM) LookupByPhones(ctx context.Context, raws []string) ([]*cti.Customer, error) {
	b.mu.Lock()
	b.batches = append(b.batches, slices.Clone(raws))
	first := len(b.batches) == 1
	b.mu.Unlock()
	if first {
		select {
		case <-b.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if b.fail != nil {
		return nil, b.fail
	}
	out := make([]*cti.Customer, len(raws))
	for i, raw := range raws {
		if c, err := b.fakeCRM.LookupByPhone(ctx, raw); err == nil {
			out[i] = c
		}
	}
	return out, nil
}

// Callers arriving while a lookup is out are looked up together in the next batch, each call getting its own customer
// (or none) with the customer's timeline, and its interaction started with it.
func TestCallerLookupsBatched(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var b *batchCRM
		h := start(t, func(cfg *Config, crm *fakeCRM) {
			crm.customers["+15551230002"] = &cti.Customer{ID: "cust-2", Name: "Grace Hopper"}
			b = &batchCRM{fakeCRM: crm, release: make(chan struct{})}
			cfg.Customers = b
		})
		numbers := []string{"+15551230001", "+15551230002", "+15559999999", "+15551230001", ""}
		for i, n := range numbers {
			h.post(entered("100."+string(rune('1'+i)), n, "inbound"))
		}
		close(b.release)
		synctest.Wait()
		if want := [][]string{numbers[:1], {"+15551230002", "+15559999999", "+15551230001"}}; !slices.EqualFunc(b.batches, want, slices.Equal) {
			t.Fatalf("batches %q, want %q", b.batches, want)
		}
		for i, want := range []string{"cust-1", "cust-2", "", "cust-1", ""} {
			id := "call" + string(rune('1'+i))
			c, ok := h.call(id)
			if !ok || !c.lookedUp {
				t.Fatalf("%s: not looked up (%v)", id, ok)
			}
			got := ""
			if c.cust != nil {
				got = c.cust.ID
				if len(c.timeline) != 1 {
					t.Errorf("%s: timeline %v", id, c.timeline)
				}
			}
			if in := h.crm.interaction(id); got != want || in.CustomerID != want {
				t.Errorf("%s: customer %q, interaction's %q, want %q", id, got, in.CustomerID, want)
			}
		}
	})
}

// A failed batch leaves each of its callers without a customer; their calls go on and their interactions start.
func TestCallerLookupBatchFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var b *batchCRM
		h := start(t, func(cfg *Config, crm *fakeCRM) {
			b = &batchCRM{fakeCRM: crm, release: make(chan struct{}), fail: cti.Errorf(cti.EUNAVAILABLE, "database down")}
			close(b.release)
			cfg.Customers = b
		})
		h.post(entered("100.1", "+15551230001", "inbound"))
		c, ok := h.call("call1")
		if !ok || !c.lookedUp || c.cust != nil {
			t.Fatalf("call %+v (%v)", c, ok)
		}
		if in := h.crm.interaction("call1"); in.ID != "call1" || in.CustomerID != "" {
			t.Errorf("interaction %+v", in)
		}
	})
}
