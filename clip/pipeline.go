package clip

import (
	"bufio"
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
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gofrs/flock"

	"github.com/goclip/goclip/internal/atomicfile"
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

// IndexEntry is one line of the index: the row of the features file, the
// image file it holds as a path relative to Dir (with forward slashes), the
// folder given to EmbedDir as an absolute path, and the file's size and
// modification time when it was embedded (a later run reuses the row while
// they stay the same).
type IndexEntry struct {
	Row   int    `json:"row"`
	File  string `json:"file"`
	Dir   string `json:"dir,omitempty"`
	Size  int64  `json:"size,omitempty"`
	MTime int64  `json:"mtime_ns,omitempty"`
}

// Path returns the image file's path: Dir joined with File, or File alone
// for an index written without Dir.
func (e IndexEntry) Path() string {
	if e.Dir == "" {
		return filepath.FromSlash(e.File)
	}
	return filepath.Join(e.Dir, filepath.FromSlash(e.File))
}

// ReadIndex reads an index written by EmbedDir.
func ReadIndex(path string) ([]IndexEntry, error) {
	return readIndex(path, false)
}

// readIndex reads an index; with torn, a line that does not parse ends it
// (the tail a killed run leaves) instead of failing.
func readIndex(path string, torn bool) ([]IndexEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("clip: %w", err)
	}
	defer f.Close()
	var out []IndexEntry
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	for sc.Scan() {
		var e IndexEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			if torn {
				break
			}
			return nil, fmt.Errorf("clip: %s line %d: %w", path, len(out)+1, err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("clip: %s: %w", path, err)
	}
	return out, nil
}

// ListImages returns the files below dir whose names end in one of exts
// (compared case-insensitively; nil means the usual image endings), as
// paths relative to dir in lexical order, the order EmbedDir writes rows
// in. Hidden folders are skipped. Entries that are not regular files (links,
// FIFOs, sockets, devices) are listed too: EmbedDir follows links and
// reports the rest, file by file, as "not a regular file".
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

// LockedError reports that another run (in this process or another) is
// writing the same EmbedDir output.
type LockedError struct{ Out string }

func (e *LockedError) Error() string { return "clip: another run holds " + e.Out }

// EmbedDir embeds every image below dir into out (a .npy of [N, D] float32
// features) and IndexPath(out) (one JSON line per row naming its file
// relative to the folder, and the folder), rows in the sorted order of the
// files. Decoding and preprocessing run on all cores and overlap with the
// model's work on the previous batch; memory is bounded by the batch size,
// not the folder's size. Files that cannot be embedded (unreadable, not an
// image, not a regular file) are reported through OnError and skipped.
//
// Runs resume: embedded rows are logged to out+".part" as batches complete,
// and a later run for the same folder reuses the rows of files whose
// relative path, size and modification time are unchanged (from that log
// or from a finished out), embeds the others and writes the rows of the
// folder's current files only. A run for another folder than the one out
// was written for is refused; DirOptions.Fresh starts over. The output is
// locked (an flock on out+".lock", removed at the end) while a run writes
// it: a second run fails with *LockedError.
func (m *Model) EmbedDir(ctx context.Context, dir, out string, opt DirOptions) (DirSummary, error) {
	start := time.Now()
	if m.info.ImageResolution == 0 || m.info.EmbedDim == 0 {
		return DirSummary{}, errors.New("clip: EmbedDir needs a model with a manifest")
	}
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return DirSummary{}, fmt.Errorf("clip: %w", err)
	}
	all, err := ListImages(dir, opt.Extensions)
	if err != nil {
		return DirSummary{}, err
	}
	files, err := Shard(all, opt.Shard, opt.Shards)
	if err != nil {
		return DirSummary{}, err
	}
	unlock, err := lockOutput(out)
	if err != nil {
		return DirSummary{}, err
	}
	defer unlock()
	st, err := openDirState(out, absDir, m.info.EmbedDim, opt.Fresh)
	if err != nil {
		return DirSummary{}, err
	}
	defer st.close()
	// Rows name their files relative to the folder; shards are chosen on
	// the relative paths, so machines that mount the folder elsewhere agree.
	cur := make([]IndexEntry, len(files))
	var todo []IndexEntry
	for i, f := range files {
		cur[i] = IndexEntry{File: f, Dir: absDir}
		if fi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f))); err == nil && fi.Mode().IsRegular() {
			cur[i].Size, cur[i].MTime = fi.Size(), fi.ModTime().UnixNano()
		}
		if !st.reusable(cur[i]) {
			todo = append(todo, cur[i])
		}
	}
	resumed := len(files) - len(todo)
	prog := DirProgress{Total: len(files), Resumed: resumed, Done: resumed}
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
		files []IndexEntry
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
				paths[i] = filepath.Join(dir, filepath.FromSlash(f.File))
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
		var ok []IndexEntry
		for i, f := range b.files {
			if b.errs[i] != nil {
				prog.Failed++
				if opt.OnError != nil {
					opt.OnError(path.Join(filepath.ToSlash(dir), f.File), b.errs[i])
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
	if err := st.finish(ctx, cur); err != nil {
		return DirSummary{}, err
	}
	prog.Elapsed = time.Since(start)
	return DirSummary{DirProgress: prog, Out: out, Index: IndexPath(out)}, nil
}

// lockOutput takes the lock of an EmbedDir output: an flock on out+".lock",
// which the kernel drops if the process dies. The holder removes the lock
// file before unlocking; a run that locked a file that is no longer at the
// path (removed in between) tries again, so two runs never both hold it.
func lockOutput(out string) (unlock func(), err error) {
	path := out + ".lock"
	for try := 0; ; try++ {
		l := flock.New(path, flock.SetPermissions(0o666))
		ok, err := l.TryLock()
		if err != nil {
			return nil, fmt.Errorf("clip: locking %s: %w", out, err)
		}
		if !ok {
			return nil, &LockedError{Out: out}
		}
		held, err1 := l.Stat()
		now, err2 := os.Stat(path)
		if err1 == nil && err2 == nil && os.SameFile(held, now) {
			return func() {
				os.Remove(path) // while still holding the lock
				l.Unlock()
			}, nil
		}
		l.Unlock()
		if try == 100 {
			return nil, &LockedError{Out: out}
		}
	}
}

// rowLoc is where an embedded file's row lies: in the old output or in
// the log of this and interrupted runs.
type rowLoc struct {
	src   *os.File
	off   int64
	size  int64
	mtime int64
}

// dirState is the on-disk state of an EmbedDir run. out.part is a log of
// the float32 rows embedded since the last finished run, in the order they
// were embedded, and out.part.jsonl names them; finish merges the log with
// the old output into the new one, row by row.
type dirState struct {
	out, part, partIndex, index string
	dir                         string
	dim                         int
	rowBytes                    int64
	base                        *os.File     // the finished output of an earlier run, or nil
	baseEntries                 []IndexEntry // its index
	have                        map[string]rowLoc
	rows                        int // rows in the log
	partF, indexF               *os.File
	indexW                      *bufio.Writer
}

func openDirState(out, dir string, dim int, fresh bool) (_ *dirState, err error) {
	st := &dirState{out: out, part: out + ".part", partIndex: out + ".part.jsonl", index: IndexPath(out),
		dir: dir, dim: dim, rowBytes: int64(dim) * 4, have: map[string]rowLoc{}}
	defer func() {
		if err != nil {
			st.close()
		}
	}()
	if fresh {
		for _, p := range []string{st.part, st.partIndex, st.index, st.out} {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("clip: %w", err)
			}
		}
	}
	if err := st.openBase(); err != nil {
		return nil, err
	}
	if err := st.openLog(); err != nil {
		return nil, err
	}
	return st, nil
}

// checkDir refuses state written for another folder.
func (st *dirState) checkDir(file string, e IndexEntry) error {
	if e.Dir != st.dir {
		was := e.Dir
		if was == "" {
			was = "a folder it does not record (an older goclip)"
		}
		return fmt.Errorf("clip: %s was written for %s, not %s; embed that folder again, or start over (a fresh run)", file, was, st.dir)
	}
	return nil
}

// openBase takes the rows of a finished output as reusable. An output whose
// index is missing or does not match it is simply rewritten.
func (st *dirState) openBase() error {
	f, err := os.Open(st.out)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("clip: %w", err)
	}
	h, err := npy.ReadHeader(bufio.NewReader(f))
	if err != nil || h.DType != "<f4" || len(h.Shape) != 2 || h.Shape[1] != st.dim {
		f.Close()
		return fmt.Errorf("clip: %s exists and does not hold [N,%d] float32 features of this model; use a fresh run", st.out, st.dim)
	}
	entries, err := ReadIndex(st.index)
	if err != nil || len(entries) != h.Shape[0] {
		f.Close()
		return nil
	}
	for i, e := range entries {
		if err := st.checkDir(st.index, e); err != nil {
			f.Close()
			return err
		}
		if e.Row != i {
			f.Close()
			return nil
		}
	}
	if fi, err := f.Stat(); err != nil || fi.Size() < h.Offset+int64(len(entries))*st.rowBytes {
		f.Close()
		return nil
	}
	st.base, st.baseEntries = f, entries
	for i, e := range entries {
		st.have[e.File] = rowLoc{src: f, off: h.Offset + int64(i)*st.rowBytes, size: e.Size, mtime: e.MTime}
	}
	return nil
}

