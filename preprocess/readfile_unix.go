//go:build unix

package preprocess

import (
	"os"
	"syscall"
)

// openNonblock opens path for reading with O_NONBLOCK, so that opening a
// FIFO without a writer returns at once instead of waiting for one. Regular
// files ignore the flag.
func openNonblock(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
}
