package cti

import (
	"strings"
	"testing"
)

func TestRenderScript(t *testing.T) {
	vars := map[string]string{
		"customer.name": "Li <b>Wei</b>",
		"customer.tier": "gold",
		"ivr.account":   "1234567",
		"customer.link": "[x](javascript:alert(1))",
	}
	for _, tc := range []struct{ in, want string }{
		{"Hello {{customer.name}}!", "Hello Li &lt;b&gt;Wei&lt;/b&gt;!"},
		{"{{ customer.tier }} / {{ivr.account}}", "gold / 1234567"},
		{"Missing {{customer.email}} stays", "Missing {{customer.email}} stays"},
		{"unterminated {{customer.name", "unterminated {{customer.name"},
		{"<script>alert(1)</script> {{customer.tier}}", "&lt;script&gt;alert(1)&lt;/script&gt; gold"},
		{"{{customer.link}}", `\[x\]\(javascript:alert\(1\)\)`},
		{"{{}} {{ }}", "{{}} {{ }}"},
		{"{{{customer.tier}}}", "{{{customer.tier}}}"},
		{"**{{customer.tier}}**", "**gold**"},
	} {
		if got := RenderScript(tc.in, vars); got != tc.want {
			t.Errorf("RenderScript(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestScriptVars(t *testing.T) {
	c := &Customer{ID: "c1", Name: "Ann", Tier: TierPlatinum, Phones: []Phone{{Number: "+8613800138000"}}, Fields: map[string]string{"plan": "pro"}}
	v := ScriptVars(c, map[string]string{"account": "42", "pin": Masked})
	got := RenderScript("{{customer.name}} {{customer.tier}} {{customer.phone}} {{customer.fields.plan}} {{ivr.account}} {{ivr.pin}}", v)
	want := "Ann platinum \\+8613800138000 pro 42 {{ivr.pin}}"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := RenderScript("{{customer.name}}", ScriptVars(nil, nil)); got != "{{customer.name}}" {
		t.Errorf("unknown caller: got %q", got)
	}
}

func FuzzRenderScript(f *testing.F) {
	f.Add("Hello {{customer.name}}, your tier is {{customer.tier}}.", "<img src=x onerror=alert(1)>")
	f.Add("{{", "}}")
	f.Add("{{ivr.account}}}}{{", "a\nb")
	vars := map[string]string{}
	f.Fuzz(func(t *testing.T, tmpl, value string) {
		vars["customer.name"] = value
		vars["ivr.account"] = value
		out := RenderScript(tmpl, vars)
		// The output is HTML-escaped: no raw markup can appear, whatever the template or the value.
		if strings.ContainsAny(out, "<>\"") {
			t.Fatalf("unescaped markup in %q", out)
		}
	})
}
