//go:build !linux

package recdir

import (
	"errors"
	"os"
)

var errNoUnnamed = errors.New("unnamed files are Linux only")

// openUnnamed fails: off Linux, recordings are written under a temporary name and renamed.
func openUnnamed(string) (*os.File, error) { return nil, errNoUnnamed }

func linkUnnamed(_, _ *os.File, _ string) error { return errNoUnnamed }

// syncData makes the data of a batch's files durable, one fsync each.
func syncData(files []*os.File) error {
	for _, f := range files {
		if err := f.Sync(); err != nil {
			return err
		}
	}
	return nil
}
