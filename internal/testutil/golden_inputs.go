package testutil

import (
	"encoding/json"
	"os"
	"testing"
)

// GoldenModelInputs returns the image files and texts the golden model
// outputs (shared/golden/models) were computed from: meta.json's inputs.
func GoldenModelInputs(tb testing.TB) (files, texts []string) {
	tb.Helper()
	var meta struct {
		Inputs struct {
			Images []struct {
				Name string `json:"name"`
			} `json:"images"`
			Texts []string `json:"texts"`
		} `json:"inputs"`
	}
	b, err := os.ReadFile(Golden(tb, "models", "tiny_vit_b32", "meta.json"))
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(b, &meta); err != nil {
		tb.Fatal(err)
	}
	for _, im := range meta.Inputs.Images {
		files = append(files, Golden(tb, "preprocess", "images", im.Name))
	}
	return files, meta.Inputs.Texts
}
