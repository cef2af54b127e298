package arisim

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
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
	addr, ws := dialEvents(b, h)
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

// BenchmarkCall: one whole call as switchboard's controller drives it
// under `switchboard load`, over real HTTP and websocket, one call at a
// time: the caller's StasisStart, tagging variables (a JSON body), answer,
// a mixing bridge with the caller and music on hold, an agent leg
// originated with variables (answers after 200 ms, hangs up after 10 s of
// talk, simulated), MOH stopped, the leg bridged, the bridge recorded; on
// the leg's StasisEnd the caller hung up, the recording stopped, the bridge
// destroyed, the stored file fetched and deleted: the 14 REST requests and
// ≈ 60 events of a call. The client writes raw requests on one kept-alive
// connection and reads the events itself, so that nearly all of the process's
// CPU (cpu-µs/call) and allocations (allocs/op) are the emulator's.
// "filtered" sets first the event filter cti/asterisk sets on connect.
func BenchmarkCall(b *testing.B) {
	b.Run("unfiltered", func(b *testing.B) { benchCall(b, "") })
	b.Run("filtered", func(b *testing.B) { benchCall(b, controllerFilter) })
}

// controllerFilter is the event filter cti/asterisk sets on connect: the
// event types it translates (its handledTypes).
const controllerFilter = `{"allowed":[{"type":"StasisStart"},{"type":"StasisEnd"},{"type":"ChannelHangupRequest"},` +
	`{"type":"ChannelDestroyed"},{"type":"ChannelDtmfReceived"},{"type":"PlaybackFinished"},{"type":"RecordingFinished"},` +
	`{"type":"RecordingFailed"},{"type":"ApplicationReplaced"}],"disallowed":[]}`

func benchCall(b *testing.B, filter string) {
	// The agent talks 10 s (50 ms here), not the load command's 2 s: on a
	// busy machine a shorter talk can end before the leg is bridged.
	h := newHarness(b, Config{TimeScale: 0.005, Endpoints: map[string]Behaviour{
		"PJSIP/9001": {Registered: true, AnswerAfter: 200 * time.Millisecond, HangupAfter: 10 * time.Second},
	}})
	addr, ws := dialEvents(b, h)
	defer ws.Close()
	waitRegistered(b, h, "contact-center")
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	c := &rawClient{tb: b, nc: nc, br: bufio.NewReader(nc), host: addr,
		auth: "Basic " + base64.StdEncoding.EncodeToString([]byte("asterisk:asterisk"))}
	ev := &eventReader{tb: b, ws: ws}
	if filter != "" {
		c.do(200, "PUT", "/ari/applications/contact-center/eventFilter", filter)
	}
	st0, cpu0, calls := h.srv.Stats(), processCPU(b), 0
	b.ReportAllocs()
	for b.Loop() {
		calls++
		id, err := h.srv.Call(CallSpec{CallerNumber: "15550000001", CallerName: "Load 1"})
		if err != nil {
			b.Fatal(err)
		}
		call := fmt.Sprintf("bench-%d", calls)
		br, leg, rec := "sb-"+call, "sb-agent-"+call+"-1", "interaction-"+call
		ev.wait("StasisStart", id)
		c.do(204, "POST", "/ari/channels/"+id+"/variables", `{"variables":{"SB_CALL":"`+call+
			`","SB_ENQUEUED":"1795394776034","SB_PRIORITY":"0","SB_QUEUE":"general","SB_ROLE":"customer"}}`)
		c.do(204, "POST", "/ari/channels/"+id+"/answer", "")
		c.do(200, "POST", "/ari/bridges?type=mixing&bridgeId="+br, "")
		c.do(204, "POST", "/ari/bridges/"+br+"/addChannel?channel="+id+"&role=customer", "")
		c.do(204, "POST", "/ari/bridges/"+br+"/moh?mohClass=default", "")
		c.do(200, "POST", "/ari/channels?endpoint=PJSIP%2F9001&app=contact-center&appArgs=agent%2C"+call+
			"&callerId=%22Load+1%22+%3C15550000001%3E&channelId="+leg+"&timeout=15",
			`{"variables":{"SB_AGENT":"01a205de-29be-74a1-a65e-01f30819211f","SB_CALL":"`+call+`","SB_ROLE":"agent"}}`)
		ev.wait("StasisStart", leg)
		c.do(204, "DELETE", "/ari/bridges/"+br+"/moh", "")
		c.do(204, "POST", "/ari/bridges/"+br+"/addChannel?channel="+leg+"&role=agent", "")
		c.do(201, "POST", "/ari/bridges/"+br+"/record?name="+rec+"&format=wav&ifExists=fail", "")
		ev.wait("StasisEnd", leg)
		c.do(204, "DELETE", "/ari/channels/"+id+"?reason=normal", "")
		c.do(204, "POST", "/ari/recordings/live/"+rec+"/stop", "")
		c.do(204, "DELETE", "/ari/bridges/"+br, "")
		c.do(200, "GET", "/ari/recordings/stored/"+rec+"/file", "")
		c.do(204, "DELETE", "/ari/recordings/stored/"+rec, "")
		ev.wait("StasisEnd", id)
	}
	cpu := processCPU(b) - cpu0
	b.ReportMetric(float64(cpu.Microseconds())/float64(calls), "cpu-µs/call")
	st := h.srv.Stats()
	b.ReportMetric(float64(st.EventsSent-st0.EventsSent)/float64(calls), "events/call")
	b.ReportMetric(float64(st.EventsFiltered-st0.EventsFiltered)/float64(calls), "filtered/call")
}

