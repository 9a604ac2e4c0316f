package collection

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/goclip/goclip/internal/testutil"
)

// hyparquet installs npm's hyparquet into testdata/node (gitignored) once.
func hyparquet(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", "node"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "hyparquet", "package.json")); err == nil {
		return dir
	}
	cmd := exec.Command("npm", "install", "--no-audit", "--no-fund", "--prefix", dir, "hyparquet@1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm install hyparquet: %v\n%s", err, out)
	}
	return dir
}

func runJSON(t *testing.T, v any, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

type npyDump struct {
	File  string      `json:"file"`
	Shape []int       `json:"shape"`
	DType string      `json:"dtype"`
	Rows  [][]float64 `json:"rows"`
}

type parquetDump struct {
	File    string           `json:"file"`
	Columns []string         `json:"columns"`
	Rows    []map[string]any `json:"rows"`
}

// TestLayoutReadBack reads a layout written from tars back with numpy (as
// embedding-reader does) and hyparquet under Node, and checks file lists,
// shapes, dtypes, values and the alignment of embeddings and metadata rows.
func TestLayoutReadBack(t *testing.T) {
	m := loadModel(t)
	f := makeFixture(t)
	hp := hyparquet(t)
	for _, dt := range []DType{F32, F16} {
		t.Run(string(dt), func(t *testing.T) {
			out := t.TempDir()
			if _, err := Embed(context.Background(), m, Options{Input: f.tars, Out: out, DType: dt, OnError: func(error) {}}); err != nil {
				t.Fatal(err)
			}
			var imgs, txts []npyDump
			runJSON(t, &imgs, testutil.Python(), filepath.Join("testdata", "read_npy.py"), out, "img_emb")
			runJSON(t, &txts, testutil.Python(), filepath.Join("testdata", "read_npy.py"), out, "text_emb")
			var metas []parquetDump
			runJSON(t, &metas, "node", filepath.Join("testdata", "read_parquet.mjs"), hp, out)
			if len(imgs) != 3 || len(txts) != 3 || len(metas) != 3 {
				t.Fatalf("%d img, %d text, %d metadata files", len(imgs), len(txts), len(metas))
			}
			wantRows := []int{4, 3, 1}
			key := 0
			for i := range imgs {
				if want := fmt.Sprintf("img_emb_%d.npy", i); imgs[i].File != want || txts[i].File != fmt.Sprintf("text_emb_%d.npy", i) || metas[i].File != fmt.Sprintf("metadata_%d.parquet", i) {
					t.Errorf("files %s %s %s", imgs[i].File, txts[i].File, metas[i].File)
				}
				dim := m.Info().EmbedDim
				if fmt.Sprint(imgs[i].Shape) != fmt.Sprint([]int{wantRows[i], dim}) || imgs[i].DType != dt.descr() {
					t.Errorf("%s: %v %s", imgs[i].File, imgs[i].Shape, imgs[i].DType)
				}
				if len(txts[i].Rows) != wantRows[i] || len(metas[i].Rows) != wantRows[i] {
					t.Errorf("partition %d: %d text rows, %d metadata rows, want %d", i, len(txts[i].Rows), len(metas[i].Rows), wantRows[i])
				}
				// Values equal what goclip reads (float16 widened exactly).
				p := PartitionPaths(out, i, 3)
				got := readPart(t, p.ImgEmb)
				for r, row := range imgs[i].Rows {
					for c, v := range row {
						if float32(v) != got.At(r, c) {
							t.Fatalf("%s[%d,%d]: numpy %v, goclip %v", imgs[i].File, r, c, v, got.At(r, c))
						}
					}
				}
				cols := append([]string(nil), metas[i].Columns...)
				sort.Strings(cols)
				if want := "caption image_path ok source.name source.score tags width"; strings.Join(cols, " ") != want {
					t.Errorf("%s columns %v", metas[i].File, metas[i].Columns)
				}
				for r, row := range metas[i].Rows {
					k := key + r
					if row["image_path"] != fmt.Sprintf("img%d", k) || row["caption"] != f.captions[k] ||
						row["width"] != float64(100+k) || row["source.score"] != float64(k)+0.5 || row["ok"] != (k%2 == 0) ||
						row["tags"] != `["a","b"]` {
						t.Errorf("%s row %d: %v", metas[i].File, r, row)
					}
				}
				key += len(metas[i].Rows)
			}
		})
	}
}
