package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	exportMu   sync.Mutex
	exportRoot string
	exported   = map[string]string{}
)

// Python is the interpreter the tests export models with: $GOCLIP_PYTHON,
// else /usr/bin/python3.
func Python() string {
	if p := os.Getenv("GOCLIP_PYTHON"); p != "" {
		return p
	}
	return "/usr/bin/python3"
}

// Export runs export/export.py on a checkpoint once per test process and
// returns the export directory (under a temporary folder that Cleanup
// removes).
func Export(tb testing.TB, ckpt, name string) string {
	tb.Helper()
	exportMu.Lock()
	defer exportMu.Unlock()
	if d, ok := exported[ckpt]; ok {
		return d
	}
	if exportRoot == "" {
		d, err := os.MkdirTemp("", "goclip-test-exports-")
		if err != nil {
			tb.Fatal(err)
		}
		exportRoot = d
	}
	out := filepath.Join(exportRoot, fmt.Sprintf("m%d", len(exported)))
	script := filepath.Join(RepoRoot(tb), "export", "export.py")
	cmd := exec.Command(Python(), script, "--checkpoint", ckpt, "--out", out, "--name", name)
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("export of %s failed: %v\n%s", ckpt, err, b)
	}
	exported[ckpt] = out
	return out
}

// ExportGolden exports one of the golden tiny models of shared/golden/models.
func ExportGolden(tb testing.TB, name string) string {
	tb.Helper()
	return Export(tb, Golden(tb, "models", name, "model.jit.pt"), name)
}

// Cleanup removes the exports made by this process; call it from TestMain.
func Cleanup() {
	exportMu.Lock()
	defer exportMu.Unlock()
	if exportRoot != "" {
		os.RemoveAll(exportRoot)
		exportRoot = ""
	}
}
