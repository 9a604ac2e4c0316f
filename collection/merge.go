package collection

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sort"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/internal/atomicfile"
)

// Merge concatenates a layout folder's partitions, in embedding-reader's
// order, into one float32 [N, D] .npy at out and, beside it, the index
// clip.IndexPath(out) that embed --images-dir writes: one JSON line per
// row with "row", "file" (the image_path) and the other metadata columns.
// Memory is bounded by one partition. It returns the number of rows.
func Merge(dir, out string) (int, error) {
	parts, err := ListParts(dir)
	if err != nil {
		return 0, err
	}
	var emb *npyStream
	idx := clip.IndexPath(out)
	err = atomicfile.Write(idx, func(f *os.File) error {
		w := bufio.NewWriterSize(f, 1<<20)
		row := 0
		for _, p := range parts {
			feats, err := ReadEmbeddings(p.ImgEmb)
			if err != nil {
				return err
			}
			tab, err := ReadMetadata(p.Metadata)
			if err != nil {
				return err
			}
			if len(tab.Rows) != feats.Rows {
				return fmt.Errorf("collection: %s has %d rows, %s has %d", p.ImgEmb, feats.Rows, p.Metadata, len(tab.Rows))
			}
			if emb == nil {
				if emb, err = createNpy(out, F32, feats.Cols); err != nil {
					return err
				}
			}
			if feats.Cols != emb.cols {
				return fmt.Errorf("collection: %s has %d columns, earlier partitions %d", p.ImgEmb, feats.Cols, emb.cols)
			}
			if err := emb.write(feats.Data); err != nil {
				return err
			}
			for _, cells := range tab.Rows {
				line, _ := json.Marshal(indexLine(row, tab.Columns, cells))
				w.Write(line)
				w.WriteByte('\n')
				row++
			}
		}
		return w.Flush()
	})
	if err != nil {
		if emb != nil {
			emb.abort()
		}
		return 0, err
	}
	return emb.rows, emb.finish()
}

// indexFields are clip.IndexEntry's JSON fields, which metadata columns
// must not overwrite.
var indexFields = map[string]bool{"row": true, "file": true, "dir": true, "size": true, "mtime_ns": true}

// indexLine is one row's index entry: row, file and the metadata columns
// (empty ones left out).
func indexLine(row int, cols, cells []string) map[string]any {
	m := map[string]any{"row": row}
	for i, c := range cols {
		switch {
		case c == "image_path":
			m["file"] = cells[i]
		case cells[i] != "" && !indexFields[c]:
			m[c] = cells[i]
		}
	}
	return m
}

// Hit is one search result over a layout folder.
type Hit struct {
	Row    int               // position in the whole collection
	Part   string            // the partition's number
	Score  float32           // cosine similarity to the query
	File   string            // the image_path column
	Fields map[string]string // the other non-empty metadata columns
}

// Search ranks every row of a layout folder by cosine similarity to query
// and returns the best k (all when k <= 0), ties in collection order. It
// reads one partition at a time, so memory is bounded by a partition plus
// the k best.
func Search(dir string, query []float32, k int) ([]Hit, error) {
	parts, err := ListParts(dir)
	if err != nil {
		return nil, err
	}
	var best []Hit
	byPart := map[string][]int{} // partition -> indexes into best
	starts := map[string]int{}   // partition -> its first row
	base := 0
	for _, p := range parts {
		starts[p.Name] = base
		feats, err := ReadEmbeddings(p.ImgEmb)
		if err != nil {
			return nil, err
		}
		if feats.Cols != len(query) {
			return nil, fmt.Errorf("collection: %s holds %d-dimensional embeddings, the query has %d", p.ImgEmb, feats.Cols, len(query))
		}
		ranked, err := clip.Rank(query, feats)
		if err != nil {
			return nil, err
		}
		if k > 0 && len(ranked) > k {
			ranked = ranked[:k]
		}
		for _, r := range ranked {
			best = append(best, Hit{Row: base + r.Index, Part: p.Name, Score: r.Score})
		}
		sort.SliceStable(best, func(a, b int) bool {
			if best[a].Score != best[b].Score {
				return best[a].Score > best[b].Score
			}
			return best[a].Row < best[b].Row
		})
		if k > 0 && len(best) > k {
			best = best[:k]
		}
		base += feats.Rows
	}
	for i, h := range best {
		byPart[h.Part] = append(byPart[h.Part], i)
	}
	for _, p := range parts {
		ids := byPart[p.Name]
		if len(ids) == 0 {
			continue
		}
		tab, err := ReadMetadata(p.Metadata)
		if err != nil {
			return nil, err
		}
		for _, i := range ids {
			r := best[i].Row - starts[p.Name]
			if r >= len(tab.Rows) {
				return nil, fmt.Errorf("collection: %s has fewer rows than %s", p.Metadata, p.ImgEmb)
			}
			best[i].Fields = map[string]string{}
			for c, name := range tab.Columns {
				switch {
				case name == "image_path":
					best[i].File = tab.Rows[r][c]
				case tab.Rows[r][c] != "":
					best[i].Fields[name] = tab.Rows[r][c]
				}
			}
		}
	}
	return best, nil
}
