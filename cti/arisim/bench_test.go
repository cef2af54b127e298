package arisim

import (
	"context"
	"syscall"
	"testing"
	"time"
)

// BenchmarkInboundCall: one caller through Stasis over real HTTP and
// websocket: StasisStart, answer (ChannelStateChange), DELETE (QoS varsets,
// ChannelHangupRequest, StasisEnd).
func BenchmarkInboundCall(b *testing.B) {
	h := newHarness(b, Config{TimeScale: 0.001})
	ws := h.dial("contact-center", "")
	waitRegistered(b, h, "contact-center")
	n := 0
	for b.Loop() {
		id, err := h.srv.Call(CallSpec{CallerNumber: "100"})
		if err != nil {
			b.Fatal(err)
		}
		_, n = ws.waitType("StasisStart", n)
		h.do("POST", "/channels/"+id+"/answer", "")
		h.do("DELETE", "/channels/"+id, "")
		_, n = ws.waitType("StasisEnd", n)
	}
	b.ReportMetric(float64(ws.count())/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkLoad200 drives 200 calls/s for 3 s through the mini controller
// (answer, bridge, originate an agent, bridge it) and reports what got
// bridged, and the CPU time of the process (emulator and mini controller:
// the same controller in an A/B of the emulator) per call offered, from the
// first call until every call is bridged.
func BenchmarkLoad200(b *testing.B) {
	for b.Loop() {
		h := newHarness(b, Config{TimeScale: 0.01})
		ws := h.dial("contact-center", "")
		waitRegistered(b, h, "contact-center")
		stop := make(chan struct{})
		wg := miniController(b, h, ws, stop)
		cpu0 := processCPU(b)
		res, err := h.srv.Load(context.Background(), 200, 3*time.Second, CallSpec{HangupAfter: 30 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for h.srv.Stats().CallsBridged < res.Offered && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		cpu := processCPU(b) - cpu0
		st := h.srv.Stats()
		close(stop)
		wg.Wait()
		b.ReportMetric(float64(res.Offered), "offered")
		b.ReportMetric(float64(st.CallsBridged), "bridged")
		b.ReportMetric(float64(st.EventsSent)/res.Duration.Seconds(), "events/s")
		b.ReportMetric(float64(cpu.Microseconds())/float64(res.Offered), "cpu-µs/call")
		h.srv.Close()
	}
}

// processCPU is the user and system CPU time the process has used.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
