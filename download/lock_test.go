package download

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// lockImpls are the two lock implementations; acquireLock picks the flock
// one where available.
var lockImpls = []struct {
	name    string
	acquire func(ctx context.Context, path string, onWait func()) (func(), error)
}{
	{"default", acquireLock},
	{"excl", func(ctx context.Context, path string, onWait func()) (func(), error) {
		return acquireExclLock(ctx, path, onWait, time.Hour, 10*time.Millisecond)
	}},
}

func TestLockExcludes(t *testing.T) {
	for _, impl := range lockImpls {
		t.Run(impl.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.lock")
			release, err := impl.acquire(context.Background(), path, nil)
			if err != nil {
				t.Fatal(err)
			}
			waited := 0
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			if _, err := impl.acquire(ctx, path, func() { waited++ }); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("second acquire while held: %v, want context.DeadlineExceeded", err)
			}
			if waited != 1 {
				t.Errorf("onWait called %d times, want 1", waited)
			}
			got := make(chan error, 1)
			go func() {
				r, err := impl.acquire(context.Background(), path, nil)
				if err == nil {
					r()
				}
				got <- err
			}()
			time.Sleep(50 * time.Millisecond)
			select {
			case err := <-got:
				t.Fatalf("acquired a held lock (err %v)", err)
			default:
			}
			release()
			select {
			case err := <-got:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("waiter never got the released lock")
			}
			if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("lock file left behind: %v", err)
			}
		})
	}
}

func TestExclLockStaleAndRefresh(t *testing.T) {
	dir := t.TempDir()
	// A lock file left by a crashed process is taken over.
	path := filepath.Join(dir, "stale.lock")
	if err := os.WriteFile(path, []byte("12345\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	release, err := acquireExclLock(ctx, path, nil, time.Minute, 10*time.Millisecond)
	if err != nil {
		t.Fatalf("stale lock not taken over: %v", err)
	}
	// Its holder keeps refreshing it, so it never looks stale.
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(fi.ModTime()) > time.Minute {
		t.Errorf("held lock not refreshed: mtime %v", fi.ModTime())
	}
	release()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file left behind: %v", err)
	}
}
