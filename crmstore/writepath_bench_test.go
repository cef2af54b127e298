package crmstore_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/crmstore"
	"github.com/switchboard-cc/switchboard/cti"
)

// BenchmarkCallWritePath measures PostgreSQL's CPU per call in the engine's write path: the interaction writes and agent
// states of answered calls, in the pipelined batches the engine's writer sends at 300 calls/s (a batch every 100 ms carries
// 30 new calls' starts, queue updates and reservations, the answers of the calls that arrived 200 ms before, the finishes and
// Ready states of those that arrived 2.2 s before, and their recordings 200 ms later), with the report rollup job run as
// serve runs it (every 5 s of calls). It reports pg-cpu-µs/call: the user and system CPU time of this database's server
// processes (read from /proc: the server must run on this machine), divided by the calls written; and pg-blocks/call, the
// buffer pages the server's statements touched (pg_stat_database), a figure the machine's load does not change. One op is
// one batch.
//
//	go test ./crmstore/ -run '^$' -bench CallWritePath -benchtime 400x -count 3 -cpu 1
func BenchmarkCallWritePath(b *testing.B) { benchCallWritePath(b, false) }

// BenchmarkCallWritePathSingly is BenchmarkCallWritePath with every write sent alone, as the engine's writer sends them when
// each round trip carries one write (a quiet system): the cost of a write that shares its statements with no other.
func BenchmarkCallWritePathSingly(b *testing.B) { benchCallWritePath(b, true) }