// openLog opens the log of embedded rows, keeping the rows complete in
// both of its files (a run killed mid-write leaves a torn tail).
func (st *dirState) openLog() error {
	entries, err := readLogIndex(st.partIndex)
	if err != nil {
		return err
	}
	partSize := int64(0)
	if fi, err := os.Stat(st.part); err == nil {
		partSize = fi.Size()
	}
	rows := min(int64(len(entries)), partSize/st.rowBytes)
	entries = entries[:rows]
	for i, e := range entries {
		if e.Row != i {
			return fmt.Errorf("clip: %s is inconsistent at line %d; use a fresh run", st.partIndex, i+1)
		}
		if err := st.checkDir(st.partIndex, e); err != nil {
			return err
		}
	}
	if st.partF, err = os.OpenFile(st.part, os.O_RDWR|os.O_CREATE, 0o666); err != nil {
		return fmt.Errorf("clip: %w", err)
	}
	for i, e := range entries {
		st.have[e.File] = rowLoc{src: st.partF, off: int64(i) * st.rowBytes, size: e.Size, mtime: e.MTime}
	}
	st.rows = int(rows)
	if err := st.partF.Truncate(rows * st.rowBytes); err != nil {
		return fmt.Errorf("clip: %w", err)
	}
	if err := rewriteIndex(st.partIndex, entries); err != nil {
		return err
	}
	if st.indexF, err = os.OpenFile(st.partIndex, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o666); err != nil {
		return fmt.Errorf("clip: %w", err)
	}
	st.indexW = bufio.NewWriter(st.indexF)
	return nil
}

