package torch

import (
	"fmt"
	"unsafe"
)

// DType is a tensor element type. The numbering is shared with the C shim.
type DType int32

// Element types. Float16 and BFloat16 data are held as raw []uint16 bits.
const (
	Float32  DType = 0
	Float16  DType = 1
	BFloat16 DType = 2
	Int32    DType = 3
	Int64    DType = 4
	Uint8    DType = 5
	Float64  DType = 6
)

var dtypeNames = map[DType]string{
	Float32: "float32", Float16: "float16", BFloat16: "bfloat16",
	Int32: "int32", Int64: "int64", Uint8: "uint8", Float64: "float64",
}

// String returns the dtype's name, for example "float32".
func (d DType) String() string {
	if s, ok := dtypeNames[d]; ok {
		return s
	}
	return fmt.Sprintf("DType(%d)", int32(d))
}

// ParseDType parses a dtype name such as "float16" or "fp16".
func ParseDType(s string) (DType, error) {
	switch s {
	case "float32", "fp32", "float":
		return Float32, nil
	case "float16", "fp16", "half":
		return Float16, nil
	case "bfloat16", "bf16":
		return BFloat16, nil
	case "int32":
		return Int32, nil
	case "int64", "long":
		return Int64, nil
	case "uint8":
		return Uint8, nil
	case "float64", "double":
		return Float64, nil
	}
	return 0, fmt.Errorf("torch: unknown dtype %q", s)
}

// Size returns the size of one element in bytes.
func (d DType) Size() int {
	switch d {
	case Float16, BFloat16:
		return 2
	case Float32, Int32:
		return 4
	case Int64, Float64:
		return 8
	case Uint8:
		return 1
	}
	return 0
}

// IsFloat reports whether d is a floating type.
func (d DType) IsFloat() bool {
	return d == Float32 || d == Float16 || d == BFloat16 || d == Float64
}

const maxDims = 8

// Tensor is a dense, C-ordered tensor in Go memory: the value type used for
// a module's inputs and outputs. Data is a slice whose element type matches
// DType: []float32, []uint16 (Float16 and BFloat16 bits), []int32, []int64,
// []uint8 or []float64.
type Tensor struct {
	Shape []int64
	DType DType
	Data  any
}

// NewTensor builds a Tensor over data (not copied) with the given shape; the
// dtype is taken from the slice type ([]uint16 means Float16). It checks that
// the shape matches the data's length.
func NewTensor(data any, shape ...int64) (Tensor, error) {
	var dt DType
	switch data.(type) {
	case []float32:
		dt = Float32
	case []uint16:
		dt = Float16
	case []int32:
		dt = Int32
	case []int64:
		dt = Int64
	case []uint8:
		dt = Uint8
	case []float64:
		dt = Float64
	default:
		return Tensor{}, fmt.Errorf("%w: unsupported data type %T", ErrInvalidTensor, data)
	}
	t := Tensor{Shape: append([]int64(nil), shape...), DType: dt, Data: data}
	return t, t.Validate()
}

// NumElements returns the product of the shape's dimensions.
func (t Tensor) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Validate checks that rank, dtype, data type and length agree.
func (t Tensor) Validate() error {
	if len(t.Shape) > maxDims {
		return fmt.Errorf("%w: rank %d exceeds %d", ErrInvalidTensor, len(t.Shape), maxDims)
	}
	n := int64(1)
	for _, d := range t.Shape {
		if d < 0 {
			return fmt.Errorf("%w: negative dimension in shape %v", ErrInvalidTensor, t.Shape)
		}
		if d != 0 && n > (1<<62)/d {
			return fmt.Errorf("%w: shape %v too large", ErrInvalidTensor, t.Shape)
		}
		n *= d
	}
	_, length, ok := t.raw()
	if !ok {
		return fmt.Errorf("%w: data %T does not hold %s", ErrInvalidTensor, t.Data, t.DType)
	}
	if int64(length) != n {
		return fmt.Errorf("%w: shape %v needs %d elements, data has %d", ErrInvalidTensor, t.Shape, n, length)
	}
	return nil
}

// raw returns a pointer to the first element, the element count, and whether
// the Go slice type matches the dtype.
func (t Tensor) raw() (unsafe.Pointer, int, bool) {
	switch d := t.Data.(type) {
	case []float32:
		return slicePtr(d), len(d), t.DType == Float32
	case []uint16:
		return slicePtr(d), len(d), t.DType == Float16 || t.DType == BFloat16
	case []int32:
		return slicePtr(d), len(d), t.DType == Int32
	case []int64:
		return slicePtr(d), len(d), t.DType == Int64
	case []uint8:
		return slicePtr(d), len(d), t.DType == Uint8
	case []float64:
		return slicePtr(d), len(d), t.DType == Float64
	}
	return nil, 0, false
}

func slicePtr[T any](s []T) unsafe.Pointer {
	if len(s) == 0 {
		return nil
	}
	return unsafe.Pointer(&s[0])
}

// Float32s returns the data of a Float32 tensor, or an error naming the
// actual dtype.
func (t Tensor) Float32s() ([]float32, error) {
	d, ok := t.Data.([]float32)
	if !ok || t.DType != Float32 {
		return nil, fmt.Errorf("%w: tensor is %s, not float32", ErrInvalidTensor, t.DType)
	}
	return d, nil
}

// newData allocates a Go slice for n elements of dtype d.
func newData(d DType, n int) (any, error) {
	switch d {
	case Float32:
		return make([]float32, n), nil
	case Float16, BFloat16:
		return make([]uint16, n), nil
	case Int32:
		return make([]int32, n), nil
	case Int64:
		return make([]int64, n), nil
	case Uint8:
		return make([]uint8, n), nil
	case Float64:
		return make([]float64, n), nil
	}
	return nil, fmt.Errorf("%w: unsupported dtype %d from libtorch", ErrInvalidTensor, int32(d))
}
