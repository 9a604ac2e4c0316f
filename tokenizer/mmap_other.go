//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package tokenizer

import "os"

// mapFile returns the contents of the file at name and a function that
// releases them (here a plain read).
func mapFile(name string) ([]byte, func(), error) {
	data, err := os.ReadFile(name)
	return data, func() {}, err
}
