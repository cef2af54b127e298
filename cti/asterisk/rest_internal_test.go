package asterisk

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// The hand-written variables body decodes to what encoding/json's encoding of the same map decodes to, whatever the
// names and values (quotes, control characters, invalid UTF-8).
func FuzzVariablesBody(f *testing.F) {
	for _, kv := range [][2]string{{"SB_CALL", "01a20567-844d-7633-90ef-f914e07db0b7"}, {"CALLERID(name)", `"Ann" \ <O'Brien>`},
		{"X", "tab\there\nnul\x00 bell\x07"}, {"bad", "\xff\xfe utf8 \xc3"}, {"", ""}, {"é", "日本 \u2028 \U0001F600"}} {
		f.Add(kv[0], kv[1], "SB_ROLE", "customer")
	}
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		vars := map[string]string{k1: v1, k2: v2}
		got := variablesBody(vars)
		if !json.Valid(got) {
			t.Fatalf("variablesBody(%q) = %s: not JSON", vars, got)
		}
		want, err := json.Marshal(map[string]any{"variables": vars})
		if err != nil {
			t.Fatal(err)
		}
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatal(err)
		}
		json.Unmarshal(want, &w)
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("variablesBody(%q) = %s, decodes to %v; encoding/json: %s", vars, got, g, want)
		}
	})
}

// BenchmarkVariablesBody encodes the originate's variables by hand and, for comparison, with encoding/json.
func BenchmarkVariablesBody(b *testing.B) {
	vars := map[string]string{"SB_CALL": "01a20567-844d-7633-90ef-f914e07db0b7", "SB_ROLE": "agent", "SB_QUEUE": "general"}
	b.Run("hand", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			variablesBody(vars)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			json.Marshal(map[string]any{"variables": vars})
		}
	})
}

// newRequest builds the request http.NewRequestWithContext builds from the URL as a string (root, escaped segments,
// query): the same URL, request line, host, body and length, whatever the ARI root and the segments.
func FuzzNewRequest(f *testing.F) {
	f.Add("http://127.0.0.1:8088/ari", "1795351316.3", "answer", "media", "sound:hello-world,sound:x")
	f.Add("https://pbx.example:8089/asterisk/ari", "a/b c?d#e%f", "é", "", "")
	f.Add("http://user:pw@[::1]:8088/a%2Fri", "", "x+y", "q", "a&b=c d")
	f.Fuzz(func(t *testing.T, root, seg1, seg2, name, value string) {
		c := New(Config{URL: root, User: "u", Password: "p", App: "a"})
		if c.base.Scheme != "http" && c.base.Scheme != "https" || c.base.Hostname() == "" || c.base.Port() == "" && strings.HasSuffix(c.base.Host, ":") || c.base.Opaque != "" ||
			c.base.RawQuery != "" || c.base.Fragment != "" || c.base.ForceQuery {
			t.Skip("not an ARI root Run accepts")
		}
		for _, body := range [][]byte{nil, {}, []byte(`{"allowed":[]}`)} {
			r := call{method: http.MethodPost, path: []string{"channels", seg1, seg2}, query: q(name, value, "x", "1"), body: body}
			got := c.newRequest(context.Background(), r)

			// What send built before: the URL as a string, parsed back by http.NewRequestWithContext.
			s := c.base.String()
			for _, seg := range r.path {
				s += "/" + url.PathEscape(seg)
			}
			if qs := r.query.encode(); qs != "" {
				s += "?" + qs
			}
			var rd io.Reader
			if body != nil {
				rd = bytes.NewReader(body)
			}
			want, err := http.NewRequestWithContext(context.Background(), r.method, s, rd)
			if err != nil {
				t.Skipf("%q does not parse: %v", s, err)
			}
			if *got.URL != *want.URL && got.URL.String() != want.URL.String() || got.URL.EscapedPath() != want.URL.EscapedPath() ||
				got.URL.RequestURI() != want.URL.RequestURI() || got.Host != want.Host || got.ContentLength != want.ContentLength ||
				(got.Body == http.NoBody) != (want.Body == http.NoBody) || (got.Body == nil) != (want.Body == nil) {
				t.Fatalf("newRequest: %#v (%s), want %#v (%s)", got.URL, got.URL.RequestURI(), want.URL, want.URL.RequestURI())
			}
			if got.Body != nil {
				gb, _ := io.ReadAll(got.Body)
				rb, _ := got.GetBody()
				gb2, _ := io.ReadAll(rb)
				if !bytes.Equal(gb, body) || !bytes.Equal(gb2, body) {
					t.Fatalf("body %q, again %q, want %q", gb, gb2, body)
				}
			}
		}
	})
}
