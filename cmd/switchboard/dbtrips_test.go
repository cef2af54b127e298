package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/crmstore"
	"github.com/switchboard-cc/switchboard/cti/arisim"
)

// TestCallRoundTrips counts the controller's database round trips for one answered call of a known customer, from
// StasisStart to the row complete with its recording and disposition: caller lookup and timeline, screen-pop configuration,
// interaction writes, agent states. A pipelined batch counts once. Calls run one at a time, so the batch gathers only one
// call's writes: under load it carries many calls and costs less per call. The test's own reads go through a separate pool.
//
//	go test -count=1 -v -run TestCallRoundTrips ./cmd/switchboard/
func TestCallRoundTrips(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	const calls = 10
	s := startCTI(t, ctiOptions{builtin: true})
	ctx := context.Background()
	own, err := crmstore.Open(ctx, s.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	store := crmstore.NewStore(own, crmstore.Options{Region: "CN"})
	callers, err := crmstore.SampleCallers(ctx, own, 20)
	if err != nil || len(callers) == 0 {
		t.Fatalf("sample callers: %v %v", callers, err)
	}
	s.ready("agent1")

	var mu sync.Mutex
	kinds := map[string]int{}
	s.m.db.ObserveQueries(func(kind string, _ time.Duration, _ error) {
		mu.Lock()
		kinds[kind]++
		mu.Unlock()
	})
	defer s.m.db.ObserveQueries(func(string, time.Duration, error) {})
	for i := range calls {
		caller := callers[i%len(callers)]
		ch, err := s.sim.Call(arisim.CallSpec{CallerNumber: caller.Number, CallerName: caller.Name, Dialed: "201"})
		if err != nil {
			t.Fatal(err)
		}
		leg := s.accept("agent1")
		a := s.agent("agent1")
		id := a.CallID
		s.waitBridged(id, ch, leg)
		if err := s.sim.Hangup(ch); err != nil {
			t.Fatal(err)
		}
		s.waitGone(ch, leg)
		s.wrapUp("agent1", id, "resolved", "")
		checkFor(t, 10*time.Second, func() error {
			in, err := store.Interaction(ctx, id)
			if err != nil {
				return err
			}
			if in.Outcome == "" || in.Recording == nil || in.Disposition == "" {
				return fmt.Errorf("interaction %s incomplete", id)
			}
			return nil
		})
	}
	mu.Lock()
	defer mu.Unlock()
	total := 0
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		total += kinds[k]
		parts = append(parts, fmt.Sprintf("%s %.1f", k, float64(kinds[k])/float64(calls)))
	}
	perCall := float64(total) / calls
	t.Logf("%d calls, %.1f round trips a call: %s", calls, perCall, strings.Join(parts, ", "))
	if perCall > maxRoundTripsPerCall {
		t.Errorf("%.1f database round trips a call, want at most %d", perCall, maxRoundTripsPerCall)
	}
}

// maxRoundTripsPerCall guards the count measured when interaction writes were batched and the screen-pop's configuration
// cached (docs/performance.md).
const maxRoundTripsPerCall = 40
