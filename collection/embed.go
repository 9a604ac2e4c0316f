package collection

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/internal/atomicfile"
)

// DefaultWriteBatchSize is the number of files per partition of a folder.
const DefaultWriteBatchSize = 100_000

// Options configures Embed.
type Options struct {
	// Input is a folder, or a WebDataset tar spec with braces
	// ("shards/{00000..00999}.tar").
	Input string
	// Out is the layout folder (img_emb/, text_emb/, metadata/, stats/).
	Out string
	// Shard selects the partitions this task writes; the zero value and
	// All write every one.
	Shard Shard
	// DType of the written embeddings (F32 when empty).
	DType DType
	// Normalize divides every embedding by its L2 norm before writing.
	Normalize bool
	// WriteBatchSize is the number of files per partition of a folder
	// (DefaultWriteBatchSize when 0).
	WriteBatchSize int
	// OnError is called for each sample skipped (a *SampleError: an image
	// that does not decode, bad metadata) and for a tar that ends early.
	OnError func(err error)
	// OnPartition is called after each partition of this shard.
	OnPartition func(PartitionResult)
}

// PartitionResult reports one partition.
type PartitionResult struct {
	Index   int    // the partition's position
	Name    string // the zero-padded index used in file names
	Skipped bool   // its files existed already
	Stats   Stats
}

// Stats is written to stats/{i}.json; the durations are seconds, as
// clip-retrieval writes them.
type Stats struct {
	SampleCount       int     `json:"sample_count"`
	ReadDuration      float64 `json:"read_duration"`
	InferenceDuration float64 `json:"inference_duration"`
	WriteDuration     float64 `json:"write_duration"`
	TotalDuration     float64 `json:"total_duration"`
	FailedCount       int     `json:"failed_count"`
	Truncated         int     `json:"truncated_input"`
}

// Summary is the result of Embed.
type Summary struct {
	Partitions int // in the whole collection
	Done       int // partitions of this shard written by this run
	Skipped    int // partitions of this shard already complete
	Samples    int // rows written by this run
	Failed     int // samples skipped
	Elapsed    time.Duration
}

// input is the expanded collection: tar files or one folder's images.
type input struct {
	tars   []string
	dir    string
	files  []string
	parts  int
	wbs    int
	digits int
}

func openInput(spec string, wbs int) (*input, error) {
	if wbs <= 0 {
		wbs = DefaultWriteBatchSize
	}
	in := &input{wbs: wbs}
	if st, err := os.Stat(spec); err == nil && st.IsDir() {
		files, err := listFolder(spec)
		if err != nil {
			return nil, err
		}
		in.dir, in.files = spec, files
		in.parts = (len(files) + wbs - 1) / wbs
	} else {
		tars, err := ExpandBraces(spec)
		if err != nil {
			return nil, err
		}
		in.tars = tars
		in.parts = len(tars)
	}
	if in.parts == 0 {
		return nil, fmt.Errorf("collection: no images in %s", spec)
	}
	in.digits = PartitionDigits(in.parts)
	return in, nil
}

func (in *input) open(i int) (source, error) {
	if in.dir != "" {
		return &folderSource{dir: in.dir, files: in.files[i*in.wbs : min((i+1)*in.wbs, len(in.files))]}, nil
	}
	return openTar(in.tars[i])
}

// PartitionDigits is the zero-padded width of partition numbers in file
// names for a collection of count partitions: int(log10(count)) + 1, as
// clip-retrieval computes it.
func PartitionDigits(count int) int { return int(math.Log10(float64(count))) + 1 }

// Paths are a partition's file names in a layout folder.
type Paths struct {
	ImgEmb, TextEmb, Metadata, Stats string
}

