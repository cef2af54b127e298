package browsersim

import (
	"testing"
	"time"

	"github.com/pion/rtp"
)

// The stamp survives the trip as the far end sees it: inside a whole RTP packet, with or without a header extension.
func TestStampRoundTrip(t *testing.T) {
	at := time.Unix(1_800_000_000, 123456789)
	for _, ext := range []bool{false, true} {
		payload := make([]byte, PayloadSize)
		Stamp(payload, true, at)
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: 7, SSRC: 9}, Payload: payload}
		if ext {
			if err := pkt.SetExtension(1, []byte{1, 2, 3}); err != nil {
				t.Fatal(err)
			}
		}
		b, err := pkt.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		sent, measured, ok := ReadStamp(b)
		if !ok || !measured || !sent.Equal(at) {
			t.Errorf("extension %v: ReadStamp = %v, %v, %v; want %v, true, true", ext, sent, measured, ok, at)
		}
	}
	unmeasured := make([]byte, PayloadSize)
	Stamp(unmeasured, false, at)
	b, _ := (&rtp.Packet{Header: rtp.Header{Version: 2}, Payload: unmeasured}).Marshal()
	if _, measured, ok := ReadStamp(b); !ok || measured {
		t.Errorf("unmeasured packet: measured %v, ok %v", measured, ok)
	}
	silence := make([]byte, 12+PayloadSize)
	silence[0] = 0x80
	if _, _, ok := ReadStamp(silence); ok {
		t.Error("a packet without a stamp was read as stamped")
	}
	if _, _, ok := ReadStamp([]byte{0x80, 0}); ok {
		t.Error("a short packet was read as stamped")
	}
}
