package main

import (
	"bytes"
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/crmstore/pgtest"
)

// TestMain lets the test binary stand in for the switchboard binary when the load command starts its emulator process (the
// command re-executes os.Executable, which is this binary in a test).
func TestMain(m *testing.M) {
	if os.Getenv(loadRoleEnv) == "emulator" || os.Getenv(loadWebRTCRoleEnv) != "" {
		os.Exit(runCommand(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// TestLoad runs the load command at a small rate: every call is answered and the report carries every figure.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a second process and places calls for two seconds")
	}
	report := runLoadCommand(t, "load", "--rate", "20", "--duration", "2s", "--talk", "500ms", "--answer", "100ms", "--database-url", pgtest.URL(t))
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`calls: intended 40, offered (39|40|41) \([0-9.]+/s, rate sustained\), rejected 0, answered (39|40|41), bridged to an agent (39|40|41)\n`),
		regexp.MustCompile(`interactions: (39|40|41) \(answered (39|40|41)\), (39|40|41) recordings stored; all ended\n`),
		regexp.MustCompile(`lost or failed calls: 0\n`),
		regexp.MustCompile(`StasisStart to agent originate \(emulator side, (39|40|41) calls, 0 without one\): p50 [0-9.]+ [µm]?s, p99 [0-9.]+ [µm]?s`),
		regexp.MustCompile(`\n  0–1 s +[0-9]+ calls  p50 [0-9.]+ [µm]?s +p99 [0-9.]+ [µm]?s +max [0-9.]+ [µm]?s +[0-9]+ over 10.00 ms\n`),
		regexp.MustCompile(`\ndatabase pool: [0-9]+ connections opened during the run, [0-9]+ open at the end \(at most [0-9]+\); [0-9]+ acquires waited for one \([0-9.]+ [µm]?s in all\)\n`),
		regexp.MustCompile(`controller CPU per call: [0-9.]+ [µm]?s \(user`),
		regexp.MustCompile(`emulator CPU per call: [0-9.]+ [µm]?s`),
		regexp.MustCompile(`REST requests per call: [0-9.]+ \(.*channels\.originate [0-9.]+.*\)\n`),
		regexp.MustCompile(`memory per live call: -?[0-9.]+ KB heap in use .* [0-9]+ calls up`),
		regexp.MustCompile(`machine: load average [0-9.]+ [0-9.]+ [0-9.]+`),
	} {
		if !want.MatchString(report) {
			t.Errorf("report lacks %s", want)
		}
	}
	if strings.Contains(report, "sbload_") {
		t.Error("the report names the throwaway database")
	}
}

func TestLoadBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--rate", "0"}, {"--duration", "-1s"}, {"--agents", "-3"}, {"--talk", "0s"}} {
		var out, errs bytes.Buffer
		if code := runCommand(context.Background(), append([]string{"load"}, args...), &out, &errs); code != 2 {
			t.Errorf("load %v: exit status %d, want 2 (stderr %q)", args, code, errs.String())
		}
	}
}

// runLoadCommand runs a load command to its end within two minutes, fails the test on a non-zero exit, and returns the report.
func runLoadCommand(t *testing.T, args ...string) string {
	t.Helper()
	var out, errs bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := runCommand(ctx, args, &out, &errs)
	report := out.String()
	t.Logf("report:\n%s", report)
	if code != 0 {
		t.Fatalf("exit status %d; stderr:\n%s", code, errs.String())
	}
	return report
}
