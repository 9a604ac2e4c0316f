package clip

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestFormatTemplate(t *testing.T) {
	cases := []struct {
		tmpl, label, want string
		bad               bool
	}{
		{"a photo of a {}.", "cat", "a photo of a cat.", false},
		{"{}", "cat", "cat", false},
		{"{{literal}} {}", "x", "{literal} x", false},
		{"no slot", "cat", "", true},
		{"{} and {}", "cat", "", true},
		{"a {0} photo", "cat", "", true},
		{"open { brace {}", "cat", "", true},
	}
	for _, c := range cases {
		got, err := FormatTemplate(c.tmpl, c.label)
		if c.bad != (err != nil) || got != c.want {
			t.Errorf("FormatTemplate(%q, %q) = %q, %v", c.tmpl, c.label, got, err)
		}
		if c.bad && !errors.Is(err, ErrLabels) {
			t.Errorf("%q: error %v is not ErrLabels", c.tmpl, err)
		}
	}
	if n := len(ImageNetTemplates()); n != 80 {
		t.Errorf("%d ImageNet templates, want 80", n)
	}
	for _, tm := range ImageNetTemplates() {
		if _, err := FormatTemplate(tm, "x"); err != nil {
			t.Error(err)
		}
	}
}

// TestEnsembleWeights checks the notebook's ensemble on hand-made features.
func TestEnsembleWeights(t *testing.T) {
	// Label 0: templates (3,4) and (0,2) -> unit (.6,.8) and (0,1) -> mean (.3,.9) -> unit.
	// Label 1: one template direction (-1,0) twice.
	f := Matrix{Rows: 4, Cols: 2, Data: []float32{3, 4, 0, 2, -5, 0, -1, 0}}
	w := EnsembleWeights(f, 2, 2)
	n := math.Hypot(0.3, 0.9)
	want := []float64{0.3 / n, 0.9 / n, -1, 0}
	for i, v := range w.Data {
		if math.Abs(float64(v)-want[i]) > 1e-7 {
			t.Fatalf("weights %v, want %v", w.Data, want)
		}
	}
}

func TestZeroShotMath(t *testing.T) {
	labels := []string{"a", "b", "c"}
	// Unit class directions along the axes; image 0 on axis 0, image 1
	// equally between axes 1 and 2 (a tie).
	w := Matrix{Rows: 3, Cols: 3, Data: []float32{1, 0, 0, 0, 1, 0, 0, 0, 1}}
	img := Matrix{Rows: 2, Cols: 3, Data: []float32{2, 0, 0, 0, 5, 5}}
	preds, err := ZeroShot(img, w, 100, labels)
	if err != nil {
		t.Fatal(err)
	}
	// Image 0: logits (100, 0, 0).
	e := math.Exp(-100)
	want0 := []float64{1 / (1 + 2*e), e / (1 + 2*e), e / (1 + 2*e)}
	for j, p := range preds[0].Probs {
		if math.Abs(float64(p)-want0[j]) > 1e-9 {
			t.Errorf("image 0 probs %v, want %v", preds[0].Probs, want0)
		}
	}
	// Image 1: logits (0, 70.71, 70.71): a tie keeps the labels' order.
	top := preds[1].TopK(2)
	if top[0].Label != "b" || top[1].Label != "c" || top[0].Prob != top[1].Prob {
		t.Errorf("tie: %+v", top)
	}
	if k := preds[1].TopK(0); len(k) != 3 {
		t.Errorf("TopK(0) returned %d labels", len(k))
	}
	if k := preds[1].TopK(10); len(k) != 3 || k[2].Label != "a" {
		t.Errorf("TopK(10) = %+v", k)
	}
	var sum float64
	for _, p := range preds[1].Probs {
		sum += float64(p)
	}
	if math.Abs(sum-1) > 1e-6 {
		t.Errorf("probabilities sum to %v", sum)
	}
	if _, err := ZeroShot(img, w, 100, labels[:2]); !errors.Is(err, ErrLabels) {
		t.Errorf("label count mismatch: %v", err)
	}
}

