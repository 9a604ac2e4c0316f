package collection

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"math"
	"os"

	"github.com/goclip/goclip/internal/atomicfile"
	"github.com/goclip/goclip/internal/half"
)

// DType is the element type of the written embeddings.
type DType string

// The embedding element types: float32 (goclip's default, the raw
// features) and float16 (clip-retrieval's).
const (
	F32 DType = "f32"
	F16 DType = "f16"
)

// ParseDType parses "f32" or "f16".
func ParseDType(s string) (DType, error) {
	switch DType(s) {
	case F32, F16:
		return DType(s), nil
	}
	return "", fmt.Errorf("%w: dtype %q (want f16 or f32)", ErrSpec, s)
}

func (d DType) descr() string {
	if d == F16 {
		return "<f2"
	}
	return "<f4"
}

func (d DType) size() int {
	if d == F16 {
		return 2
	}
	return 4
}

// headerLen is the fixed size of the .npy headers written here: room for
// any [N, D] shape, so rows stream to disk and the shape is filled in at
// the end. Readers take the length from the file (embedding-reader from
// the header's first line).
const headerLen = 128

func npyHeader(d DType, rows, cols int) []byte {
	dict := fmt.Sprintf("{'descr': '%s', 'fortran_order': False, 'shape': (%d, %d), }", d.descr(), rows, cols)
	h := make([]byte, headerLen)
	copy(h, "\x93NUMPY\x01\x00")
	binary.LittleEndian.PutUint16(h[8:], uint16(headerLen-10))
	n := copy(h[10:], dict)
	for i := 10 + n; i < headerLen-1; i++ {
		h[i] = ' '
	}
	h[headerLen-1] = '\n'
	return h
}

// npyStream writes a [N, cols] .npy row by row to a temporary file.
type npyStream struct {
	final, tmp string
	f          *os.File
	w          *bufio.Writer
	dtype      DType
	cols, rows int
	buf        []byte
}

func createNpy(final string, d DType, cols int) (*npyStream, error) {
	f, err := atomicfile.CreateTemp(final)
	if err != nil {
		return nil, err
	}
	s := &npyStream{final: final, tmp: f.Name(), dtype: d, cols: cols, f: f, w: bufio.NewWriterSize(f, 1<<20)}
	if _, err := s.w.Write(npyHeader(d, 0, cols)); err != nil {
		s.abort()
		return nil, err
	}
	return s, nil
}

// write appends rows of features (len(data) a multiple of cols).
func (s *npyStream) write(data []float32) error {
	n := len(data) * s.dtype.size()
	if cap(s.buf) < n {
		s.buf = make([]byte, n)
	}
	b := s.buf[:n]
	for i, v := range data {
		if s.dtype == F16 {
			binary.LittleEndian.PutUint16(b[2*i:], half.FromFloat32(v))
		} else {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
	}
	s.rows += len(data) / s.cols
	_, err := s.w.Write(b)
	return err
}

// finish fills in the shape, syncs and renames the file into place.
func (s *npyStream) finish() error {
	err := s.w.Flush()
	if err == nil {
		_, err = s.f.WriteAt(npyHeader(s.dtype, s.rows, s.cols), 0)
	}
	if err == nil {
		err = s.f.Sync()
	}
	if cerr := s.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(s.tmp, s.final)
	}
	if err != nil {
		os.Remove(s.tmp)
	}
	return err
}

// abort removes the temporary file.
func (s *npyStream) abort() {
	s.f.Close()
	os.Remove(s.tmp)
}
