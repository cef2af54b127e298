package crmstore

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Migrations are plain SQL files named NNNN_description.sql, applied in name order, each in its own transaction.
// A small runner instead of a migration framework: the whole behaviour (ordering, one transaction each, an advisory lock so two
// processes starting at once apply each file once) fits on one screen, and the files stay plain SQL that psql can run.
//
//go:embed migrations/*.sql
var migrationFS embed.FS

// migrateLockID is the advisory lock key that serialises concurrent migrators ("sbmigrat" in ASCII).
const migrateLockID int64 = 0x73626d6967726174

// Migration is one embedded schema change.
type Migration struct {
	Version string // file name without .sql
	SQL     string
}

// Migrations returns the embedded migrations in the order they apply.
func Migrations() []Migration {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		panic(err) // the pattern is constant
	}
	sort.Strings(names)
	ms := make([]Migration, 0, len(names))
	for _, n := range names {
		b, err := migrationFS.ReadFile(n)
		if err != nil {
			panic(err) // embedded files are always readable
		}
		ms = append(ms, Migration{Version: strings.TrimSuffix(strings.TrimPrefix(n, "migrations/"), ".sql"), SQL: string(b)})
	}
	return ms
}

// SchemaHash identifies the embedded schema; test templates are keyed by it.
func SchemaHash() string {
	h := sha256.New()
	for _, m := range Migrations() {
		h.Write([]byte(m.Version))
		h.Write([]byte{0})
		h.Write([]byte(m.SQL))
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// Migrate applies every pending migration and returns the versions it applied. It is safe to call from several processes at once:
// they queue on an advisory lock and each migration is applied exactly once, in its own transaction.
func Migrate(ctx context.Context, pool *pgxpool.Pool) ([]string, error) {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "select pg_advisory_lock($1)", migrateLockID); err != nil {
		return nil, fmt.Errorf("migrate: lock: %w", err)
	}
	// Unlock with a fresh context: the caller's may be cancelled, and a leaked session lock would block the next migrator.
	defer conn.Exec(context.WithoutCancel(ctx), "select pg_advisory_unlock($1)", migrateLockID) //nolint:errcheck

	if _, err := conn.Exec(ctx, `create table if not exists schema_migrations (
		version text primary key,
		applied_at timestamptz not null default now())`); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	done := map[string]bool{}
	rows, err := conn.Query(ctx, "select version from schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	for _, v := range versions {
		done[v] = true
	}
	var applied []string
	for _, m := range Migrations() {
		if done[m.Version] {
			continue
		}
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "insert into schema_migrations (version) values ($1)", m.Version)
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("migrate: %s: %w", m.Version, err)
		}
		applied = append(applied, m.Version)
	}
	return applied, nil
}
