//go:build !linux

package recdir

import "os"

// syncData makes a batch's data durable, one fsync per file.
func syncData(_ string, files []*os.File) error {
	for _, f := range files {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	return nil
}
