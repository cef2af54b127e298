//go:build !linux

package recdir

import "os"

// syncData makes the data of a batch's files durable, one fsync each.
func syncData(files []*os.File) error {
	for _, f := range files {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	return nil
}
