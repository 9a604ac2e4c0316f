package clip_test

import (
	"context"
	"fmt"
	"log"

	"github.com/goclip/goclip/clip"
)

// Zero-shot classification of an image file. The README's "From Go"
// snippet is this function's body (TestReadmeSnippet keeps them equal). It
// runs from clip/ against the demo model scripts/setup.sh makes, whose
// weights are random: it calls every image a green triangle.
func ExampleLoad() {
	ctx := context.Background()
	// An export directory, or an official name such as "ViT-B/32"
	// (downloaded, verified and exported on first use). Device "auto":
	// CUDA in fp16 when present, else the CPU in fp32.
	m, err := clip.Load(ctx, "../models/tiny-vit")
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	labels := []string{"a red circle", "a blue square", "a green triangle"}
	c, err := m.NewClassifier(ctx, labels, clip.ImageNetTemplates()...)
	if err != nil {
		log.Fatal(err)
	}
	preds, errs, err := c.ClassifyFiles(ctx, []string{"../testdata/images/red-circle.png"})
	if err != nil {
		log.Fatal(err)
	}
	if errs[0] != nil {
		log.Fatal(errs[0])
	}
	fmt.Println(preds[0].TopK(1)[0].Label)
	// Output: a green triangle
}

func ExampleAvailableModels() {
	fmt.Println(clip.AvailableModels())
	// Output: [RN50 RN101 RN50x4 RN50x16 RN50x64 ViT-B/32 ViT-B/16 ViT-L/14 ViT-L/14@336px]
}

func ExampleFormatTemplate() {
	p, _ := clip.FormatTemplate(clip.DefaultTemplate, "tabby cat")
	fmt.Println(p)
	fmt.Println(len(clip.ImageNetTemplates()), "ImageNet templates")
	// Output:
	// a photo of a tabby cat.
	// 80 ImageNet templates
}

// Zero-shot probabilities from precomputed features: softmax of the logit
// scale times the cosine similarity between an image and each label.
func ExampleZeroShot() {
	labels := []string{"cat", "dog"}
	classes := clip.Matrix{Rows: 2, Cols: 2, Data: []float32{1, 0, 0, 1}}
	image := clip.Matrix{Rows: 1, Cols: 2, Data: []float32{0.9, 0.1}}
	preds, _ := clip.ZeroShot(image, classes, 100, labels)
	best := preds[0].TopK(1)[0]
	fmt.Printf("%s %.4f\n", best.Label, best.Prob)
	// Output: cat 1.0000
}

func ExampleRank() {
	images := clip.Matrix{Rows: 3, Cols: 2, Data: []float32{0, 1, 1, 0.2, 1, 1}}
	ranked, _ := clip.Rank([]float32{1, 0}, images)
	for _, r := range ranked {
		fmt.Printf("image %d: %.3f\n", r.Index, r.Score)
	}
	// Output:
	// image 1: 0.981
	// image 2: 0.707
	// image 0: 0.000
}
