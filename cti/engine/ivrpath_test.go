package engine

import (
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/cti"
	"github.com/switchboard-cc/switchboard/ivr"
)

// Every node visited is a step, with what happened there; a menu answered after a timeout keeps both.
func TestIVRPathOneStepPerNodeVisit(t *testing.T) {
	at := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	p := []ivr.PathEntry{
		{At: at, Flow: "main", Node: "identify", Event: "enter"},
		{At: at, Flow: "main", Node: "identify", Event: "not-found"},
		{At: at, Flow: "main", Node: "billing", Event: "enter"},
		{At: at, Flow: "main", Node: "menu", Event: "enter"},
		{At: at.Add(5 * time.Second), Flow: "main", Node: "menu", Event: "timeout"},
		{At: at.Add(7 * time.Second), Flow: "main", Node: "menu", Event: "input", Value: "3"},
		{At: at, Flow: "main", Node: "pin", Event: "enter"},
		{At: at, Flow: "main", Node: "pin", Event: "input", Value: ivr.Masked},
		{At: at, Flow: "main", Node: "enqueue", Event: "enter"},
		{At: at, Flow: "main", Node: "enqueue", Event: "done"},
	}
	want := []cti.IVRStep{
		{Node: "main/identify", Event: "not-found", At: at},
		{Node: "main/billing", At: at},
		{Node: "main/menu", Event: "timeout", At: at},
		{Node: "main/menu", Event: "input", Input: "3", At: at.Add(7 * time.Second)},
		{Node: "main/pin", Event: "input", Input: ivr.Masked, Sensitive: true, At: at},
		{Node: "main/enqueue", At: at},
	}
	got := ivrPath(p)
	if len(got) != len(want) {
		t.Fatalf("path %+v\nwant %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("step %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}
