package crmstore_test

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-cc/switchboard/crmstore"
	"github.com/switchboard-cc/switchboard/crmstore/pgtest"
)

// Two processes starting at once must apply each migration exactly once; a later run applies nothing.
func TestMigrateConcurrentlyOnEmptyDatabase(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.Pool(t)
	// Start from an empty schema: the test database is cloned from a migrated template.
	if _, err := pool.Exec(ctx, "drop schema public cascade; create schema public"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make([][]string, 4)
	errs := make([]error, 4)
	for i := range results {
		wg.Go(func() {
			p, err := pgxpool.New(ctx, pool.Config().ConnString())
			if err != nil {
				errs[i] = err
				return
			}
			defer p.Close()
			results[i], errs[i] = crmstore.Migrate(ctx, p)
		})
	}
	wg.Wait()
	total := 0
	for i, err := range errs {
		if err != nil {
			t.Fatalf("migrator %d: %v", i, err)
		}
		total += len(results[i])
	}
	if want := len(crmstore.Migrations()); total != want {
		t.Fatalf("migrators applied %d migrations in all, want each of %d exactly once", total, want)
	}
	again, err := crmstore.Migrate(ctx, pool)
	if err != nil || len(again) != 0 {
		t.Fatalf("second run applied %v, %v; want nothing", again, err)
	}
}

func TestMigrationsAreOrderedAndNamed(t *testing.T) {
	ms := crmstore.Migrations()
	if len(ms) == 0 {
		t.Fatal("no embedded migrations")
	}
	for i, m := range ms {
		if len(m.Version) < 6 || m.Version[4] != '_' {
			t.Errorf("migration %q: want NNNN_description", m.Version)
		}
		if i > 0 && ms[i-1].Version >= m.Version {
			t.Errorf("migrations out of order: %s then %s", ms[i-1].Version, m.Version)
		}
	}
}
