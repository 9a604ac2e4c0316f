// Package atomicfile writes output files so that a reader never sees a
// partial one: the bytes go to a hidden temporary file beside the final
// name, which is synced and then renamed into place. Temporary files get
// the mode os.Create gives (0666 less the umask), not os.CreateTemp's 0600,
// so every output of goclip has the same permissions.
package atomicfile

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
)

// CreateTemp creates the temporary file that final is written under before
// its rename: ".NAME.tmpXXXX" in final's folder (hidden, so globs such as
// "*.npy" never match it), opened for reading and writing.
func CreateTemp(final string) (*os.File, error) {
	dir, prefix := filepath.Dir(final), "."+filepath.Base(final)+".tmp"
	for try := 0; ; try++ {
		name := filepath.Join(dir, prefix+strconv.FormatUint(uint64(rand.Uint32()), 36))
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, os.ErrExist) && try < 100 {
			continue
		}
		return f, err
	}
}

// Write creates path with the bytes that write puts into the temporary
// file. On any error the temporary file is removed and path is left as it
// was.
func Write(path string, write func(f *os.File) error) error {
	f, err := CreateTemp(path)
	if err != nil {
		return err
	}
	err = write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}
