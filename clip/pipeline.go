package clip

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/goclip/goclip/npy"
)

// DefaultImageExtensions are the file name endings EmbedDir picks up
// (compared case-insensitively).
var defaultImageExtensions = []string{".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff"}

// DirOptions configures EmbedDir.
type DirOptions struct {
	// Shard and Shards select the files whose index i in the sorted list
	// has i % Shards == Shard, so that n machines (Kubernetes indexed jobs,
	// Slurm arrays) together cover every file exactly once. Shards <= 1
	// means all files.
	Shard, Shards int
	// Fresh discards the state of an earlier, interrupted or finished run
	// writing the same output; by default the run resumes from it.
	Fresh bool
	// Extensions overrides the image file endings to pick up.
	Extensions []string
	// OnProgress is called after every batch.
	OnProgress func(DirProgress)
	// OnError is called for every file that could not be embedded; the
	// file is skipped.
	OnError func(file string, err error)
}

// DirProgress reports how far EmbedDir is.
type DirProgress struct {
	Total    int           // files in this shard
	Done     int           // files embedded, resumed ones included
	Failed   int           // files skipped because of an error
	Resumed  int           // files taken over from an earlier run
	Elapsed  time.Duration // time since the start of this run
	NewFiles int           // files embedded by this run
}

// DirSummary is the result of EmbedDir.
type DirSummary struct {
	DirProgress
	Out   string // the .npy of [Done, D] float32 features
	Index string // the .jsonl naming each row's file
}

// IndexPath returns the .jsonl path that goes with a features .npy path.
func IndexPath(out string) string { return strings.TrimSuffix(out, ".npy") + ".jsonl" }

// IndexEntry is one line of the index: the row of the features file and the
// image file it holds (the folder given to EmbedDir joined with the file's
// path below it, with forward slashes).
type IndexEntry struct {
	Row  int    `json:"row"`
	File string `json:"file"`
}

