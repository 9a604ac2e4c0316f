package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/npy"
	"github.com/goclip/goclip/internal/report"
)

func searchCmd() *command {
	flags := append([]flagSpec{
		{name: "embeddings", kind: valueArg, usage: "features .npy written by embed --images-dir (its .jsonl beside it)"},
		{name: "text", kind: valueArg, usage: "the query text"},
		{name: "top", kind: valueArg, usage: "results to show (default 10)"},
		{name: "json", kind: boolArg, usage: `one JSON object a line: {"rank","file","score"}`},
		{name: "html", kind: valueArg, usage: "also write an HTML page with the top images as thumbnails"},
	}, modelFlags...)
	return &command{
		name:    "search",
		summary: "search embedded images for a text (exact cosine, brute force)",
		usage:   `search --model M --embeddings OUT.npy --text "query" [--top K] [--json] [--html PAGE.html]`,
		flags:   flags,
		run:     runSearch,
	}
}

func runSearch(ctx context.Context, e *env, a *parsedArgs) error {
	embPath, query := a.str("embeddings", ""), a.str("text", "")
	if embPath == "" || query == "" {
		return usagef("--embeddings and --text are required")
	}
	top, err := a.integer("top", 10)
	if err != nil {
		return err
	}
	arr, err := npy.ReadFile(embPath)
	if err != nil {
		return &exitError{code: 1, msg: err.Error()}
	}
	data, ok := arr.Data.([]float32)
	if !ok || len(arr.Shape) != 2 {
		return &exitError{code: 1, msg: fmt.Sprintf("%s: want float32 [N,D] features, got %s %v", embPath, arr.DType, arr.Shape)}
	}
	feats := clip.Matrix{Rows: arr.Shape[0], Cols: arr.Shape[1], Data: data}
	names, err := readIndexNames(clip.IndexPath(embPath), feats.Rows)
	if err != nil {
		return err
	}
	m, err := loadModel(ctx, e, a)
	if err != nil {
		return err
	}
	defer m.Close()
	if m.Info().EmbedDim != feats.Cols {
		return &exitError{code: 1, msg: fmt.Sprintf("%s holds %d-dimensional features; model %s makes %d", embPath, feats.Cols, m.Info().Name, m.Info().EmbedDim)}
	}
	q, err := m.EncodeTexts([]string{query})
	if err != nil {
		return err
	}
	hits, err := printRanking(e, a.bools["json"], q.Row(0), feats, names, top)
	if err != nil {
		return err
	}
	if page := a.str("html", ""); page != "" {
		return writePage(page, func(f *os.File) error {
			return report.WriteSearchPage(f, query, m.Info().Name, hits, report.PageOptions{Top: top, BaseDir: filepath.Dir(page)})
		})
	}
	return nil
}

// readIndexNames reads the file names of the rows from an embed index.
func readIndexNames(path string, rows int) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &exitError{code: 1, msg: fmt.Sprintf("%v (the index written beside the features)", err)}
	}
	defer f.Close()
	names := make([]string, rows)
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<24)
	n := 0
	for sc.Scan() {
		var e clip.IndexEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil || e.Row < 0 || e.Row >= rows {
			return nil, &exitError{code: 1, msg: fmt.Sprintf("%s: bad line %d", path, n+1)}
		}
		names[e.Row] = e.File
		n++
	}
	if n != rows {
		return nil, &exitError{code: 1, msg: fmt.Sprintf("%s names %d rows, the features have %d", path, n, rows)}
	}
	return names, sc.Err()
}