// PartitionPaths returns the files of partition i of a collection of
// count partitions below out: img_emb/img_emb_{i}.npy,
// text_emb/text_emb_{i}.npy, metadata/metadata_{i}.parquet with i
// zero-padded, and stats/{i}.json with i as is (as clip-retrieval names
// them).
func PartitionPaths(out string, i, count int) Paths {
	name := fmt.Sprintf("%0*d", PartitionDigits(count), i)
	return Paths{
		ImgEmb:   filepath.Join(out, "img_emb", "img_emb_"+name+".npy"),
		TextEmb:  filepath.Join(out, "text_emb", "text_emb_"+name+".npy"),
		Metadata: filepath.Join(out, "metadata", "metadata_"+name+".parquet"),
		Stats:    filepath.Join(out, "stats", fmt.Sprintf("%d.json", i)),
	}
}

// Embed embeds the collection opt.Input into the clip-retrieval layout
// below opt.Out: one partition per input tar, or per WriteBatchSize files
// of a folder. Only the partitions of opt.Shard are written; a partition
// whose stats file exists is complete and skipped, so a retried task
// redoes only what it had not finished. Every file is written under a
// temporary name and renamed, the stats file last; a partition without a
// usable sample writes only its stats. Memory is bounded by one batch of
// images and one partition's metadata.
func Embed(ctx context.Context, m *clip.Model, opt Options) (Summary, error) {
	start := time.Now()
	if opt.DType == "" {
		opt.DType = F32
	}
	if _, err := ParseDType(string(opt.DType)); err != nil {
		return Summary{}, err
	}
	if opt.Shard.Count == 0 {
		opt.Shard = All
	}
	info := m.Info()
	if info.ImageResolution == 0 || info.EmbedDim == 0 {
		return Summary{}, errors.New("collection: the model needs a manifest (image resolution, embedding size)")
	}
	in, err := openInput(opt.Input, opt.WriteBatchSize)
	if err != nil {
		return Summary{}, err
	}
	for _, d := range []string{"img_emb", "text_emb", "metadata", "stats"} {
		if err := os.MkdirAll(filepath.Join(opt.Out, d), 0o755); err != nil {
			return Summary{}, err
		}
	}
	sum := Summary{Partitions: in.parts}
	var missing []string
	var pix *pixelIO
	var pool chan pixelBuf
	for i := 0; i < in.parts; i++ {
		if !opt.Shard.Has(i) {
			continue
		}
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		p := PartitionPaths(opt.Out, i, in.parts)
		res := PartitionResult{Index: i, Name: fmt.Sprintf("%0*d", in.digits, i)}
		if _, err := os.Stat(p.Stats); err == nil {
			res.Skipped = true
			sum.Skipped++
		} else {
			src, err := in.open(i)
			if err != nil {
				// A missing input is not a bad sample: the task fails at
				// the end so the scheduler retries it.
				if opt.OnError != nil {
					opt.OnError(err)
				}
				missing = append(missing, in.tars[i])
				continue
			}
			if pool == nil {
				pix = newPixelIO(m, m.BatchSize())
				pool = make(chan pixelBuf, 3)
				for i := 0; i < cap(pool); i++ {
					pool <- pix.alloc()
				}
			}
			w := &partition{m: m, opt: &opt, paths: p, pix: pix, pool: pool}
			res.Stats, err = w.run(ctx, src)
			src.close()
			if err != nil {
				return sum, err
			}
			sum.Done++
			sum.Samples += res.Stats.SampleCount
			sum.Failed += res.Stats.FailedCount
		}
		if opt.OnPartition != nil {
			opt.OnPartition(res)
		}
	}
	sum.Elapsed = time.Since(start)
	if len(missing) > 0 {
		return sum, fmt.Errorf("collection: %d inputs could not be opened (first: %s)", len(missing), missing[0])
	}
	return sum, nil
}

// partition writes one partition.
type partition struct {
	m     *clip.Model
	opt   *Options
	paths Paths
	pix   *pixelIO
	pool  chan pixelBuf // the batch buffers, kept across partitions
}

type batch struct {
	samples []Sample
	buf     pixelBuf
	errs    []error
	read    time.Duration
	srcErr  error // the source ended early after this batch
}

func (w *partition) report(err error) {
	if w.opt.OnError != nil {
		w.opt.OnError(err)
	}
}

