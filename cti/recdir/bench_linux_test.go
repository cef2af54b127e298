package recdir

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// BenchmarkFileSteps creates, writes (a 2 s recording, 32 KB), closes and names one file three ways in turn, in one
// folder, and reports each way's CPU time per file (the thread's, clock_gettime): "os", the os package's calls the store
// made before (os.CreateTemp, *os.File, os.Rename); "raw", the system calls it makes now (open(2) O_EXCL, write, close,
// rename(2)); "tmpfile", a file without a name until linkat(2) gives it its final one (O_TMPFILE, through
// /proc/self/fd). No syncs: they are per batch. The ways take turns so that each meets the folder and the filesystem in
// the same state: on ext4 without a journal, creating a file costs more the more inodes its group freed in the last
// minutes (docs/performance.md, "Recording store: the cost of a file").
func BenchmarkFileSteps(b *testing.B) {
	dir := b.TempDir()
	audio := wav(2 * time.Second)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	ways := []struct {
		name string
		do   func(i int) error
	}{
		{"os", func(i int) error {
			f, err := os.CreateTemp(dir, tmpPrefix+"*")
			if err != nil {
				return err
			}
			if _, err := f.Write(audio); err != nil {
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			return os.Rename(f.Name(), filepath.Join(dir, fmt.Sprintf("os-%d.wav", i)))
		}},
		{"raw", func(i int) error {
			tmp := filepath.Join(dir, fmt.Sprintf("%sraw-%d", tmpPrefix, i))
			fd, err := unix.Open(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600)
			if err != nil {
				return err
			}
			if err := writeAll(fd, audio); err != nil {
				return err
			}
			if err := unix.Close(fd); err != nil {
				return err
			}
			return unix.Rename(tmp, filepath.Join(dir, fmt.Sprintf("raw-%d.wav", i)))
		}},
		{"tmpfile", func(i int) error {
			fd, err := unix.Open(dir, unix.O_WRONLY|unix.O_TMPFILE|unix.O_CLOEXEC, 0o600)
			if err != nil {
				return err
			}
			if err := writeAll(fd, audio); err != nil {
				return err
			}
			if err := unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), unix.AT_FDCWD, filepath.Join(dir, fmt.Sprintf("tmpfile-%d.wav", i)), unix.AT_SYMLINK_FOLLOW); err != nil {
				return err
			}
			return unix.Close(fd)
		}},
	}
	cpu := make([]time.Duration, len(ways))
	i := 0
	for b.Loop() {
		for w, way := range ways {
			t0 := threadCPU()
			if err := way.do(i); err != nil {
				b.Fatalf("%s: %v", way.name, err)
			}
			cpu[w] += threadCPU() - t0
		}
		i++
	}
	for w, way := range ways {
		b.ReportMetric(float64(cpu[w].Nanoseconds())/1e3/float64(b.N), "cpu-µs/file-"+way.name)
	}
}

func threadCPU() time.Duration {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return time.Duration(ts.Nano())
}
