package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-cc/switchboard/ivr"
)

// watchFlows polls dir every interval and reloads the flows when a flow file
// changes (name, size or modification time). A valid reload goes to apply;
// an invalid one goes to report and the caller keeps its current Set. watchFlows
// blocks until ctx is done: the caller runs it in a goroutine it owns.
// The first poll records the state without reloading: load before you watch.
func watchFlows(ctx context.Context, dir string, interval time.Duration, cfg ivr.Config, apply func(*ivr.Set), report func(error)) {
	last := dirSignature(dir)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		sig := dirSignature(dir)
		if sig == last {
			continue
		}
		last = sig
		s, err := ivr.LoadDir(dir, cfg)
		if err != nil {
			report(err)
			continue
		}
		apply(s)
	}
}

func dirSignature(dir string) string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return "error: " + err.Error()
	}
	var parts []string
	for _, e := range entries {
		if !ivr.IsFlowFile(e.Name()) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %d %d", e.Name(), info.Size(), info.ModTime().UnixNano()))
	}
	slices.Sort(parts)
	return strings.Join(parts, "\n")
}
