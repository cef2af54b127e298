package arisim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
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

// BenchmarkRESTRequest: one REST request on a kept-alive connection, sent
// and read as raw bytes so that what is measured is the emulator's side:
// POST /channels/{id}/variable on a caller in Stasis, a 204 and a
// ChannelVarset event, which a reader drops. allocs/op is the emulator's
// allocation per request (its HTTP loop, routing, handler and event) but
// the events reader's one or two.
func BenchmarkRESTRequest(b *testing.B) {
	h := newHarness(b, Config{TimeScale: 0.001})
	addr := strings.TrimPrefix(h.url, "http://")
	ws, resp, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ari/events?api_key=asterisk:asterisk&app=contact-center", nil)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	defer ws.Close()
	go func() {
		for {
			_, r, err := ws.NextReader()
			if err != nil {
				return
			}
			io.Copy(io.Discard, r) //nolint:errcheck // only drained
		}
	}()
	waitRegistered(b, h, "contact-center")
	id, err := h.srv.Call(CallSpec{CallerNumber: "100"}) // never hangs up
	if err != nil {
		b.Fatal(err)
	}
	for h.do("GET", "/channels/"+id, "").status != http.StatusOK {
		time.Sleep(time.Millisecond)
	}
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	req := []byte("POST /ari/channels/" + id + "/variable?variable=BENCH&value=1 HTTP/1.1\r\nHost: " + addr +
		"\r\nUser-Agent: Go-http-client/1.1\r\nContent-Length: 0\r\nAuthorization: Basic " +
		base64.StdEncoding.EncodeToString([]byte("asterisk:asterisk")) + "\r\nAccept-Encoding: gzip\r\n\r\n")
	br := bufio.NewReader(nc)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := nc.Write(req); err != nil {
			b.Fatal(err)
		}
		status, err := br.ReadSlice('\n')
		if err != nil || !bytes.HasPrefix(status, []byte("HTTP/1.1 204 ")) {
			b.Fatalf("status %q, %v", status, err)
		}
		for { // a 204 has no body: the header ends the response
			line, err := br.ReadSlice('\n')
			if err != nil {
				b.Fatal(err)
			}
			if len(line) == 2 {
				break
			}
		}
	}
}
