package ivr

import (
	"os"
	"testing"
	"time"
)

// mustCatalogue reads the sample prompt catalogue.
func mustCatalogue(tb testing.TB) PromptCatalogue {
	tb.Helper()
	data, err := os.ReadFile("flows/prompts.txt")
	if err != nil {
		tb.Fatal(err)
	}
	return ParseCatalogue(data)
}

// mustSamples loads the sample flows.
func mustSamples(tb testing.TB) *Set {
	tb.Helper()
	s, err := LoadDir("flows", Config{Catalogue: mustCatalogue(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// tuesday10 is a Tuesday at 10:00 in New York: main is open.
var tuesday10 = time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)

// fakeCRM answers lookups for the samples.
func fakeCRM(by, key string) (map[string]string, bool) {
	switch {
	case by == "caller" && key == "+8613800138000":
		return map[string]string{"id": "C-100", "name": "Li Wei", "tier": "platinum", "account": "4711001", "balance": "0"}, true
	case by == "caller" && key == "+4930555000":
		return map[string]string{"id": "C-200", "name": "Anna Schmidt", "tier": "gold", "account": "4711002", "balance": "1234.50"}, true
	case by == "account" && key == "4711003":
		return map[string]string{"id": "C-300", "name": "Sam Doe", "tier": "silver", "account": "4711003", "balance": "87.05"}, true
	}
	return nil, false
}

func TestSamplesLoad(t *testing.T) {
	s := mustSamples(t)
	if got := s.ForNumber("+1 800 555-0100"); got == nil || got.ID != "main" {
		t.Fatalf("ForNumber = %v, want main", got)
	}
	if got := s.ForNumber("+999"); got == nil || got.ID != "main" {
		t.Fatalf("default flow = %v, want main", got)
	}
}

func mustTime(tb testing.TB, s string) time.Time {
	tb.Helper()
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}
