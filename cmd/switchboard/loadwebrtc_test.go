package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"testing"

	"github.com/switchboard-cc/switchboard/crmstore/pgtest"
)

// TestLoadWebRTC runs the web-call load command small: every call comes up through the widget's signalling, the media is
// counted at both ends with nothing lost, and the report carries every figure.
func TestLoadWebRTC(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two more processes and carries media for two seconds")
	}
	report := runLoadCommand(t, "load-webrtc", "--calls", "5", "--ramp", "10", "--duration", "2s", "--database-url", pgtest.URL(t))
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`calls up: 5 of 5 \(0 failed\), 5 gateway legs`),
		regexp.MustCompile(`browser → externalMedia: [1-9][0-9]* sent, [1-9][0-9]* received, 0 lost`),
		regexp.MustCompile(`externalMedia → browser: [1-9][0-9]* expected by sequence number, [1-9][0-9]* received, 0 lost`),
		regexp.MustCompile(`one-way latency browser → externalMedia \([1-9][0-9]* samples\): p50 [0-9.]+ [µm]?s, p99`),
		regexp.MustCompile(`CPU over the window: controller\+gateway [0-9.]+% of a core .*; emulator [0-9.]+% .*; browsers [0-9.]+%`),
		regexp.MustCompile(`machine: load average [0-9.]+ [0-9.]+ [0-9.]+`),
	} {
		if !want.MatchString(report) {
			t.Errorf("report lacks %s", want)
		}
	}
	// Five browsers at 50 packets a second for two seconds: the senders kept (roughly) their pace.
	m := regexp.MustCompile(`browser → externalMedia: ([0-9]+) sent`).FindStringSubmatch(report)
	if m != nil {
		if sent, _ := strconv.Atoi(m[1]); sent < 5*50*2/2 {
			t.Errorf("only %d packets sent in the window, want about %d", sent, 5*50*2)
		}
	}
}

func TestLoadWebRTCBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--calls", "0"}, {"--ramp", "0"}, {"--duration", "0s"}} {
		var out, errs bytes.Buffer
		if code := runCommand(context.Background(), append([]string{"load-webrtc"}, args...), &out, &errs); code != 2 {
			t.Errorf("%v: exit status %d, want 2 (usage)", args, code)
		}
	}
}