func TestRank(t *testing.T) {
	cands := Matrix{Rows: 4, Cols: 2, Data: []float32{0, 1, 1, 0, 1, 1, 2, 0}}
	r, err := Rank([]float32{1, 0}, cands)
	if err != nil {
		t.Fatal(err)
	}
	// Rows 1 and 3 tie at cosine 1 (order kept), then row 2, then row 0.
	want := []int{1, 3, 2, 0}
	for i, x := range r {
		if x.Index != want[i] {
			t.Fatalf("rank order %+v, want indices %v", r, want)
		}
	}
	if math.Abs(float64(r[2].Score)-math.Sqrt(0.5)) > 1e-6 || r[3].Score != 0 {
		t.Errorf("scores %+v", r)
	}
	if _, err := Rank([]float32{1, 0, 0}, cands); err == nil {
		t.Error("dimension mismatch accepted")
	}
}

// TestClassifierModel uses the golden ViT model: ensembles, caching, one
// label, 1,000 labels, empty and too-long labels.
func TestClassifierModel(t *testing.T) {
	ctx := context.Background()
	m := loadGolden(t, "tiny_vit_b32")
	pixels, n, _ := goldenInputs(t)
	img, err := m.EncodeImage(pixels, n)
	if err != nil {
		t.Fatal(err)
	}
	labels := []string{"cat", "dog", "rocket"}
	templates := []string{"a photo of a {}.", "a drawing of a {}."}
	c, err := m.NewClassifier(ctx, labels, templates...)
	if err != nil {
		t.Fatal(err)
	}
	if c2, _ := m.NewClassifier(ctx, labels, templates...); c2 != c {
		t.Error("classifier not cached")
	}
	// The ensemble equals the mean of the per-template unit embeddings.
	feats, err := m.EncodeTexts(ctx, []string{"a photo of a cat.", "a drawing of a cat.", "a photo of a dog.", "a drawing of a dog.", "a photo of a rocket.", "a drawing of a rocket."})
	if err != nil {
		t.Fatal(err)
	}
	want := EnsembleWeights(feats, 3, 2)
	if d, _ := maxDiff(t, c.Weights(), want); d != 0 {
		t.Errorf("ensemble weights differ by %g", d)
	}
	preds, err := c.Classify(img)
	if err != nil || len(preds) != n || len(preds[0].Probs) != 3 {
		t.Fatalf("Classify: %v", err)
	}
	one, err := m.NewClassifier(ctx, []string{"only"})
	if err != nil {
		t.Fatal(err)
	}
	p1, _ := one.Classify(img)
	if p1[0].Probs[0] != 1 {
		t.Errorf("one label: prob %v, want 1", p1[0].Probs[0])
	}
	many := make([]string, 1000)
	for i := range many {
		many[i] = fmt.Sprintf("class number %d", i)
	}
	big, err := m.NewClassifier(ctx, many)
	if err != nil {
		t.Fatal(err)
	}
	pb, _ := big.Classify(img)
	if len(pb[0].Probs) != 1000 || len(pb[0].TopK(5)) != 5 {
		t.Errorf("1000 labels: %d probs", len(pb[0].Probs))
	}
	for name, ls := range map[string][]string{
		"empty":     {"cat", ""},
		"blank":     {"  "},
		"duplicate": {"cat", "cat"},
		"none":      nil,
	} {
		if _, err := m.NewClassifier(ctx, ls); !errors.Is(err, ErrLabels) {
			t.Errorf("%s labels: %v", name, err)
		}
	}
	long := strings.Repeat("very ", 80) + "long label"
	if _, err := m.NewClassifier(ctx, []string{"cat", long}); err == nil {
		t.Error("too-long label accepted without truncation")
	}
	mt := loadGolden(t, "tiny_vit_b32", WithTruncate(true))
	if _, err := mt.NewClassifier(ctx, []string{"cat", long}); err != nil {
		t.Errorf("too-long label with truncation: %v", err)
	}
}
