// Package sounds holds the project's own prompts (Asterisk sound names sb/*) as 8 kHz G.711 µ-law files, embedded so the demo and
// the emulator know them and an installation can copy them into Asterisk's sounds folder. scripts/prompts.sh regenerates them.
package sounds

import (
	"embed"
	"io/fs"
	"strings"
	"time"
)

//go:embed sb/*.ulaw
var files embed.FS

// bytesPerSecond of 8 kHz µ-law audio.
const bytesPerSecond = 8000

// FS returns the prompts as files "sb/<name>.ulaw".
func FS() fs.FS { return files }

// Durations returns each prompt's play time by its sound name ("sb/welcome").
func Durations() map[string]time.Duration {
	out := map[string]time.Duration{}
	entries, _ := fs.ReadDir(files, "sb") // embedded: cannot fail
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			continue
		}
		name := "sb/" + strings.TrimSuffix(e.Name(), ".ulaw")
		out[name] = time.Duration(info.Size()) * time.Second / bytesPerSecond
	}
	return out
}