// ListImages returns the image files below dir (by extension), as paths
// relative to dir in lexical order, the order EmbedDir writes rows in.
func ListImages(dir string, exts []string) ([]string, error) {
	if len(exts) == 0 {
		exts = defaultImageExtensions
	}
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() && d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		ext := strings.ToLower(filepath.Ext(p))
		for _, e := range exts {
			if ext == strings.ToLower(e) {
				rel, err := filepath.Rel(dir, p)
				if err != nil {
					return err
				}
				files = append(files, filepath.ToSlash(rel))
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	return files, nil
}

// Shard returns the files of shard i of n (i % n selection).
func Shard(files []string, i, n int) ([]string, error) {
	if n <= 1 {
		return files, nil
	}
	if i < 0 || i >= n {
		return nil, fmt.Errorf("clip: shard %d/%d: want 0 <= i < n", i, n)
	}
	var out []string
	for k, f := range files {
		if k%n == i {
			out = append(out, f)
		}
	}
	return out, nil
}

// EmbedDir embeds every image below dir into out (a .npy of [N, D] float32
// features) and IndexPath(out) (one JSON line per row naming its file),
// rows in the sorted order of the files. Decoding and preprocessing run on
// all cores and overlap with the model's work on the previous batch;
// memory is bounded by the batch size, not the folder's size. Unreadable
// files are reported through OnError and skipped. Progress is kept in
// out+".part" and the index as batches complete, so an interrupted run
// resumes where it stopped.
func (m *Model) EmbedDir(ctx context.Context, dir, out string, opt DirOptions) (DirSummary, error) {
	start := time.Now()
	if m.info.ImageResolution == 0 || m.info.EmbedDim == 0 {
		return DirSummary{}, errors.New("clip: EmbedDir needs a model with a manifest")
	}
	all, err := ListImages(dir, opt.Extensions)
	if err != nil {
		return DirSummary{}, err
	}
	files, err := Shard(all, opt.Shard, opt.Shards)
	if err != nil {
		return DirSummary{}, err
	}
	st, err := openDirState(out, m.info.EmbedDim, opt.Fresh)
	if err != nil {
		return DirSummary{}, err
	}
	defer st.close()
	prog := DirProgress{Total: len(files), Resumed: len(st.done), Done: len(st.done)}
	// Rows name their files as dir/relative-path; shards are chosen on the
	// relative paths, so machines that mount the folder elsewhere agree.
	var todo []string
	for _, f := range files {
		if full := path.Join(filepath.ToSlash(dir), f); !st.done[full] {
			todo = append(todo, full)
		}
	}
	report := func() {
		prog.Elapsed = time.Since(start)
		if opt.OnProgress != nil {
			opt.OnProgress(prog)
		}
	}
	bs := m.BatchSize()
	// Artifacts with encode_image_u8 take the resized RGB bytes and
	// normalise on the device (a quarter of the bytes to move); older ones
	// take float32 tensors normalised here.
	pix := newPixelIO(m, bs)
	type batch struct {
		files []string
		buf   pixelBuf
		errs  []error
	}
	pool := make(chan pixelBuf, 3)
	for i := 0; i < 3; i++ {
		pool <- pix.alloc()
	}
	ready := make(chan batch, 1)
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		defer close(ready)
		for s := 0; s < len(todo); s += bs {
			var buf pixelBuf
			select {
			case buf = <-pool:
			case <-pctx.Done():
				return
			}
			names := todo[s:min(s+bs, len(todo))]
			paths := make([]string, len(names))
			for i, f := range names {
				paths[i] = filepath.FromSlash(f)
			}
			errs := pix.fill(pctx, paths, buf)
			select {
			case ready <- batch{files: names, buf: buf, errs: errs}:
			case <-pctx.Done():
				return
			}
		}
	}()
	report()
	for b := range ready {
		if ctx.Err() != nil {
			break // interrupted: this batch's errors are cancellations, not bad files
		}
		// Keep the good images, packed, in input order.
		n := 0
		var ok []string
		for i, f := range b.files {
			if b.errs[i] != nil {
				prog.Failed++
				if opt.OnError != nil {
					opt.OnError(f, b.errs[i])
				}
				continue
			}
			pix.move(b.buf, n, i)
			ok = append(ok, f)
			n++
		}
		if n > 0 {
			feats, err := pix.encode(b.buf, n)
			if err != nil {
				return DirSummary{}, err
			}
			if err := st.append(ok, feats); err != nil {
				return DirSummary{}, err
			}
		}
		pool <- b.buf
		prog.Done += n
		prog.NewFiles += n
		report()
	}
	if err := ctx.Err(); err != nil {
		return DirSummary{DirProgress: prog}, err
	}
	if err := st.finish(); err != nil {
		return DirSummary{}, err
	}
	prog.Elapsed = time.Since(start)
	return DirSummary{DirProgress: prog, Out: out, Index: IndexPath(out)}, nil
}

// dirState is the on-disk state of an EmbedDir run: out.part holds the
// float32 rows written so far, the index one line per row.
type dirState struct {
	out, part, index string
	dim              int
	done             map[string]bool
	rows             int
	partF, indexF    *os.File
	indexW           *bufio.Writer
}

func openDirState(out string, dim int, fresh bool) (*dirState, error) {
	st := &dirState{out: out, part: out + ".part", index: IndexPath(out), dim: dim, done: map[string]bool{}}
	if fresh {
		for _, p := range []string{st.part, st.index, st.out} {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, err
			}
		}
	}
	// A finished run: turn its .npy back into a .part so new files append.
	if _, err := os.Stat(st.part); errors.Is(err, os.ErrNotExist) {
		if arr, err := npy.ReadFile(st.out); err == nil {
			data, ok := arr.Data.([]float32)
			if !ok || len(arr.Shape) != 2 || arr.Shape[1] != dim {
				return nil, fmt.Errorf("clip: %s exists with shape %v; it was not written by this model (use a fresh run)", st.out, arr.Shape)
			}
			if err := writeRaw(st.part, data); err != nil {
				return nil, err
			}
		}
	}
	entries, err := readIndex(st.index)
	if err != nil {
		return nil, err
	}
	partSize := int64(0)
	if fi, err := os.Stat(st.part); err == nil {
		partSize = fi.Size()
	}
	rowBytes := int64(dim * 4)
	// Rows complete in both files; anything past that (a run killed mid-write) is dropped.
	rows := min(int64(len(entries)), partSize/rowBytes)
	for i := int64(0); i < rows; i++ {
		if entries[i].Row != int(i) {
			return nil, fmt.Errorf("clip: %s is inconsistent at line %d; use a fresh run", st.index, i+1)
		}
		st.done[entries[i].File] = true
	}
	st.rows = int(rows)
	if st.partF, err = os.OpenFile(st.part, os.O_RDWR|os.O_CREATE, 0o644); err != nil {
		return nil, err
	}
	if err := st.partF.Truncate(rows * rowBytes); err != nil {
		return nil, err
	}
	if _, err := st.partF.Seek(rows*rowBytes, io.SeekStart); err != nil {
		return nil, err
	}
	if err := rewriteIndex(st.index, entries[:rows]); err != nil {
		return nil, err
	}
	if st.indexF, err = os.OpenFile(st.index, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644); err != nil {
		return nil, err
	}
	st.indexW = bufio.NewWriter(st.indexF)
	return st, nil
}

