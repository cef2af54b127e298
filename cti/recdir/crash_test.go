//go:build unix

package recdir

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// A process killed while it writes a recording, or while the recording's data is being made durable, leaves no file
// under the recording's final name; the next New removes its temporary file, and a recording saved before stays.
func TestKilledSaveLeavesNothing(t *testing.T) {
	for _, stage := range []string{"write", "sync"} {
		t.Run(stage, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(os.Args[0], "-test.run", "^TestCrashChild$")
			cmd.Env = append(os.Environ(), "RECDIR_CRASH_DIR="+dir, "RECDIR_CRASH_STAGE="+stage)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, _ := bufio.NewReader(out).ReadString('\n') // the child is at the stage
			cmd.Process.Kill()
			cmd.Wait()
			if line != "at stage\n" {
				t.Fatalf("child said %q, want it at the stage", line)
			}
			names := func() (n []string) {
				entries, _ := os.ReadDir(dir)
				for _, e := range entries {
					n = append(n, e.Name())
				}
				return n
			}
			if got := names(); len(got) != 2 || got[0] == "interaction-crash.wav" || got[1] == "interaction-crash.wav" {
				t.Fatalf("after the kill the folder holds %v, want the saved recording and a temporary file", got)
			}
			if _, err := New(dir); err != nil {
				t.Fatal(err)
			}
			if got := names(); len(got) != 1 || got[0] != "interaction-saved.wav" {
				t.Fatalf("after New the folder holds %v, want only the recording saved before the kill", got)
			}
			if b, _ := os.ReadFile(filepath.Join(dir, "interaction-saved.wav")); !bytes.Equal(b, wav(time.Second)) {
				t.Fatal("the recording saved before the kill changed")
			}
		})
	}
}

// TestCrashChild is the process TestKilledSaveLeavesNothing kills: it saves one recording, then starts another and
// stops at the stage asked for, saying so on stdout.
func TestCrashChild(t *testing.T) {
	dir, stage := os.Getenv("RECDIR_CRASH_DIR"), os.Getenv("RECDIR_CRASH_STAGE")
	if dir == "" {
		t.Skip("run by TestKilledSaveLeavesNothing")
	}
	d, err := New(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Save(context.Background(), "interaction-saved", bytes.NewReader(wav(time.Second))); err != nil {
		t.Fatal(err)
	}
	at := func() { os.Stdout.WriteString("at stage\n"); select {} }
	body := io.Reader(bytes.NewReader(wav(8 * time.Second)))
	switch stage {
	case "write": // 100 of the body's 128 KB read, 64 KB of them written; the rest never comes
		r, w := io.Pipe()
		go func() {
			w.Write(wav(8 * time.Second)[:100_000]) // returns once Save has read it all
			at()
		}()
		body = r
	case "sync": // the whole body written, its data being made durable
		d.syncData = func([]int) error { at(); return nil }
	}
	d.Save(context.Background(), "interaction-crash", body)
}
