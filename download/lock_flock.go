//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly || illumos

package download

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
)

// acquireFlock implements the flock(2) lock described in lock.go. It
// returns errNoFlock when the file system does not support flock.
func acquireFlock(ctx context.Context, path string, onWait func()) (func(), error) {
	w := lockWaiter{onWait: onWait}
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("download: lock: %w", err)
		}
		err = flockNB(f)
		if err == nil {
			// A previous holder may have deleted the file between our
			// open and our flock: then we hold a lock nobody else sees.
			fi1, err1 := f.Stat()
			fi2, err2 := os.Stat(path)
			if err1 == nil && err2 == nil && os.SameFile(fi1, fi2) {
				return func() {
					os.Remove(path) // while still holding the lock
					f.Close()       // releases the lock
				}, nil
			}
			f.Close()
			continue
		}
		f.Close()
		switch {
		case errors.Is(err, syscall.EWOULDBLOCK), errors.Is(err, syscall.EAGAIN):
			if err := w.wait(ctx); err != nil {
				return nil, err
			}
		case errors.Is(err, syscall.ENOLCK), errors.Is(err, syscall.ENOTSUP),
			errors.Is(err, syscall.EOPNOTSUPP), errors.Is(err, syscall.EINVAL):
			return nil, errNoFlock
		default:
			return nil, fmt.Errorf("download: lock %s: %w", path, err)
		}
	}
}

// flockNB tries once to take an exclusive flock on f, retrying EINTR.
func flockNB(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	cerr := rc.Control(func(fd uintptr) {
		for {
			ferr = syscall.Flock(int(fd), syscall.LOCK_EX|syscall.LOCK_NB)
			if ferr != syscall.EINTR {
				return
			}
		}
	})
	if cerr != nil {
		return cerr
	}
	return ferr
}
