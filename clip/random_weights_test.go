package clip

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestInfoRandomWeights checks that the manifest's random_weights reaches
// Info, both ways.
func TestInfoRandomWeights(t *testing.T) {
	src := goldenModel(t, "tiny_vit_b32")
	for _, random := range []bool{true, false} {
		dir := t.TempDir()
		pt, err := os.ReadFile(filepath.Join(src, "model.pt"))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "model.pt"), pt, 0o644)
		var man map[string]any
		b, _ := os.ReadFile(filepath.Join(src, ManifestFile))
		if err := json.Unmarshal(b, &man); err != nil {
			t.Fatal(err)
		}
		man["random_weights"] = random
		b, _ = json.Marshal(man)
		os.WriteFile(filepath.Join(dir, ManifestFile), b, 0o644)
		m, err := Load(context.Background(), dir, WithDevice("cpu"), WithVocab(vocabPath(t)))
		if err != nil {
			t.Fatal(err)
		}
		if m.Info().RandomWeights != random {
			t.Errorf("random_weights %v: Info().RandomWeights = %v", random, m.Info().RandomWeights)
		}
		m.Close()
	}
}
