// Package pgtest gives each test its own fresh PostgreSQL database, cloned from a template that holds the migrated schema, so test
// packages run in parallel against a real server and leave nothing behind.
//
// The server is the one named by SWITCHBOARD_TEST_DATABASE_URL or DATABASE_URL; with neither set, the checkout's private cluster
// is started with scripts/db.sh (created on first use), so a plain `go test ./...` works on a fresh machine.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-cc/switchboard/crmstore"
)

var (
	serverOnce sync.Once
	serverURL  string
	serverErr  error

	templateMu    sync.Mutex
	templateReady string
)

// URL returns the URL of a new database holding the migrated schema; it is dropped when the test ends.
func URL(tb testing.TB) string {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := mustServer(tb)
	tmpl := mustTemplate(tb, ctx, base)

	name := "sbtest_" + randomHex(8)
	admin := mustConnect(tb, ctx, base)
	defer admin.Close(context.Background())
	if _, err := admin.Exec(ctx, fmt.Sprintf("create database %s template %s", name, tmpl)); err != nil {
		tb.Fatalf("pgtest: create database from template: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Errorf("pgtest: drop %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		// A forced drop can race with an autovacuum worker starting on the database; a second try after a moment succeeds.
		for attempt := range 5 {
			if _, err = c.Exec(ctx, fmt.Sprintf("drop database if exists %s with (force)", name)); err == nil {
				return
			}
			time.Sleep(time.Duration(attempt+1) * 100 * time.Millisecond)
		}
		tb.Errorf("pgtest: drop %s: %v", name, err)
	})
	return withDatabase(base, name)
}

// Pool returns a pool on a new migrated database; both are closed and dropped when the test ends.
func Pool(tb testing.TB) *pgxpool.Pool {
	tb.Helper()
	pool, err := pgxpool.New(context.Background(), URL(tb))
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(pool.Close) // registered after the drop, so it runs first
	return pool
}

// DB returns a crmstore.DB on a new migrated database.
func DB(tb testing.TB) *crmstore.DB {
	tb.Helper()
	return &crmstore.DB{Pool: Pool(tb), Now: func() time.Time { return time.Now().UTC() }}
}

func mustServer(tb testing.TB) string {
	tb.Helper()
	serverOnce.Do(func() {
		for _, k := range []string{"SWITCHBOARD_TEST_DATABASE_URL", "DATABASE_URL"} {
			if v := os.Getenv(k); v != "" {
				serverURL = v
				return
			}
		}
		root, err := repoRoot()
		if err != nil {
			serverErr = err
			return
		}
		out, err := exec.Command(filepath.Join(root, "scripts", "db.sh"), "up").Output()
		if err != nil {
			serverErr = fmt.Errorf("scripts/db.sh up: %w", err)
			return
		}
		serverURL = strings.TrimSpace(string(out))
	})
	if serverErr != nil {
		tb.Fatalf("pgtest: no PostgreSQL server: %v", serverErr)
	}
	return serverURL
}

// mustTemplate builds the template database for the current schema once per server; processes racing to build it serialise on an
// advisory lock, and a template is marked IS_TEMPLATE only once fully migrated, so a half-built one is never cloned.
func mustTemplate(tb testing.TB, ctx context.Context, base string) string {
	tb.Helper()
	templateMu.Lock()
	defer templateMu.Unlock()
	if templateReady != "" {
		return templateReady
	}
	name := "sbtmpl_" + crmstore.SchemaHash()
	admin := mustConnect(tb, ctx, base)
	defer admin.Close(context.Background())

	h := fnv.New64a()
	h.Write([]byte(name))
	lock := int64(h.Sum64())
	if _, err := admin.Exec(ctx, "select pg_advisory_lock($1)", lock); err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	defer admin.Exec(context.Background(), "select pg_advisory_unlock($1)", lock) //nolint:errcheck

	var ready bool
	err := admin.QueryRow(ctx, "select coalesce((select datistemplate from pg_database where datname = $1), false)", name).Scan(&ready)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	if !ready {
		for _, q := range []string{
			fmt.Sprintf("drop database if exists %s with (force)", name),
			fmt.Sprintf("create database %s", name),
		} {
			if _, err := admin.Exec(ctx, q); err != nil {
				tb.Fatalf("pgtest: %s: %v", q, err)
			}
		}
		pool, err := pgxpool.New(ctx, withDatabase(base, name))
		if err != nil {
			tb.Fatalf("pgtest: %v", err)
		}
		_, err = crmstore.Migrate(ctx, pool)
		pool.Close()
		if err != nil {
			tb.Fatalf("pgtest: migrate template: %v", err)
		}
		if _, err := admin.Exec(ctx, fmt.Sprintf("alter database %s is_template true", name)); err != nil {
			tb.Fatalf("pgtest: %v", err)
		}
	}
	templateReady = name
	return name
}

func mustConnect(tb testing.TB, ctx context.Context, url string) *pgx.Conn {
	tb.Helper()
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatalf("pgtest: connect: %v", err)
	}
	return c
}

// withDatabase returns the postgres:// URL u with its database name replaced.
func withDatabase(u, name string) string {
	parsed, err := url.Parse(u)
	if err != nil || (parsed.Scheme != "postgres" && parsed.Scheme != "postgresql") {
		panic("pgtest: the test server must be given as a postgres:// URL")
	}
	parsed.Path = "/" + name
	return parsed.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}
