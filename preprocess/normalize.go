package preprocess

import (
	"fmt"
	"sync"

	"github.com/goclip/goclip/internal/half"
)

// CLIP's normalisation constants (clip.clip._transform).
var (
	// Mean is the per-channel mean subtracted by Normalize.
	Mean = [3]float32{0.48145466, 0.4578275, 0.40821073}
	// Std is the per-channel standard deviation Normalize divides by.
	Std = [3]float32{0.26862954, 0.26130258, 0.27577711}
)

var (
	lutOnce sync.Once
	lutVal  [3][256]float32
)

// NormalizeLUT returns, for each channel c and byte value v, the float32
// that torchvision's ToTensor + Normalize produce: ((float32(v) / 255) -
// mean[c]) / std[c], every operation in float32 as torch computes it on the
// CPU.
func NormalizeLUT() *[3][256]float32 {
	lutOnce.Do(func() {
		for c := 0; c < 3; c++ {
			for v := 0; v < 256; v++ {
				x := float32(v) / float32(255)
				lutVal[c][v] = (x - Mean[c]) / Std[c]
			}
		}
	})
	return &lutVal
}

// normalizeInto converts an n×n×3 RGB image to a [3,n,n] tensor.
func normalizeInto(rgb []uint8, n int, dst []float32) {
	lut := NormalizeLUT()
	plane := n * n
	r, g, b := dst[:plane], dst[plane:2*plane], dst[2*plane:3*plane]
	l0, l1, l2 := &lut[0], &lut[1], &lut[2]
	src := rgb[:3*plane]
	for i := 0; i < plane; i++ {
		p := src[3*i : 3*i+3 : 3*i+3]
		r[i] = l0[p[0]]
		g[i] = l1[p[1]]
		b[i] = l2[p[2]]
	}
}

// normalizeInto16 converts an n×n×3 RGB image to a [3,n,n] float16 tensor
// (IEEE half bits).
func normalizeInto16(rgb []uint8, n int, dst []uint16) {
	lut := NormalizeLUT()
	var h [3][256]uint16
	for c := 0; c < 3; c++ {
		for v := 0; v < 256; v++ {
			h[c][v] = half.FromFloat32(lut[c][v])
		}
	}
	plane := n * n
	r, g, b := dst[:plane], dst[plane:2*plane], dst[2*plane:3*plane]
	src := rgb[:3*plane]
	for i := 0; i < plane; i++ {
		p := src[3*i : 3*i+3 : 3*i+3]
		r[i] = h[0][p[0]]
		g[i] = h[1][p[1]]
		b[i] = h[2][p[2]]
	}
}

// Normalize turns one n×n×3 RGB image (the U8 functions' output) into the
// [3,n,n] float32 tensor of torchvision's ToTensor + Normalize, bit for bit.
func Normalize(rgb []uint8, n int, dst []float32) error {
	if n <= 0 || len(rgb) != 3*n*n || len(dst) != 3*n*n {
		return fmt.Errorf("%w: Normalize of %d bytes into %d floats for size %d", ErrBadSize, len(rgb), len(dst), n)
	}
	normalizeInto(rgb, n, dst)
	return nil
}
