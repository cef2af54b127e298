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
	b := wavFile(2500 * time.Millisecond)
	if len(b) != 44+2*20000 || string(b[36:40]) != "data" || binary.LittleEndian.Uint32(b[40:]) != 40000 {
		t.Fatalf("header: len %d %q", len(b), b[36:44])
	}
	for i := range 20000 {
		if got := int16(binary.LittleEndian.Uint16(b[44+2*i:])); got != toneSample(i) {
			t.Fatalf("wav sample %d = %d, want %d", i, got, toneSample(i))
		}
	}
}
