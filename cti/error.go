package cti

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to one HTTP status in the web adapter; only EINTERNAL is logged.
const (
	ECONFLICT       = "conflict"
	EINTERNAL       = "internal"
	EINVALID        = "invalid"
	ENOTFOUND       = "not_found"
	EUNAUTHORIZED   = "unauthorized"
	EFORBIDDEN      = "forbidden"
	EPRECONDITION   = "precondition_failed" // stale version on an optimistic update
	EUNAVAILABLE    = "unavailable"         // a dependency (Asterisk, database) cannot be reached right now
	ENOTIMPLEMENTED = "not_implemented"
)

// Error is the one application error type. Message is safe to show to the user; Field names the offending input for EINVALID;
// Fields carries several per-field messages when a whole form is rejected at once.
type Error struct {
	Code    string
	Message string
	Field   string
	Fields  map[string]string
	Err     error // the cause, for logs; never shown to users
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, msg, e.Err)
	}
	return e.Code + ": " + msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid reports a bad value of one named field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Internal wraps an unexpected failure; the user sees a generic message.
func Internal(err error, what string) *Error {
	return &Error{Code: EINTERNAL, Message: "internal error: " + what, Err: err}
}

// ErrorCode returns the code of err, EINTERNAL for errors that are not *Error, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-facing message of err; internal details are never exposed.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Code != EINTERNAL {
		if e.Field != "" {
			return e.Field + ": " + e.Message
		}
		return e.Message
	}
	return "internal error"
}
