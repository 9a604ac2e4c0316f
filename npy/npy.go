// Package npy reads and writes NumPy .npy files (format versions 1.0–3.0,
// little-endian, C order), the exchange format of the project's golden data
// and of the command line's tensor inputs and outputs.
//
// Supported element types and their Go slices:
//
//	"<f4" []float32   "<f2" []uint16 (IEEE 754 half bits)
//	"<i4" []int32     "<i8" []int64
//	"|u1" []uint8
//
// Files whose name ends in ".gz" are gunzipped transparently by ReadFile.
package npy

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/goclip/goclip/internal/atomicfile"
	"github.com/goclip/goclip/internal/half"
)

// Array is a decoded .npy array.
type Array struct {
	// Shape holds the dimensions; an empty shape is a scalar.
	Shape []int
	// DType is the NumPy type string, for example "<f4".
	DType string
	// Data is one of []float32, []uint16, []int32, []int64 or []uint8.
	Data any
}

// Len returns the number of elements the shape describes.
func (a *Array) Len() int { return numElements(a.Shape) }

// Float32 returns the data as []float32, converting from half, int32, int64
// or uint8 when needed.
func (a *Array) Float32() ([]float32, error) {
	switch d := a.Data.(type) {
	case []float32:
		return d, nil
	case []uint16:
		out := make([]float32, len(d))
		for i, h := range d {
			out[i] = half.ToFloat32(h)
		}
		return out, nil
	case []int32:
		out := make([]float32, len(d))
		for i, v := range d {
			out[i] = float32(v)
		}
		return out, nil
	case []int64:
		out := make([]float32, len(d))
		for i, v := range d {
			out[i] = float32(v)
		}
		return out, nil
	case []uint8:
		out := make([]float32, len(d))
		for i, v := range d {
			out[i] = float32(v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("npy: cannot convert %s to float32", a.DType)
}

// Int64 returns integer data as []int64.
func (a *Array) Int64() ([]int64, error) {
	switch d := a.Data.(type) {
	case []int64:
		return d, nil
	case []int32:
		out := make([]int64, len(d))
		for i, v := range d {
			out[i] = int64(v)
		}
		return out, nil
	case []uint8:
		out := make([]int64, len(d))
		for i, v := range d {
			out[i] = int64(v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("npy: %s is not an integer type", a.DType)
}

// ErrFormat is wrapped by every error about a malformed .npy stream.
var ErrFormat = errors.New("npy: malformed file")

var magic = []byte("\x93NUMPY")

// ReadFile reads a .npy file; a name ending in ".gz" is gunzipped first.
func ReadFile(path string) (*Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = bufio.NewReaderSize(f, 1<<16)
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("npy: %s: %w", filepath.Base(path), err)
		}
		defer zr.Close()
		r = zr
	}
	a, err := Read(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// Header describes a .npy array without its data.
type Header struct {
	DType  string // numpy descr: "<f4", "<f2", "<i4", "<i8" or "|u1"
	Shape  []int
	Offset int64 // bytes before the data (magic, version, header)
}

// ReadHeader reads the header of a .npy stream and leaves r at the start
// of the data, which is Offset bytes into the stream. Fortran order and
// dtypes this package cannot read are refused.
func ReadHeader(r io.Reader) (Header, error) {
	pre := make([]byte, 8)
	if _, err := io.ReadFull(r, pre); err != nil {
		return Header{}, fmt.Errorf("%w: short header: %v", ErrFormat, err)
	}
	if !bytes.Equal(pre[:6], magic) {
		return Header{}, fmt.Errorf("%w: not a .npy file (bad magic)", ErrFormat)
	}
	var hlen int
	off := int64(8)
	switch pre[6] {
	case 1:
		b := make([]byte, 2)
		if _, err := io.ReadFull(r, b); err != nil {
			return Header{}, fmt.Errorf("%w: %v", ErrFormat, err)
		}
		hlen = int(binary.LittleEndian.Uint16(b))
		off += 2
	case 2, 3:
		b := make([]byte, 4)
		if _, err := io.ReadFull(r, b); err != nil {
			return Header{}, fmt.Errorf("%w: %v", ErrFormat, err)
		}
		hlen = int(binary.LittleEndian.Uint32(b))
		off += 4
	default:
		return Header{}, fmt.Errorf("%w: unsupported version %d.%d", ErrFormat, pre[6], pre[7])
	}
	if hlen > 1<<20 {
		return Header{}, fmt.Errorf("%w: header too large", ErrFormat)
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return Header{}, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	descr, fortran, shape, err := parseHeader(string(hdr))
	if err != nil {
		return Header{}, err
	}
	if fortran {
		return Header{}, fmt.Errorf("%w: Fortran order is not supported", ErrFormat)
	}
	if _, ok := elemSize(descr); !ok {
		return Header{}, fmt.Errorf("%w: unsupported dtype %q", ErrFormat, descr)
	}
	return Header{DType: descr, Shape: shape, Offset: off + int64(hlen)}, nil
}

// Read decodes one .npy array from r.
func Read(r io.Reader) (*Array, error) {
	h, err := ReadHeader(r)
	if err != nil {
		return nil, err
	}
	descr, shape := h.DType, h.Shape
	n := numElements(shape)
	size, _ := elemSize(descr)
	if n < 0 || (size > 0 && n > math.MaxInt/size) {
		return nil, fmt.Errorf("%w: shape %v too large", ErrFormat, shape)
	}
	raw := make([]byte, n*size)
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, fmt.Errorf("%w: data shorter than shape %v: %v", ErrFormat, shape, err)
	}
	a := &Array{Shape: shape, DType: descr}
	switch descr {
	case "<f4":
		d := make([]float32, n)
		for i := range d {
			d[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		a.Data = d
	case "<f2":
		d := make([]uint16, n)
		for i := range d {
			d[i] = binary.LittleEndian.Uint16(raw[2*i:])
		}
		a.Data = d
	case "<i4":
		d := make([]int32, n)
		for i := range d {
			d[i] = int32(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		a.Data = d
	case "<i8":
		d := make([]int64, n)
		for i := range d {
			d[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
		}
		a.Data = d
	case "|u1":
		a.Data = raw
	}
	return a, nil
}

func elemSize(descr string) (int, bool) {
	switch descr {
	case "<f4", "<i4":
		return 4, true
	case "<f2":
		return 2, true
	case "<i8":
		return 8, true
	case "|u1":
		return 1, true
	}
	return 0, false
}

func numElements(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return -1
		}
		if d != 0 && n > math.MaxInt/d {
			return -1
		}
		n *= d
	}
	return n
}

// parseHeader reads the Python dict literal of a .npy header, for example
// {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }.
func parseHeader(h string) (descr string, fortran bool, shape []int, err error) {
	h = strings.TrimSpace(h)
	bad := func(what string) error { return fmt.Errorf("%w: header %s: %q", ErrFormat, what, h) }
	i := strings.Index(h, "'descr'")
	if i < 0 {
		return "", false, nil, bad("lacks descr")
	}
	rest := h[i+len("'descr'"):]
	q1 := strings.IndexByte(rest, '\'')
	if q1 < 0 {
		return "", false, nil, bad("descr")
	}
	q2 := strings.IndexByte(rest[q1+1:], '\'')
	if q2 < 0 {
		return "", false, nil, bad("descr")
	}
	descr = rest[q1+1 : q1+1+q2]
	switch descr { // NumPy writes these single-byte types with '|' or '<'
	case "<u1", "u1":
		descr = "|u1"
	}
	j := strings.Index(h, "'fortran_order'")
	if j < 0 {
		return "", false, nil, bad("lacks fortran_order")
	}
	fortran = strings.HasPrefix(strings.TrimSpace(strings.TrimLeft(h[j+len("'fortran_order'"):], " :")), "True")
	k := strings.Index(h, "'shape'")
	if k < 0 {
		return "", false, nil, bad("lacks shape")
	}
	rest = h[k+len("'shape'"):]
	p1 := strings.IndexByte(rest, '(')
	p2 := strings.IndexByte(rest, ')')
	if p1 < 0 || p2 < p1 {
		return "", false, nil, bad("shape")
	}
	shape = []int{}
	for _, f := range strings.Split(rest[p1+1:p2], ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		v, err := strconv.Atoi(strings.TrimSuffix(f, "L"))
		if err != nil || v < 0 {
			return "", false, nil, bad("shape")
		}
		shape = append(shape, v)
	}
	return descr, fortran, shape, nil
}

// WriteFile writes data with the given shape as a version 1.0 .npy file,
// creating it atomically (a temporary file renamed into place) with the
// mode os.Create gives (0666 less the umask).
func WriteFile(path string, shape []int, data any) error {
	return atomicfile.Write(path, func(f *os.File) error {
		bw := bufio.NewWriterSize(f, 1<<16)
		if err := Write(bw, shape, data); err != nil {
			return err
		}
		return bw.Flush()
	})
}

// Write encodes data with the given shape as a version 1.0 .npy stream.
// data must be one of the slice types listed in the package documentation and
// hold exactly as many elements as the shape describes.
func Write(w io.Writer, shape []int, data any) error {
	var descr string
	var n int
	switch d := data.(type) {
	case []float32:
		descr, n = "<f4", len(d)
	case []uint16:
		descr, n = "<f2", len(d)
	case []int32:
		descr, n = "<i4", len(d)
	case []int64:
		descr, n = "<i8", len(d)
	case []uint8:
		descr, n = "|u1", len(d)
	default:
		return fmt.Errorf("npy: unsupported data type %T", data)
	}
	if want := numElements(shape); want != n {
		return fmt.Errorf("npy: shape %v needs %d elements, data has %d", shape, want, n)
	}
	if err := WriteHeader(w, descr, shape); err != nil {
		return err
	}
	return writeData(w, data)
}

// WriteHeader writes the header of a version 1.0 .npy stream for an array
// of the given dtype ("<f4", ...) and shape; the data, n elements in C
// order and little-endian, must follow.
func WriteHeader(w io.Writer, dtype string, shape []int) error {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = strconv.Itoa(d)
	}
	st := strings.Join(dims, ", ")
	if len(shape) == 1 {
		st += ","
	}
	hdr := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", dtype, st)
	total := len(magic) + 4 + len(hdr) + 1
	pad := (64 - total%64) % 64
	hdr += strings.Repeat(" ", pad) + "\n"
	buf := make([]byte, 0, len(magic)+4+len(hdr))
	buf = append(buf, magic...)
	buf = append(buf, 1, 0)
	buf = binary.LittleEndian.AppendUint16(buf, uint16(len(hdr)))
	buf = append(buf, hdr...)
	_, err := w.Write(buf)
	return err
}

func writeData(w io.Writer, data any) error {
	const chunk = 1 << 14
	buf := make([]byte, 0, chunk*8)
	flush := func() error {
		_, err := w.Write(buf)
		buf = buf[:0]
		return err
	}
	switch d := data.(type) {
	case []uint8:
		_, err := w.Write(d)
		return err
	case []float32:
		for i, v := range d {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			if (i+1)%chunk == 0 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	case []uint16:
		for i, v := range d {
			buf = binary.LittleEndian.AppendUint16(buf, v)
			if (i+1)%chunk == 0 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	case []int32:
		for i, v := range d {
			buf = binary.LittleEndian.AppendUint32(buf, uint32(v))
			if (i+1)%chunk == 0 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	case []int64:
		for i, v := range d {
			buf = binary.LittleEndian.AppendUint64(buf, uint64(v))
			if (i+1)%chunk == 0 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}
