package clip

import (
	"fmt"
	"math"
)

// Matrix is a dense row-major float32 matrix: features ([N, D]) or logits
// ([N_images, N_texts]).
type Matrix struct {
	Rows, Cols int
	Data       []float32
}

// NewMatrix returns a zero Rows×Cols matrix.
func NewMatrix(rows, cols int) Matrix {
	return Matrix{Rows: rows, Cols: cols, Data: make([]float32, rows*cols)}
}

// Row returns row i (a slice of Data, not a copy).
func (m Matrix) Row(i int) []float32 { return m.Data[i*m.Cols : (i+1)*m.Cols] }

// At returns the element at row i, column j.
func (m Matrix) At(i, j int) float32 { return m.Data[i*m.Cols+j] }

// Shape returns [Rows, Cols].
func (m Matrix) Shape() []int { return []int{m.Rows, m.Cols} }

func (m Matrix) check() error {
	if m.Rows < 0 || m.Cols < 0 || len(m.Data) != m.Rows*m.Cols {
		return fmt.Errorf("%w: matrix %dx%d holds %d values", ErrInput, m.Rows, m.Cols, len(m.Data))
	}
	return nil
}

// Normalized returns a copy whose rows have unit L2 norm (computed in
// float64, so the result does not depend on summation order). Zero rows stay
// zero.
func (m Matrix) Normalized() Matrix {
	out := Matrix{Rows: m.Rows, Cols: m.Cols, Data: make([]float32, len(m.Data))}
	for i := 0; i < m.Rows; i++ {
		row := m.Row(i)
		var ss float64
		for _, v := range row {
			ss += float64(v) * float64(v)
		}
		if ss == 0 {
			continue
		}
		inv := 1 / math.Sqrt(ss)
		dst := out.Row(i)
		for j, v := range row {
			dst[j] = float32(float64(v) * inv)
		}
	}
	return out
}

// Cosine returns the [a.Rows, b.Rows] matrix of cosine similarities between
// the rows of a and the rows of b (float64 accumulation).
func Cosine(a, b Matrix) (Matrix, error) {
	if err := a.check(); err != nil {
		return Matrix{}, err
	}
	if err := b.check(); err != nil {
		return Matrix{}, err
	}
	if a.Cols != b.Cols {
		return Matrix{}, fmt.Errorf("%w: cosine of %d- and %d-dimensional features", ErrInput, a.Cols, b.Cols)
	}
	an, bn := a.Normalized(), b.Normalized()
	out := NewMatrix(a.Rows, b.Rows)
	for i := 0; i < a.Rows; i++ {
		ra := an.Row(i)
		for j := 0; j < b.Rows; j++ {
			rb := bn.Row(j)
			var s float64
			for k := range ra {
				s += float64(ra[k]) * float64(rb[k])
			}
			out.Data[i*b.Rows+j] = float32(s)
		}
	}
	return out, nil
}
