package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/goclip/goclip/collection"
	"github.com/goclip/goclip/internal/report"
)

// runSearchLayout searches every partition of a clip-retrieval layout
// folder, one partition in memory at a time, showing the metadata columns.
func runSearchLayout(ctx context.Context, e *env, a *parsedArgs, dir, query string, top int) error {
	if _, err := collection.ListParts(dir); err != nil {
		return &exitError{code: 1, msg: err.Error()}
	}
	m, q, err := loadQueryModel(ctx, e, a, query)
	if err != nil {
		return err
	}
	defer m.Close()
	noteRandom(e, m, a.bools["json"])
	hits, err := collection.Search(dir, q, top)
	if err != nil {
		return &exitError{code: 1, msg: err.Error()}
	}
	out := bufio.NewWriter(e.stdout)
	pageHits := make([]report.SearchHit, len(hits))
	for i, h := range hits {
		pageHits[i] = report.SearchHit{Rank: i + 1, File: h.File, Score: h.Score}
		keys := make([]string, 0, len(h.Fields))
		for k := range h.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if a.bools["json"] {
			obj := map[string]any{"rank": i + 1, "file": h.File, "score": h.Score, "row": h.Row}
			for _, k := range keys {
				if _, taken := obj[k]; !taken {
					obj[k] = h.Fields[k]
				}
			}
			line, _ := json.Marshal(obj)
			out.Write(line)
			out.WriteByte('\n')
			continue
		}
		var extra []string
		for _, k := range keys {
			extra = append(extra, k+"="+strings.ReplaceAll(h.Fields[k], "\n", " "))
		}
		fmt.Fprintf(out, "%3d  %.4f  %s  %s\n", i+1, h.Score, h.File, strings.Join(extra, "  "))
	}
	if err := out.Flush(); err != nil {
		return err
	}
	if page := a.str("html", ""); page != "" {
		return writePage(e, page, func(f *os.File) error {
			return report.WriteSearchPage(f, query, m.Info().Name, pageHits, pageOptions(m, top, page))
		})
	}
	return nil
}
