//go:build unix

package recdir

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkSave saves 1 s recordings (16 KB) from 8 goroutines per processor, as a busy controller's executors do, and reports
// the process's CPU time (user + system, getrusage) per save: the figure the controller's CPU per call is made of.
func BenchmarkSave(b *testing.B) {
	d, err := New(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	audio := wav(time.Second)
	var seq atomic.Int64
	b.SetParallelism(8)
	cpu0 := cpuTime()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := d.Save(context.Background(), fmt.Sprintf("interaction-%d", seq.Add(1)), bytes.NewReader(audio)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/save")
}

func cpuTime() time.Duration {
	var r syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r)
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}
