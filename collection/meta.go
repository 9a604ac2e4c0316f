package collection

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"

	"github.com/parquet-go/parquet-go"
)

// flattenJSON parses a JSON object and flattens nested objects into
// dot-joined keys, as pandas.json_normalize does for clip-retrieval.
// Arrays are kept as their JSON text.
func flattenJSON(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("trailing data after the object")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("want an object, got %T", v)
	}
	out := map[string]any{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok && len(sub) > 0 {
				walk(prefix+k+".", sub)
				continue
			}
			if arr, ok := v.([]any); ok {
				t, _ := json.Marshal(arr)
				v = string(t)
			}
			if sub, ok := v.(map[string]any); ok && len(sub) == 0 {
				v = "{}"
			}
			out[prefix+k] = v
		}
	}
	walk("", obj)
	return out, nil
}

// reservedColumns are the metadata keys dropped because the layout's own
// columns have those names (as clip-retrieval drops them).
var reservedColumns = map[string]bool{"image_path": true, "caption": true, "metadata": true}

// metaRow is one row of a partition's metadata table.
type metaRow struct {
	key        string
	caption    string
	hasCaption bool
	meta       map[string]any
}

type colKind int

const (
	kindNull colKind = iota
	kindBool
	kindInt
	kindFloat
	kindString
)

func valueKind(v any) colKind {
	switch x := v.(type) {
	case nil:
		return kindNull
	case bool:
		return kindBool
	case json.Number:
		if _, err := x.Int64(); err == nil {
			return kindInt
		}
		return kindFloat
	default:
		return kindString
	}
}

// joinKinds is the column type holding values of kinds a and b.
func joinKinds(a, b colKind) colKind {
	switch {
	case a == kindNull:
		return b
	case b == kindNull, a == b:
		return a
	case (a == kindInt && b == kindFloat) || (a == kindFloat && b == kindInt):
		return kindFloat
	default:
		return kindString
	}
}

// writeMetadata writes rows as a Parquet table: image_path, caption (when
// any row has one), then the metadata keys in sorted order, typed as
// boolean, int64, double or string (a column of mixed types as strings),
// nulls where a row lacks the key.
func writeMetadata(w io.Writer, rows []metaRow) error {
	kinds := map[string]colKind{}
	withCaption := false
	for _, r := range rows {
		withCaption = withCaption || r.hasCaption
		for k, v := range r.meta {
			if !reservedColumns[k] {
				kinds[k] = joinKinds(kinds[k], valueKind(v))
			}
		}
	}
	keys := make([]string, 0, len(kinds))
	for k := range kinds {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	group := parquet.Group{"image_path": parquet.String()}
	if withCaption {
		group["caption"] = parquet.Optional(parquet.String())
	}
	for _, k := range keys {
		var n parquet.Node
		switch kinds[k] {
		case kindBool:
			n = parquet.Leaf(parquet.BooleanType)
		case kindInt:
			n = parquet.Int(64)
		case kindFloat:
			n = parquet.Leaf(parquet.DoubleType)
		default:
			n = parquet.String()
		}
		group[k] = parquet.Optional(n)
	}
	schema := parquet.NewSchema("schema", group)
	pw := parquet.NewWriter(w, schema, parquet.Compression(&parquet.Snappy))
	cols := schema.Columns()
	batch := make([]parquet.Row, 0, 1024)
	for _, r := range rows {
		row := make(parquet.Row, len(cols))
		for ci, path := range cols {
			name := path[0]
			switch {
			case name == "image_path":
				row[ci] = parquet.ValueOf(r.key).Level(0, 0, ci)
			case name == "caption":
				if r.hasCaption {
					row[ci] = parquet.ValueOf(r.caption).Level(0, 1, ci)
				} else {
					row[ci] = parquet.NullValue().Level(0, 0, ci)
				}
			default:
				row[ci] = metaValue(r.meta[name], kinds[name]).Level(0, 1, ci)
				if r.meta[name] == nil {
					row[ci] = parquet.NullValue().Level(0, 0, ci)
				}
			}
		}
		batch = append(batch, row)
		if len(batch) == cap(batch) {
			if _, err := pw.WriteRows(batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if _, err := pw.WriteRows(batch); err != nil {
		return err
	}
	return pw.Close()
}

// metaValue converts a JSON value to the column's type.
func metaValue(v any, k colKind) parquet.Value {
	switch k {
	case kindBool:
		if b, ok := v.(bool); ok {
			return parquet.ValueOf(b)
		}
	case kindInt:
		if n, ok := v.(json.Number); ok {
			i, _ := n.Int64()
			return parquet.ValueOf(i)
		}
	case kindFloat:
		if n, ok := v.(json.Number); ok {
			f, err := n.Float64()
			if err != nil {
				f = math.NaN()
			}
			return parquet.ValueOf(f)
		}
	}
	switch x := v.(type) {
	case string:
		return parquet.ValueOf(x)
	case json.Number:
		return parquet.ValueOf(x.String())
	default:
		b, _ := json.Marshal(x)
		return parquet.ValueOf(string(b))
	}
}
