package crmstore_test

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/crmstore"
	"github.com/switchboard-cc/switchboard/crmstore/pgtest"
	"github.com/switchboard-cc/switchboard/cti"
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

// LookupByPhones finds each number's owner in one query, in the order asked, whatever the numbers' formats; unknown,
// impossible and deleted customers' numbers find nobody, and a number asked twice finds its owner twice.
func TestLookupByPhones(t *testing.T) {
	ctx := context.Background()
	s := MustStore(t)
	li := mustCreate(t, s, &cti.Customer{Name: "Li Wei", Phones: []cti.Phone{{Number: "138 0013 8000"}, {Number: "010-6512-3456"}}})
	zhang := mustCreate(t, s, &cti.Customer{Name: "Zhang San", Phones: []cti.Phone{{Number: "13900139000"}}})
	gone := mustCreate(t, s, &cti.Customer{Name: "Gone", Phones: []cti.Phone{{Number: "13700137000"}}})
	if err := s.DeleteCustomer(ctx, gone.ID, gone.Version); err != nil {
		t.Fatal(err)
	}
	raws := []string{"0086 139-0013-9000", "+8613800138000", "13600136000", "call me", "(010) 65123456", "13700137000",
		"13800138000", ""}
	want := []string{zhang.ID, li.ID, "", "", li.ID, "", li.ID, ""}
	got, err := s.LookupByPhones(ctx, raws)
	if err != nil || len(got) != len(raws) {
		t.Fatalf("LookupByPhones = %v, %v", got, err)
	}
	for i, c := range got {
		id := ""
		if c != nil {
			id = c.ID
			// The same record LookupByPhone reads.
			one, err := s.LookupByPhone(ctx, raws[i])
			if err != nil || !reflect.DeepEqual(one, c) {
				t.Errorf("%q: batch %+v, alone %+v %v", raws[i], c, one, err)
			}
		}
		if id != want[i] {
			t.Errorf("%q: customer %q, want %q", raws[i], id, want[i])
		}
	}
	if got, err := s.LookupByPhones(ctx, nil); err != nil || len(got) != 0 {
		t.Errorf("no numbers: %v, %v", got, err)
	}
	e := wantCode(t, func() error {
		_, err := s.LookupByPhones(ctx, make([]string, crmstore.MaxPhonesPerLookup+1))
		return err
	}(), cti.EINVALID)
	if e.Field != "phones" {
		t.Errorf("field %q", e.Field)
	}
	if _, err := s.LookupByPhones(ctx, make([]string, crmstore.MaxPhonesPerLookup)); err != nil {
		t.Errorf("%d numbers: %v", crmstore.MaxPhonesPerLookup, err)
	}
}

// BenchmarkLookupCallers looks up 8 callers in national form (as caller ids often arrive), half of them customers, one query
// each (LookupByPhone) or all in one (LookupByPhones, as the engine batches concurrent calls), and reports the process's CPU
// per caller (getrusage: the client's share; the database's is in its own processes).
func BenchmarkLookupCallers(b *testing.B) {
	ctx := context.Background()
	db := pgtest.DB(b)
	if _, err := crmstore.Seed(ctx, db, crmstore.SeedOptions{Customers: 200, Rand: 3}); err != nil {
		b.Fatal(err)
	}
	s := crmstore.NewStore(db, crmstore.Options{})
	known, err := crmstore.SampleCallers(ctx, db, 4)
	if err != nil || len(known) != 4 {
		b.Fatalf("sample: %v %v", known, err)
	}
	var raws []string
	for i, p := range known {
		raws = append(raws, strings.TrimPrefix(p.Number, "+86"), "1555000000"+strconv.Itoa(i))
	}
	for _, tc := range []struct {
		name string
		look func() error
	}{
		{"one-query-each", func() error {
			for _, raw := range raws {
				if _, err := s.LookupByPhone(ctx, raw); err != nil && cti.ErrorCode(err) != cti.ENOTFOUND {
					return err
				}
			}
			return nil
		}},
		{"one-query", func() error {
			found, err := s.LookupByPhones(ctx, raws)
			if err == nil && (found[0] == nil || found[1] != nil) {
				err = fmt.Errorf("found %v", found)
			}
			return err
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := processCPU()
			for b.Loop() {
				if err := tc.look(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N*len(raws))/1e3, "cpu-µs/caller")
		})
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
