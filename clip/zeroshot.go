package clip

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Classifier is a zero-shot classifier: one text embedding per label, made
// from prompt templates. With several templates it is the reference
// notebook's ensemble: each template's embedding normalised, averaged over
// the templates, normalised again. It is safe for concurrent use.
type Classifier struct {
	model     *Model
	labels    []string
	templates []string
	weights   Matrix // [len(labels), D], unit rows
	scale     float64
}

// LabelProb is one label with its probability.
type LabelProb struct {
	Index int     // position of the label in the classifier's labels
	Label string  // the label
	Prob  float32 // probability in [0,1]
}

// Prediction is the classification of one image.
type Prediction struct {
	// Probs holds one probability per label, in the classifier's order:
	// softmax(logit_scale.exp() · cosine(image, label)).
	Probs []float32
	// Logits are logit_scale.exp() · cosine, before the softmax.
	Logits []float32
	labels []string
}

// TopK returns the k most probable labels, most probable first; ties keep
// the labels' order. k <= 0 or k > len means all labels.
func (p Prediction) TopK(k int) []LabelProb {
	out := make([]LabelProb, len(p.Probs))
	for i, v := range p.Probs {
		out[i] = LabelProb{Index: i, Label: p.labels[i], Prob: v}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Prob > out[b].Prob })
	if k > 0 && k < len(out) {
		out = out[:k]
	}
	return out
}

// ErrLabels reports an unusable label or template list.
var ErrLabels = errors.New("clip: invalid labels or templates")

// FormatTemplate puts label into template at its single "{}", like
// Python's str.format with one argument ("{{" and "}}" are literal braces).
func FormatTemplate(template, label string) (string, error) {
	var b strings.Builder
	used := 0
	for i := 0; i < len(template); i++ {
		c := template[i]
		switch {
		case c == '{' && i+1 < len(template) && template[i+1] == '{':
			b.WriteByte('{')
			i++
		case c == '}' && i+1 < len(template) && template[i+1] == '}':
			b.WriteByte('}')
			i++
		case c == '{' && i+1 < len(template) && template[i+1] == '}':
			b.WriteString(label)
			used++
			i++
		case c == '{' || c == '}':
			return "", fmt.Errorf("%w: template %q: unmatched brace (use {} for the label, {{ and }} for braces)", ErrLabels, template)
		default:
			b.WriteByte(c)
		}
	}
	if used != 1 {
		return "", fmt.Errorf("%w: template %q must hold exactly one {} (it has %d)", ErrLabels, template, used)
	}
	return b.String(), nil
}

// classifierKey identifies a classifier in the model's cache.
func classifierKey(labels, templates []string) string {
	var b strings.Builder
	for _, l := range labels {
		fmt.Fprintf(&b, "%d:%s|", len(l), l)
	}
	b.WriteString("#")
	for _, t := range templates {
		fmt.Fprintf(&b, "%d:%s|", len(t), t)
	}
	return b.String()
}

// NewClassifier builds (or returns from the model's cache) the zero-shot
// classifier for labels and templates (none: DefaultTemplate). Empty or
// duplicate labels are errors; a label too long for the context is an error
// unless the model truncates (WithTruncate). Encoding len(labels) ×
// len(templates) prompts can take long: it stops with ctx's error when ctx
// is done between batches. The cache keeps the most recently used
// classifiers (WithClassifierCache).
func (m *Model) NewClassifier(ctx context.Context, labels []string, templates ...string) (*Classifier, error) {
	if len(labels) == 0 {
		return nil, fmt.Errorf("%w: no labels", ErrLabels)
	}
	if len(templates) == 0 {
		templates = []string{DefaultTemplate}
	}
	seen := map[string]int{}
	for i, l := range labels {
		if strings.TrimSpace(l) == "" {
			return nil, fmt.Errorf("%w: label %d is empty", ErrLabels, i+1)
		}
		if j, dup := seen[l]; dup {
			return nil, fmt.Errorf("%w: label %q appears twice (positions %d and %d)", ErrLabels, l, j+1, i+1)
		}
		seen[l] = i
	}
	key := classifierKey(labels, templates)
	if c, ok := m.classifiers.get(key); ok {
		return c, nil
	}
	prompts := make([]string, 0, len(labels)*len(templates))
	for _, l := range labels {
		for _, t := range templates {
			p, err := FormatTemplate(t, l)
			if err != nil {
				return nil, err
			}
			prompts = append(prompts, p)
		}
	}
	feats, err := m.EncodeTexts(ctx, prompts)
	if err != nil {
		return nil, err
	}
	scale, err := m.LogitScale()
	if err != nil {
		return nil, err
	}
	w := EnsembleWeights(feats, len(labels), len(templates))
	c := &Classifier{model: m, labels: append([]string(nil), labels...), templates: append([]string(nil), templates...), weights: w, scale: float64(scale)}
	return m.classifiers.add(key, c), nil
}

