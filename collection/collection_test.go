package collection

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/internal/testutil"
	"github.com/goclip/goclip/npy"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.Cleanup()
	os.Exit(code)
}

func TestExpandBraces(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		err  bool
	}{
		{"a.tar", []string{"a.tar"}, false},
		{"s/{00..02}.tar", []string{"s/00.tar", "s/01.tar", "s/02.tar"}, false},
		{"{8..11}", []string{"8", "9", "10", "11"}, false},
		{"{2..0}", []string{"2", "1", "0"}, false},
		{"{a,b}-{1..2}", []string{"a-1", "a-2", "b-1", "b-2"}, false},
		{"x{a,{b,c}}y", []string{"xay", "xby", "xcy"}, false},
		{"{x}", []string{"{x}"}, false},
		{"{00000..00999}.tar", nil, false},
		{"{a,b", nil, true},
		{"a}", nil, true},
		{"{a..b}", nil, true},
	}
	for _, c := range cases {
		got, err := ExpandBraces(c.in)
		if (err != nil) != c.err {
			t.Errorf("%q: error %v, want error %v", c.in, err, c.err)
			continue
		}
		if c.err {
			if !errors.Is(err, ErrSpec) {
				t.Errorf("%q: %v is not ErrSpec", c.in, err)
			}
			continue
		}
		if c.want == nil {
			if len(got) != 1000 || got[0] != "00000.tar" || got[999] != "00999.tar" {
				t.Errorf("%q: %d items, first %q", c.in, len(got), got[0])
			}
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("%q: %q, want %q", c.in, got, c.want)
		}
	}
}