func benchCallWritePath(b *testing.B, singly bool) {
	ctx := context.Background()
	s := MustStore(b)
	pool := s.DB().Pool
	const perBatch, agents = 30, 1000
	if _, err := pool.Exec(ctx, `insert into agents (id, login, display_name, password_hash, role, endpoint, created_at, updated_at)
		select gen_random_uuid(), 'bench-' || i, 'Bench ' || i, 'x', 'agent', 'PJSIP/' || (9000 + i), now(), now()
		from generate_series(1, $1) i`, agents); err != nil {
		benchFatal(b, err)
	}
	var agentIDs []string
	rows, err := pool.Query(ctx, `select id::text from agents where login like 'bench-%' order by login`)
	if err != nil {
		benchFatal(b, err)
	}
	for rows.Next() {
		var id string
		rows.Scan(&id)
		agentIDs = append(agentIDs, id)
	}
	if rows.Err() != nil || len(agentIDs) != agents {
		benchFatalf(b, "%d agents (%v)", len(agentIDs), rows.Err())
	}
	t0 := time.Now().UTC()
	state := func(agent string, st cti.AgentState, call string, at time.Time) cti.InteractionWrite {
		return cti.InteractionWrite{AgentState: &cti.AgentStatus{AgentID: agent, State: st, CallID: call, Since: at}}
	}
	for _, a := range agentIDs {
		if _, err := s.WriteInteractions(ctx, []cti.InteractionWrite{state(a, cti.AgentReady, "", t0)}); err != nil {
			benchFatal(b, err)
		}
	}
	// Batch k carries what is due 100 ms × k into the run: call i arrives in batch i/perBatch.
	type call struct{ id, agent string }
	var calls []call
	queue := "general"
	batch := func(k int) []cti.InteractionWrite {
		at := t0.Add(time.Duration(k) * 100 * time.Millisecond)
		var ws []cti.InteractionWrite
		for range perBatch {
			i := len(calls)
			c := call{crmstore.NewID(), agentIDs[i%agents]}
			calls = append(calls, c)
			start := &cti.Interaction{ID: c.id, Channel: cti.ChannelPhone, Direction: cti.Inbound,
				CallerNumber: "1380013" + strconv.Itoa(1000+i%9000), DialedNumber: "4000", ArrivedAt: at, ChannelID: "ch-" + c.id}
			ws = append(ws, cti.InteractionWrite{ID: c.id, Start: start})
			if startCarriesQueue {
				start.Queue, start.QueuedAt = queue, at
			} else {
				ws = append(ws, cti.InteractionWrite{ID: c.id, Update: &cti.InteractionUpdate{Queue: &queue, QueuedAt: &at}})
			}
			ws = append(ws, state(c.agent, cti.AgentReserved, c.id, at))
		}
		due := func(back int, add func(c call, arrived time.Time)) {
			if k < back {
				return
			}
			for _, c := range calls[(k-back)*perBatch : (k-back+1)*perBatch] {
				add(c, t0.Add(time.Duration(k-back)*100*time.Millisecond))
			}
		}
		due(2, func(c call, arrived time.Time) {
			bridge, agent := "br-"+c.id, c.agent
			ws = append(ws, state(c.agent, cti.AgentOnCall, c.id, at),
				cti.InteractionWrite{ID: c.id, Update: &cti.InteractionUpdate{AgentID: &agent, OfferedAt: &arrived, AnsweredAt: &at,
					BridgeID: &bridge, Queue: &queue}})
		})
		due(22, func(c call, arrived time.Time) {
			ws = append(ws, cti.InteractionWrite{ID: c.id, Finish: &cti.InteractionFinish{Outcome: cti.OutcomeAnswered, EndedAt: at,
				Durations: cti.Durations{Wait: 200 * time.Millisecond, Talk: 2 * time.Second}}},
				state(c.agent, cti.AgentReady, "", at))
		})
		due(24, func(c call, _ time.Time) {
			ws = append(ws, cti.InteractionWrite{ID: c.id, Update: &cti.InteractionUpdate{Recording: &cti.RecordingRef{
				File: c.id + ".wav", Size: 32044, Duration: 2 * time.Second}}})
		})
		return ws
	}
	cpu0, blocks0 := serverCPU(b, s), serverBlocks(b, s)
	k := 0
	for b.Loop() {
		ws := batch(k)
		rounds := [][]cti.InteractionWrite{ws}
		if singly {
			rounds = nil
			for i := range ws {
				rounds = append(rounds, ws[i:i+1])
			}
		}
		for _, ws := range rounds {
			rejected, err := s.WriteInteractions(ctx, ws)
			if err != nil || rejected != nil {
				benchFatalf(b, "batch %d: %v %v", k, err, rejected)
			}
		}
		if k%50 == 49 { // every 5 s of calls, as serve's report-rollup goroutine
			now := t0.Add(time.Duration(k) * 100 * time.Millisecond)
			if _, err := crmstore.RefreshReportsBefore(s, ctx, 0, now.Add(-16*time.Minute)); err != nil {
				benchFatal(b, err)
			}
		}
		k++
	}
	cpu := serverCPU(b, s) - cpu0
	b.ReportMetric(float64(cpu.Microseconds())/float64(len(calls)), "pg-cpu-µs/call")
	// The server's statistics of idle connections reach pg_stat_database within a second.
	time.Sleep(2 * time.Second)
	b.ReportMetric(float64(serverBlocks(b, s)-blocks0)/float64(len(calls)), "pg-blocks/call")
	// The share of updates that were HOT (no index entry written), of interactions and of the open agent states.
	for _, table := range []string{"interactions", "agent_state_open"} {
		var upd, hot float64
		if err := pool.QueryRow(ctx, `select n_tup_upd, n_tup_hot_upd from pg_stat_user_tables where relname = $1`,
			table).Scan(&upd, &hot); err != nil {
			benchFatal(b, err)
		}
		b.ReportMetric(100*hot/max(upd, 1), table+"-hot-%")
	}
	var done int
	if err := pool.QueryRow(ctx, `select count(*) from interactions where outcome = 'answered' and recording_file is not null`).Scan(&done); err != nil {
		benchFatal(b, err)
	}
	if want := max(k-24, 0) * perBatch; done != want {
		benchFatalf(b, "%d calls written through, want %d", done, want)
	}
}

// startCarriesQueue: the engine's writer folds the queue update that follows a new call's start into the start (a call queued
// at once, as in switchboard load).
const startCarriesQueue = true

// serverCPU returns the CPU time the server processes of s's database have used (user + system), from /proc.
func serverCPU(b *testing.B, s *crmstore.Store) time.Duration {
	b.Helper()
	rows, err := s.DB().Pool.Query(context.Background(), `select pid from pg_stat_activity where datname = current_database()`)
	if err != nil {
		benchFatal(b, err)
	}
	defer rows.Close()
	var ticks int64
	for rows.Next() {
		var pid int
		rows.Scan(&pid)
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			b.Skipf("the server's processes are not readable here: %v", err)
		}
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
		u, _ := strconv.ParseInt(f[11], 10, 64) // utime, the 14th field
		st, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + st
	}
	return time.Duration(ticks) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

// serverBlocks returns the buffer pages (hits and reads) the statements of s's database have touched.
func serverBlocks(b *testing.B, s *crmstore.Store) int64 {
	b.Helper()
	var n int64
	if err := s.DB().Pool.QueryRow(context.Background(), `select blks_hit + blks_read from pg_stat_database
		where datname = current_database()`).Scan(&n); err != nil {
		benchFatal(b, err)
	}
	return n
}
