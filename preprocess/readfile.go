package preprocess

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrNotRegular: the path names something other than a regular file (after
// following symbolic links): a FIFO, a socket, a device or a directory. Such
// files are never read, because reading them can block forever (a FIFO
// nobody writes to) or never end (/dev/zero).
var ErrNotRegular = errors.New("not a regular file")

// readChunk is how much ReadFile reads between two checks of the context.
const readChunk = 1 << 20

// ReadFile returns the contents of the regular file at path. Anything else
// (FIFO, socket, device, directory) fails with an error wrapping
// ErrNotRegular without being read. The file is opened without blocking
// (O_NONBLOCK where the system has it), then checked with fstat, and read in
// chunks; when ctx ends, ReadFile returns ctx.Err() promptly even while a
// system call is stuck on a slow file system (the stuck call finishes in the
// background and its file is closed).
func ReadFile(ctx context.Context, path string) ([]byte, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if ctx.Done() == nil {
		return readRegular(ctx, path)
	}
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		data, err := readRegular(ctx, path)
		done <- result{data, err}
	}()
	select {
	case r := <-done:
		return r.data, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// readRegular opens path without blocking, refuses non-regular files and
// reads the file in chunks, checking ctx between them.
func readRegular(ctx context.Context, path string) ([]byte, error) {
	// Stat first, for a clear error on sockets (which open refuses with
	// ENXIO); the fstat below decides, since the path may change between.
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, notRegular(path, fi.Mode())
	}
	f, err := openNonblock(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, notRegular(path, fi.Mode())
	}
	size := fi.Size()
	buf := make([]byte, 0, size+1) // +1: EOF without growing when the size is right
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		end := min(cap(buf), len(buf)+readChunk)
		n, err := f.Read(buf[len(buf):end])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return nil, &os.PathError{Op: "read", Path: path, Err: err}
		}
	}
}

func notRegular(path string, m os.FileMode) error {
	return &os.PathError{Op: "open", Path: path, Err: fmt.Errorf("%w (%s)", ErrNotRegular, fileKind(m))}
}

// fileKind names the type of a non-regular file for error messages.
func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "directory"
	case m&os.ModeNamedPipe != 0:
		return "named pipe"
	case m&os.ModeSocket != 0:
		return "socket"
	case m&os.ModeCharDevice != 0:
		return "character device"
	case m&os.ModeDevice != 0:
		return "device"
	}
	return "special file"
}
