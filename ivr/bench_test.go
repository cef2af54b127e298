package ivr

import "testing"

// BenchmarkBillingCall runs a whole self-service billing call through the
// main sample flow: lookup, menu, account collect, lookup, balance, menu.
func BenchmarkBillingCall(b *testing.B) {
	set := mustSamples(b)
	script := []Input{
		Start("+15550001111", "+18005550100", nil), LookupNotFound(), PlaybackFinished("p1"),
		Digit("3"), Digit("4"), Digit("7"), Digit("1"), Digit("1"), Digit("0"), Digit("0"), Digit("3"), Digit("#"),
		LookupFound(map[string]string{"id": "C-300", "balance": "87.05"}), PlaybackFinished("p11"), Digit("9"), PlaybackFinished("p13"),
	}
	for b.Loop() {
		s := NewSession(set)
		for _, in := range script {
			s.Step(in, tuesday10)
		}
		if s.Outcome() != OutcomeHungUp {
			b.Fatalf("outcome %s", s.Outcome())
		}
	}
	b.ReportMetric(float64(len(script)), "steps/call")
}

// BenchmarkLoadSamples parses and validates the sample flows.
func BenchmarkLoadSamples(b *testing.B) {
	cat := mustCatalogue(b)
	for b.Loop() {
		if _, err := LoadDir("flows", Config{Catalogue: cat}); err != nil {
			b.Fatal(err)
		}
	}
}
