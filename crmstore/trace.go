package crmstore

import (
	"context"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// QueryObserver is told of every statement the pool runs, a pipelined batch once as "batch": its kind (select, insert, update,
// delete, copy, batch, begin, commit, rollback or other — never its text or arguments), its duration and its error. It runs on the
// query's goroutine: keep it cheap.
type QueryObserver func(kind string, d time.Duration, err error)

// ObserveQueries sets the observer of every later query (nil: none). cmd feeds it to a latency histogram.
func (db *DB) ObserveQueries(f QueryObserver) {
	if db.observer == nil {
		return // not opened by Open: no tracer installed
	}
	if f == nil {
		db.observer.Store(nil)
		return
	}
	db.observer.Store(&f)
}

// queryTracer is the pgx tracer Open installs; it reads the observer at each query, so one can be set after the pool exists.
type queryTracer struct {
	observer *atomic.Pointer[QueryObserver]
}

type traceKey struct{}

type traceStart struct {
	kind string
	at   time.Time
}

func (t queryTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if t.observer.Load() == nil {
		return ctx
	}
	return context.WithValue(ctx, traceKey{}, traceStart{kind: statementKind(d.SQL), at: time.Now()})
}

func (t queryTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	f := t.observer.Load()
	st, ok := ctx.Value(traceKey{}).(traceStart)
	if f == nil || !ok {
		return
	}
	(*f)(st.kind, time.Since(st.at), d.Err)
}

func (t queryTracer) TraceCopyFromStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceCopyFromStartData) context.Context {
	if t.observer.Load() == nil {
		return ctx
	}
	return context.WithValue(ctx, traceKey{}, traceStart{kind: "copy", at: time.Now()})
}

func (t queryTracer) TraceCopyFromEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceCopyFromEndData) {
	t.TraceQueryEnd(ctx, nil, pgx.TraceQueryEndData{Err: d.Err})
}

// statementKind is the statement's first keyword, from a fixed set; a CTE ("with …") counts as the statement it ends in as far as
// a cheap look can tell, else "select".
func statementKind(sql string) string {
	s := strings.TrimSpace(sql)
	i := strings.IndexFunc(s, func(r rune) bool { return r == ' ' || r == '\n' || r == '\t' || r == '(' })
	if i < 0 {
		i = len(s)
	}
	switch w := strings.ToLower(s[:i]); w {
	case "select", "insert", "update", "delete", "begin", "commit", "rollback", "copy", "set", "lock", "vacuum", "analyze":
		return w
	case "with":
		low := strings.ToLower(s)
		for _, k := range []string{"insert into", "update ", "delete from"} {
			if strings.Contains(low, k) {
				return strings.Fields(k)[0]
			}
		}
		return "select"
	}
	return "other"
}

// A pipelined batch is one round trip whatever it holds: it is observed once, as "batch".
func (t queryTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	if t.observer.Load() == nil {
		return ctx
	}
	return context.WithValue(ctx, traceKey{}, traceStart{kind: "batch", at: time.Now()})
}

func (t queryTracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (t queryTracer) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceBatchEndData) {
	t.TraceQueryEnd(ctx, nil, pgx.TraceQueryEndData{Err: d.Err})
}
