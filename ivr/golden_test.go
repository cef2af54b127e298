package ivr

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

// TestGolden walks complete flows with a scripted caller and compares the
// printed inputs, path and actions with testdata/golden/<name>.golden.
func TestGolden(t *testing.T) {
	saturdayNight := time.Date(2026, 3, 14, 23, 30, 0, 0, time.UTC) // 19:30 in New York: closed
	christmas := time.Date(2026, 12, 25, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		name, flow, caller, digits string
		now                        time.Time
	}{
		{"platinum-skips-menu", "flows/main.yaml", "+8613800138000", "", tuesday10},
		{"sales", "flows/main.yaml", "+15550001111", "1", tuesday10},
		{"support-typeahead", "flows/main.yaml", "+15550001111", "2", tuesday10},
		{"billing-known-caller", "flows/main.yaml", "+4930555000", "3,1", tuesday10},
		{"billing-account-selfservice", "flows/main.yaml", "+15550001111", "3,4711003#,9", tuesday10},
		{"billing-account-unknown", "flows/main.yaml", "+15550001111", "3,12#,999999#", tuesday10},
		{"menu-invalid-then-silence", "flows/main.yaml", "+15550001111", "7", tuesday10},
		{"after-hours-voicemail", "flows/main.yaml", "+15550001111", "1", saturdayNight},
		{"holiday-callback", "flows/main.yaml", "+15550001111", "2", christmas},
		{"callback-offer-accept", "flows/callback-offer.yaml", "+15550001111", "1", tuesday10},
		{"callback-offer-silence", "flows/callback-offer.yaml", "+15550001111", "", tuesday10},
		{"pin-masked", "testdata/pin.yaml", "+15550001111", "1234#", tuesday10},
	}
	cat := mustCatalogue(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Simulate(&buf, tt.flow, tt.caller, tt.digits, tt.now, SimOptions{Lookup: fakeCRM, Catalogue: cat})
			if err != nil {
				t.Fatalf("Simulate: %v\n%s", err, buf.String())
			}
			golden := filepath.Join("testdata", "golden", tt.name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("output differs from %s (run with -update and review the diff):\n%s", golden, buf.String())
			}
		})
	}
}
