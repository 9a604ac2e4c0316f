package clip

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/goclip/goclip/download"
)

// ManifestFile is the name of the manifest beside an exported artifact.
const ManifestFile = "manifest.json"

// Manifest is the description export/export.py writes beside model.pt.
type Manifest struct {
	FormatVersion   int            `json:"format_version"`
	Name            string         `json:"name"`
	Family          string         `json:"family"`
	ImageResolution int            `json:"image_resolution"`
	ContextLength   int            `json:"context_length"`
	EmbedDim        int            `json:"embed_dim"`
	VocabSize       int            `json:"vocab_size"`
	Architecture    map[string]any `json:"architecture"`
	DType           string         `json:"dtype"`
	HalfParams      []string       `json:"half_params"`
	Methods         []string       `json:"methods"`
	TorchVersion    string         `json:"torch_version"`
	Source          string         `json:"source"`
	SourceSHA256    string         `json:"source_sha256"`
	SourcePath      string         `json:"source_path,omitempty"` // absolute path of the checkpoint file read
	Artifact        string         `json:"artifact"`
	ArtifactSHA256  string         `json:"artifact_sha256"`
	// RandomWeights marks a model made from random weights
	// (export/random_checkpoint.py, export/make_tiny.py).
	RandomWeights bool `json:"random_weights"`
}

// Errors about artifacts, usable with errors.Is.
var (
	// ErrManifest reports a missing, unreadable or inconsistent manifest.
	ErrManifest = errors.New("clip: bad model manifest")
	// ErrArtifactMismatch reports an artifact whose sha256 is not the one
	// its manifest vouches for (tampered, truncated or replaced).
	ErrArtifactMismatch = errors.New("clip: artifact does not match its manifest")
	// ErrArtifactTooNew reports an artifact written by a newer torch than
	// the runtime's libtorch.
	ErrArtifactTooNew = errors.New("clip: artifact written by a newer torch than this libtorch")
)

// ReadManifest reads and checks dir/manifest.json.
func ReadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrManifest, err)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrManifest, filepath.Join(dir, ManifestFile), err)
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrManifest, filepath.Join(dir, ManifestFile), err)
	}
	return &m, nil
}

func (m *Manifest) validate() error {
	switch {
	case m.FormatVersion != 1:
		return fmt.Errorf("format_version %d is not supported (want 1)", m.FormatVersion)
	case m.Family != "vit" && m.Family != "resnet":
		return fmt.Errorf("family %q (want vit or resnet)", m.Family)
	case m.ImageResolution <= 0 || m.ContextLength <= 0 || m.EmbedDim <= 0 || m.VocabSize <= 0:
		return errors.New("image_resolution, context_length, embed_dim and vocab_size must be positive")
	case m.Artifact == "" || m.Artifact != filepath.Base(m.Artifact) || strings.HasPrefix(m.Artifact, "."):
		return fmt.Errorf("artifact %q must be a plain file name", m.Artifact)
	case len(m.ArtifactSHA256) != 64:
		return errors.New("artifact_sha256 missing or malformed")
	case m.TorchVersion == "":
		return errors.New("torch_version missing")
	}
	return nil
}

// ArtifactPath returns the artifact's path inside dir.
func (m *Manifest) ArtifactPath(dir string) string { return filepath.Join(dir, m.Artifact) }

// Verify checks the artifact's sha256 against the manifest and its torch
// version against the runtime's libtorch version.
func (m *Manifest) Verify(dir, runtimeTorch string) error {
	if newer(m.TorchVersion, runtimeTorch) {
		return fmt.Errorf("%w: %s was exported with torch %s but this libtorch is %s; re-export it with torch %s (python3 export/export.py --checkpoint SRC --out DIR)",
			ErrArtifactTooNew, m.ArtifactPath(dir), m.TorchVersion, runtimeTorch, majorMinor(runtimeTorch))
	}
	sum, err := download.SHA256File(m.ArtifactPath(dir))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrArtifactMismatch, err)
	}
	if !strings.EqualFold(sum, m.ArtifactSHA256) {
		return fmt.Errorf("%w: %s has sha256 %s, the manifest says %s", ErrArtifactMismatch, m.ArtifactPath(dir), sum, m.ArtifactSHA256)
	}
	return nil
}

// majorMinor returns "X.Y" of a version such as "2.11.0+cu130".
func majorMinor(v string) string {
	p := versionParts(v)
	return strconv.Itoa(p[0]) + "." + strconv.Itoa(p[1])
}

func versionParts(v string) [2]int {
	var out [2]int
	f := strings.FieldsFunc(v, func(r rune) bool { return r == '.' || r == '+' || r == 'a' || r == '-' })
	for i := 0; i < 2 && i < len(f); i++ {
		out[i], _ = strconv.Atoi(f[i])
	}
	return out
}

// newer reports whether version a's major.minor is above b's.
func newer(a, b string) bool {
	pa, pb := versionParts(a), versionParts(b)
	if pa[0] != pb[0] {
		return pa[0] > pb[0]
	}
	return pa[1] > pb[1]
}
