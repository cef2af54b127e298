package agentui_test

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchboard-cc/switchboard/cti"
)

// BenchmarkHubFanout connects SWITCHBOARD_BENCH_AGENTS agent desktops (default 5,000) and 50 supervisors with real gorilla
// clients on loopback, plus one supervisor that never reads, then sends offers at 200/s: each offer is what the engine sends for
// one call (the agent's new state, the ringing call, the screen-pop), so supervisors get two messages per offer. It reports the
// offer → delivered latency at the agent (p50, p99), the heap and stacks per connection (both ends are in this process), the
// slowest Notifier call and how many clients were dropped (the stalled one should be).
//
//	go test -run '^$' -bench BenchmarkHubFanout -benchtime 2000x ./agent-ui/
func BenchmarkHubFanout(b *testing.B) {
	agents := 5000
	if v, err := strconv.Atoi(os.Getenv("SWITCHBOARD_BENCH_AGENTS")); err == nil && v > 0 {
		agents = v
	}
	const supervisors, rate = 50, 200
	raiseFileLimit(b, 2*(agents+supervisors)+1000)

	h := mustHub(b, nil)
	url := "ws" + strings.TrimPrefix(h.srv.URL, "http") + "/ws"
	dialer := &websocket.Dialer{ReadBufferSize: 1024, WriteBufferSize: 1024}

	var lat latencies
	var wg sync.WaitGroup
	var conns []*websocket.Conn
	var mu sync.Mutex
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	connect := func(id string, role cti.Role, read func(ws *websocket.Conn)) {
		token := h.sess.add(id, id, role)
		ws, _, err := dialer.Dial(url, http.Header{"Cookie": {"sb_session=" + token}})
		if err != nil {
			b.Errorf("dial %s: %v", id, err)
			return
		}
		if _, _, err := ws.ReadMessage(); err != nil { // the snapshot
			b.Errorf("snapshot %s: %v", id, err)
			return
		}
		mu.Lock()
		conns = append(conns, ws)
		mu.Unlock()
		if read != nil {
			wg.Go(func() { read(ws) })
		}
	}
	agentRead := func(ws *websocket.Conn) {
		key := []byte(`"interaction_id":"t`)
		for {
			_, msg, err := ws.ReadMessage()
			if err != nil {
				return
			}
			if i := bytes.Index(msg, key); i >= 0 && bytes.Contains(msg[:40], []byte(`"type":"offer"`)) {
				rest := msg[i+len(key):]
				if j := bytes.IndexByte(rest, '"'); j > 0 {
					sent, _ := strconv.ParseInt(string(rest[:j]), 10, 64)
					lat.add(time.Duration(time.Now().UnixNano() - sent))
				}
			}
		}
	}
	supRead := func(ws *websocket.Conn) {
		for {
			if _, _, err := ws.NextReader(); err != nil {
				return
			}
		}
	}
	start := time.Now()
	sem := make(chan struct{}, 64)
	var dials sync.WaitGroup
	for i := range agents {
		sem <- struct{}{}
		dials.Go(func() {
			defer func() { <-sem }()
			connect(fmt.Sprintf("agent%05d", i), cti.RoleAgent, agentRead)
		})
	}
	for i := range supervisors {
		dials.Go(func() { connect(fmt.Sprintf("sup%02d", i), cti.RoleSupervisor, supRead) })
	}
	dials.Wait()
	connect("stalled", cti.RoleSupervisor, nil) // never reads again
	b.Logf("%d connections in %s", len(conns), time.Since(start))
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	perConn := float64((after.HeapInuse+after.StackInuse)-(before.HeapInuse+before.StackInuse)) / float64(len(conns))

	n := h.ui.Notifier()
	tick := time.NewTicker(time.Second / rate)
	defer tick.Stop()
	var worst time.Duration
	i := 0
	big := strings.Repeat("notes ", 100) // a realistic screen-pop is a few kB
	b.ResetTimer()
	for b.Loop() {
		<-tick.C
		agent := fmt.Sprintf("agent%05d", i%agents)
		i++
		t0 := time.Now()
		id := "t" + strconv.FormatInt(t0.UnixNano(), 10)
		n.Agent(cti.AgentStatus{AgentID: agent, State: cti.AgentReserved, CallID: id, Since: t0})
		n.Call(cti.CallView{ID: id, State: cti.CallRinging, Queue: "sales", AgentID: agent, ArrivedAt: t0})
		n.Offer(agent, cti.ScreenPop{InteractionID: id, Queue: "sales", Caller: cti.Party{Number: "+8613800138000"},
			Customer: &cti.Customer{Name: "Li Wei", Notes: big}, Deadline: t0.Add(15 * time.Second)})
		worst = max(worst, time.Since(t0))
	}
	b.StopTimer()
	// Let the last offers arrive.
	deadline := time.Now().Add(5 * time.Second)
	for lat.count() < i && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	p50, p99, got := lat.quantiles()
	b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(perConn/1024, "KiB/conn")
	b.ReportMetric(float64(worst.Microseconds())/1000, "max-notify-ms")
	b.ReportMetric(counter(b, h.reg, "switchboard_ws_dropped_total"), "dropped")
	b.Logf("%d/%d offers delivered; p50 %s p99 %s; %.1f KiB per connection (client and server); slowest Notifier call %s; "+
		"dropped %v", got, i, p50, p99, perConn/1024, worst, counter(b, h.reg, "switchboard_ws_dropped_total"))
	if got < i {
		b.Errorf("%d offers never arrived", i-got)
	}
	for _, ws := range conns {
		ws.Close()
	}
	h.ui.Close()
	wg.Wait()
}

type latencies struct {
	mu sync.Mutex
	d  []time.Duration
	n  atomic.Int64
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
	l.n.Add(1)
}

func (l *latencies) count() int { return int(l.n.Load()) }

func (l *latencies) quantiles() (p50, p99 time.Duration, n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0, 0, 0
	}
	s := slices.Clone(l.d)
	slices.Sort(s)
	return s[len(s)/2], s[len(s)*99/100], len(s)
}

// raiseFileLimit lifts the soft limit of open files to what the benchmark needs (both ends of every socket are here).
func raiseFileLimit(tb testing.TB, need int) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		tb.Fatal(err)
	}
	if r.Cur >= uint64(need) {
		return
	}
	r.Cur = min(uint64(need), r.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r); err != nil || r.Cur < uint64(need) {
		tb.Fatalf("open files limit %d < %d: raise it (ulimit -n)", r.Cur, need)
	}
}
