//go:build unix && cgo

package preprocess

import (
	"syscall"
	"time"
)

// processCPU is the CPU time (user + system) used by the process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
