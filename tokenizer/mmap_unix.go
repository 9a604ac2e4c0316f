//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package tokenizer

import (
	"os"
	"syscall"
)

// mapFile returns the contents of the file at name, mapped read-only when
// possible (no copy, and pages come from the page cache as they are
// touched), and a function that releases them. The file must not be
// rewritten in place while mapped (the table cache is only ever replaced
// by a rename).
func mapFile(name string) ([]byte, func(), error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	size := st.Size()
	if size <= 0 || size != int64(int(size)) || !st.Mode().IsRegular() {
		data, err := os.ReadFile(name)
		return data, func() {}, err
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_PRIVATE)
	if err != nil {
		data, err := os.ReadFile(name)
		return data, func() {}, err
	}
	return data, func() { syscall.Munmap(data) }, nil
}
