package ivr

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The say functions expand a value into Asterisk's built-in English sound
// names, following say.c (ast_say_number_full_en, ast_say_digit_str_full,
// and the date format "A B e Y").

// sayDigits speaks each character: 0-9, * (star), # (pound), - (minus);
// other characters (such as +) are skipped, like Asterisk does.
func sayDigits(s string) []string {
	var out []string
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			out = append(out, "digits/"+string(r))
		case r == '*':
			out = append(out, "digits/star")
		case r == '#':
			out = append(out, "digits/pound")
		case r == '-':
			out = append(out, "digits/minus")
		}
	}
	return out
}

// sayNumber speaks an integer the way ast_say_number_full_en does: 0-19
// and the tens as single sounds, then hundred, thousand and million.
func sayNumber(n int64) ([]string, error) {
	if n <= -1_000_000_000 || n >= 1_000_000_000 {
		return nil, fmt.Errorf("number %d is too big to say", n)
	}
	if n == 0 {
		return []string{"digits/0"}, nil
	}
	var out []string
	if n < 0 {
		out = append(out, "digits/minus")
		n = -n
	}
	return appendNumber(out, n), nil
}

func appendNumber(out []string, n int64) []string {
	switch {
	case n >= 1_000_000:
		out = appendNumber(out, n/1_000_000)
		out = append(out, "digits/million")
		n %= 1_000_000
	case n >= 1000:
		out = appendNumber(out, n/1000)
		out = append(out, "digits/thousand")
		n %= 1000
	case n >= 100:
		out = append(out, fmt.Sprintf("digits/%d", n/100), "digits/hundred")
		n %= 100
	case n >= 20:
		out = append(out, fmt.Sprintf("digits/%d", n/10*10))
		n %= 10
	default:
		if n > 0 {
			out = append(out, fmt.Sprintf("digits/%d", n))
		}
		return out
	}
	if n == 0 {
		return out
	}
	return appendNumber(out, n)
}

// sayDate speaks a YYYY-MM-DD date as weekday, month, ordinal day and year:
// digits/day-<0..6> digits/mon-<0..11> digits/h-<1..31> <year as a number>.
func sayDate(s string) ([]string, error) {
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
	if err != nil {
		t, err = time.Parse(time.RFC3339, strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("cannot say %q as a date (want YYYY-MM-DD)", s)
		}
	}
	out := []string{
		fmt.Sprintf("digits/day-%d", int(t.Weekday())),
		fmt.Sprintf("digits/mon-%d", int(t.Month())-1),
		fmt.Sprintf("digits/h-%d", t.Day()),
	}
	year, err := sayNumber(int64(t.Year()))
	return append(out, year...), err
}

// sayAmount speaks a money amount such as 1234.50 as "one thousand two
// hundred thirty four dollars and fifty cents" with our own currency words.
func sayAmount(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	bad := fmt.Errorf("cannot say %q as an amount", s)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	whole, frac, hasFrac := strings.Cut(s, ".")
	units, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || whole == "" || strings.HasPrefix(whole, "+") {
		return nil, bad
	}
	var cents int64
	if hasFrac {
		if len(frac) == 1 {
			frac += "0"
		}
		if len(frac) != 2 {
			return nil, bad
		}
		if cents, err = strconv.ParseInt(frac, 10, 64); err != nil || strings.HasPrefix(frac, "+") || strings.HasPrefix(frac, "-") {
			return nil, bad
		}
	}
	var out []string
	if neg && (units > 0 || cents > 0) {
		out = append(out, "digits/minus")
	}
	if units > 0 || cents == 0 {
		w, err := sayNumber(units)
		if err != nil {
			return nil, err
		}
		out = append(out, w...)
		out = append(out, plural(units, "sb/dollar", "sb/dollars"))
	}
	if cents > 0 {
		if units > 0 {
			out = append(out, "sb/and")
		}
		w, _ := sayNumber(cents)
		out = append(out, w...)
		out = append(out, plural(cents, "sb/cent", "sb/cents"))
	}
	return out, nil
}

func plural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// say expands one say prompt.
func say(kind SayKind, value string) ([]string, error) {
	switch kind {
	case SayDigits:
		return sayDigits(value), nil
	case SayNumber:
		n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("cannot say %q as a number", value)
		}
		return sayNumber(n)
	case SayDate:
		return sayDate(value)
	case SayAmount:
		return sayAmount(value)
	}
	return nil, fmt.Errorf("unknown say kind %d", kind)
}

// saySounds lists every sound a say kind can produce, for the catalogue check.
func saySounds(kind SayKind) []string {
	var out []string
	num := func() {
		for i := 0; i < 20; i++ {
			out = append(out, fmt.Sprintf("digits/%d", i))
		}
		for i := 20; i < 100; i += 10 {
			out = append(out, fmt.Sprintf("digits/%d", i))
		}
		out = append(out, "digits/hundred", "digits/thousand", "digits/million", "digits/minus")
	}
	switch kind {
	case SayDigits:
		for i := 0; i < 10; i++ {
			out = append(out, fmt.Sprintf("digits/%d", i))
		}
		out = append(out, "digits/star", "digits/pound", "digits/minus")
	case SayNumber:
		num()
	case SayDate:
		for i := 0; i < 7; i++ {
			out = append(out, fmt.Sprintf("digits/day-%d", i))
		}
		for i := 0; i < 12; i++ {
			out = append(out, fmt.Sprintf("digits/mon-%d", i))
		}
		for i := 1; i <= 31; i++ {
			out = append(out, fmt.Sprintf("digits/h-%d", i))
		}
		num()
	case SayAmount:
		num()
		out = append(out, "sb/dollar", "sb/dollars", "sb/and", "sb/cent", "sb/cents")
	}
	return out
}
