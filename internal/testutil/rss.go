package testutil

import (
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
)

// RSS returns this process's resident set size after a full garbage
// collection, read from /proc/self/statm; ok is false where /proc is absent.
func RSS() (bytes int64, ok bool) {
	runtime.GC()
	debug.FreeOSMemory()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return 0, false
	}
	return pages * int64(os.Getpagesize()), true
}