func TestAutoShard(t *testing.T) {
	cases := []struct {
		name  string
		env   map[string]string
		count int
		want  Shard
		err   bool
	}{
		{"nothing", nil, 0, All, false},
		{"k8s flag", map[string]string{"JOB_COMPLETION_INDEX": "3"}, 5, Shard{3, 5}, false},
		{"k8s env", map[string]string{"JOB_COMPLETION_INDEX": "0", CountEnv: "4"}, 0, Shard{0, 4}, false},
		{"k8s no count", map[string]string{"JOB_COMPLETION_INDEX": "0"}, 0, Shard{}, true},
		{"k8s out of range", map[string]string{"JOB_COMPLETION_INDEX": "5"}, 5, Shard{}, true},
		{"slurm", map[string]string{"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_COUNT": "3"}, 0, Shard{2, 3}, false},
		{"slurm from 1", map[string]string{"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "3"}, 0, Shard{2, 3}, false},
		{"slurm step", map[string]string{"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_STEP": "2", "SLURM_ARRAY_TASK_COUNT": "3"}, 0, Shard{2, 3}, false},
		{"slurm bad", map[string]string{"SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_COUNT": "3"}, 0, Shard{}, true},
	}
	for _, c := range cases {
		got, err := AutoShard(c.count, func(k string) string { return c.env[k] })
		if (err != nil) != c.err || got != c.want {
			t.Errorf("%s: %v %v, want %v (error %v)", c.name, got, err, c.want, c.err)
		}
	}
	if s, err := ParseShard("1/3"); err != nil || s != (Shard{1, 3}) {
		t.Errorf("ParseShard: %v %v", s, err)
	}
	for _, bad := range []string{"3/3", "-1/2", "a/b", "1"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
}

func TestPartitionNames(t *testing.T) {
	for _, c := range []struct {
		i, count int
		img      string
		stats    string
	}{
		{0, 1, "img_emb_0.npy", "0.json"},
		{3, 9, "img_emb_3.npy", "3.json"},
		{3, 10, "img_emb_03.npy", "3.json"},
		{42, 1000, "img_emb_0042.npy", "42.json"},
	} {
		p := PartitionPaths("out", c.i, c.count)
		if filepath.Base(p.ImgEmb) != c.img || filepath.Base(p.Stats) != c.stats {
			t.Errorf("%d of %d: %s %s", c.i, c.count, p.ImgEmb, p.Stats)
		}
	}
}

// testImages returns the bytes of the golden images that decode (a mix of
// JPEG, PNG and GIF).
func testImages(t *testing.T) map[string][]byte {
	t.Helper()
	dir := testutil.Golden(t, "preprocess", "images")
	out := map[string][]byte{}
	for _, n := range []string{"skimage-chelsea.png", "skimage-rocket.jpg", "video-001.jpeg", "synth-224x229.png",
		"video-001.progressive.jpeg", "triangle-001.gif", "synth-exif6.jpg", "basn6a08.png", "video-005.gray.jpeg"} {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		out[n] = b
	}
	return out
}

// member is one file of a test tar.
type member struct {
	name string
	data []byte
}

func writeTar(t *testing.T, path string, ms []member) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, m := range ms {
		if err := tw.WriteHeader(&tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(m.data)
	}
	tw.Close()
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func loadModel(t *testing.T) *clip.Model {
	t.Helper()
	m, err := clip.Load(context.Background(), testutil.ExportGolden(t, "tiny_vit_b32"),
		clip.WithDevice("cpu"), clip.WithBatchSize(4),
		clip.WithVocab(filepath.Join(testutil.SharedDir(t), "clip", clip.VocabFile)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// fixture is a collection written both as a folder and as tar shards.
type fixture struct {
	dir      string   // folder input: img0..imgN-1 with sidecars
	files    []string // the folder's images, sorted
	tars     string   // brace spec of the tar shards
	captions []string
}

// makeFixture writes 9 images as a folder (with captions and metadata) and
// as three tars: 0 with images 0-3, 1 with images 4-6 and a corrupt
// sample between them, 2 truncated after images 7 and 8's first member.
func makeFixture(t *testing.T) fixture {
	t.Helper()
	imgs := testImages(t)
	var names []string
	for n := range imgs {
		names = append(names, n)
	}
	sortStrings(names)
	root := t.TempDir()
	f := fixture{dir: filepath.Join(root, "folder"), tars: filepath.Join(root, "shards", "{0..2}.tar")}
	os.MkdirAll(f.dir, 0o755)
	os.MkdirAll(filepath.Join(root, "shards"), 0o755)
	var ms [][]member
	for i, n := range names {
		ext := filepath.Ext(n)
		base := fmt.Sprintf("img%d", i)
		caption := fmt.Sprintf("a photo number %d, %s", i, strings.Repeat("long ", i*20))
		meta := fmt.Sprintf(`{"width": %d, "source": {"name": %q, "score": %d.5}, "tags": ["a", "b"], "ok": %v}`, 100+i, n, i, i%2 == 0)
		f.captions = append(f.captions, caption)
		os.WriteFile(filepath.Join(f.dir, base+ext), imgs[n], 0o644)
		os.WriteFile(filepath.Join(f.dir, base+".txt"), []byte(caption), 0o644)
		os.WriteFile(filepath.Join(f.dir, base+".json"), []byte(meta), 0o644)
		ms = append(ms, []member{{base + ext, imgs[n]}, {base + ".json", []byte(meta)}, {base + ".txt", []byte(caption)}})
	}
	files, err := clip.ListImages(f.dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.files = files
	flat := func(a ...[]member) []member {
		var out []member
		for _, x := range a {
			out = append(out, x...)
		}
		return out
	}
	writeTar(t, filepath.Join(root, "shards", "0.tar"), flat(ms[0], ms[1], ms[2], ms[3]))
	bad := []member{{"bad.jpg", []byte("\xff\xd8\xff\xe0 not a jpeg")}, {"bad.txt", []byte("broken")}}
	writeTar(t, filepath.Join(root, "shards", "1.tar"), flat(ms[4], bad, ms[5], ms[6]))
	whole := writeTar(t, filepath.Join(root, "shards", "2.tar"), flat(ms[7], ms[8]))
	// Cut inside image 8's first member's data.
	cut := bytes.Index(whole, []byte(ms[8][0].name)) + 512 + len(ms[8][0].data)/2
	os.WriteFile(filepath.Join(root, "shards", "2.tar"), whole[:cut], 0o644)
	return f
}

func sortStrings(s []string) {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
}

// embedDirRows runs clip.EmbedDir on a folder of the given images (in
// order) and returns its features.
func embedDirRows(t *testing.T, m *clip.Model, src string, files []string) clip.Matrix {
	t.Helper()
	dir := t.TempDir()
	for i, f := range files {
		b, err := os.ReadFile(filepath.Join(src, f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("%03d%s", i, filepath.Ext(f))), b, 0o644)
	}
	out := filepath.Join(t.TempDir(), "ref.npy")
	if _, err := m.EmbedDir(context.Background(), dir, out, clip.DirOptions{}); err != nil {
		t.Fatal(err)
	}
	a, err := npy.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return clip.Matrix{Rows: a.Shape[0], Cols: a.Shape[1], Data: a.Data.([]float32)}
}

func readPart(t *testing.T, path string) clip.Matrix {
	t.Helper()
	m, err := ReadEmbeddings(path)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestEmbedTarsEqualEmbedDir(t *testing.T) {
	m := loadModel(t)
	f := makeFixture(t)
	out := t.TempDir()
	var reported []string
	sum, err := Embed(context.Background(), m, Options{Input: f.tars, Out: out, OnError: func(err error) { reported = append(reported, err.Error()) }})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Partitions != 3 || sum.Done != 3 || sum.Samples != 8 || sum.Failed != 1 {
		t.Errorf("summary %+v", sum)
	}
	if len(reported) != 2 || !strings.HasPrefix(reported[0], "bad: ") || !strings.Contains(reported[1], "truncated") {
		t.Errorf("reported %q", reported)
	}
	// Each tar's rows equal EmbedDir's on the same images in the same order.
	for i, idx := range [][]int{{0, 1, 2, 3}, {4, 5, 6}, {7}} {
		var files []string
		for _, k := range idx {
			files = append(files, f.files[k])
		}
		want := embedDirRows(t, m, f.dir, files)
		p := PartitionPaths(out, i, 3)
		got := readPart(t, p.ImgEmb)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("tar %d: features differ from EmbedDir's (%dx%d vs %dx%d)", i, got.Rows, got.Cols, want.Rows, want.Cols)
		}
		txt := readPart(t, p.TextEmb)
		var caps []string
		for _, k := range idx {
			caps = append(caps, f.captions[k])
		}
		rows, err := tokenizeTrunc(m, caps)
		if err != nil {
			t.Fatal(err)
		}
		wantT, err := m.EncodeText(rows)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(txt, wantT) {
			t.Errorf("tar %d: text features differ", i)
		}
		tab, err := ReadMetadata(p.Metadata)
		if err != nil {
			t.Fatal(err)
		}
		if len(tab.Rows) != len(idx) {
			t.Fatalf("tar %d: %d metadata rows", i, len(tab.Rows))
		}
		for r, k := range idx {
			if key := tab.Rows[r][tab.Column("image_path")]; key != fmt.Sprintf("img%d", k) {
				t.Errorf("tar %d row %d: image_path %q", i, r, key)
			}
			if c := tab.Rows[r][tab.Column("caption")]; c != f.captions[k] {
				t.Errorf("tar %d row %d: caption %q", i, r, c)
			}
			if w := tab.Rows[r][tab.Column("width")]; w != fmt.Sprint(100+k) {
				t.Errorf("tar %d row %d: width %q", i, r, w)
			}
			if s := tab.Rows[r][tab.Column("source.score")]; s != fmt.Sprintf("%d.5", k) {
				t.Errorf("tar %d row %d: source.score %q", i, r, s)
			}
		}
		var st Stats
		b, _ := os.ReadFile(p.Stats)
		if err := json.Unmarshal(b, &st); err != nil || st.SampleCount != len(idx) {
			t.Errorf("tar %d: stats %s", i, b)
		}
	}
	// A retry finds every partition complete and writes nothing.
	before := modTimes(t, out)
	sum, err = Embed(context.Background(), m, Options{Input: f.tars, Out: out})
	if err != nil || sum.Skipped != 3 || sum.Done != 0 {
		t.Errorf("retry: %+v %v", sum, err)
	}
	if after := modTimes(t, out); !reflect.DeepEqual(before, after) {
		t.Errorf("retry rewrote files")
	}
}

func tokenizeTrunc(m *clip.Model, texts []string) ([][]int32, error) {
	tok, err := m.Tokenizer(context.Background())
	if err != nil {
		return nil, err
	}
	return tok.Tokenize(texts, m.Info().ContextLength, true)
}

func modTimes(t *testing.T, dir string) map[string]int64 {
	out := map[string]int64{}
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			out[p] = fi.ModTime().UnixNano()
		}
		return nil
	})
	return out
}

func TestEmbedFolderPartitionsAndShards(t *testing.T) {
	m := loadModel(t)
	f := makeFixture(t)
	// A corrupt image in the folder is reported and skipped.
	os.WriteFile(filepath.Join(f.dir, "img4a.png"), []byte("\x89PNG\r\n\x1a\n broken"), 0o644)
	files, _ := clip.ListImages(f.dir, nil)
	whole := t.TempDir()
	var reported []string
	sum, err := Embed(context.Background(), m, Options{Input: f.dir, Out: whole, WriteBatchSize: 4, DType: F16, Normalize: true,
		OnError: func(err error) { reported = append(reported, err.Error()) }})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Partitions != 3 || sum.Samples != 9 || sum.Failed != 1 || len(reported) != 1 || !strings.Contains(reported[0], "img4a.png") {
		t.Fatalf("summary %+v, reported %q", sum, reported)
	}
	// Three tasks of a 3-way split write the same files as one process.
	split := t.TempDir()
	for k := 0; k < 3; k++ {
		if _, err := Embed(context.Background(), m, Options{Input: f.dir, Out: split, WriteBatchSize: 4, DType: F16, Normalize: true, Shard: Shard{k, 3}}); err != nil {
			t.Fatal(err)
		}
	}
	parts, err := ListParts(whole)
	if err != nil || len(parts) != 3 {
		t.Fatalf("parts %v %v", parts, err)
	}
	row := 0
	for i, p := range parts {
		a, err := npy.ReadFile(p.ImgEmb)
		if err != nil || a.DType != "<f2" {
			t.Fatalf("%s: %v %v", p.ImgEmb, a, err)
		}
		b, _ := os.ReadFile(filepath.Join(split, "img_emb", filepath.Base(p.ImgEmb)))
		if a2, _ := os.ReadFile(p.ImgEmb); !bytes.Equal(a2, b) {
			t.Errorf("partition %d differs between one process and three shards", i)
		}
		emb := readPart(t, p.ImgEmb)
		for r := 0; r < emb.Rows; r++ {
			var n float64
			for _, v := range emb.Row(r) {
				n += float64(v) * float64(v)
			}
			if n < 0.99 || n > 1.01 {
				t.Errorf("partition %d row %d: squared norm %g", i, r, n)
			}
		}
		tab, err := ReadMetadata(p.Metadata)
		if err != nil {
			t.Fatal(err)
		}
		for r := range tab.Rows {
			for row < len(files) && files[row] == "img4a.png" {
				row++
			}
			if want := filepath.ToSlash(filepath.Join(f.dir, files[row])); tab.Rows[r][tab.Column("image_path")] != want {
				t.Errorf("partition %d row %d: %q, want %q", i, r, tab.Rows[r][0], want)
			}
			row++
		}
	}
}

func TestEmbedNoEmptyShard(t *testing.T) {
	m := loadModel(t)
	dir := t.TempDir()
	writeTar(t, filepath.Join(dir, "0.tar"), []member{{"x.jpg", []byte("garbage")}, {"y.txt", []byte("no image")}})
	out := t.TempDir()
	var n int
	sum, err := Embed(context.Background(), m, Options{Input: filepath.Join(dir, "0.tar"), Out: out, OnError: func(error) { n++ }})
	if err != nil || sum.Samples != 0 || n != 2 {
		t.Fatalf("%+v %v %d", sum, err, n)
	}
	for _, d := range []string{"img_emb", "text_emb", "metadata"} {
		if es, _ := os.ReadDir(filepath.Join(out, d)); len(es) != 0 {
			t.Errorf("%s holds %d files", d, len(es))
		}
	}
	if _, err := os.Stat(filepath.Join(out, "stats", "0.json")); err != nil {
		t.Errorf("no stats: %v", err)
	}
	// A missing tar fails the task (so the scheduler retries it).
	if _, err := Embed(context.Background(), m, Options{Input: filepath.Join(dir, "{0,1}.tar"), Out: t.TempDir(), OnError: func(error) {}}); err == nil {
		t.Error("missing tar accepted")
	}
}
