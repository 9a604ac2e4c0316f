package download

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// CacheDir returns the directory where goclip keeps downloaded files:
// $GOCLIP_CACHE when set, else $XDG_CACHE_HOME/goclip when XDG_CACHE_HOME
// is set to an absolute path (the XDG specification says relative values
// are to be ignored), else ~/.cache/goclip. The directory is not created.
func CacheDir() (string, error) {
	if d := os.Getenv("GOCLIP_CACHE"); d != "" {
		return d, nil
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "goclip"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("download: no cache directory: %w", err)
	}
	if home == "" {
		return "", errors.New("download: no cache directory: home directory unknown")
	}
	return filepath.Join(home, ".cache", "goclip"), nil
}