func (w *partition) run(ctx context.Context, src source) (Stats, error) {
	start := time.Now()
	var st Stats
	info := w.m.Info()
	bs := w.m.BatchSize()
	pix, pool := w.pix, w.pool
	ready := make(chan batch, 1)
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(ready)
		for eof := false; !eof; {
			var buf pixelBuf
			select {
			case buf = <-pool:
			case <-pctx.Done():
				return
			}
			t0 := time.Now()
			b := batch{buf: buf}
			for len(b.samples) < bs {
				s, err := src.next()
				if errors.Is(err, io.EOF) {
					eof = true
					break
				}
				var se *SampleError
				if errors.As(err, &se) {
					b.errs = append(b.errs, err) // reported in order by the writer
					b.samples = append(b.samples, Sample{Key: se.Key})
					continue
				}
				if err != nil {
					b.srcErr, eof = err, true
					break
				}
				b.samples = append(b.samples, s)
				b.errs = append(b.errs, nil)
			}
			pix.fill(pctx, b.samples, b.errs, buf)
			b.read = time.Since(t0)
			select {
			case ready <- b:
			case <-pctx.Done():
				return
			}
		}
	}()
	img, err := createNpy(w.paths.ImgEmb, w.opt.DType, info.EmbedDim)
	if err != nil {
		return st, err
	}
	txt, err := createNpy(w.paths.TextEmb, w.opt.DType, info.EmbedDim)
	if err != nil {
		img.abort()
		return st, err
	}
	committed := false
	defer func() {
		if !committed {
			img.abort()
			txt.abort()
		}
	}()
	var rows []metaRow
	allCaptioned := true
	for b := range ready {
		if ctx.Err() != nil {
			break
		}
		st.ReadDuration += b.read.Seconds()
		n := 0
		var ok []Sample
		for i, s := range b.samples {
			if b.errs[i] != nil {
				st.FailedCount++
				w.report(b.errs[i])
				continue
			}
			pix.move(b.buf, n, i)
			ok = append(ok, s)
			n++
		}
		if n > 0 {
			t0 := time.Now()
			feats, err := pix.encode(b.buf, n)
			if err != nil {
				return st, err
			}
			var tf clip.Matrix
			for _, s := range ok {
				allCaptioned = allCaptioned && s.HasCaption
			}
			if allCaptioned {
				if tf, err = w.encodeCaptions(ctx, ok); err != nil {
					return st, err
				}
			}
			st.InferenceDuration += time.Since(t0).Seconds()
			t0 = time.Now()
			if err := img.write(w.prepare(feats)); err != nil {
				return st, err
			}
			if allCaptioned {
				if err := txt.write(w.prepare(tf)); err != nil {
					return st, err
				}
			}
			for _, s := range ok {
				rows = append(rows, metaRow{key: s.Key, caption: s.Caption, hasCaption: s.HasCaption, meta: s.Meta})
			}
			st.WriteDuration += time.Since(t0).Seconds()
		}
		pool <- b.buf
		if b.srcErr != nil {
			st.Truncated++
			w.report(b.srcErr)
		}
	}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	st.SampleCount = len(rows)
	t0 := time.Now()
	if len(rows) > 0 {
		if err := img.finish(); err != nil {
			return st, err
		}
		if allCaptioned {
			if err := txt.finish(); err != nil {
				return st, err
			}
		} else {
			txt.abort()
		}
		if err := atomicfile.Write(w.paths.Metadata, func(f *os.File) error { return writeMetadata(f, rows) }); err != nil {
			return st, err
		}
	} else {
		img.abort()
		txt.abort()
	}
	committed = true
	st.WriteDuration += time.Since(t0).Seconds()
	st.TotalDuration = time.Since(start).Seconds()
	return st, atomicfile.Write(w.paths.Stats, func(f *os.File) error {
		return json.NewEncoder(f).Encode(st)
	})
}

