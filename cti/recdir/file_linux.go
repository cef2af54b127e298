package recdir

import (
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// openUnnamed opens a file in dir that has no name yet (O_TMPFILE): it vanishes if the process dies before linkUnnamed,
// so a crash leaves nothing to clean up, and naming it later takes no temporary name and no rename.
func openUnnamed(dir string) (*os.File, error) {
	return os.OpenFile(dir, unix.O_TMPFILE|os.O_WRONLY, 0o600)
}

// linkUnnamed gives f, opened by openUnnamed, the name in folder. It fails with an error satisfying
// errors.Is(err, fs.ErrExist) when the name is taken. The /proc path is the one open(2) documents for naming an O_TMPFILE
// file; AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH before Linux 6.10.
func linkUnnamed(f, folder *os.File, name string) error {
	err := unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(int(f.Fd())), int(folder.Fd()), name, unix.AT_SYMLINK_FOLLOW)
	if err != nil {
		return &os.LinkError{Op: "link", Old: f.Name(), New: name, Err: err}
	}
	return nil
}

// syncData makes the data of a batch's files durable: one file with fdatasync, more with one syncfs(2) of the filesystem.
// syncfs measured cheaper than starting every file's writeback (sync_file_range) then fdatasync on each, in the
// process's CPU and no dearer counting the kernel's worker threads that do its writeback (docs/performance.md): it
// writes inodes sharing a block once and flushes the device once a batch. It also writes out every other dirty page of
// the filesystem, so give the recordings a filesystem of their own where other writers are busy. syncfs reports the
// writeback errors of the whole filesystem since the file it is given was opened (Linux 5.8 and later; earlier kernels
// report none), so files[0] must have been opened before any file of the batch was written.
func syncData(files []*os.File) error {
	if len(files) == 1 {
		if err := unix.Fdatasync(int(files[0].Fd())); err != nil {
			return &os.PathError{Op: "fdatasync", Path: files[0].Name(), Err: err}
		}
		return nil
	}
	if err := unix.Syncfs(int(files[0].Fd())); err != nil {
		return &os.PathError{Op: "syncfs", Path: files[0].Name(), Err: err}
	}
	return nil
}
