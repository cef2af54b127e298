package crmstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/cti"
)

// The screen-pop's script and dispositions are read from the database once, then from memory; an admin's edit shows on the
// very next read.
func TestConfigCacheNeverStale(t *testing.T) {
	ctx := context.Background()
	s, statements := mustCountedStore(t)

	first, err := s.Script(ctx, "sales", cti.TierGold)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := s.Dispositions(ctx, "sales")
	if err != nil {
		t.Fatal(err)
	}
	wantCode(t, errOnly(s.Dispositions(ctx, "nosuch")), cti.ENOTFOUND)
	read := statements.Load()
	for range 10 {
		if sc, err := s.Script(ctx, "sales", cti.TierGold); err != nil || sc.Version != first.Version {
			t.Fatalf("script %+v, %v", sc, err)
		}
		if got, err := s.Dispositions(ctx, "sales"); err != nil || len(got) != len(ds) {
			t.Fatalf("dispositions %v, %v", got, err)
		}
		wantCode(t, errOnly(s.Dispositions(ctx, "nosuch")), cti.ENOTFOUND)
	}
	if n := statements.Load() - read; n != 0 {
		t.Errorf("%d statements for cached reads, want 0", n)
	}

	// Edits through the store show at once.
	edit := &cti.Script{Queue: "sales", Tier: cti.TierGold, Title: "New", Body: "Hello again {{customer.name}}"}
	if err := s.PutScript(ctx, edit); err != nil {
		t.Fatal(err)
	}
	if sc, err := s.Script(ctx, "sales", cti.TierGold); err != nil || sc.ID != edit.ID || sc.Body != edit.Body {
		t.Fatalf("after an edit: script %+v, %v; want version %d", sc, err, edit.Version)
	}
	if err := s.PutDisposition(ctx, cti.Disposition{Code: "upsell", Label: "Upsell", Queue: "sales"}, 9); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Dispositions(ctx, "sales"); err != nil || len(got) != len(ds)+1 {
		t.Fatalf("after an edit: dispositions %v, %v; want %d", got, err, len(ds)+1)
	}
	if err := s.PutQueue(ctx, cti.QueueConfig{Name: "nosuch", SLTarget: 0.8, SLThreshold: 20 * time.Second,
		RingTimeout: 15 * time.Second, MaxWait: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Dispositions(ctx, "nosuch"); err != nil {
		t.Fatalf("a new queue is still unknown: %v", err)
	}
}

func errOnly[V any](_ V, err error) error { return err }
