package arisim

import (
	"testing"
	"time"
)

// An externalMedia channel that is the only channel of its bridge (a web caller waiting in a queue) gets the bridge's music on
// hold as RTP, as Asterisk sends a UnicastRTP channel what the bridge mixes for it; stopping the music stops the packets. It
// takes playbacks and hangs up like any channel in Stasis.
func TestExternalMediaAloneWithMOH(t *testing.T) {
	h := newHarness(t, testConfig())
	ws := h.dial("contact-center", "")
	defer ws.close()
	waitRegistered(t, h, "contact-center")
	sink := newRTPSink(t)
	if r := h.do("POST", "/channels/externalMedia", "app=contact-center&external_host="+sink.conn.LocalAddr().String()+
		"&format=ulaw&channelId=web-1&data=webcall"); r.status != 200 {
		t.Fatalf("externalMedia: %d %s", r.status, r.body)
	}
	ws.waitType("StasisStart", 0)
	if r := h.do("POST", "/channels/web-1/play", "media=sound:hello-world&playbackId=pb-1"); r.status != 201 {
		t.Fatalf("play to the externalMedia channel: %d %s", r.status, r.body)
	}
	h.do("POST", "/bridges", "type=mixing&bridgeId=b-1")
	if r := h.do("POST", "/bridges/b-1/addChannel", "channel=web-1"); r.status != 204 {
		t.Fatalf("addChannel: %d %s", r.status, r.body)
	}
	drain := func() {
		for {
			select {
			case <-sink.packets:
			default:
				return
			}
		}
	}
	drain()
	time.Sleep(100 * time.Millisecond)
	if n := len(sink.packets); n != 0 {
		t.Fatalf("%d packets from a bridge with nothing to hear", n)
	}
	if r := h.do("POST", "/bridges/b-1/moh", "mohClass=default"); r.status != 204 {
		t.Fatalf("moh: %d %s", r.status, r.body)
	}
	select {
	case <-sink.packets:
	case <-time.After(2 * time.Second):
		t.Fatal("no RTP while the bridge plays music on hold")
	}
	h.do("DELETE", "/bridges/b-1/moh", "")
	time.Sleep(100 * time.Millisecond)
	drain()
	time.Sleep(100 * time.Millisecond)
	if n := len(sink.packets); n != 0 {
		t.Fatalf("%d packets after the music stopped", n)
	}
	if r := h.do("DELETE", "/channels/web-1", ""); r.status != 204 {
		t.Fatalf("hangup: %d %s", r.status, r.body)
	}
}
