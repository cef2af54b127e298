package arisim

import (
	"encoding/binary"
	"testing"
	"time"
)

// TestWavTone: tiling one period of the tone gives the very samples the
// formula gives, over the whole range where wavFile tiles.
func TestWavTone(t *testing.T) {
	for i := range wavExactSamples {
		if got, want := int16(binary.LittleEndian.Uint16(tonePeriod[2*(i%200):])), toneSample(i); got != want {
			t.Fatalf("sample %d: tiled %d, computed %d", i, got, want)
		}
	}
	// 2.5 s, and past the minute the shared buffer holds.
	for _, d := range []time.Duration{2500 * time.Millisecond, 61*time.Second + 250*time.Millisecond} {
		n := int(d.Seconds() * 8000)
		b := wavFile(d)
		if len(b) != 44+2*n || string(b[36:40]) != "data" || binary.LittleEndian.Uint32(b[40:]) != uint32(2*n) {
			t.Fatalf("%v: header: len %d %q", d, len(b), b[36:44])
		}
		for i := range n {
			if got := int16(binary.LittleEndian.Uint16(b[44+2*i:])); got != toneSample(i) {
				t.Fatalf("%v: wav sample %d = %d, want %d", d, i, got, toneSample(i))
			}
		}
	}
}
