// Package recdir keeps call recordings in a folder: the recording store of a single-node installation.
//
// A recording is written to a temporary file and renamed into place only once its data is durable, and Save returns only
// once the rename is durable too, so a crash never leaves a half-written recording under its final name and a saved
// recording survives one (the engine deletes the PBX's copy after Save). Recordings saved at about the same time are made
// durable together (see commit); their size, SHA-256 and (for WAV) duration go on the interaction. It imports only cti, and
// golang.org/x/sys for the system calls: a recording's file is a bare descriptor, not an *os.File, which would ask the
// runtime's poller to take it (epoll_ctl and four fcntl calls, for a regular file the poller refuses), and os.Rename would
// stat the final name first (docs/performance.md, "Recording store: the cost of a file").
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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/switchboard-cc/switchboard/cti"
)

// tmpPrefix starts the names of files being written; New removes those a crash left behind.
const tmpPrefix = ".incoming-"

// tmpSeq numbers the temporary files of this process; with its process id in the name, no two writers of one folder can
// pick the same name (New removes a dead process's files before any is written).
var tmpSeq atomic.Uint64

// window is the least time between the starts of two commits (see commit): under load each commit serves the Saves of a
// window; a Save after a quiet spell commits at once, so a recording waits at most this long for its batch to start.
// A commit's syncfs, folder fsync and device flushes cost the same for 10 files as for 25: at 500 recordings a second,
// 50 ms rather than 20 halves their share of a recording (docs/performance.md, "Recording store: the cost of a file"),
// and a recording is not waited for by anyone but the engine's effect that deletes the PBX's copy.
const window = 50 * time.Millisecond

// Dir is a folder of recordings. Its methods may be called concurrently.
type Dir struct {
	path   string
	window time.Duration // a field so tests can choose it
	// syncData makes the data of files (written, still open: their descriptors) durable; a variable so tests can make it
	// fail.
	syncData func(fds []int) error

	mu      sync.Mutex
	open    *batch        // collecting files; its first member commits it
	syncing chan struct{} // closed when the batch being committed is done; nil when none is
	started time.Time     // when the last commit started
	opened  atomic.Uint64 // files created so far
}

// New returns the store in path, creating the folder if needed and removing temporary files a crash left in it.
func New(path string) (*Dir, error) {
	if err := os.MkdirAll(path, 0o750); err != nil {
		return nil, fmt.Errorf("recordings folder: %w", err)
	}
	stale, err := filepath.Glob(filepath.Join(path, tmpPrefix+"*"))
	if err != nil {
		return nil, fmt.Errorf("recordings folder: %w", err)
	}
	for _, f := range stale {
		if err := os.Remove(f); err != nil {
			return nil, fmt.Errorf("recordings folder: %w", err)
		}
	}
	return &Dir{path: path, window: window, syncData: syncData}, nil
}

// validName accepts the names the engine gives recordings ("interaction-<uuid>", "vm-<uuid>"): no path separators, no dots
// leading anywhere, so a name can never escape the folder.
func validName(name string) error {
	if name == "" || len(name) > 200 || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return cti.Invalid("name", "recording name %q is not a plain file name", name)
	}
	return nil
}

// copyBufs holds the copy buffers of Save: one per recording was the largest allocation of a recording's save. Save fills
// one before writing it, so a recording of a few seconds (16 KB a second) takes one write.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

// Save stores r as name.wav and returns its reference once the file is durable. Saving the same name again replaces the
// file (a retried download).
func (d *Dir) Save(ctx context.Context, name string, r io.Reader) (cti.RecordingRef, error) {
	if err := validName(name); err != nil {
		return cti.RecordingRef{}, err
	}
	tmp := filepath.Join(d.path, tmpPrefix+strconv.Itoa(os.Getpid())+"-"+strconv.FormatUint(tmpSeq.Add(1), 10))
	fd, err := unix.Open(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600)
	for err == unix.EINTR { // as os.OpenFile does: a signal can interrupt an open on network and FUSE filesystems
		fd, err = unix.Open(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600)
	}
	opened := d.opened.Add(1)
	if err != nil {
		return cti.RecordingRef{}, cti.Internal(&os.PathError{Op: "create", Path: tmp, Err: err}, "create recording file")
	}
	p := pending{fd: fd, tmp: tmp, file: name + ".wav", opened: opened}
	h := sha256.New()
	var head [44]byte
	var n int64
	buf := copyBufs.Get().(*[]byte)
	for err == nil {
		var m int
		m, err = fill(ctx, r, *buf)
		if m > 0 {
			b := (*buf)[:m]
			if n < int64(len(head)) {
				copy(head[n:], b)
			}
			h.Write(b)
			if werr := writeAll(fd, b); werr != nil {
				err = &os.PathError{Op: "write", Path: tmp, Err: werr}
			}
			n += int64(m)
		}
	}
	copyBufs.Put(buf)
	if err != io.EOF {
		discard([]pending{p})
		return cti.RecordingRef{}, cti.Internal(err, "write recording")
	}
	if err := d.commit(p); err != nil {
		return cti.RecordingRef{}, err
	}
	return cti.RecordingRef{File: p.file, Size: n, SHA256: hex.EncodeToString(h.Sum(nil)), Duration: wavDuration(head[:min(n, 44)], n)}, nil
}

// writeAll writes b to fd whole.
func writeAll(fd int, b []byte) error {
	for len(b) > 0 {
		m, err := unix.Write(fd, b)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		b = b[m:]
	}
	return nil
}

// fill reads r into buf until buf is full or r fails (io.EOF included), checking ctx before each read.
func fill(ctx context.Context, r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
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
