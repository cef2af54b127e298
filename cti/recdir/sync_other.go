//go:build unix && !linux

package recdir

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncData makes the data of a batch's files durable, one fsync each.
func syncData(fds []int) error {
	for _, fd := range fds {
		if err := unix.Fsync(fd); err != nil {
			return os.NewSyscallError("fsync", err)
		}
	}
	return nil
}
