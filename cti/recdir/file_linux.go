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

// syncData makes the data of a batch's files durable. It first starts every file's writeback (sync_file_range, a hint
// that waits for nothing) so the batch's writes reach the disk together, then waits for each with fdatasync, which also
// makes durable the size and blocks needed to read the data back. One syncfs(2) per batch measured no cheaper once the
// kernel's writeback threads are counted, and it writes out every other dirty page of the filesystem too (PostgreSQL's,
// when they share it) at every batch (docs/performance.md).
func syncData(files []*os.File) error {
	for _, f := range files {
		unix.SyncFileRange(int(f.Fd()), 0, 0, unix.SYNC_FILE_RANGE_WRITE) // only a hint: fdatasync below decides
	}
	for _, f := range files {
		if err := unix.Fdatasync(int(f.Fd())); err != nil {
			return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
		}
	}
	return nil
}
