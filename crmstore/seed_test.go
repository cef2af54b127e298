package crmstore_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-cc/switchboard/crmstore"
	"github.com/switchboard-cc/switchboard/crmstore/pgtest"
)

// seedSchema lists the indexes and constraints of the tables Seed fills, as the catalog defines them.
func seedSchema(tb testing.TB, pool *pgxpool.Pool) []string {
	tb.Helper()
	rows, err := pool.Query(context.Background(), `
		select pg_get_indexdef(indexrelid) from pg_index
			where indrelid = any('{customers,customer_phones,customer_emails,interactions}'::regclass[])
		union all
		select conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid) || ' ' || convalidated from pg_constraint
			where conrelid = any('{customers,customer_phones,customer_emails,interactions}'::regclass[])
		order by 1`)
	if err != nil {
		tb.Fatal(err)
	}
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			tb.Fatal(err)
		}
		out = append(out, s)
	}
	if len(out) < 20 {
		tb.Fatalf("only %d indexes and constraints: %q", len(out), out)
	}
	return out
}

// A seed into an empty CRM rebuilds its indexes and constraints after the load; they must come back exactly as migrated.
func TestSeedBulkKeepsIndexesAndConstraints(t *testing.T) {
	ctx := context.Background()
	db := pgtest.DB(t)
	before := seedSchema(t, db.Pool)
	rep, err := crmstore.Seed(ctx, db, crmstore.SeedOptions{Customers: 300, Rand: 3})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Customers != 300 || rep.Phones < 300 || rep.Interactions == 0 {
		t.Fatalf("report %+v", rep)
	}
	if after := seedSchema(t, db.Pool); !slices.Equal(before, after) {
		t.Fatalf("schema changed by the seed:\nbefore %q\nafter  %q", before, after)
	}
	// The constraints hold again: a number of no customer is refused.
	if _, err := db.Pool.Exec(ctx, `insert into customer_phones (e164, customer_id) values ('+8613900000000', gen_random_uuid())`); err == nil {
		t.Fatal("foreign key not restored")
	}
	// The rows are those of a chunked seed: every customer has its mobile number, and interactions belong to customers.
	var orphans int
	if err := db.Pool.QueryRow(ctx, `select count(*) from customers c where not exists
		(select 1 from customer_phones p where p.customer_id = c.id and p.kind = 'mobile')`).Scan(&orphans); err != nil || orphans != 0 {
		t.Fatalf("customers without a mobile: %d %v", orphans, err)
	}
	s := crmstore.NewStore(db, crmstore.Options{})
	var number string
	if err := db.Pool.QueryRow(ctx, `select e164 from customer_phones limit 1`).Scan(&number); err != nil {
		t.Fatal(err)
	}
	if _, err := s.LookupByPhone(ctx, number); err != nil {
		t.Fatal(err)
	}
	// A second run appends in chunks to the non-empty CRM.
	rep, err = crmstore.Seed(ctx, db, crmstore.SeedOptions{Customers: 100, Rand: 4})
	if err != nil || rep.Customers != 100 {
		t.Fatalf("second seed %+v %v", rep, err)
	}
}

// A bulk seed that fails leaves the CRM empty and its schema whole.
func TestSeedBulkFailureLeavesNothing(t *testing.T) {
	db := pgtest.DB(t)
	before := seedSchema(t, db.Pool)
	if _, err := crmstore.Seed(context.Background(), db, crmstore.SeedOptions{}); err != nil { // staff and configuration
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := crmstore.Seed(ctx, db, crmstore.SeedOptions{Customers: 200_000, Rand: 1}); err == nil {
		t.Fatal("a seed of 200,000 customers finished in 300 ms")
	}
	for _, table := range []string{"customers", "customer_phones", "customer_emails", "interactions"} {
		var n int
		if err := db.Pool.QueryRow(context.Background(), "select count(*) from "+table).Scan(&n); err != nil || n != 0 {
			t.Errorf("%s: %d rows after a failed seed (%v)", table, n, err)
		}
	}
	if after := seedSchema(t, db.Pool); !slices.Equal(before, after) {
		t.Fatalf("schema changed by a failed seed:\nbefore %q\nafter  %q", before, after)
	}
}