// prepare normalises the features when asked; the stream converts them
// to the output dtype.
func (w *partition) prepare(f clip.Matrix) []float32 {
	if w.opt.Normalize {
		f = f.Normalized()
	}
	return f.Data
}

// encodeCaptions embeds the samples' captions, truncated to the model's
// context as clip-retrieval's clip.tokenize(truncate=True) does.
func (w *partition) encodeCaptions(ctx context.Context, ss []Sample) (clip.Matrix, error) {
	tok, err := w.m.Tokenizer(ctx)
	if err != nil {
		return clip.Matrix{}, err
	}
	texts := make([]string, len(ss))
	for i, s := range ss {
		texts[i] = s.Caption
	}
	ctxLen := w.m.Info().ContextLength
	rows, err := tok.Tokenize(texts, ctxLen, true)
	if err != nil {
		return clip.Matrix{}, err
	}
	return w.m.EncodeText(rows)
}

// pixelBuf holds one batch of preprocessed images: uint8 [B,R,R,3] or
// float32 [B,3,R,R].
type pixelBuf struct {
	u8  []uint8
	f32 []float32
}

// pixelIO mirrors clip.EmbedDir's choice of pixel form, so a collection's
// features equal embed --images-dir's for the same batches: resized RGB
// bytes normalised on a CUDA device, float32 pixels normalised here on
// the CPU.
type pixelIO struct {
	m     *clip.Model
	u8    bool
	plane int
	bs    int
}

func newPixelIO(m *clip.Model, bs int) *pixelIO {
	r := m.Info().ImageResolution
	return &pixelIO{m: m, u8: m.Info().Device.IsCUDA(), plane: 3 * r * r, bs: bs}
}

func (p *pixelIO) alloc() pixelBuf {
	if p.u8 {
		return pixelBuf{u8: make([]uint8, p.bs*p.plane)}
	}
	return pixelBuf{f32: make([]float32, p.bs*p.plane)}
}

// fill preprocesses the samples without an error into their slots and
// records decoding errors in errs.
func (p *pixelIO) fill(ctx context.Context, ss []Sample, errs []error, b pixelBuf) {
	pre := p.m.Preprocessor()
	var idx []int
	var datas [][]byte
	var files []string
	for i, s := range ss {
		if errs[i] != nil {
			continue
		}
		idx = append(idx, i)
		if s.File != "" {
			files = append(files, s.File)
		} else {
			datas = append(datas, s.Image)
		}
	}
	if len(idx) == 0 {
		return
	}
	n := len(idx)
	var got []error
	switch {
	case files != nil && p.u8:
		got = pre.BatchFilesU8(ctx, files, b.u8[:n*p.plane])
	case files != nil:
		got = pre.BatchFiles(ctx, files, b.f32[:n*p.plane])
	case p.u8:
		got = pre.BatchBytesU8(ctx, datas, b.u8[:n*p.plane])
	default:
		got = pre.BatchBytes(ctx, datas, b.f32[:n*p.plane])
	}
	// The preprocessed images lie packed in slots 0..n-1; spread them to
	// their samples' slots (from the end, so nothing is overwritten).
	for j := n - 1; j >= 0; j-- {
		i := idx[j]
		if got[j] != nil {
			errs[i] = &SampleError{Key: ss[i].Key, Err: got[j]}
			continue
		}
		p.move(b, i, j)
	}
}

// move copies image i of the batch to slot j.
func (p *pixelIO) move(b pixelBuf, j, i int) {
	if i == j {
		return
	}
	if p.u8 {
		copy(b.u8[j*p.plane:(j+1)*p.plane], b.u8[i*p.plane:(i+1)*p.plane])
		return
	}
	copy(b.f32[j*p.plane:(j+1)*p.plane], b.f32[i*p.plane:(i+1)*p.plane])
}

func (p *pixelIO) encode(b pixelBuf, n int) (clip.Matrix, error) {
	if p.u8 {
		return p.m.EncodeImageU8(b.u8[:n*p.plane], n)
	}
	return p.m.EncodeImage(b.f32[:n*p.plane], n)
}
