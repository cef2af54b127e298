package recdir

import (
	"os"
	"syscall"
)

// syncData makes a batch's data durable with one syncfs(2) of the folder's filesystem instead of an fsync per file: it
// writes out every dirty page of that filesystem, so give recordings a filesystem of their own where other writers are
// busy (docs/performance.md has the figures).
func syncData(_ string, files []*os.File) error {
	if len(files) == 1 {
		return files[0].Sync()
	}
	if _, _, errno := syscall.Syscall(sysSyncfs, files[0].Fd(), 0, 0); errno != 0 {
		return os.NewSyscallError("syncfs", errno)
	}
	return nil
}
