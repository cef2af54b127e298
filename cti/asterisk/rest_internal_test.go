package asterisk

import (
	"encoding/json"
	"reflect"
	"testing"
)

// The hand-written variables body decodes to what encoding/json's encoding of the same map decodes to, whatever the
// names and values (quotes, control characters, invalid UTF-8).
func FuzzVariablesBody(f *testing.F) {
	for _, kv := range [][2]string{{"SB_CALL", "01a20567-844d-7633-90ef-f914e07db0b7"}, {"CALLERID(name)", `"Ann" \ <O'Brien>`},
		{"X", "tab\there\nnul\x00 bell\x07"}, {"bad", "\xff\xfe utf8 \xc3"}, {"", ""}, {"é", "日本 \u2028 \U0001F600"}} {
		f.Add(kv[0], kv[1], "SB_ROLE", "customer")
	}
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		vars := map[string]string{k1: v1, k2: v2}
		got := variablesBody(vars)
		if !json.Valid(got) {
			t.Fatalf("variablesBody(%q) = %s: not JSON", vars, got)
		}
		want, err := json.Marshal(map[string]any{"variables": vars})
		if err != nil {
			t.Fatal(err)
		}
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatal(err)
		}
		json.Unmarshal(want, &w)
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("variablesBody(%q) = %s, decodes to %v; encoding/json: %s", vars, got, g, want)
		}
	})
}

// BenchmarkVariablesBody encodes the originate's variables by hand and, for comparison, with encoding/json.
func BenchmarkVariablesBody(b *testing.B) {
	vars := map[string]string{"SB_CALL": "01a20567-844d-7633-90ef-f914e07db0b7", "SB_ROLE": "agent", "SB_QUEUE": "general"}
	b.Run("hand", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			variablesBody(vars)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			json.Marshal(map[string]any{"variables": vars})
		}
	})
}
