package cti

import (
	"html"
	"sort"
	"strconv"
	"strings"
)

// RenderScript fills a call script's {{placeholders}} from vars (keys like "customer.name", "ivr.account").
//
// The output is Markdown that is already HTML-escaped: every character of the template and of the values goes through
// html.EscapeString, so the page may insert it as HTML after applying its small Markdown subset, and no value — nor the template —
// can inject markup. Values are additionally Markdown-escaped with backslashes (a customer named "*x*" or "[a](javascript:…)" renders
// as typed, never as emphasis or a link), so the page's Markdown subset must honour backslash escapes.
//
// A placeholder whose key is unknown or empty-valued stays visible as typed (e.g. "{{customer.email}}"), so the agent sees what is
// missing; an unterminated "{{" is kept as text. RenderScript never fails.
func RenderScript(tmpl string, vars map[string]string) string {
	var b strings.Builder
	b.Grow(len(tmpl) + len(tmpl)/8)
	for {
		i := strings.Index(tmpl, "{{")
		if i < 0 {
			b.WriteString(html.EscapeString(tmpl))
			return b.String()
		}
		b.WriteString(html.EscapeString(tmpl[:i]))
		rest := tmpl[i+2:]
		j := strings.Index(rest, "}}")
		if j < 0 {
			b.WriteString(html.EscapeString(tmpl[i:]))
			return b.String()
		}
		key := strings.TrimSpace(rest[:j])
		if v, ok := vars[key]; ok && v != "" && validKey(key) {
			b.WriteString(html.EscapeString(escapeMarkdown(v)))
		} else {
			b.WriteString(html.EscapeString(tmpl[i : i+2+j+2]))
		}
		tmpl = rest[j+2:]
	}
}

func validKey(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	for _, r := range k {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// markdownSpecial are the characters CommonMark allows to be backslash-escaped that start inline markup anywhere; markdownLead
// start a block (heading, list, quote) only at the beginning of a line, so they are escaped only as a value's first character.
// '<' and '>' need no backslash: HTML escaping already neutralises them.
const (
	markdownSpecial = "\\`*_{}[]()!|~"
	markdownLead    = "#+-.>="
)

func escapeMarkdown(s string) string {
	if !strings.ContainsAny(s, markdownSpecial+"\n\r") && (s == "" || !strings.ContainsRune(markdownLead, rune(s[0]))) {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == '\n' || r == '\r':
			b.WriteByte(' ') // a value never starts a new Markdown block
		case strings.ContainsRune(markdownSpecial, r) || i == 0 && strings.ContainsRune(markdownLead, r):
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ScriptVars are the placeholders a script can use for a customer (nil for an unknown caller) and the IVR inputs of the contact:
// customer.name, .company, .tier, .language, .phone, .email, .id, .fields.<name>, and ivr.<var>.
func ScriptVars(c *Customer, ivr map[string]string) map[string]string {
	v := make(map[string]string, 8+len(ivr))
	if c != nil {
		v["customer.id"] = c.ID
		v["customer.name"] = c.Name
		v["customer.company"] = c.Company
		v["customer.tier"] = string(c.Tier)
		v["customer.language"] = c.Language
		if len(c.Phones) > 0 {
			v["customer.phone"] = c.Phones[0].Number
		}
		if len(c.Emails) > 0 {
			v["customer.email"] = c.Emails[0].Address
		}
		if len(c.Tags) > 0 {
			tags := append([]string(nil), c.Tags...)
			sort.Strings(tags)
			v["customer.tags"] = strings.Join(tags, ", ")
		}
		v["customer.version"] = strconv.FormatInt(c.Version, 10)
		for k, x := range c.Fields {
			v["customer.fields."+k] = x
		}
	}
	for k, x := range ivr {
		if x != Masked {
			v["ivr."+k] = x
		}
	}
	return v
}
