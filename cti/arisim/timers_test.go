package arisim

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// TestTimersRunInDeadlineOrder: delayed work runs when due, by deadline and
// then in the order it was set; cancelled work never runs and leaves the
// heap at once.
func TestTimersRunInDeadlineOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := New(Config{})
		defer s.Close()
		var ran []string
		add := func(d time.Duration, name string) *timer {
			return s.after(d, func() { ran = append(ran, name) })
		}
		s.mu.Lock()
		add(3*time.Second, "c")
		add(time.Second, "a1")
		add(time.Second, "a2")
		gone := add(2*time.Second, "cancelled")
		add(2*time.Second, "b")
		gone.stopLocked(s)
		if n := len(s.timerQ); n != 4 {
			t.Errorf("%d timers queued after a cancel, want 4", n)
		}
		s.mu.Unlock()

		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		s.mu.Lock()
		if !slices.Equal(ran, []string{"a1", "a2"}) {
			t.Errorf("after 1.5 s ran %v, want [a1 a2]", ran)
		}
		// Work set from a callback for later still runs.
		s.after(500*time.Millisecond, func() { ran = append(ran, "late") })
		s.mu.Unlock()

		time.Sleep(2 * time.Second)
		synctest.Wait()
		s.mu.Lock()
		defer s.mu.Unlock()
		if want := []string{"a1", "a2", "b", "late", "c"}; !slices.Equal(ran, want) {
			t.Errorf("ran %v, want %v", ran, want)
		}
		if len(s.timerQ) != 0 {
			t.Errorf("%d timers left", len(s.timerQ))
		}
	})
}