// reusable says whether e's file has a row embedded while it had its
// current size and modification time.
func (st *dirState) reusable(e IndexEntry) bool {
	loc, ok := st.have[e.File]
	return ok && e.MTime != 0 && loc.size == e.Size && loc.mtime == e.MTime
}

// readLogIndex reads the log's index, stopping at a torn last line.
func readLogIndex(path string) ([]IndexEntry, error) {
	entries, err := readIndex(path, true)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return entries, err
}

// writeIndexTo writes entries as JSON lines.
func writeIndexTo(w io.Writer, entries []IndexEntry) error {
	bw := bufio.NewWriter(w)
	for _, e := range entries {
		line, _ := json.Marshal(e)
		bw.Write(line)
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// rewriteIndex replaces the index at path with entries, atomically.
func rewriteIndex(path string, entries []IndexEntry) error {
	return replaceFile(path, func(w io.Writer) error { return writeIndexTo(w, entries) })
}

// replaceFile writes a temporary file beside path with write, syncs it and
// renames it onto path.
func replaceFile(dst string, write func(io.Writer) error) error {
	if err := atomicfile.Write(dst, func(f *os.File) error { return write(f) }); err != nil {
		return fmt.Errorf("clip: writing %s: %w", dst, err)
	}
	return nil
}

// append logs a batch's rows, then its index lines, each flushed and
// synced, so a crash leaves at most a tail that the next run drops.
func (st *dirState) append(files []IndexEntry, feats Matrix) error {
	if feats.Cols != st.dim || feats.Rows != len(files) {
		return fmt.Errorf("clip: batch of %d files gave %dx%d features", len(files), feats.Rows, feats.Cols)
	}
	buf := make([]byte, 4*len(feats.Data))
	for i, v := range feats.Data {
		binary.LittleEndian.PutUint32(buf[4*i:], math.Float32bits(v))
	}
	off := int64(st.rows) * st.rowBytes
	if _, err := st.partF.WriteAt(buf, off); err != nil {
		return fmt.Errorf("clip: %w", err)
	}
	if err := st.partF.Sync(); err != nil {
		return fmt.Errorf("clip: %w", err)
	}
	for i, f := range files {
		f.Row = st.rows
		line, _ := json.Marshal(f)
		st.indexW.Write(line)
		st.indexW.WriteByte('\n')
		st.have[f.File] = rowLoc{src: st.partF, off: off + int64(i)*st.rowBytes, size: f.Size, mtime: f.MTime}
		st.rows++
	}
	if err := st.indexW.Flush(); err != nil {
		return fmt.Errorf("clip: %w", err)
	}
	return st.indexF.Sync()
}

// finish writes the output for the current files cur (sorted): the rows of
// those embedded, copied one at a time from the old output or the log, then
// the index, and removes the log.
func (st *dirState) finish(ctx context.Context, cur []IndexEntry) error {
	var rows []IndexEntry
	for _, e := range cur {
		if st.reusable(e) {
			e.Row = len(rows)
			rows = append(rows, e)
		}
	}
	if st.rows > 0 || !slices.Equal(rows, st.baseEntries) {
		err := replaceFile(st.out, func(w io.Writer) error {
			bw := bufio.NewWriterSize(w, 1<<18)
			if err := npy.WriteHeader(bw, "<f4", []int{len(rows), st.dim}); err != nil {
				return err
			}
			buf := make([]byte, st.rowBytes)
			for i, e := range rows {
				if i%1024 == 0 && ctx.Err() != nil {
					return ctx.Err()
				}
				loc := st.have[e.File]
				if _, err := loc.src.ReadAt(buf, loc.off); err != nil {
					return err
				}
				if _, err := bw.Write(buf); err != nil {
					return err
				}
			}
			return bw.Flush()
		})
		if err != nil {
			return err
		}
		if err := rewriteIndex(st.index, rows); err != nil {
			return err
		}
	}
	st.close()
	for _, p := range []string{st.part, st.partIndex} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("clip: %w", err)
		}
	}
	return nil
}

func (st *dirState) close() {
	if st.base != nil {
		st.base.Close()
		st.base = nil
	}
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
