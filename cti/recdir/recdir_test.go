package recdir

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"testing"
	"time"

	"github.com/switchboard-cc/switchboard/cti"
)

// wav returns a mono 16-bit 8 kHz WAV of d.
func wav(d time.Duration) []byte {
	data := int(d.Seconds() * 16000)
	var b bytes.Buffer
	b.WriteString("RIFF")
	binary.Write(&b, binary.LittleEndian, uint32(36+data))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(8000), uint32(16000), uint16(2), uint16(16)} {
		binary.Write(&b, binary.LittleEndian, v)
	}
	b.WriteString("data")
	binary.Write(&b, binary.LittleEndian, uint32(data))
	b.Write(make([]byte, data))
	return b.Bytes()
}

func TestSaveAndOpen(t *testing.T) {
	d, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	audio := wav(3 * time.Second)
	ref, err := d.Save(context.Background(), "interaction-0193", bytes.NewReader(audio))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(audio)
	want := cti.RecordingRef{File: "interaction-0193.wav", Size: int64(len(audio)), SHA256: hex.EncodeToString(sum[:]), Duration: 3 * time.Second}
	if ref != want {
		t.Fatalf("ref = %+v, want %+v", ref, want)
	}
	f, err := d.Open(ref.File)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, _ := io.ReadAll(f)
	if !bytes.Equal(got, audio) {
		t.Fatal("stored bytes differ")
	}
	entries, _ := os.ReadDir(d.path)
	if len(entries) != 1 {
		t.Fatalf("folder holds %d entries, want only the recording", len(entries))
	}
}

// A failed download leaves nothing under the final name and no temporary file behind.
func TestSaveFailureLeavesNothing(t *testing.T) {
	d, _ := New(t.TempDir())
	boom := errors.New("connection reset")
	_, err := d.Save(context.Background(), "interaction-x", io.MultiReader(bytes.NewReader(wav(time.Second)[:100]), errReader{boom}))
	if cti.ErrorCode(err) != cti.EINTERNAL || !errors.Is(err, boom) {
		t.Fatalf("err = %v, want internal wrapping the cause", err)
	}
	if entries, _ := os.ReadDir(d.path); len(entries) != 0 {
		t.Fatalf("folder holds %v after a failed save", entries)
	}
}

func TestNamesCannotEscapeTheFolder(t *testing.T) {
	d, _ := New(t.TempDir())
	for _, name := range []string{"", "../etc/passwd", "a/b", ".hidden", `a\b`} {
		if _, err := d.Save(context.Background(), name, bytes.NewReader(nil)); cti.ErrorCode(err) != cti.EINVALID {
			t.Errorf("Save(%q) err = %v, want invalid", name, err)
		}
	}
	for _, file := range []string{"../x.wav", "x.mp3", ".x.wav"} {
		if _, err := d.Open(file); cti.ErrorCode(err) != cti.EINVALID {
			t.Errorf("Open(%q) err = %v, want invalid", file, err)
		}
	}
	if _, err := d.Open("missing.wav"); cti.ErrorCode(err) != cti.ENOTFOUND {
		t.Errorf("Open(missing) err = %v, want not found", err)
	}
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
