package asterisk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/switchboard-cc/switchboard/cti"
)

// call is one ARI REST request: parameters travel in the query string (as Asterisk's own tooling and the transcripts send
// them), a body only for the "variables" body parameter and the event filter.
type call struct {
	method string
	path   []string // path segments after the ARI root, escaped one by one ("channels", id, "answer")
	query  params
	vars   map[string]string // the "variables" body parameter, or nil
	body   []byte            // any other JSON body (the event filter), or nil
	out    any               // decoded 2xx response, or nil
	what   string            // operation, for messages: "answer channel 123"
}

// params are query parameters as name, value pairs, sent in that order; a pair with an empty value is left out.
type params []string

// q returns the parameters kv (name, value, name, value…).
func q(kv ...string) params { return kv }

// encode returns the query string (without "?"), "" when no pair has a value.
func (p params) encode() string {
	var sb strings.Builder
	for i := 0; i+1 < len(p); i += 2 {
		if p[i+1] == "" {
			continue
		}
		if sb.Len() == 0 {
			sb.Grow(16 * len(p))
		} else {
			sb.WriteByte('&')
		}
		sb.WriteString(url.QueryEscape(p[i]))
		sb.WriteByte('=')
		sb.WriteString(url.QueryEscape(p[i+1]))
	}
	return sb.String()
}

// variablesBody is the JSON body {"variables": vars}, keys in order. Written by hand: encoding/json's reflection over the
// map cost the controller 2 % of its CPU.
func variablesBody(vars map[string]string) []byte {
	n := 16
	keys := make([]string, 0, len(vars))
	for k, v := range vars {
		n += len(k) + len(v) + 6
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b := make([]byte, 0, n)
	b = append(b, `{"variables":{`...)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		b = appendJSONString(b, vars[k])
	}
	return append(b, "}}"...)
}

// appendJSONString appends s as a JSON string, invalid UTF-8 replaced by U+FFFD as encoding/json does.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, "\\ufffd"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// do sends r with ctx and maps failures to *cti.Error.
func (c *Client) do(ctx context.Context, r call) error {
	resp, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if r.out != nil {
		if err := json.NewDecoder(resp.Body).Decode(r.out); err != nil {
			return cti.Internal(fmt.Errorf("ARI %s %s: decoding response: %w", r.method, r.what, err), r.what)
		}
	}
	if resp.Body != http.NoBody {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // reuse the connection
	}
	return nil
}

// send sends r and returns the response of a 2xx status; the caller closes its body. It goes to the transport directly:
// http.Client's redirect handling copies every request's headers, and Asterisk never redirects.
func (c *Client) send(ctx context.Context, r call) (*http.Response, error) {
	resp, err := c.rt.RoundTrip(c.newRequest(ctx, r))
	if err != nil {
		if ctx.Err() != nil {
			return nil, &cti.Error{Code: cti.EUNAVAILABLE, Message: "asterisk did not answer in time: " + r.what, Err: ctx.Err()}
		}
		return nil, &cti.Error{Code: cti.EUNAVAILABLE, Message: "asterisk is unreachable: " + r.what, Err: err}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	return nil, statusError(r, resp.StatusCode, raw)
}

// newRequest returns r's HTTP request. It builds the URL from its parts rather than have http.NewRequest parse it back
// from a string (the parse was a tenth of send's CPU); the result is the same (FuzzNewRequest).
func (c *Client) newRequest(ctx context.Context, r call) *http.Request {
	n := len(c.rootPath)
	for _, seg := range r.path {
		n += 1 + len(seg)
	}
	var sb strings.Builder
	sb.Grow(n)
	sb.WriteString(c.rootPath)
	plain := c.base.RawPath == ""
	for _, seg := range r.path {
		e := url.PathEscape(seg)
		plain = plain && e == seg
		sb.WriteByte('/')
		sb.WriteString(e)
	}
	u := &url.URL{Scheme: c.base.Scheme, User: c.base.User, Host: c.base.Host, Path: sb.String(), RawQuery: r.query.encode()}
	if !plain { // as url.Parse sets them: Path unescaped, RawPath the escaped form
		u.RawPath = u.Path
		u.Path = c.base.Path + "/" + strings.Join(r.path, "/")
	}
	req := &http.Request{Method: r.method, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Host: u.Host,
		Header: c.hdr} // shared and never written: the transports only read a request's headers
	b := r.body
	if r.vars != nil {
		b = variablesBody(r.vars)
	}
	if b != nil {
		req.Header = c.hdrJSON
		req.Body, req.GetBody = http.NoBody, func() (io.ReadCloser, error) { return http.NoBody, nil }
	}
	if len(b) > 0 {
		req.Body = io.NopCloser(bytes.NewReader(b))
		req.ContentLength = int64(len(b))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	return req.WithContext(ctx)
}

// errorBody is Asterisk's error body: {"message": "..."}, or {"error": "..."} for a failed originate.
type errorBody struct {
	Message string `json:"message"`
	Error   string `json:"error"`
}

// statusError maps an ARI error status to a cti error code:
// 404 → ENOTFOUND; 400, 422 → EINVALID; 409 (not in Stasis), 412 (wrong channel state) → ECONFLICT;
// 500 "Allocation failed" (unknown or unregistered endpoint) and other 5xx → EUNAVAILABLE; 501 → ENOTIMPLEMENTED;
// 401, 403 (bad ari.conf credentials) and the rest → EINTERNAL.
func statusError(r call, status int, raw []byte) error {
	var b errorBody
	json.Unmarshal(raw, &b)
	msg := b.Message
	if msg == "" {
		msg = b.Error
	}
	if msg == "" {
		msg = strings.TrimSpace(string(raw))
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	cause := fmt.Errorf("ARI %s /%s: %d %s", r.method, strings.Join(r.path, "/"), status, msg)
	e := &cti.Error{Message: r.what + ": " + msg, Err: cause}
	switch {
	case status == http.StatusNotFound:
		e.Code = cti.ENOTFOUND
	case status == http.StatusBadRequest || status == http.StatusUnprocessableEntity:
		e.Code = cti.EINVALID
	case status == http.StatusConflict || status == http.StatusPreconditionFailed:
		e.Code = cti.ECONFLICT
	case status == http.StatusInternalServerError && msg == "Allocation failed":
		e.Code = cti.EUNAVAILABLE
		e.Message = r.what + ": the endpoint cannot be called (unknown or not registered)"
	case status == http.StatusNotImplemented:
		e.Code = cti.ENOTIMPLEMENTED
	case status >= 500:
		e.Code = cti.EUNAVAILABLE
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e.Code = cti.EINTERNAL
		e.Message = "asterisk rejected the ARI credentials"
	default:
		e.Code = cti.EINTERNAL
	}
	return e
}

// isUnsetVariable reports whether err is Asterisk's 404 for a channel variable that is not set (as opposed to a channel
// that does not exist).
func isUnsetVariable(err error) bool {
	var e *cti.Error
	return errors.As(err, &e) && e.Code == cti.ENOTFOUND && strings.Contains(e.Err.Error(), "Provided variable was not found")
}
