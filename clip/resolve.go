package clip

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/goclip/goclip/download"
	"github.com/goclip/goclip/internal/pyexport"
)

// resolve turns a name or path into an export directory holding a manifest,
// or a bare file when allowed. It downloads and exports official models on
// first use.
func resolve(ctx context.Context, nameOrPath string, cfg *config, runtimeTorch string) (dir, bare string, err error) {
	if st, err := os.Stat(nameOrPath); err == nil {
		if st.IsDir() {
			return nameOrPath, "", nil
		}
		d := filepath.Dir(nameOrPath)
		if _, err := os.Stat(filepath.Join(d, ManifestFile)); err == nil {
			return d, "", nil
		}
		if cfg.allowBare {
			return "", nameOrPath, nil
		}
		return "", "", fmt.Errorf("%w: %s has no %s beside it; export it with export/export.py, or opt in with AllowUnverified (--allow-unverified) if you trust the file",
			ErrManifest, nameOrPath, ManifestFile)
	}
	spec, err := LookupModel(nameOrPath)
	if err != nil {
		return "", "", err
	}
	cache := cfg.cacheDir
	if cache == "" {
		if cache, err = download.CacheDir(); err != nil {
			return "", "", fmt.Errorf("clip: %w", err)
		}
	}
	dir = filepath.Join(cache, "models", safeName(spec.Name)+"-torch"+majorMinor(runtimeTorch))
	if m, err := ReadManifest(dir); err == nil && m.Verify(dir, runtimeTorch) == nil {
		return dir, "", nil
	}
	ckpt := filepath.Join(cache, "checkpoints", spec.File)
	if err := download.Fetch(ctx, download.Options{URL: spec.URL, SHA256: spec.SHA256, Dest: ckpt, Progress: cfg.progress}); err != nil {
		return "", "", fmt.Errorf("clip: fetching %s: %w", spec.Name, err)
	}
	if err := runExport(ctx, cfg, ckpt, dir, spec.Name); err != nil {
		return "", "", err
	}
	return dir, "", nil
}

func safeName(s string) string {
	return strings.NewReplacer("/", "-", "@", "-", " ", "_").Replace(s)
}

func runExport(ctx context.Context, cfg *config, ckpt, out, name string) error {
	script := cfg.exportScript
	if script == "" {
		s, err := pyexport.Script()
		if err != nil {
			return fmt.Errorf("clip: exporting %s: %w", name, err)
		}
		script = s
	}
	py := cfg.python
	if py == "" {
		py = pyexport.Python()
	}
	cmd := exec.CommandContext(ctx, py, script, "--checkpoint", ckpt, "--out", out, "--name", name)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if cfg.progress != nil {
		fmt.Fprintf(cfg.progress, "exporting %s to %s\n", name, out)
	}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("clip: export of %s failed: %w: %s", name, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
