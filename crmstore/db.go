package crmstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-cc/switchboard/cti"
)

// DB is the connection pool and the clock every write stamps its time with.
type DB struct {
	Pool *pgxpool.Pool
	// Now is the clock; a transaction reads it once so all rows it writes agree on the time.
	Now func() time.Time

	observer *atomic.Pointer[QueryObserver] // see ObserveQueries
}

// Open connects to the database at url and checks that it answers within the context's deadline. The pool holds up to
// defaultMaxConns connections and keeps them all open (see below) unless the URL says otherwise (pool_max_conns,
// pool_min_conns). Errors never include the password of the URL.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's parse errors may echo the URL; report only the reason.
		return nil, cti.Invalid("database-url", "cannot parse the PostgreSQL URL")
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = defaultMaxConns()
	}
	if !strings.Contains(url, "pool_min_conns") {
		// Every connection is opened at the start (in the background) and kept, idle or not. pgxpool's default of none
		// opened them as load rose, each a new PostgreSQL backend (a fork, and catalog caches filled by its first
		// statements) taking CPU from the calls on a small machine exactly when it was busiest, and closed the idle ones
		// after 30 minutes, so the first calls after a quiet night paid again. Half the maximum still opened the rest
		// when the first calls ended (docs/performance.md, "The tail over a run's time").
		cfg.MinConns = cfg.MaxConns
	}
	observer := new(atomic.Pointer[QueryObserver])
	cfg.ConnConfig.Tracer = queryTracer{observer}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	db := &DB{Pool: pool, Now: func() time.Time { return time.Now().UTC() }, observer: observer}
	if err := db.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return db, nil
}

// Ping reports whether the database answers; its error names the host and the reason only.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.Pool.Ping(ctx); err != nil {
		host := db.Pool.Config().ConnConfig.Host
		port := db.Pool.Config().ConnConfig.Port
		// The reason is enough for one clear line; pgx's full error repeats every address it tried.
		return cti.Errorf(cti.EUNAVAILABLE, "database at %s:%d: %s", host, port, pingReason(err))
	}
	return nil
}

func pingReason(err error) string {
	var pgErr *pgconn.PgError
	var netErr *net.OpError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer before the deadline"
	case errors.As(err, &pgErr):
		return pgErr.Message
	case errors.As(err, &netErr):
		return netErr.Err.Error()
	default:
		return "cannot connect"
	}
}

// defaultMaxConns sizes the pool for a controller: every live call's executor may read (caller lookup, timeline) while the
// interaction writer, the webhook worker, the agents' browsers and a report share the pool. pgxpool's own default (4 on this
// 2-CPU machine) made calls' reads queue behind a report or a slow batch under load; more than a few connections per CPU
// only adds contention inside PostgreSQL, whose CPUs they share. 4 per CPU, at least 16.
func defaultMaxConns() int32 { return int32(max(16, 4*runtime.NumCPU())) }

// Close closes the pool.
func (db *DB) Close() { db.Pool.Close() }
