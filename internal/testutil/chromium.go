package testutil

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Chromium returns the path of a Chromium binary. Without one the test is
// skipped, unless GOCLIP_REQUIRE_CHROMIUM=1 makes it fail.
func Chromium(tb testing.TB) string {
	tb.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no chromium binary in $PATH (install Debian's chromium package to render the pages)"
	if os.Getenv("GOCLIP_REQUIRE_CHROMIUM") == "1" {
		tb.Fatal(msg + "; GOCLIP_REQUIRE_CHROMIUM=1 requires it")
	}
	tb.Skip(msg)
	return ""
}

// RunChromium runs headless Chromium (a fresh profile, no network
// services, sRGB) on page with the extra arguments and returns its
// standard output.
func RunChromium(tb testing.TB, bin, page string, args ...string) []byte {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	home := tb.TempDir()
	base := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--force-color-profile=srgb", "--hide-scrollbars",
		"--user-data-dir=" + filepath.Join(home, "profile"),
	}
	cmd := exec.CommandContext(ctx, bin, append(append(base, args...), page)...)
	cmd.Env = append(os.Environ(), "HOME="+home)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		tb.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.Bytes()
}

// CountNear counts the pixels of img within tol of c on every channel.
func CountNear(img image.Image, c color.RGBA, tol int) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if absDiff(int(r>>8), int(c.R)) <= tol && absDiff(int(g>>8), int(c.G)) <= tol && absDiff(int(bl>>8), int(c.B)) <= tol {
				n++
			}
		}
	}
	return n
}

func absDiff(a, b int) int {
	if a < b {
		return b - a
	}
	return a - b
}
