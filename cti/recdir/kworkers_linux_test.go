package recdir

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// kernelWorkersCPU sums the CPU time of the kernel's worker threads (kworker/*), which run the writeback that syncfs(2)
// hands them and the block I/O completions: the part of a save's cost getrusage does not see. It counts every process's
// share of their work, so it is only meaningful with little else writing.
func kernelWorkersCPU() (time.Duration, bool) {
	ds, err := os.ReadDir("/proc")
	if err != nil {
		return 0, false
	}
	var ticks int64
	for _, d := range ds {
		if _, err := strconv.Atoi(d.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open || !strings.HasPrefix(s[open+1:end], "kworker") {
			continue
		}
		f := strings.Fields(s[end+1:]) // state, ppid, … : utime and stime are the 12th and 13th
		if len(f) < 13 {
			continue
		}
		u, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		ticks += u + st
	}
	return time.Duration(ticks) * 10 * time.Millisecond, true // USER_HZ is 100 on Linux
}