func readIndex(path string) ([]IndexEntry, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []IndexEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	for sc.Scan() {
		var e IndexEntry
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			break // a torn last line
		}
		out = append(out, e)
	}
	return out, sc.Err()
}

func rewriteIndex(path string, entries []IndexEntry) error {
	var b bytes.Buffer
	for _, e := range entries {
		line, _ := json.Marshal(e)
		b.Write(line)
		b.WriteByte('\n')
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func writeRaw(path string, data []float32) error {
	buf := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	return os.WriteFile(path, buf, 0o644)
}

// append writes a batch's rows, then its index lines, each flushed and
// synced, so a crash leaves at most a tail that the next run drops.
func (st *dirState) append(files []string, feats Matrix) error {
	if feats.Cols != st.dim || feats.Rows != len(files) {
		return fmt.Errorf("clip: batch of %d files gave %dx%d features", len(files), feats.Rows, feats.Cols)
	}
	buf := make([]byte, 4*len(feats.Data))
	for i, v := range feats.Data {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	if _, err := st.partF.Write(buf); err != nil {
		return err
	}
	if err := st.partF.Sync(); err != nil {
		return err
	}
	for _, f := range files {
		line, _ := json.Marshal(IndexEntry{Row: st.rows, File: f})
		st.indexW.Write(line)
		st.indexW.WriteByte('\n')
		st.rows++
	}
	if err := st.indexW.Flush(); err != nil {
		return err
	}
	return st.indexF.Sync()
}

// finish writes the .npy from the .part and removes the .part.
func (st *dirState) finish() error {
	if _, err := st.partF.Seek(0, io.SeekStart); err != nil {
		return err
	}
	data := make([]float32, st.rows*st.dim)
	raw := make([]byte, 4*len(data))
	if _, err := io.ReadFull(st.partF, raw); err != nil {
		return err
	}
	for i := range data {
		data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	if err := npy.WriteFile(st.out, []int{st.rows, st.dim}, data); err != nil {
		return err
	}
	st.close()
	return os.Remove(st.part)
}

func (st *dirState) close() {
	if st.partF != nil {
		st.partF.Close()
		st.partF = nil
	}
	if st.indexF != nil {
		st.indexW.Flush()
		st.indexF.Close()
		st.indexF = nil
	}
}

// pixelBuf holds one batch of preprocessed images: uint8 [B,R,R,3] or
// float32 [B,3,R,R].
type pixelBuf struct {
	u8  []uint8
	f32 []float32
}

// pixelIO fills and encodes pixel buffers in the form the model takes best.
type pixelIO struct {
	m     *Model
	u8    bool
	plane int // elements per image
	bs    int
}

func newPixelIO(m *Model, bs int) *pixelIO {
	r := m.info.ImageResolution
	// On the CPU the float32 path is faster: normalising with the table in
	// the preprocessing workers costs nothing extra there.
	u8 := m.hasU8 && m.info.Device.IsCUDA()
	return &pixelIO{m: m, u8: u8, plane: 3 * r * r, bs: bs}
}

func (p *pixelIO) alloc() pixelBuf {
	if p.u8 {
		return pixelBuf{u8: make([]uint8, p.bs*p.plane)}
	}
	return pixelBuf{f32: make([]float32, p.bs*p.plane)}
}

func (p *pixelIO) fill(ctx context.Context, paths []string, b pixelBuf) []error {
	pre := p.m.Preprocessor()
	if p.u8 {
		return pre.BatchFilesU8(ctx, paths, b.u8[:len(paths)*p.plane])
	}
	return pre.BatchFiles(ctx, paths, b.f32[:len(paths)*p.plane])
}

// move copies image i of the batch to slot j (j <= i).
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

func (p *pixelIO) encode(b pixelBuf, n int) (Matrix, error) {
	if p.u8 {
		return p.m.EncodeImageU8(b.u8[:n*p.plane], n)
	}
	return p.m.EncodeImage(b.f32[:n*p.plane], n)
}
