package testutil

import (
	"bufio"
	"os"
	"strings"
)

// MappedLibraries returns the files of the shared libraries mapped into
// this process whose base name contains one of the given words (all of
// them when none is given), read from /proc/self/maps.
func MappedLibraries(words ...string) ([]string, error) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	seen := map[string]bool{}
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || !strings.HasPrefix(fields[5], "/") || !strings.Contains(fields[5], ".so") {
			continue
		}
		path := fields[5]
		base := path[strings.LastIndex(path, "/")+1:]
		match := len(words) == 0
		for _, w := range words {
			match = match || strings.Contains(base, w)
		}
		if match && !seen[path] {
			seen[path] = true
			out = append(out, path)
		}
	}
	return out, sc.Err()
}
