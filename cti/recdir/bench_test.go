//go:build unix

package recdir

import (
	"bytes"
	"context"
	"fmt"
	"sync"
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

// BenchmarkSaveSteady starts one save of a 2 s recording (32 KB, a load run's) every 1/rate s, each on its own goroutine
// as the engine's call executors do, and reports the process's CPU time per save (getrusage: user + system) and the
// saves each commit served. Wall time per op is the rate's, not a measure. Run it with a fixed count, for example
// -benchtime 1500x (5 s at 300/s). On Linux it also reports the kernel's worker threads' CPU per save, which getrusage does
// not see (writeback handed to them, I/O completions) but which shares the machine: meaningful only with little else
// writing.
func BenchmarkSaveSteady(b *testing.B) {
	for _, rate := range []int{100, 300, 500} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) {
			d, err := New(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			var commits atomic.Int64
			d.syncData = func(fds []int) error { commits.Add(1); return syncData(fds) }
			audio := wav(2 * time.Second)
			tick := time.NewTicker(time.Second / time.Duration(rate))
			defer tick.Stop()
			var wg sync.WaitGroup
			cpu0 := cpuTime()
			kw0, kwOK := kernelWorkersCPU()
			i := 0
			for b.Loop() {
				<-tick.C
				i++
				name := fmt.Sprintf("interaction-%d", i)
				wg.Go(func() {
					if _, err := d.Save(context.Background(), name, bytes.NewReader(audio)); err != nil {
						b.Error(err)
					}
				})
			}
			wg.Wait()
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/save")
			b.ReportMetric(float64(b.N)/float64(commits.Load()), "saves/commit")
			if kw1, ok := kernelWorkersCPU(); kwOK && ok {
				b.ReportMetric(float64((kw1-kw0).Microseconds())/float64(b.N), "kworker-cpu-µs/save")
			}
		})
	}
}

func cpuTime() time.Duration {
	var r syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r)
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}
