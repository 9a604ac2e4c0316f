//go:build cgo

package preprocess_test

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"path/filepath"

	"github.com/goclip/goclip/preprocess"
)

// A 4×3 gradient preprocessed to 2×2. The values are those of the official
// pipeline (clip.clip._transform(2) on the same pixels as a PIL RGB image).
func ExamplePreprocessor_Image() {
	img := image.NewRGBA(image.Rect(0, 0, 4, 3))
	for y := 0; y < 3; y++ {
		for x := 0; x < 4; x++ {
			img.Set(x, y, color.RGBA{uint8(x * 60), uint8(y * 100), 200, 255})
		}
	}
	p := preprocess.New(2)
	t, err := p.Image(img)
	if err != nil {
		fmt.Println(err)
		return
	}
	for c := 0; c < 3; c++ {
		fmt.Printf("%.4f\n", t[c*4:c*4+4])
	}
	// Output:
	// [-1.2813 0.3245 -1.2813 0.3245]
	// [-1.2869 -1.2869 0.7842 0.7842]
	// [1.3638 1.3638 1.3638 1.3638]
}

// Preprocessing a batch of files into one contiguous [N,3,n,n] buffer; a
// file that cannot be read fails alone and leaves its slot zero.
func ExamplePreprocessor_BatchFiles() {
	p := preprocess.New(224)
	paths := []string{
		filepath.Join("testdata", "q80-444.jpg"),
		filepath.Join("testdata", "missing.png"),
		filepath.Join("testdata", "rgba.png"),
	}
	batch := make([]float32, len(paths)*p.TensorLen())
	errs := p.BatchFiles(context.Background(), paths, batch)
	for i, err := range errs {
		fmt.Println(filepath.Base(paths[i]), err == nil)
	}
	// Output:
	// q80-444.jpg true
	// missing.png false
	// rgba.png true
}
