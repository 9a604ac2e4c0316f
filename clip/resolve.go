package clip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/goclip/goclip/download"
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
			return "", "", err
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

// ExportScript locates export/export.py: $GOCLIP_EXPORT, then export/ beside
// the executable's parent (bin/clip in a checkout), then the working
// directory and its parents.
func ExportScript() (string, error) {
	if p := os.Getenv("GOCLIP_EXPORT"); p != "" {
		return p, nil
	}
	var cands []string
	if exe, err := os.Executable(); err == nil {
		cands = append(cands, filepath.Join(filepath.Dir(filepath.Dir(exe)), "export", "export.py"))
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			cands = append(cands, filepath.Join(d, "export", "export.py"))
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	for _, c := range cands {
		if _, err := os.Stat(c); err == nil {
			return c, nil
		}
	}
	return "", errors.New("clip: export/export.py not found; set $GOCLIP_EXPORT to its path")
}

// Python returns the interpreter used for exports: $GOCLIP_PYTHON, else
// /usr/bin/python3 when present, else python3 from PATH.
func Python() string {
	if p := os.Getenv("GOCLIP_PYTHON"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	return "python3"
}

func runExport(ctx context.Context, cfg *config, ckpt, out, name string) error {
	script := cfg.exportScript
	if script == "" {
		s, err := ExportScript()
		if err != nil {
			return err
		}
		script = s
	}
	py := cfg.python
	if py == "" {
		py = Python()
	}
	cmd := exec.CommandContext(ctx, py, script, "--checkpoint", ckpt, "--out", out, "--name", name)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if cfg.progress != nil {
		fmt.Fprintf(cfg.progress, "exporting %s to %s\n", name, out)
	}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("clip: export of %s failed: %v: %s", name, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
