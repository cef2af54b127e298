package recdir

import (
	"os"
	"path/filepath"

	"github.com/switchboard-cc/switchboard/cti"
)

// batch is the files of Saves that arrived while the previous batch was being made durable. Making a file durable costs
// mostly a journal commit and a device flush whether one file or twenty share it (fsync was ¾ of a recording's save), so
// under load one commit serves every recording that finished meanwhile; alone, a Save commits at once.
type batch struct {
	files []pending
	done  chan struct{} // closed once err is set
	err   error
}

type pending struct {
	tmp  *os.File // written, still open
	file string   // final name in the folder
}

// commit makes tmp durable, renames it to file and makes the rename durable; it closes tmp, and removes it on failure. The
// first Save to join a batch commits it, after the batch before it is done; the others wait for it. A failure fails the
// whole batch: each of its Saves returns the error (and the engine keeps the PBX's copy).
func (d *Dir) commit(tmp *os.File, file string) error {
	d.mu.Lock()
	b := d.open
	first := b == nil
	if first {
		b = &batch{done: make(chan struct{})}
		d.open = b
	}
	b.files = append(b.files, pending{tmp: tmp, file: file})
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
	d.open, d.syncing = nil, b.done
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
	tmps := make([]*os.File, len(files))
	for i, p := range files {
		tmps[i] = p.tmp
	}
	err := d.syncData(d.path, tmps)
	for _, p := range files {
		if cerr := p.tmp.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		for _, p := range files {
			os.Remove(p.tmp.Name())
		}
		return cti.Internal(err, "write recording")
	}
	for i, p := range files {
		if err := os.Rename(p.tmp.Name(), filepath.Join(d.path, p.file)); err != nil {
			for _, q := range files[i:] {
				os.Remove(q.tmp.Name())
			}
			return cti.Internal(err, "store recording")
		}
	}
	if err := syncDir(d.path); err != nil {
		return cti.Internal(err, "store recording")
	}
	return nil
}

// syncDir makes the folder's entries (the renames) durable.
func syncDir(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
