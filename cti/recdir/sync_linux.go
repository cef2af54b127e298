package recdir

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncData makes the data of a batch's files durable: one file with fdatasync, more with one syncfs(2) of the filesystem.
// syncfs measured cheaper than starting every file's writeback (sync_file_range) then fdatasync on each, in the
// process's CPU and no dearer counting the kernel's worker threads that do its writeback (docs/performance.md): it
// writes inodes sharing a block once and flushes the device once a batch. It also writes out every other dirty page of
// the filesystem, so give the recordings a filesystem of their own where other writers are busy. syncfs reports the
// writeback errors of the whole filesystem since the file it is given was opened (Linux 5.8 and later; earlier kernels
// report none), so fds[0] must have been opened before any file of the batch was written.
func syncData(fds []int) error {
	if len(fds) == 1 {
		if err := unix.Fdatasync(fds[0]); err != nil {
			return os.NewSyscallError("fdatasync", err)
		}
		return nil
	}
	if err := unix.Syncfs(fds[0]); err != nil {
		return os.NewSyscallError("syncfs", err)
	}
	return nil
}
