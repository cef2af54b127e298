package asterisk

import (
	"encoding/json"
	"os"
	"slices"
	"testing"
)

// The event filter the adapter sets allows exactly the event types translate delivers, of all the types events.json
// defines: a type it needs can never be filtered away, and none it ignores is let through.
func TestEventFilterIsWhatTranslateUses(t *testing.T) {
	raw, err := os.ReadFile("../../../shared/ari/spec/events.json")
	if err != nil {
		t.Skipf("ARI spec not found: %v", err)
	}
	var spec struct {
		Models map[string]struct {
			SubTypes []string `json:"subTypes"`
		} `json:"models"`
	}
	if err := json.Unmarshal(raw, &spec); err != nil {
		t.Fatal(err)
	}
	var filter struct {
		Allowed    []map[string]string `json:"allowed"`
		Disallowed []map[string]string `json:"disallowed"`
	}
	if err := json.Unmarshal(eventFilterBody, &filter); err != nil {
		t.Fatalf("filter %s: %v", eventFilterBody, err)
	}
	if filter.Disallowed == nil || len(filter.Disallowed) != 0 {
		t.Errorf("filter %s: want an empty disallowed list", eventFilterBody)
	}
	var allowed []string
	for _, e := range filter.Allowed {
		if len(e) != 1 || e["type"] == "" {
			t.Errorf("filter entry %v: want only a type", e)
		}
		allowed = append(allowed, e["type"])
	}
	c := New(Config{})
	types := spec.Models["Event"].SubTypes
	if len(types) < 40 {
		t.Fatalf("events.json defines %d event types", len(types))
	}
	for _, typ := range types {
		ev, err := c.translate([]byte(`{"type":"` + typ + `","timestamp":"2026-11-22T12:41:41.292+0000","application":"contact-center"}`))
		if err != nil {
			t.Errorf("translate(%s): %v", typ, err)
		}
		if delivered, inFilter := ev != nil, slices.Contains(allowed, typ); delivered != inFilter {
			t.Errorf("%s: delivered %v, allowed by the filter %v", typ, delivered, inFilter)
		}
	}
	for _, typ := range allowed {
		if !slices.Contains(types, typ) {
			t.Errorf("the filter allows %q, which events.json does not define", typ)
		}
	}
}
