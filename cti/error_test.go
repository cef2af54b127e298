package cti

import (
	"errors"
	"fmt"
	"testing"
)

func TestErrorCodeAndMessage(t *testing.T) {
	cause := errors.New("connection reset")
	tests := []struct {
		err     error
		code    string
		message string
	}{
		{nil, "", "internal error"},
		{errors.New("boom"), EINTERNAL, "internal error"},
		{Invalid("phone", "not a number: %q", "abc"), EINVALID, `phone: not a number: "abc"`},
		{fmt.Errorf("wrapped: %w", Errorf(ENOTFOUND, "customer %s not found", "c1")), ENOTFOUND, "customer c1 not found"},
		{Internal(cause, "lookup"), EINTERNAL, "internal error"},
	}
	for _, tt := range tests {
		if got := ErrorCode(tt.err); got != tt.code {
			t.Errorf("ErrorCode(%v) = %q, want %q", tt.err, got, tt.code)
		}
		if tt.err == nil {
			continue
		}
		if got := ErrorMessage(tt.err); got != tt.message {
			t.Errorf("ErrorMessage(%v) = %q, want %q", tt.err, got, tt.message)
		}
	}
	if !errors.Is(Internal(cause, "lookup"), cause) {
		t.Error("Internal must unwrap to its cause")
	}
}
