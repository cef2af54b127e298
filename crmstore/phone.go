package crmstore

import (
	"strings"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"

	"github.com/switchboard-cc/switchboard/cti"
)

// DefaultRegion is the region numbers without a country code are read in, unless the Store is given another: Switchboard's first
// users are in China.
const DefaultRegion = "CN"

// maxPhoneInput bounds the raw input; no real number in any format is longer.
const maxPhoneInput = 64

// NormalizePhone returns raw in E.164 ("+8613800138000"). raw may be in any common format: E.164, international with 00 or +,
// national with or without the trunk prefix, with spaces, dashes, dots or parentheses. Numbers without a country code are read in
// region. When strict is set the number must also be a valid (assigned) number of its country, which is what a stored number needs;
// lookups only need it to be possible. Failures are EINVALID for field with the reason.
func NormalizePhone(field, raw, region string, strict bool) (string, error) {
	return normalizePhone(field, raw, region, strict, true)
}

// normalizePhone is NormalizePhone; without readBack it skips the check that the result reads back as itself (a second
// parse, half the cost), which a lookup that treats an invalid number as an unknown one can do without: a number that
// does not read back is never stored, so it finds nobody either way.
func normalizePhone(field, raw, region string, strict, readBack bool) (string, error) {
	s := strings.TrimSpace(raw)
	switch {
	case s == "":
		return "", cti.Invalid(field, "a phone number is required")
	case len(s) > maxPhoneInput:
		return "", cti.Invalid(field, "too long to be a phone number")
	case !utf8.ValidString(s):
		return "", cti.Invalid(field, "not a phone number")
	}
	// Only digits, a leading + and common separators; phonenumbers would otherwise accept letters (vanity numbers) and extensions.
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9', r == ' ', r == '-', r == '.', r == '(', r == ')', r == '/':
		case r == '+' && i == 0:
		default:
			return "", cti.Invalid(field, "not a phone number: unexpected %q", r)
		}
	}
	num, err := phonenumbers.Parse(s, region)
	if err != nil {
		return "", cti.Invalid(field, "not a phone number: %s", parseReason(err))
	}
	if strict {
		if !phonenumbers.IsValidNumber(num) {
			return "", cti.Invalid(field, "not a valid number in its country")
		}
	} else if !phonenumbers.IsPossibleNumber(num) {
		return "", cti.Invalid(field, "not a possible phone number (wrong length)")
	}
	e164 := phonenumbers.Format(num, phonenumbers.E164)
	if !isE164(e164) {
		return "", cti.Invalid(field, "not a phone number")
	}
	// A stored number must be found again by itself: reject the rare input (national numbers of zeros, leading-zero quirks)
	// whose E.164 form does not read back to the same number.
	// An input already in E.164 form was that very parse; a lookup (most caller ids arrive so) need not parse it twice.
	if e164 == s || !readBack {
		return e164, nil
	}
	if back, err := phonenumbers.Parse(e164, region); err != nil || phonenumbers.Format(back, phonenumbers.E164) != e164 {
		return "", cti.Invalid(field, "not a phone number: ambiguous")
	}
	return e164, nil
}

func parseReason(err error) string {
	switch err {
	case phonenumbers.ErrInvalidCountryCode:
		return "unknown country code"
	case phonenumbers.ErrTooShortNSN, phonenumbers.ErrTooShortAfterIDD:
		return "too short"
	case phonenumbers.ErrNumTooLong:
		return "too long"
	default:
		return "cannot parse"
	}
}

// isE164 checks the shape the database enforces, so a number is never stored half-normalized.
func isE164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
