package clip

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
)

//go:embed models.json
var registryJSON []byte

// ModelSpec describes one official CLIP checkpoint: where it is published,
// its sha256, and the architecture the official build_model derives from it.
type ModelSpec struct {
	Name             string          `json:"name"`
	Family           string          `json:"family"` // "vit" or "resnet"
	File             string          `json:"file"`
	URL              string          `json:"url"`
	SHA256           string          `json:"sha256"`
	EmbedDim         int             `json:"embed_dim"`
	ImageResolution  int             `json:"image_resolution"`
	VisionLayers     json.RawMessage `json:"vision_layers"` // int (ViT) or [4]int (ResNet)
	VisionWidth      int             `json:"vision_width"`
	VisionPatchSize  *int            `json:"vision_patch_size"`
	VisionHeads      int             `json:"vision_heads"`
	ContextLength    int             `json:"context_length"`
	VocabSize        int             `json:"vocab_size"`
	TransformerWidth int             `json:"transformer_width"`
	TransformerHeads int             `json:"transformer_heads"`
	TransformerLayer int             `json:"transformer_layers"`
}

var registry = sync.OnceValues(func() ([]ModelSpec, error) {
	var r struct {
		Models []ModelSpec `json:"models"`
	}
	if err := json.Unmarshal(registryJSON, &r); err != nil {
		return nil, fmt.Errorf("clip: embedded model registry: %w", err)
	}
	return r.Models, nil
})

// AvailableModels returns the names of the official models, in the order of
// the reference's table: RN50, RN101, RN50x4, RN50x16, RN50x64, ViT-B/32,
// ViT-B/16, ViT-L/14, ViT-L/14@336px.
func AvailableModels() []string {
	specs, _ := registry()
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	return names
}

// UnknownModelError reports a model name that is not one of the official
// models; its message lists them.
type UnknownModelError struct{ Name string }

func (e *UnknownModelError) Error() string {
	return fmt.Sprintf("clip: unknown model %q: not an export directory, and not one of the official models: %s",
		e.Name, strings.Join(AvailableModels(), ", "))
}

// LookupModel returns the spec of an official model by name. Names are
// matched exactly, then case-insensitively.
func LookupModel(name string) (ModelSpec, error) {
	specs, err := registry()
	if err != nil {
		return ModelSpec{}, err
	}
	for _, s := range specs {
		if s.Name == name {
			return s, nil
		}
	}
	for _, s := range specs {
		if strings.EqualFold(s.Name, name) {
			return s, nil
		}
	}
	return ModelSpec{}, &UnknownModelError{Name: name}
}
