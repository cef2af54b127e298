// Package recdir keeps call recordings in a folder: the recording store of a single-node installation.
//
// A recording is written to a temporary file, synced, and renamed into place, so a crash never leaves a half-written recording
// under its final name; its size, SHA-256 and (for WAV) duration go on the interaction.
package recdir

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/switchboard-cc/switchboard/cti"
)

// Dir is a folder of recordings.
type Dir struct {
	path string
}

// New returns the store in path, creating the folder if needed.
func New(path string) (*Dir, error) {
	if err := os.MkdirAll(path, 0o750); err != nil {
		return nil, fmt.Errorf("recordings folder: %w", err)
	}
	return &Dir{path: path}, nil
}

// validName accepts the names the engine gives recordings ("interaction-<uuid>", "vm-<uuid>"): no path separators, no dots
// leading anywhere, so a name can never escape the folder.
func validName(name string) error {
	if name == "" || len(name) > 200 || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return cti.Invalid("name", "recording name %q is not a plain file name", name)
	}
	return nil
}

// Save stores r as name.wav and returns its reference. Saving the same name again replaces the file (a retried download).
func (d *Dir) Save(ctx context.Context, name string, r io.Reader) (cti.RecordingRef, error) {
	if err := validName(name); err != nil {
		return cti.RecordingRef{}, err
	}
	tmp, err := os.CreateTemp(d.path, ".incoming-*")
	if err != nil {
		return cti.RecordingRef{}, cti.Internal(err, "create recording file")
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	h := sha256.New()
	head := &headBuffer{max: 44}
	n, err := io.Copy(io.MultiWriter(tmp, h, head), ctxReader{ctx, r})
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return cti.RecordingRef{}, cti.Internal(err, "write recording")
	}
	file := name + ".wav"
	if err := os.Rename(tmp.Name(), filepath.Join(d.path, file)); err != nil {
		return cti.RecordingRef{}, cti.Internal(err, "store recording")
	}
	return cti.RecordingRef{File: file, Size: n, SHA256: hex.EncodeToString(h.Sum(nil)), Duration: wavDuration(head.b, n)}, nil
}

// Open opens a stored recording by its file name (RecordingRef.File).
func (d *Dir) Open(file string) (*os.File, error) {
	if err := validName(strings.TrimSuffix(file, ".wav")); err != nil || !strings.HasSuffix(file, ".wav") {
		return nil, cti.Invalid("file", "recording file %q is not one of ours", file)
	}
	f, err := os.Open(filepath.Join(d.path, file))
	if os.IsNotExist(err) {
		return nil, cti.Errorf(cti.ENOTFOUND, "recording %s not found", file)
	}
	return f, err
}

// wavDuration reads the canonical 44-byte RIFF/WAVE header; anything else has an unknown (zero) duration.
func wavDuration(h []byte, size int64) time.Duration {
	if len(h) < 44 || string(h[0:4]) != "RIFF" || string(h[8:12]) != "WAVE" {
		return 0
	}
	byteRate := binary.LittleEndian.Uint32(h[28:32])
	if byteRate == 0 {
		return 0
	}
	data := size - 44
	return time.Duration(data) * time.Second / time.Duration(byteRate)
}

type headBuffer struct {
	b   []byte
	max int
}

func (h *headBuffer) Write(p []byte) (int, error) {
	if room := h.max - len(h.b); room > 0 {
		h.b = append(h.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// ctxReader stops a long copy when the context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
