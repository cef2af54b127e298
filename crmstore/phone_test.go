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
