package recdir

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

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
	f      *os.File // written, still open
	tmp    string   // its temporary path; "" when it has no name
	file   string   // final name in the folder
	opened uint64   // taken after the file is created and before it is written
}

// commit makes p durable under its final name; it closes p.f, and removes its temporary name on failure. The first Save to
// join a batch commits it, after the batch before it is done and at least a window after that one started; the others
// wait for it. A failure fails the whole batch: each of its Saves returns the error (and the engine keeps the PBX's copy).
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

// sync commits one batch: the files' data, then their names, then the folder (which holds the names).
func (d *Dir) sync(files []pending) error {
	fds := make([]*os.File, len(files))
	oldest := 0
	for i, p := range files {
		fds[i] = p.f
		if p.opened < files[oldest].opened {
			oldest = i
		}
	}
	// syncData's syncfs reports errors since its file was opened: the file with the least opened was opened before any
	// file of the batch was written, so before any of their writeback could fail.
	fds[0], fds[oldest] = fds[oldest], fds[0]
	if err := d.syncData(fds); err != nil {
		discard(files)
		return cti.Internal(err, "write recording")
	}
	folder, err := os.Open(d.path)
	if err != nil {
		discard(files)
		return cti.Internal(err, "store recording")
	}
	defer folder.Close()
	for i, p := range files {
		if err := d.name(folder, p); err != nil {
			discard(files[i:])
			return cti.Internal(err, "store recording")
		}
		p.f.Close() // its data is durable and named: closing cannot lose it
	}
	if err := folder.Sync(); err != nil {
		return cti.Internal(err, "store recording")
	}
	return nil
}

// name gives p its final name, replacing a recording of that name (a retried download, or two Saves of one name).
func (d *Dir) name(folder *os.File, p pending) error {
	if p.tmp == "" {
		err := linkUnnamed(p.f, folder, p.file)
		if !errors.Is(err, fs.ErrExist) {
			return err
		}
		// A link cannot replace: take a temporary name and rename it over the old file, which replaces it atomically.
		tmp, err := linkTemp(p.f, folder)
		if err != nil {
			return err
		}
		p.tmp = filepath.Join(d.path, tmp)
	}
	if err := os.Rename(p.tmp, filepath.Join(d.path, p.file)); err != nil {
		os.Remove(p.tmp)
		return err
	}
	return nil
}

// discard closes files that will not be stored and removes their temporary names.
func discard(files []pending) {
	for _, p := range files {
		p.f.Close()
		if p.tmp != "" {
			os.Remove(p.tmp)
		}
	}
}
