package recdir

import (
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/switchboard-cc/switchboard/cti"
)

// batch is the files of Saves that arrived while the previous batch was being made durable, or within a window of its
// start. Making a file durable has a cost per commit whatever the number of files it serves (the folder's fsync, the
// device flush, the goroutine hand-offs), so under load one commit serves every recording that finished meanwhile; alone,
// a Save commits at once.
type batch struct {
	files []pending
	done  chan struct{} // closed once err is set
	err   error
}

type pending struct {
	fd     int    // the file, written, still open
	tmp    string // its temporary name (path)
	file   string // final name in the folder
	opened uint64 // taken after the file is created and before it is written
}

// commit makes p durable under its final name; it closes p.fd, and removes the file on failure. The first Save to join a
// batch commits it, after the batch before it is done and at least a window after that one started; the others wait for
// it. A failure fails the whole batch: each of its Saves returns the error (and the engine keeps the PBX's copy).
func (d *Dir) commit(p pending) error {
	d.mu.Lock()
	b := d.open
	first := b == nil
	if first {
		b = &batch{done: make(chan struct{})}
		d.open = b
	}
	b.files = append(b.files, p)
	prev := d.syncing
	d.mu.Unlock()
	if !first {
		<-b.done
		return b.err
	}
	if prev != nil {
		<-prev // meanwhile this batch collects the Saves that finish
	}
	d.mu.Lock()
	wait := d.window - time.Since(d.started)
	d.mu.Unlock()
	if wait > 0 {
		time.Sleep(wait) // and meanwhile too
	}
	d.mu.Lock()
	d.open, d.syncing, d.started = nil, b.done, time.Now()
	d.mu.Unlock()

	b.err = d.sync(b.files)

	d.mu.Lock()
	d.syncing = nil
	d.mu.Unlock()
	close(b.done)
	return b.err
}

// sync commits one batch: the files' data, then their renames, then the folder (which holds the renames).
func (d *Dir) sync(files []pending) error {
	fds := make([]int, len(files))
	oldest := 0
	for i, p := range files {
		fds[i] = p.fd
		if p.opened < files[oldest].opened {
			oldest = i
		}
	}
	// syncData's syncfs reports errors since its file was opened: the file with the least opened was opened before any
	// file of the batch was written, so before any of their writeback could fail.
	fds[0], fds[oldest] = fds[oldest], fds[0]
	err := d.syncData(fds)
	for i, p := range files {
		if cerr := unix.Close(p.fd); err == nil && cerr != nil {
			err = &os.PathError{Op: "close", Path: p.tmp, Err: cerr}
		}
		files[i].fd = -1
	}
	if err != nil {
		discard(files)
		return cti.Internal(err, "write recording")
	}
	for i, p := range files {
		// rename(2) itself, not os.Rename, which first stats the new name to refuse a folder there: rename(2) refuses
		// it too (EISDIR).
		final := filepath.Join(d.path, p.file)
		if err := unix.Rename(p.tmp, final); err != nil {
			discard(files[i:])
			return cti.Internal(&os.LinkError{Op: "rename", Old: p.tmp, New: final, Err: err}, "store recording")
		}
	}
	if err := syncDir(d.path); err != nil {
		return cti.Internal(err, "store recording")
	}
	return nil
}

// syncDir makes the folder's entries (the renames) durable.
func syncDir(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	err = unix.Fsync(fd)
	unix.Close(fd) // read-only: nothing to report that fsync did not
	if err != nil {
		return &os.PathError{Op: "fsync", Path: path, Err: err}
	}
	return nil
}

// discard removes files that will not be stored (closing them if still open).
func discard(files []pending) {
	for _, p := range files {
		if p.fd >= 0 {
			unix.Close(p.fd)
		}
		unix.Unlink(p.tmp)
	}
}
