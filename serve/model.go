package serve

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"time"
	"unsafe"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/internal/batch"
	"github.com/goclip/goclip/preprocess"
)

// pixels is one preprocessed image: float32 [3,R,R] on the CPU (the float
// path of clip embed there), uint8 [R,R,3] on CUDA (normalised on the
// device, as clip embed does there).
type pixels struct {
	f32  []float32
	u8   []uint8
	slot int // row of the model call with FixedBatch
}

// tokens is one text's token row.
type tokens struct {
	row  []int32
	slot int // row of the model call with FixedBatch
}

// served is one model with its batchers. Every call into package clip is
// in this file.
type served struct {
	name    string
	m       *clip.Model
	info    clip.Info
	sha     string
	scale   float64
	u8      bool
	pre     *preprocess.Preprocessor
	text    *batch.Batcher[tokens, []float32]
	image   *batch.Batcher[pixels, []float32]
	fixed   int  // rows of every model call (0: as many as the batch holds)
	classes *lru // class embeddings per label set
}

func newServed(name string, m *clip.Model, o *Options, met *metrics) (*served, error) {
	info := m.Info()
	if info.ImageResolution == 0 || info.EmbedDim == 0 || info.ContextLength == 0 {
		return nil, fmt.Errorf("serve: model %s has no manifest (resolution, embed dim and context length are needed)", name)
	}
	s := &served{name: name, m: m, info: info, u8: info.Device.IsCUDA(), classes: newLRU(64)}
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
	onBatch := func(modality string) func(int, time.Duration) {
		return func(n int, took time.Duration) {
			met.batchSize.WithLabelValues(name, modality).Observe(float64(n))
			met.inference.WithLabelValues(name, modality).Observe(took.Seconds())
		}
	}
	onWait := func(modality string) func(time.Duration) {
		return func(w time.Duration) { met.queue.WithLabelValues(name, modality).Observe(w.Seconds()) }
	}
	to := batch.Options[tokens]{MaxBatch: o.MaxBatchSize, MaxDelay: o.MaxQueueDelay, MaxQueue: o.MaxQueue, OnBatch: onBatch("text"), OnWait: onWait("text")}
	io := batch.Options[pixels]{MaxBatch: o.MaxBatchSize, MaxDelay: o.MaxQueueDelay, MaxQueue: o.MaxQueue, OnBatch: onBatch("image"), OnWait: onWait("image")}
	if s.fixed > 0 {
		to.Slot = func(t tokens) int { return t.slot }
		io.Slot = func(p pixels) int { return p.slot }
	}
	s.text = batch.New(s.encodeText, to)
	s.image = batch.New(s.encodeImage, io)
	return s, nil
}

// warm runs one call of each modality (at the fixed batch size when set).
func (s *served) warm(ctx context.Context) error {
	tok, err := s.tokenize(ctx, "warm up")
	if err != nil {
		return err
	}
	if _, _, err := s.text.Submit(ctx, []tokens{s.textIn(tok)}); err != nil {
		return err
	}
	_, _, err = s.image.Submit(ctx, []pixels{s.withSlot(s.blank())})
	return err
}

func (s *served) blank() pixels {
	r := s.info.ImageResolution
	if s.u8 {
		return pixels{u8: make([]uint8, 3*r*r)}
	}
	return pixels{f32: make([]float32, 3*r*r)}
}

// textIn wraps a token row with its slot.
func (s *served) textIn(row []int32) tokens {
	t := tokens{row: row}
	if s.fixed > 0 {
		h := crc32.New(castagnoli)
		binary.Write(h, binary.LittleEndian, row)
		t.slot = int(h.Sum32() % uint32(s.fixed))
	}
	return t
}

// withSlot sets the slot of preprocessed pixels from their content.
func (s *served) withSlot(p pixels) pixels {
	if s.fixed > 0 {
		var b []byte
		if p.u8 != nil {
			b = p.u8
		} else {
			b = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(p.f32))), 4*len(p.f32))
		}
		p.slot = int(crc32.Checksum(b, castagnoli) % uint32(s.fixed))
	}
	return p
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// tokenize turns one text into a token row (clip.tokenize semantics).
func (s *served) tokenize(ctx context.Context, text string) ([]int32, error) {
	rows, err := s.m.Tokenize(ctx, []string{text})
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

// at is the row of item i of a model call: its slot with FixedBatch.
func (s *served) at(i, slot int) int {
	if s.fixed > 0 {
		return slot
	}
	return i
}

func (s *served) encodeText(in []tokens) ([][]float32, error) {
	rows := make([][]int32, s.rows(len(in)))
	pos := make([]int, len(in))
	for i, t := range in {
		pos[i] = s.at(i, t.slot)
		rows[pos[i]] = t.row
	}
	for i := range rows {
		if rows[i] == nil {
			rows[i] = make([]int32, s.info.ContextLength) // padding
		}
	}
	f, err := s.m.EncodeText(rows)
	if err != nil {
		return nil, err
	}
	return pick(f, pos), nil
}

func (s *served) encodeImage(in []pixels) ([][]float32, error) {
	n := s.rows(len(in))
	plane := 3 * s.info.ImageResolution * s.info.ImageResolution
	var f clip.Matrix
	var err error
	pos := make([]int, len(in))
	if s.u8 {
		buf := make([]uint8, n*plane)
		for i, p := range in {
			pos[i] = s.at(i, p.slot)
			copy(buf[pos[i]*plane:], p.u8)
		}
		f, err = s.m.EncodeImageU8(buf, n)
	} else {
		buf := make([]float32, n*plane)
		for i, p := range in {
			pos[i] = s.at(i, p.slot)
			copy(buf[pos[i]*plane:], p.f32)
		}
		f, err = s.m.EncodeImage(buf, n)
	}
	if err != nil {
		return nil, err
	}
	return pick(f, pos), nil
}

// pick returns rows pos of f as separate slices.
func pick(f clip.Matrix, pos []int) [][]float32 {
	out := make([][]float32, len(pos))
	for i, p := range pos {
		out[i] = f.Row(p)
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
