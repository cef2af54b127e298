package crmstore_test

import (
	"context"
	"testing"

	"github.com/switchboard-cc/switchboard/crmstore"
	"github.com/switchboard-cc/switchboard/crmstore/pgtest"
)

func TestSampleCallers(t *testing.T) {
	ctx := context.Background()
	db := pgtest.DB(t)
	if got, err := crmstore.SampleCallers(ctx, db, 5); err != nil || len(got) != 0 {
		t.Fatalf("empty CRM: %v %v", got, err)
	}
	if _, err := crmstore.Seed(ctx, db, crmstore.SeedOptions{Customers: 500, Rand: 9}); err != nil {
		t.Fatal(err)
	}
	s := crmstore.NewStore(db, crmstore.Options{})
	got, err := crmstore.SampleCallers(ctx, db, 20)
	if err != nil || len(got) != 20 {
		t.Fatalf("sample: %d %v", len(got), err)
	}
	if one, err := crmstore.SampleCallers(ctx, db, 1); err != nil || len(one) != 1 { // a sample of the table's pages
		t.Fatalf("sample of one: %v %v", one, err)
	}
	seen := map[string]bool{}
	for _, p := range got {
		if seen[p.Number] {
			t.Errorf("number %s twice", p.Number)
		}
		seen[p.Number] = true
		c, err := s.LookupByPhone(ctx, p.Number)
		if err != nil || c.Name != p.Name || len(c.Phones) == 0 || c.Phones[0].Number != p.Number {
			t.Errorf("caller %+v: customer %+v, %v", p, c, err)
		}
	}
	// Deleted customers are not called; asking for more than exist gives all that do.
	if err := s.DeleteCustomer(ctx, mustLookup(t, s, got[0].Number), 1); err != nil {
		t.Fatal(err)
	}
	all, err := crmstore.SampleCallers(ctx, db, 1000)
	if err != nil || len(all) != 499 {
		t.Fatalf("all callers: %d %v", len(all), err)
	}
	for _, p := range all {
		if p.Number == got[0].Number {
			t.Errorf("deleted customer %+v sampled", p)
		}
	}
	if got, err := crmstore.SampleCallers(ctx, db, 0); err != nil || len(got) != 0 {
		t.Fatalf("n = 0: %v %v", got, err)
	}
}

func mustLookup(tb testing.TB, s *crmstore.Store, number string) string {
	tb.Helper()
	c, err := s.LookupByPhone(context.Background(), number)
	if err != nil {
		tb.Fatal(err)
	}
	return c.ID
}
