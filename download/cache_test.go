package download

import (
	"path/filepath"
	"testing"
)

func TestCacheDir(t *testing.T) {
	home := t.TempDir()
	tests := []struct {
		name, goclip, xdg, want string
	}{
		{"GOCLIP_CACHE wins", "/data/clip", "/xdg", "/data/clip"},
		{"XDG_CACHE_HOME", "", "/xdg", filepath.Join("/xdg", "goclip")},
		{"relative XDG_CACHE_HOME ignored", "", "rel/cache", filepath.Join(home, ".cache", "goclip")},
		{"home", "", "", filepath.Join(home, ".cache", "goclip")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("HOME", home)
			t.Setenv("GOCLIP_CACHE", tc.goclip)
			t.Setenv("XDG_CACHE_HOME", tc.xdg)
			got, err := CacheDir()
			if err != nil || got != tc.want {
				t.Errorf("CacheDir() = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
