package webrtcgw_test

import (
	"context"
	"encoding/binary"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/switchboard-cc/switchboard/cti/webrtcgw"
)

// BenchmarkBridgedCalls runs N concurrent calls, each an in-process browser peer ⇄ the gateway ⇄ a UDP peer that echoes like
// an Asterisk bridge would return audio, at 50 packets/s each way, for a fixed time, and reports loss, CPU and latency:
//
//	SWITCHBOARD_WEBRTC_CALLS=300 SWITCHBOARD_WEBRTC_SECONDS=20 go test -run '^$' -bench BenchmarkBridgedCalls -benchtime 1x ./cti/webrtcgw/
//
// CPU is the whole process (gateway plus the simulated browsers and echo peers, whose SRTP and socket work is about the
// gateway's own): an upper bound of the gateway's share.
func BenchmarkBridgedCalls(b *testing.B) {
	n := envInt("SWITCHBOARD_WEBRTC_CALLS", 50)
	secs := envInt("SWITCHBOARD_WEBRTC_SECONDS", 5)
	for b.Loop() {
		runBridgedCalls(b, n, time.Duration(secs)*time.Second)
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// echoPeer returns every packet it receives to where it came from and records the one-way latency stamped in the payload.
type echoPeer struct {
	conn *net.UDPConn
	recv atomic.Uint64
	mu   sync.Mutex
	lat  []time.Duration
}

func (e *echoPeer) run(wg *sync.WaitGroup) {
	defer wg.Done()
	buf := make([]byte, 1500)
	for {
		n, from, err := e.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		if n < 12+8 {
			continue
		}
		sent := int64(binary.BigEndian.Uint64(buf[12:]))
		d := time.Duration(time.Now().UnixNano() - sent)
		e.recv.Add(1)
		e.mu.Lock()
		e.lat = append(e.lat, d)
		e.mu.Unlock()
		e.conn.WriteToUDPAddrPort(buf[:n], from)
	}
}

func runBridgedCalls(b *testing.B, n int, d time.Duration) {
	g, err := webrtcgw.New(testConfig())
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	api := browserAPI(b)
	type call struct {
		br   *browser
		echo *echoPeer
		got  atomic.Uint64
	}
	calls := make([]*call, n)
	var echoWG sync.WaitGroup
	for i := range calls {
		c := &call{br: newBrowser(b, api)}
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			b.Fatal(err)
		}
		c.echo = &echoPeer{conn: conn}
		echoWG.Add(1)
		go c.echo.run(&echoWG)
		c.br.onPacket = func(*rtp.Packet) { c.got.Add(1) }
		leg := dial(b, g, c.br, webrtcgw.LegOptions{})
		if err := leg.SetRemote(conn.LocalAddr().String()); err != nil {
			b.Fatal(err)
		}
		calls[i] = c
	}
	defer func() {
		for _, c := range calls {
			c.echo.conn.Close()
		}
		echoWG.Wait()
	}()

	load0 := loadavg()
	cpu0 := cpuTime()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var sent atomic.Uint64
	var wg sync.WaitGroup
	for i, c := range calls {
		wg.Go(func() {
			// Spread the calls over the 20 ms period, as independent callers are.
			time.Sleep(time.Duration(i) * 20 * time.Millisecond / time.Duration(n))
			t := time.NewTicker(20 * time.Millisecond)
			defer t.Stop()
			payload := make([]byte, 160)
			var seq uint16
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				binary.BigEndian.PutUint64(payload, uint64(time.Now().UnixNano()))
				if err := c.br.track.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 160}, Payload: payload}); err == nil {
					sent.Add(1)
				}
				seq++
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	load1 := loadavg()
	// Let what is in flight arrive.
	var atPBX, atBrowser uint64
	deadline := time.Now().Add(2 * time.Second)
	for {
		atPBX, atBrowser = 0, 0
		for _, c := range calls {
			atPBX += c.echo.recv.Load()
			atBrowser += c.got.Load()
		}
		if atBrowser >= sent.Load() || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	var lat []time.Duration
	for _, c := range calls {
		c.echo.mu.Lock()
		lat = append(lat, c.echo.lat...)
		c.echo.mu.Unlock()
	}
	slices.Sort(lat)
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[int(p*float64(len(lat)-1))].Microseconds())
	}
	lost := float64(sent.Load()-atPBX) + float64(atPBX-atBrowser)
	b.ReportMetric(float64(n), "calls")
	b.ReportMetric(float64(sent.Load())/elapsed.Seconds(), "pkts/s")
	b.ReportMetric(lost, "lost_pkts")
	b.ReportMetric(100*cpu.Seconds()/elapsed.Seconds()/float64(n), "cpu%/call")
	// Per round trip of one packet (browser → gateway → echo → gateway → browser, every end's work), and that at 50 packets/s.
	perPkt := cpu.Seconds() / float64(max(sent.Load(), 1))
	b.ReportMetric(perPkt*1e6, "cpu_µs/pkt")
	b.ReportMetric(100*perPkt*50, "cpu%/call@50pps")
	b.ReportMetric(pct(0.50), "p50_µs")
	b.ReportMetric(pct(0.99), "p99_µs")
	b.ReportMetric(pct(1), "max_µs")
	b.Logf("calls %d for %v: browser sent %d, asterisk side got %d, browser got back %d; process CPU %v (%.1f%% of one core per call); one-way browser→asterisk p50 %.0f µs p99 %.0f µs; load average %s → %s",
		n, elapsed.Round(time.Millisecond), sent.Load(), atPBX, atBrowser, cpu.Round(time.Millisecond),
		100*cpu.Seconds()/elapsed.Seconds()/float64(n), pct(0.5), pct(0.99), load0, load1)
	if lost != 0 {
		b.Errorf("%v packets lost", lost)
	}
}

// cpuTime is the process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}
