package download

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// Concurrency design.
//
// Two Fetch calls for the same Dest, in one process or in several, must not
// write the same ".part" file at once, and a partial download must stay
// resumable after a crash. Per-process unique temporary names followed by a
// rename would keep the result intact, but every process would download the
// whole file and a killed process would leave an anonymous temporary that
// nobody resumes. Fetch therefore takes an exclusive lock on Dest+".lock"
// for the whole download; a second caller waits (honouring its context),
// then finds the verified Dest and returns without any network traffic.
//
// Where the system has flock(2) (Linux, the BSDs, macOS, illumos) the lock
// is an advisory flock on the lock file: the kernel drops it when its holder
// exits or crashes, so a lock is never stale. flock locks belong to an open
// file description, so two goroutines of one process exclude each other as
// well. The holder deletes the lock file before unlocking; a waiter that
// obtains the lock checks that the path still names the file it locked, and
// otherwise tries again, so a deletion can never let two holders in.
//
// Elsewhere (Windows, Plan 9, wasm), or on a file system that refuses flock,
// the lock file is created with O_EXCL. Its holder refreshes the file's
// modification time every exclRefresh, and a waiter treats a lock that has
// not been refreshed for exclStale as left behind by a crashed process and
// removes it. Two waiters that both judge a lock stale at the same moment
// could, in a narrow window, both proceed; even then the digest check before
// the rename keeps a wrong file from being published.

const (
	exclStale   = 2 * time.Minute
	exclRefresh = 20 * time.Second
	// lockPollMax caps the interval between attempts to take a held lock.
	lockPollMax = 250 * time.Millisecond
)

// acquireLock takes the lock at path, waiting until it is free or ctx ends.
// onWait, when not nil, is called once if the lock is held by someone else.
// The returned function releases the lock.
func acquireLock(ctx context.Context, path string, onWait func()) (release func(), err error) {
	release, err = acquireFlock(ctx, path, onWait)
	if errors.Is(err, errNoFlock) {
		return acquireExclLock(ctx, path, onWait, exclStale, exclRefresh)
	}
	return release, err
}

// errNoFlock reports that flock is unavailable here.
var errNoFlock = errors.New("download: flock unavailable")

// lockWaiter paces the polling of a held lock.
type lockWaiter struct {
	onWait func()
	waited bool
	delay  time.Duration
}

// wait sleeps before the next attempt; it fails when ctx ends.
func (w *lockWaiter) wait(ctx context.Context) error {
	if !w.waited {
		w.waited = true
		if w.onWait != nil {
			w.onWait()
		}
	}
	if w.delay == 0 {
		w.delay = 5 * time.Millisecond
	}
	if err := sleepCtx(ctx, w.delay); err != nil {
		return err
	}
	w.delay = min(2*w.delay, lockPollMax)
	return nil
}

// acquireExclLock implements the O_EXCL lock described above, with the
// given staleness limit and refresh interval.
func acquireExclLock(ctx context.Context, path string, onWait func(), stale, refresh time.Duration) (func(), error) {
	w := lockWaiter{onWait: onWait}
	for {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			fmt.Fprintf(f, "%d\n", os.Getpid())
			f.Close()
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				t := time.NewTicker(refresh)
				defer t.Stop()
				for {
					select {
					case <-stop:
						return
					case now := <-t.C:
						os.Chtimes(path, now, now)
					}
				}
			}()
			return func() {
				close(stop)
				<-done
				os.Remove(path)
			}, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("download: lock: %w", err)
		}
		if fi, err := os.Stat(path); err == nil && time.Since(fi.ModTime()) > stale {
			os.Remove(path)
			continue
		}
		if err := w.wait(ctx); err != nil {
			return nil, err
		}
	}
}