// EnsembleWeights turns text features [nLabels·nTemplates, D] (label-major:
// all templates of label 0 first) into unit class embeddings [nLabels, D]:
// normalise each, average per label, normalise again (float64 arithmetic).
func EnsembleWeights(feats Matrix, nLabels, nTemplates int) Matrix {
	norm := feats.Normalized()
	w := NewMatrix(nLabels, feats.Cols)
	acc := make([]float64, feats.Cols)
	for l := 0; l < nLabels; l++ {
		clear(acc)
		for t := 0; t < nTemplates; t++ {
			for k, v := range norm.Row(l*nTemplates + t) {
				acc[k] += float64(v)
			}
		}
		var ss float64
		for k := range acc {
			acc[k] /= float64(nTemplates)
			ss += acc[k] * acc[k]
		}
		inv := 0.0
		if ss > 0 {
			inv = 1 / math.Sqrt(ss)
		}
		for k, v := range acc {
			w.Data[l*feats.Cols+k] = float32(v * inv)
		}
	}
	return w
}

// Labels returns the classifier's labels.
func (c *Classifier) Labels() []string { return append([]string(nil), c.labels...) }

// Templates returns the classifier's templates.
func (c *Classifier) Templates() []string { return append([]string(nil), c.templates...) }

// Weights returns the unit class embeddings [len(labels), D].
func (c *Classifier) Weights() Matrix { return c.weights }

// Classify classifies images from their features [N, D] (EncodeImage's output).
func (c *Classifier) Classify(imageFeatures Matrix) ([]Prediction, error) {
	return ZeroShot(imageFeatures, c.weights, c.scale, c.labels)
}

// ZeroShot computes, for every image feature row, softmax(scale · cosine)
// against unit class embeddings (float64 arithmetic, float32 results).
func ZeroShot(imageFeatures, classWeights Matrix, scale float64, labels []string) ([]Prediction, error) {
	cos, err := Cosine(imageFeatures, classWeights)
	if err != nil {
		return nil, err
	}
	if len(labels) != classWeights.Rows {
		return nil, fmt.Errorf("%w: %d labels for %d class embeddings", ErrLabels, len(labels), classWeights.Rows)
	}
	out := make([]Prediction, imageFeatures.Rows)
	for i := range out {
		row := cos.Row(i)
		logits := make([]float64, len(row))
		maxv := math.Inf(-1)
		for j, v := range row {
			logits[j] = scale * float64(v)
			maxv = math.Max(maxv, logits[j])
		}
		var sum float64
		for _, v := range logits {
			sum += math.Exp(v - maxv)
		}
		p := Prediction{Probs: make([]float32, len(row)), Logits: make([]float32, len(row)), labels: labels}
		for j, v := range logits {
			p.Probs[j] = float32(math.Exp(v-maxv) / sum)
			p.Logits[j] = float32(v)
		}
		out[i] = p
	}
	return out, nil
}

// ClassifyFiles preprocesses, encodes and classifies image files. The error
// slice has one entry per file (nil when it was classified; its prediction is
// then the zero value otherwise).
func (c *Classifier) ClassifyFiles(ctx context.Context, paths []string) ([]Prediction, []error, error) {
	feats, errs, err := c.model.EncodeImageFiles(ctx, paths)
	if err != nil {
		return nil, nil, err
	}
	preds, err := c.Classify(feats)
	if err != nil {
		return nil, nil, err
	}
	for i := range preds {
		if errs[i] != nil {
			preds[i] = Prediction{}
		}
	}
	return preds, errs, nil
}

// Ranked is one ranked item: its index in the candidates and its cosine
// similarity to the query.
type Ranked struct {
	Index int
	Score float32
}

// Rank orders candidates [N, D] by cosine similarity to query [D], best
// first; ties keep the candidates' order.
func Rank(query []float32, candidates Matrix) ([]Ranked, error) {
	q := Matrix{Rows: 1, Cols: len(query), Data: query}
	cos, err := Cosine(candidates, q)
	if err != nil {
		return nil, err
	}
	out := make([]Ranked, candidates.Rows)
	for i := range out {
		out[i] = Ranked{Index: i, Score: cos.Data[i]}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Score > out[b].Score })
	return out, nil
}
