//go:build unix && !linux

package recdir

import "time"

func kernelWorkersCPU() (time.Duration, bool) { return 0, false }
