package parity

import (
	"context"
	"fmt"

	"github.com/goclip/goclip/clip"
)

// This file holds every call into the clip package's encoding API, so that
// a change of those signatures touches one place.

// goclipOutputs are goclip's values for every stage.
type goclipOutputs struct {
	tokens      [][]int32
	pixels      []float32 // [images, 3, R, R]
	encodeImage clip.Matrix
	encodeText  clip.Matrix
	logits      clip.Matrix // logits_per_image [images, texts]
	probs       []float32   // [images, texts]
}

// goclipTokens tokenizes texts as the model's users do.
func goclipTokens(ctx context.Context, m *clip.Model, texts []string) ([][]int32, error) {
	return m.Tokenize(ctx, texts)
}

// runGoclip computes every stage with goclip: the Go preprocessing of the
// files, the images through EncodeImageFiles (the users' path, one batch),
// the token rows through EncodeText (one batch), logits from the features by
// the artifact's logits method, and zero-shot probabilities over the texts as
// a Classifier computes them (softmax of logit_scale·cosine).
func runGoclip(ctx context.Context, m *clip.Model, images []string, tokens [][]int32, texts []string) (*goclipOutputs, error) {
	out := &goclipOutputs{tokens: tokens}
	pre := m.Preprocessor()
	for _, f := range images {
		px, err := pre.File(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		out.pixels = append(out.pixels, px...)
	}
	img, errs, err := m.EncodeImageFiles(ctx, images)
	if err != nil {
		return nil, err
	}
	for i, e := range errs {
		if e != nil {
			return nil, fmt.Errorf("%s: %w", images[i], e)
		}
	}
	out.encodeImage = img
	if out.encodeText, err = m.EncodeText(tokens); err != nil {
		return nil, err
	}
	if out.logits, err = m.Logits(out.encodeImage, out.encodeText); err != nil {
		return nil, err
	}
	scale, err := m.LogitScale()
	if err != nil {
		return nil, err
	}
	preds, err := clip.ZeroShot(out.encodeImage, clip.EnsembleWeights(out.encodeText, len(texts), 1), float64(scale), texts)
	if err != nil {
		return nil, err
	}
	for _, p := range preds {
		out.probs = append(out.probs, p.Probs...)
	}
	return out, nil
}
