package serve

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/internal/batch"
	"github.com/goclip/goclip/preprocess"
)

// pixels is one preprocessed image: float32 [3,R,R] on the CPU (the float
// path of clip embed there), uint8 [R,R,3] on CUDA (normalised on the
// device, as clip embed does there).
type pixels struct {
	f32 []float32
	u8  []uint8
}

// served is one model with its batchers. Every call into package clip is
// in this file.
type served struct {
	name  string
	m     *clip.Model
	info  clip.Info
	sha   string
	scale float64
	u8    bool
	pre   *preprocess.Preprocessor
	text  *batch.Batcher[[]int32, []float32]
	image *batch.Batcher[pixels, []float32]
	fixed int // rows of every model call (0: as many as the batch holds)
	classes *lru // class embeddings per label set
}

func newServed(name string, m *clip.Model, o *Options, met *metrics) (*served, error) {
	info := m.Info()
	if info.ImageResolution == 0 || info.EmbedDim == 0 || info.ContextLength == 0 {
		return nil, fmt.Errorf("serve: model %s has no manifest (resolution, embed dim and context length are needed)", name)
	}
	s := &served{name: name, m: m, info: info, u8: strings.HasPrefix(info.Device, "cuda"), classes: newLRU(64)}
	if man, err := clip.ReadManifest(info.Dir); err == nil {
		s.sha = man.ArtifactSHA256
	}
	scale, err := m.LogitScale()
	if err != nil {
		return nil, err
	}
	s.scale = float64(scale)
	s.pre = preprocess.New(info.ImageResolution, preprocess.WithMaxPixels(o.MaxPixels/2), preprocess.WithWorkers(1))
	if o.FixedBatch {
		s.fixed = o.MaxBatchSize
	}
	bo := func(modality string) batch.Options {
		return batch.Options{
			MaxBatch: o.MaxBatchSize, MaxDelay: o.MaxQueueDelay, MaxQueue: o.MaxQueue,
			OnBatch: func(n int, took time.Duration) {
				met.batchSize.WithLabelValues(name, modality).Observe(float64(n))
				met.inference.WithLabelValues(name, modality).Observe(took.Seconds())
			},
			OnWait: func(w time.Duration) { met.queue.WithLabelValues(name, modality).Observe(w.Seconds()) },
		}
	}
	s.text = batch.New(s.encodeText, bo("text"))
	s.image = batch.New(s.encodeImage, bo("image"))
	return s, nil
}

// warm runs one call of each modality (at the fixed batch size when set).
func (s *served) warm(ctx context.Context) error {
	tok, err := s.tokenize("warm up")
	if err != nil {
		return err
	}
	if _, _, err := s.text.Submit(ctx, [][]int32{tok}); err != nil {
		return err
	}
	px := s.blank()
	_, _, err = s.image.Submit(ctx, []pixels{px})
	return err
}

func (s *served) blank() pixels {
	r := s.info.ImageResolution
	if s.u8 {
		return pixels{u8: make([]uint8, 3*r*r)}
	}
	return pixels{f32: make([]float32, 3*r*r)}
}

// tokenize turns one text into a token row (clip.tokenize semantics).
func (s *served) tokenize(text string) ([]int32, error) {
	rows, err := s.m.Tokenize([]string{text})
	if err != nil {
		return nil, err
	}
	return rows[0], nil
}

// preprocess decodes and transforms one image.
func (s *served) preprocess(data []byte) (pixels, error) {
	if s.u8 {
		u, err := s.pre.U8Bytes(data)
		return pixels{u8: u}, err
	}
	f := make([]float32, s.pre.TensorLen())
	if err := s.pre.BytesInto(data, f); err != nil {
		return pixels{}, err
	}
	return pixels{f32: f}, nil
}

// rows is how many rows a model call for n items has.
func (s *served) rows(n int) int {
	if s.fixed > n {
		return s.fixed
	}
	return n
}

func (s *served) encodeText(in [][]int32) ([][]float32, error) {
	rows := make([][]int32, s.rows(len(in)))
	copy(rows, in)
	for i := len(in); i < len(rows); i++ {
		rows[i] = make([]int32, s.info.ContextLength) // padding
	}
	f, err := s.m.EncodeText(rows)
	if err != nil {
		return nil, err
	}
	return split(f, len(in)), nil
}

func (s *served) encodeImage(in []pixels) ([][]float32, error) {
	n := s.rows(len(in))
	plane := 3 * s.info.ImageResolution * s.info.ImageResolution
	var f clip.Matrix
	var err error
	if s.u8 {
		buf := make([]uint8, n*plane)
		for i, p := range in {
			copy(buf[i*plane:], p.u8)
		}
		f, err = s.m.EncodeImageU8(buf, n)
	} else {
		buf := make([]float32, n*plane)
		for i, p := range in {
			copy(buf[i*plane:], p.f32)
		}
		f, err = s.m.EncodeImage(buf, n)
	}
	if err != nil {
		return nil, err
	}
	return split(f, len(in)), nil
}

// split returns the first n rows of f as separate slices.
func split(f clip.Matrix, n int) [][]float32 {
	out := make([][]float32, n)
	for i := range out {
		out[i] = f.Row(i)
	}
	return out
}

func (s *served) close(ctx context.Context) error {
	e1 := s.text.Close(ctx)
	e2 := s.image.Close(ctx)
	if e1 != nil {
		return e1
	}
	return e2
}
