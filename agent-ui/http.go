// Package agentui is Switchboard's adapter for browsers: the JSON API under /api/v1, and (with the UI issue) sessions, the websocket
// hub and the embedded agent desktop and supervisor wallboard.
//
// It imports cti and the standard library only; it reaches the CRM and the engine through cti ports, never by importing crmstore
// or another adapter.
package agentui

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/switchboard-cc/switchboard/cti"
)

// maxBody bounds a JSON request body.
const maxBody = 1 << 20

// Status returns the HTTP status of an error code.
func Status(code string) int {
	switch code {
	case "":
		return http.StatusOK
	case cti.EINVALID:
		return http.StatusBadRequest
	case cti.EUNAUTHORIZED:
		return http.StatusUnauthorized
	case cti.EFORBIDDEN:
		return http.StatusForbidden
	case cti.ENOTFOUND:
		return http.StatusNotFound
	case cti.ECONFLICT:
		return http.StatusConflict
	case cti.EPRECONDITION:
		return http.StatusPreconditionFailed
	case cti.ENOTIMPLEMENTED:
		return http.StatusNotImplemented
	case cti.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// errorBody is what every failed request answers:
//
//	{"error": {"code": "invalid", "message": "invalid customer", "fields": {"name": "a name is required"}}}
type errorBody struct {
	Error errorJSON `json:"error"`
}

type errorJSON struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Field   string            `json:"field,omitempty"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// Error writes err as JSON with the status of its code. Internal errors (and EUNAVAILABLE, which an operator must see) are logged
// here, once, with their cause; the client sees only the safe message.
func Error(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code := cti.ErrorCode(err)
	body := errorJSON{Code: code, Message: cti.ErrorMessage(err)}
	var e *cti.Error
	if errors.As(err, &e) && code != cti.EINTERNAL {
		body.Message, body.Field, body.Fields = e.Message, e.Field, e.Fields
		if body.Field != "" && len(body.Fields) == 0 {
			body.Fields = map[string]string{body.Field: body.Message}
		}
	}
	if code == cti.EINTERNAL || code == cti.EUNAVAILABLE {
		if log != nil {
			log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "code", code, "err", err)
		}
	}
	writeJSON(w, Status(code), errorBody{body})
}

// writeJSON writes v with status; a value that cannot be encoded is a bug, reported as a bare 500.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":{"code":"internal","message":"internal error"}}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(b, '\n')) //nolint:errcheck // the client went away
}

// decodeJSON reads one JSON value of at most maxBody bytes into v. Unknown fields, trailing data and mistyped fields are EINVALID
// naming the field.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return cti.Invalid("body", "send application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return cti.Invalid("body", "one JSON value expected")
	}
	return nil
}

func jsonError(err error) error {
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	var maxErr *http.MaxBytesError
	switch {
	case errors.Is(err, io.EOF):
		return cti.Invalid("body", "a JSON body is required")
	case errors.As(err, &maxErr):
		return cti.Invalid("body", "larger than %d bytes", maxBody)
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return cti.Invalid(field, "must be %s, not %s", jsonType(typeErr.Type.Kind().String()), typeErr.Value)
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return cti.Invalid("body", "malformed JSON")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return cti.Invalid(name, "unknown field")
	}
	return cti.Invalid("body", "cannot read the JSON body: %s", err.Error())
}

func jsonType(kind string) string {
	switch kind {
	case "string":
		return "a string"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64", "float32", "float64":
		return "a number"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "map", "struct", "ptr":
		return "an object"
	}
	return fmt.Sprintf("a %s", kind)
}
