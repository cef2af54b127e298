package crmstore

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-cc/switchboard/cti"
)

// SampleCallers returns up to n live customers picked at random, each with its first number in E.164, for demo traffic that
// calls customers who exist (so screen-pops show real records). Customers without a number are never picked; fewer than n come
// back only when fewer such customers exist.
//
// On a large CRM it reads a random sample of the customers' pages (TABLESAMPLE SYSTEM) instead of sorting every row.
func SampleCallers(ctx context.Context, db *DB, n int) ([]cti.Party, error) {
	if n <= 0 {
		return []cti.Party{}, nil
	}
	const sample = `select c.name, p.e164 from customers c %s
		cross join lateral (select e164 from customer_phones where customer_id = c.id order by position, e164 limit 1) p
		where c.deleted_at is null order by random() limit $1`
	var rows float64
	if err := db.Pool.QueryRow(ctx, `select reltuples from pg_class where oid = 'customers'::regclass`).Scan(&rows); err != nil {
		return nil, dbError(err, "sample callers")
	}
	var out []cti.Party
	// Ten times what is asked for, as live customers with a number may be fewer than the rows sampled; the table's statistics
	// can be stale, so a short sample falls back to all rows.
	if pct := 100 * 10 * float64(n) / rows; rows > 0 && pct < 50 {
		var err error
		if out, err = sampleCallers(ctx, db, "tablesample system ("+strconv.FormatFloat(pct, 'f', 6, 64)+")", sample, n); err != nil {
			return nil, err
		}
	}
	if len(out) < n {
		return sampleCallers(ctx, db, "", sample, n)
	}
	return out, nil
}

func sampleCallers(ctx context.Context, db *DB, from, sample string, n int) ([]cti.Party, error) {
	rows, err := db.Pool.Query(ctx, fmt.Sprintf(sample, from), n)
	if err != nil {
		return nil, dbError(err, "sample callers")
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (cti.Party, error) {
		var p cti.Party
		err := r.Scan(&p.Name, &p.Number)
		return p, err
	})
	return out, dbError(err, "sample callers")
}
