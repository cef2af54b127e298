package crmstore_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/crmstore"
	"github.com/switchboard-cc/switchboard/crmstore/pgtest"
)

// TestPoolMinConns: the pool opens its minimum of connections by itself, before any query needs them; the URL may lower the
// minimum, and a smaller maximum caps it.
func TestPoolMinConns(t *testing.T) {
	ctx := context.Background()
	u := pgtest.URL(t)
	for _, c := range []struct {
		url  string
		want int32
	}{{u, max(16, 4*int32(runtime.NumCPU()))}, {u + "&pool_min_conns=1", 1}, {u + "&pool_max_conns=3", 3}} {
		db, err := crmstore.Open(ctx, c.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := db.Pool.Config().MinConns; got != c.want {
			t.Errorf("%s: a minimum of %d connections, want %d", c.url, got, c.want)
		}
		deadline := time.Now().Add(10 * time.Second)
		for db.Pool.Stat().TotalConns() < c.want && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if got := db.Pool.Stat().TotalConns(); got < c.want {
			t.Errorf("%s: %d connections open, want at least %d", c.url, got, c.want)
		}
		db.Close()
	}
}
