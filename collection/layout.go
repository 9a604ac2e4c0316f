package collection

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/npy"
)

// Part is one written partition of a layout folder.
type Part struct {
	Name     string // the zero-padded partition number
	ImgEmb   string // img_emb/img_emb_{Name}.npy
	Metadata string // metadata/metadata_{Name}.parquet
}

// IsLayout reports whether dir looks like a clip-retrieval layout folder
// (it has an img_emb folder).
func IsLayout(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, "img_emb"))
	return err == nil && st.IsDir()
}

// ListParts lists the partitions of a layout folder in the order
// embedding-reader reads them: the img_emb files sorted by name, each with
// the metadata file of the same number.
func ListParts(dir string) ([]Part, error) {
	embs, err := filepath.Glob(filepath.Join(dir, "img_emb", "img_emb_*.npy"))
	if err != nil {
		return nil, err
	}
	sort.Strings(embs)
	if len(embs) == 0 {
		return nil, fmt.Errorf("collection: %s has no img_emb/img_emb_*.npy", dir)
	}
	parts := make([]Part, len(embs))
	for i, e := range embs {
		name := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(e), "img_emb_"), ".npy")
		meta := filepath.Join(dir, "metadata", "metadata_"+name+".parquet")
		if _, err := os.Stat(meta); err != nil {
			return nil, fmt.Errorf("collection: %s has no metadata beside it: %w", e, err)
		}
		parts[i] = Part{Name: name, ImgEmb: e, Metadata: meta}
	}
	return parts, nil
}

// ReadEmbeddings reads a partition's embeddings as float32 (widening
// float16).
func ReadEmbeddings(path string) (clip.Matrix, error) {
	arr, err := npy.ReadFile(path)
	if err != nil {
		return clip.Matrix{}, err
	}
	if len(arr.Shape) != 2 || (arr.DType != "<f4" && arr.DType != "<f2") {
		return clip.Matrix{}, fmt.Errorf("collection: %s: want [N,D] float16 or float32, got %s %v", path, arr.DType, arr.Shape)
	}
	data, err := arr.Float32()
	if err != nil {
		return clip.Matrix{}, fmt.Errorf("collection: %s: %w", path, err)
	}
	return clip.Matrix{Rows: arr.Shape[0], Cols: arr.Shape[1], Data: data}, nil
}

// Table is a metadata table read back: column names and one string per
// cell ("" for nulls).
type Table struct {
	Columns []string
	Rows    [][]string
}

// Column returns the index of the named column, or -1.
func (t Table) Column(name string) int {
	for i, c := range t.Columns {
		if c == name {
			return i
		}
	}
	return -1
}

// ReadMetadata reads a partition's metadata parquet.
func ReadMetadata(path string) (Table, error) {
	f, err := os.Open(path)
	if err != nil {
		return Table{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Table{}, err
	}
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		return Table{}, fmt.Errorf("collection: %s: %w", path, err)
	}
	var t Table
	for _, c := range pf.Schema().Columns() {
		t.Columns = append(t.Columns, strings.Join(c, "."))
	}
	r := parquet.NewReader(pf)
	defer r.Close()
	buf := make([]parquet.Row, 256)
	for {
		n, err := r.ReadRows(buf)
		for _, row := range buf[:n] {
			cells := make([]string, len(t.Columns))
			for _, v := range row {
				if c := v.Column(); c >= 0 && c < len(cells) && !v.IsNull() {
					cells[c] = valueString(v)
				}
			}
			t.Rows = append(t.Rows, cells)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return Table{}, fmt.Errorf("collection: %s: %w", path, err)
		}
	}
	return t, nil
}

func valueString(v parquet.Value) string {
	switch v.Kind() {
	case parquet.ByteArray, parquet.FixedLenByteArray:
		return string(v.ByteArray())
	default:
		return v.String()
	}
}
