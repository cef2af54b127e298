package asterisk_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/cti"
	"github.com/switchboard-cc/switchboard/cti/asterisk"
)

// BenchmarkCallRequests sends the 14 REST requests of an answered, recorded call (docs/performance.md, "switchboard
// load") to a server that answers each as Asterisk does (status and body from the b-agent-bridge-record transcript, the
// recording 32 KB), and reports the allocations and the process's CPU time per call: the REST client's share of the
// controller's cost per call. The server's share is in the figures too, the same for every client. It runs with the
// default transport and with net/http's, configured as New configured it before the default transport was written.
func BenchmarkCallRequests(b *testing.B) {
	b.Run("transport=default", func(b *testing.B) { benchmarkCallRequests(b, nil) })
	b.Run("transport=net-http", func(b *testing.B) {
		tr := &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxConnsPerHost:     asterisk.MaxConns,
			MaxIdleConnsPerHost: asterisk.MaxConns,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		}
		defer tr.CloseIdleConnections()
		benchmarkCallRequests(b, &http.Client{Transport: tr})
	})
}

func benchmarkCallRequests(b *testing.B, hc *http.Client) {
	recording := bytes.Repeat([]byte{0x7f}, 32<<10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case r.Method == http.MethodPost && p == "/ari/bridges":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"id":"sb-1","technology":"simple_bridge","bridge_type":"mixing","bridge_class":"stasis","creator":"Stasis","name":"","channels":[],"creationtime":"2026-11-22T12:41:56.884+0000","video_mode":"talker"}`)
		case r.Method == http.MethodPost && p == "/ari/channels":
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"id":"sb-agent-1","name":"PJSIP/9001-00000002","state":"Down","protocol_id":"","caller":{"name":"","number":""},"connected":{"name":"","number":""},"accountcode":"","dialplan":{"context":"default","exten":"s","priority":1,"app_name":"AppDial2","app_data":"(Outgoing Line)"},"creationtime":"2026-11-22T12:41:57.001+0000","language":"en"}`)
		case strings.HasSuffix(p, "/record"):
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"name":"interaction-1","format":"wav","state":"queued","target_uri":"bridge:sb-1"}`)
		case strings.HasSuffix(p, "/file"):
			w.Header().Set("Content-Type", "audio/wav")
			w.Write(recording)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	defer srv.Close()
	c := asterisk.New(asterisk.Config{URL: srv.URL + "/ari", User: "switchboard", Password: "secret", App: "contact-center",
		HTTPClient: hc})
	ctx := context.Background()
	ch, agent, br, rec := "1795351316.3", "sb-agent-01a20567-844d-7633-90ef-f914e07db0b7-1", "sb-01a20567-844d-7633-90ef-f914e07db0b7",
		"interaction-01a20567-844d-7633-90ef-f914e07db0b7"
	steps := []func() error{
		func() error { return c.SetVar(ctx, ch, "SB_CALL", "01a20567-844d-7633-90ef-f914e07db0b7") },
		func() error { return c.Answer(ctx, ch) },
		func() error { return c.CreateBridge(ctx, br, cti.BridgeMixing) },
		func() error { return c.AddChannel(ctx, br, ch, "customer") },
		func() error { return c.BridgeMOH(ctx, br, "default") },
		func() error {
			return c.Originate(ctx, cti.Originate{ChannelID: agent, Endpoint: "PJSIP/9001", CallerID: `"Caller" <+15550100>`,
				Timeout: 20 * time.Second, Args: []string{"agent", "01a20567-844d-7633-90ef-f914e07db0b7"},
				Vars: map[string]string{"SB_CALL": "01a20567-844d-7633-90ef-f914e07db0b7", "SB_ROLE": "agent"}})
		},
		func() error { return c.BridgeMOH(ctx, br, "") },
		func() error { return c.AddChannel(ctx, br, agent, "agent") },
		func() error { return c.RecordBridge(ctx, br, rec) },
		func() error { return c.StopRecording(ctx, rec) },
		func() error { return c.Hangup(ctx, ch, "normal") },
		func() error { return c.DestroyBridge(ctx, br) },
		func() error {
			r, err := c.FetchRecording(ctx, rec)
			if err != nil {
				return err
			}
			_, err = io.Copy(io.Discard, r)
			r.Close()
			return err
		},
		func() error { return c.DeleteRecording(ctx, rec) },
	}
	b.ReportAllocs()
	cpu0 := processCPU(b)
	for b.Loop() {
		for _, step := range steps {
			if err := step(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(steps)), "requests/call")
	b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/call")
}

// processCPU is the user and system CPU time the process has used.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
