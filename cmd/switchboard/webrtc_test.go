package main

import (
	"testing"

	"github.com/switchboard-cc/switchboard/cti"
	"github.com/switchboard-cc/switchboard/cti/webrtcgw"
)

// A new call's leg never takes an RTP address reserved for a call adopted after a restart: legs on reserved addresses are
// held while the next is made (so the OS offers other ports), then closed; with every try reserved it gives up.
func TestNewLegAvoiding(t *testing.T) {
	gw, err := webrtcgw.New(webrtcgw.Config{AllowLoopback: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gw.Close() })
	seen := map[string]bool{}
	reserveFirst := func(n int) func(string) bool {
		return func(addr string) bool {
			if seen[addr] {
				t.Errorf("the OS offered %s twice while it was held", addr)
			}
			seen[addr] = true
			return len(seen) <= n
		}
	}
	leg, err := newLegAvoiding(gw, webrtcgw.LegOptions{ID: "new"}, reserveFirst(2))
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 3 || gw.Legs() != 1 {
		t.Errorf("%d addresses tried, %d legs open; want the third address and one leg", len(seen), gw.Legs())
	}
	leg.Close()

	clear(seen)
	if _, err := newLegAvoiding(gw, webrtcgw.LegOptions{ID: "none"}, func(string) bool { return true }); cti.ErrorCode(err) != cti.EUNAVAILABLE {
		t.Errorf("every address reserved: %v, want %s", err, cti.EUNAVAILABLE)
	}
	if gw.Legs() != 0 {
		t.Errorf("%d legs left open", gw.Legs())
	}
}
