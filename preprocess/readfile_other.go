//go:build !unix

package preprocess

import "os"

// openNonblock opens path for reading (systems without O_NONBLOCK).
func openNonblock(path string) (*os.File, error) { return os.Open(path) }
