package crmstore

import (
	"testing"

	"github.com/switchboard-cc/switchboard/cti"
)

func TestNormalizePhone(t *testing.T) {
	for _, tc := range []struct {
		raw, region string
		strict      bool
		want        string // "" means EINVALID
	}{
		{"13800138000", "CN", true, "+8613800138000"},
		{"+86 138 0013 8000", "CN", true, "+8613800138000"},
		{"0086-138-0013-8000", "CN", true, "+8613800138000"},
		{"(010) 6512 3456", "CN", true, "+861065123456"},
		{"+1 (415) 555-2671", "CN", true, "+14155552671"},
		{"415.555.2671", "US", true, "+14155552671"},
		{"12345", "CN", true, ""},
		{"12345", "CN", false, "+8612345"},
		{"110", "CN", false, ""},
		{"", "CN", false, ""},
		{"1-800-FLOWERS", "US", false, ""},
		{"+86 138 0013 8000 ext. 12", "CN", false, ""},
		{"++8613800138000", "CN", false, ""},
		{"+999 1234567", "CN", false, ""},
	} {
		got, err := NormalizePhone("phone", tc.raw, tc.region, tc.strict)
		if tc.want == "" {
			if cti.ErrorCode(err) != cti.EINVALID {
				t.Errorf("NormalizePhone(%q) = %q, %v; want EINVALID", tc.raw, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("NormalizePhone(%q, %s) = %q, %v; want %q", tc.raw, tc.region, got, err, tc.want)
		}
	}
}

func FuzzNormalizePhone(f *testing.F) {
	for _, s := range []string{"13800138000", "+86 138 0013 8000", "(010) 6512-3456", "0086 10 6512 3456", "+1 415 555 2671", "+", "00", "0"} {
		f.Add(s, "CN")
	}
	f.Add("415 555 2671", "US")
	f.Add("020 7946 0958", "GB")
	f.Fuzz(func(t *testing.T, raw, region string) {
		// The lookup's form without the read-back check gives the same number whenever NormalizePhone gives one; where only
		// the check fails, its number could never have been stored, so the lookup finds nobody either way.
		full, ferr := NormalizePhone("phone", raw, region, false)
		lookup, lerr := normalizePhone("phone", raw, region, false, false)
		switch {
		case ferr == nil && (lerr != nil || lookup != full):
			t.Fatalf("%q: lookup form %q, %v; NormalizePhone %q", raw, lookup, lerr, full)
		case ferr != nil && lerr == nil:
			if stored, err := NormalizePhone("phone", lookup, region, true); err == nil && stored == lookup {
				t.Fatalf("%q: lookup form %q could be stored, NormalizePhone refused %v", raw, lookup, ferr)
			}
		}
		for _, strict := range []bool{false, true} {
			got, err := NormalizePhone("phone", raw, region, strict)
			if err != nil {
				if cti.ErrorCode(err) != cti.EINVALID {
					t.Fatalf("error %v is not EINVALID", err)
				}
				continue
			}
			// Never half-normalized: the shape the database enforces, and a fixed point.
			if !isE164(got) {
				t.Fatalf("%q → %q is not E.164", raw, got)
			}
			again, err := NormalizePhone("phone", got, region, strict)
			if err != nil || again != got {
				t.Fatalf("%q → %q → %q, %v: not idempotent", raw, got, again, err)
			}
		}
	})
}

// BenchmarkNormalizePhone normalizes a caller id in national form (as the load test's callers send it), with the read-back
// check NormalizePhone makes and without it, as the batch lookup does.
func BenchmarkNormalizePhone(b *testing.B) {
	for _, tc := range []struct {
		name     string
		readBack bool
	}{{"read-back", true}, {"lookup", false}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := normalizePhone("phone", "15550000001", "CN", false, tc.readBack); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
