package ivr

import (
	"bufio"
	"bytes"
	"strings"
)

// PromptCatalogue is the set of sound names the media server can play.
// A nil catalogue disables the prompt check.
type PromptCatalogue map[string]bool

// ParseCatalogue reads a catalogue: one sound name per line; blank lines and
// lines starting with '#' are ignored.
func ParseCatalogue(data []byte) PromptCatalogue {
	c := PromptCatalogue{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		c[line] = true
	}
	return c
}

// missing lists the sounds a prompt may need that the catalogue lacks. For
// a say prompt those are every sound its kind can produce.
func (c PromptCatalogue) missing(p Prompt) []string {
	var want []string
	if p.Sound != "" {
		want = []string{p.Sound}
	} else {
		want = saySounds(p.Say)
	}
	var out []string
	for _, s := range want {
		if !c[s] {
			out = append(out, s)
		}
	}
	return out
}
