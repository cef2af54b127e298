package webrtcgw_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/switchboard-cc/switchboard/cti/webrtcgw"
)

// Example_loopTest shows media-verified Ready: an agent's browser (here a pion peer offering PCMU) connects, the gateway loops its
// audio back through the RTP path a call uses, and the report proves the microphone and the media path before the agent goes
// Ready. In a call, the engine would instead pass leg.LocalRTPAddr() as externalMedia's external_host and SetRemote the address
// ARI returns.
func Example_loopTest() {
	gw, err := webrtcgw.New(webrtcgw.Config{
		AllowLoopback: true, // tests only: the browser is on this machine
		IPs:           []netip.Addr{netip.MustParseAddr("127.0.0.1")},
	})
	if err != nil {
		panic(err)
	}
	defer gw.Close()

	// The browser: PCMU only, as a page's RTCPeerConnection with getUserMedia audio offers among its codecs.
	me := &webrtc.MediaEngine{}
	me.RegisterCodec(webrtcgw.PCMU, webrtc.RTPCodecTypeAudio)
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	browser, _ := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	defer browser.Close()
	mic, _ := webrtc.NewTrackLocalStaticRTP(webrtcgw.PCMU.RTPCodecCapability, "mic", "agent")
	browser.AddTrack(mic)
	connected := make(chan struct{})
	browser.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			close(connected)
		}
	})
	heard := make(chan struct{}, 100)
	browser.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
			heard <- struct{}{}
		}
	})
	offer, _ := browser.CreateOffer(nil)
	gathered := webrtc.GatheringCompletePromise(browser)
	browser.SetLocalDescription(offer)
	<-gathered

	// The gateway's side: one leg per browser, answered without trickle.
	leg, _ := gw.NewLeg(webrtcgw.LegOptions{ID: "agent-1001"})
	answer, err := leg.Answer(context.Background(), browser.LocalDescription().SDP)
	if err != nil {
		panic(err)
	}
	browser.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer})
	<-connected // the browser's DTLS is done: what it sends now is encrypted and sent
	for leg.State() != webrtcgw.StateConnected {
		time.Sleep(10 * time.Millisecond)
	}

	leg.StartLoop()
	for i := range webrtcgw.MinLoopPackets { // half a second of audio, paced as a browser sends it
		mic.WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: uint16(i), Timestamp: uint32(160 * i)}, Payload: make([]byte, 160)})
		time.Sleep(20 * time.Millisecond)
	}
	for range webrtcgw.MinLoopPackets {
		select {
		case <-heard:
		case <-time.After(2 * time.Second):
			fmt.Println("the browser hears nothing")
		}
	}
	rep := leg.StopLoop()
	fmt.Println("sent", rep.Sent, "returned", rep.Returned, "ok", rep.JSON().OK)
	// Output: sent 25 returned 25 ok true
}
