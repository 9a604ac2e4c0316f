//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || illumos)

package download

import "context"

// acquireFlock reports that flock is not available on this system, so that
// acquireLock falls back to the O_EXCL lock described in lock.go.
func acquireFlock(ctx context.Context, path string, onWait func()) (func(), error) {
	return nil, errNoFlock
}
