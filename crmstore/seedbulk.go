package crmstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// seedTables are the tables Seed fills with customers, in the order a load writes them.
var seedTables = []string{"customers", "customer_phones", "customer_emails", "interactions"}

// seedBulk loads n customers into an empty CRM the way pg_restore loads a dump: in one transaction that takes the four tables
// exclusively, drops their secondary indexes and foreign keys, loads the rows with COPY (the primary keys, so uniqueness, stay
// checked row by row), then rebuilds every index in one sorted pass and adds every foreign key back, which checks all rows in one
// join. Nothing is weakened: the transaction commits only if every row passes every constraint, no one ever sees the tables
// without their indexes or constraints, and a failure leaves the CRM as empty as it was. Row by row, the trigram GIN index, the
// other secondary indexes and the 4 million foreign-key checks were most of a large seed's time.
//
// The dropped definitions are read from the catalog and restored verbatim, so a later migration's indexes and constraints are
// kept as that migration made them. seedBulk reports false, and does nothing, when the tables are not all empty once locked.
func seedBulk(ctx context.Context, db *DB, g *generator, n int, rep *SeedReport) (bool, error) {
	var loaded SeedReport
	done := false
	err := pgx.BeginFunc(ctx, db.Pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `lock table customers, customer_phones, customer_emails, interactions in access exclusive mode`); err != nil {
			return err
		}
		var empty bool
		if err := tx.QueryRow(ctx, `select not exists (select 1 from customers) and not exists (select 1 from customer_phones)
			and not exists (select 1 from customer_emails) and not exists (select 1 from interactions)`).Scan(&empty); err != nil {
			return err
		}
		if !empty {
			return nil
		}
		// Sorting for index builds and hashing for the foreign-key joins; both only for this transaction.
		for _, set := range []string{`set local maintenance_work_mem = '512MB'`, `set local work_mem = '256MB'`} {
			if _, err := tx.Exec(ctx, set); err != nil {
				return err
			}
		}
		restore, err := dropSecondary(ctx, tx)
		if err != nil {
			return err
		}
		for first := 0; first < n; first += seedChunk {
			if err := g.load(ctx, tx, first, min(seedChunk, n-first), &loaded); err != nil {
				return err
			}
		}
		for _, ddl := range restore {
			if _, err := tx.Exec(ctx, ddl); err != nil {
				return fmt.Errorf("%s: %w", ddl, err)
			}
		}
		done = true
		return nil
	})
	if err != nil {
		return false, err
	}
	rep.add(loaded)
	return done, nil
}

// dropSecondary drops the non-unique indexes of the seed tables and the foreign keys on them, and returns the statements that
// restore them: indexes first, then constraints (whose checks use the indexes of the referenced tables).
func dropSecondary(ctx context.Context, tx pgx.Tx) ([]string, error) {
	rows, err := tx.Query(ctx, `
		select 0, format('drop index %s', i.indexrelid::regclass), pg_get_indexdef(i.indexrelid)
			from pg_index i
			where i.indrelid = any($1::regclass[]) and not i.indisunique and not i.indisprimary
				and not exists (select 1 from pg_constraint c where c.conindid = i.indexrelid)
		union all
		select 1, format('alter table %s drop constraint %I', c.conrelid::regclass, c.conname),
				format('alter table %s add constraint %I %s', c.conrelid::regclass, c.conname, pg_get_constraintdef(c.oid))
			from pg_constraint c
			where c.contype = 'f' and c.conrelid = any($1::regclass[])
		order by 1, 2`, seedTables)
	if err != nil {
		return nil, err
	}
	var drops, restore []string
	var kind int
	var drop, create string
	if _, err := pgx.ForEachRow(rows, []any{&kind, &drop, &create}, func() error {
		drops, restore = append(drops, drop), append(restore, create)
		return nil
	}); err != nil {
		return nil, err
	}
	for _, d := range drops {
		if _, err := tx.Exec(ctx, d); err != nil {
			return nil, fmt.Errorf("%s: %w", d, err)
		}
	}
	return restore, nil
}
