package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/crmstore/pgtest"
)

// MustRunMain starts the server in-process on a random port against a fresh database and stops it when the test ends.
func MustRunMain(tb testing.TB, args ...string) *Main {
	tb.Helper()
	m := NewMain()
	m.Stdout, m.Stderr = io.Discard, io.Discard
	args = append([]string{"--http", "127.0.0.1:0", "--database-url", pgtest.URL(tb), "--ivr-flows", "../../ivr/flows",
		"--demo-calls-per-minute", "0", "--recordings-dir", tb.TempDir()}, args...)
	if err := m.ParseFlags(args); err != nil {
		tb.Fatal(err)
	}
	m.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if err := m.Run(context.Background()); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := m.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return m
}

// checkFor polls f until it succeeds or the time is up, then fails the test with f's last error.
func checkFor(tb testing.TB, within time.Duration, f func() error) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func get(tb testing.TB, url string) (int, string) {
	tb.Helper()
	resp, err := http.Get(url)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeHealthReadyMetrics(t *testing.T) {
	m := MustRunMain(t)
	if code, body := get(t, m.URL()+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz = %d %q", code, body)
	}
	checkFor(t, 5*time.Second, func() error {
		if code, body := get(t, m.URL()+"/readyz"); code != 200 || body != `{"asterisk":"ok","database":"ok"}`+"\n" {
			return fmt.Errorf("/readyz = %d %q", code, body)
		}
		return nil
	})
	code, body := get(t, m.URL()+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	for _, want := range []string{"switchboard_build_info{", "go_goroutines", "process_cpu_seconds_total"} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// When the database goes away, /readyz says so while /healthz stays up.
func TestReadyzReportsDatabaseDown(t *testing.T) {
	m := MustRunMain(t)
	m.db.Pool.Close()
	if code, body := get(t, m.URL()+"/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "database") {
		t.Errorf("/readyz with the pool closed = %d %q, want 503 naming the database", code, body)
	}
	if code, _ := get(t, m.URL()+"/healthz"); code != 200 {
		t.Errorf("/healthz = %d, want 200", code)
	}
}

// Bad configuration gives one line naming the setting and a non-zero exit; secrets are never echoed.
func TestBadConfiguration(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		code int
		want string
	}{
		{"unknown flag", []string{"serve", "--bogus"}, nil, 2, "unknown flag -bogus"},
		{"bad duration", []string{"serve", "--shutdown-timeout", "soon"}, nil, 2, "-shutdown-timeout"},
		{"bad env duration", []string{"serve"}, map[string]string{"SWITCHBOARD_SHUTDOWN_TIMEOUT": "soon"}, 2, "SWITCHBOARD_SHUTDOWN_TIMEOUT"},
		{"bad log level", []string{"serve", "--log-level", "loud"}, nil, 2, "-log-level"},
		{"bad address", []string{"serve", "--http", "nowhere"}, nil, 2, "-http"},
		{"bad ari url", []string{"serve", "--ari-url", "ftp://pbx"}, nil, 2, "-ari-url"},
		{"unreachable database", []string{"serve", "--http", "127.0.0.1:0", "--log-level", "error", "--ivr-flows", "", "--database-url", "postgres://u:hunter2@127.0.0.1:1/x"}, nil, 1, "database at 127.0.0.1:1: connect: connection refused"},
		{"unparsable database url", []string{"migrate", "--database-url", "mysql://u:hunter2@h/x"}, nil, 2, "-database-url"},
		{"unknown command", []string{"frobnicate"}, nil, 2, "unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var stdout, stderr bytes.Buffer
			code := runCommand(context.Background(), tt.args, &stdout, &stderr)
			out := stderr.String()
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, out)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			last := lines[len(lines)-1]
			if !strings.Contains(last, tt.want) {
				t.Errorf("last line %q does not mention %q", last, tt.want)
			}
			if strings.Contains(out, "hunter2") {
				t.Errorf("stderr echoes the password: %q", out)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	var stdout bytes.Buffer
	if code := runCommand(context.Background(), []string{"help"}, &stdout, io.Discard); code != 0 {
		t.Fatalf("help exit %d", code)
	}
	for name := range commands {
		if !strings.Contains(stdout.String(), name) {
			t.Errorf("help does not list %s", name)
		}
		var out bytes.Buffer
		if code := runCommand(context.Background(), []string{name, "--help"}, &out, io.Discard); code != 0 || !strings.Contains(out.String(), "Usage: switchboard "+name) {
			t.Errorf("%s --help: exit %d, output %q", name, code, out.String())
		}
	}
	var out bytes.Buffer
	runCommand(context.Background(), []string{"serve", "--help"}, &out, io.Discard)
	if !strings.Contains(out.String(), "SWITCHBOARD_ARI_PASSWORD") {
		t.Error("serve --help does not document the environment variables")
	}
}

// The collector's target is the server's unless GOGC or GOMEMLIMIT say otherwise.
func TestTuneGC(t *testing.T) {
	percent, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64)
	defer func() { debug.SetGCPercent(percent); debug.SetMemoryLimit(limit) }()
	for _, tc := range []struct {
		env            map[string]string
		percent, limit int64
	}{
		{map[string]string{}, defaultGCPercent, defaultMemoryLimit},
		{map[string]string{"GOGC": "50"}, 100, defaultMemoryLimit},
		{map[string]string{"GOMEMLIMIT": "2GiB"}, defaultGCPercent, math.MaxInt64},
	} {
		debug.SetGCPercent(100)
		debug.SetMemoryLimit(math.MaxInt64)
		tuneGC(func(k string) string { return tc.env[k] })
		if p, l := int64(debug.SetGCPercent(100)), debug.SetMemoryLimit(-1); p != tc.percent || l != tc.limit {
			t.Errorf("env %v: GC percent %d, memory limit %d; want %d, %d", tc.env, p, l, tc.percent, tc.limit)
		}
	}
}
