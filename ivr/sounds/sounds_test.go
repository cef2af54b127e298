package sounds

import (
	"bufio"
	"os"
	"strings"
	"testing"
	"time"
)

// Every sb/* prompt the sample flows may play, and every line of prompts.txt, has its audio; no audio file is orphaned.
func TestEveryPromptHasAudio(t *testing.T) {
	d := Durations()
	want := map[string]bool{}
	for _, file := range []string{"../flows/prompts.txt", "prompts.txt"} {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		s := bufio.NewScanner(f)
		for s.Scan() {
			line := strings.TrimSpace(s.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			name, _, _ := strings.Cut(line, "|")
			if file == "prompts.txt" {
				name = "sb/" + name
			}
			if strings.HasPrefix(name, "sb/") {
				want[name] = true
			}
		}
		f.Close()
	}
	for name := range want {
		if d[name] < 200*time.Millisecond {
			t.Errorf("%s: audio missing or shorter than 200 ms (%s)", name, d[name])
		}
	}
	for name := range d {
		if !want[name] {
			t.Errorf("%s has audio but is listed nowhere", name)
		}
	}
}
