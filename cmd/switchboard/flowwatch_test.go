package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/switchboard-cc/switchboard/ivr"
)

// TestWatch checks hot reload: a valid change is applied, an invalid one
// is reported and not applied, and Watch stops with its context.
func TestWatch(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		file := filepath.Join(dir, "f.yaml")
		write := func(src string) {
			if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write("id: a\ndefault: true\nstart: h\nnodes: {h: {type: hangup}}\n")
		var (
			mu      sync.Mutex
			applied []string
			errs    []string
		)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			defer close(done)
			watchFlows(ctx, dir, time.Second, ivr.Config{},
				func(s *ivr.Set) { mu.Lock(); applied = append(applied, s.Flows()[0].ID); mu.Unlock() },
				func(err error) { mu.Lock(); errs = append(errs, err.Error()); mu.Unlock() })
		}()
		time.Sleep(1500 * time.Millisecond)
		write("id: a\ndefault: true\nstart: h\nnodes: {h: {type: hangup}, x: {type: oops}}\n")
		time.Sleep(time.Second)
		write("id: b\ndefault: true\nstart: h\nnodes: {h: {type: hangup}}\n# now valid\n")
		time.Sleep(time.Second)
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		if len(errs) != 1 || !strings.Contains(errs[0], `f.yaml:4:38: node "x": unknown node type "oops"`) {
			t.Errorf("reported %q", errs)
		}
		if strings.Join(applied, ",") != "b" {
			t.Errorf("applied %q, want b", applied)
		}
	})
}