// rawClient sends ARI requests as Go's HTTP client writes them and reads
// the responses, with little work or allocation of its own.
type rawClient struct {
	tb         testing.TB
	nc         net.Conn
	br         *bufio.Reader
	host, auth string
	buf        []byte
}

func (c *rawClient) do(want int, method, target, body string) {
	c.tb.Helper()
	b := append(c.buf[:0], method...)
	b = append(b, ' ')
	b = append(b, target...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, c.host...)
	b = append(b, "\r\nUser-Agent: Go-http-client/1.1\r\n"...)
	if method != "GET" && method != "DELETE" {
		b = append(b, "Content-Length: "...)
		b = strconv.AppendInt(b, int64(len(body)), 10)
		b = append(b, "\r\n"...)
	}
	b = append(b, "Authorization: "...)
	b = append(b, c.auth...)
	if body != "" {
		b = append(b, "\r\nContent-Type: application/json"...)
	}
	b = append(b, "\r\nAccept-Encoding: gzip\r\n\r\n"...)
	b = append(b, body...)
	c.buf = b
	if _, err := c.nc.Write(b); err != nil {
		c.tb.Fatal(err)
	}
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		c.tb.Fatal(err)
	}
	if len(line) < 12 || atoi(string(line[9:12])) != want {
		c.tb.Fatalf("%s %s: %q, want %d", method, target, line, want)
	}
	size := 0
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			c.tb.Fatal(err)
		}
		if len(line) == 2 {
			break
		}
		if v, ok := bytes.CutPrefix(line, []byte("Content-Length: ")); ok {
			size = atoi(string(bytes.TrimSpace(v)))
		}
	}
	if _, err := c.br.Discard(size); err != nil {
		c.tb.Fatal(err)
	}
}

// eventReader reads the events websocket on the benchmark's goroutine.
type eventReader struct {
	tb  testing.TB
	ws  *websocket.Conn
	buf []byte
}

// wait reads events until one of type typ about channel id.
func (r *eventReader) wait(typ, id string) {
	r.tb.Helper()
	r.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	want, about := []byte(`"type":"`+typ+`"`), []byte(`"channel":{"id":"`+id+`"`)
	for {
		_, m, err := r.ws.NextReader()
		if err != nil {
			r.tb.Fatalf("waiting for %s of %s: %v", typ, id, err)
		}
		b := bytes.NewBuffer(r.buf[:0])
		if _, err := b.ReadFrom(m); err != nil {
			r.tb.Fatal(err)
		}
		r.buf = b.Bytes()
		if bytes.Contains(r.buf, want) && bytes.Contains(r.buf, about) {
			return
		}
	}
}

// dialEvents opens the contact-center app's events websocket on h, returning the emulator's host:port too.
func dialEvents(b *testing.B, h *harness) (string, *websocket.Conn) {
	b.Helper()
	addr := strings.TrimPrefix(h.url, "http://")
	ws, resp, err := websocket.DefaultDialer.Dial("ws://"+addr+"/ari/events?api_key=asterisk:asterisk&app=contact-center", nil)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	return addr, ws
}
