package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/collection"
	"github.com/goclip/goclip/internal/report"
	"github.com/goclip/goclip/npy"
)

func searchCmd() *command {
	flags := append([]flagSpec{
		{name: "embeddings", kind: multiArg, usage: "features .npy written by embed --images-dir (its .jsonl beside it); several (shards) are searched together; or one clip-retrieval layout folder"},
		{name: "text", kind: valueArg, usage: "the query text"},
		{name: "top", kind: valueArg, usage: "results to show (default 10)"},
		{name: "json", kind: boolArg, usage: `one JSON object a line: {"rank","file","score"}`},
		{name: "html", kind: valueArg, usage: "also write an HTML page with the top images as thumbnails"},
	}, modelFlags...)
	return &command{
		name:    "search",
		summary: "search embedded images for a text (exact cosine, brute force)",
		usage:   `search --model M --embeddings OUT.npy... --text "query" [--top K] [--json] [--html PAGE.html]`,
		flags:   flags,
		argHint: `quote a text with spaces: --text "a rocket at night"`,
		run:     runSearch,
	}
}

func runSearch(ctx context.Context, e *env, a *parsedArgs) error {
	embPaths, query := a.values["embeddings"], a.str("text", "")
	if len(embPaths) == 0 || query == "" {
		return usagef("--embeddings and --text are required")
	}
	top, err := a.integer("top", 10)
	if err != nil {
		return err
	}
	if len(embPaths) == 1 && collection.IsLayout(embPaths[0]) {
		return runSearchLayout(ctx, e, a, embPaths[0], query, top)
	}
	feats, names, err := readEmbeddings(embPaths)
	if err != nil {
		return err
	}
	m, q, err := loadQueryModel(ctx, e, a, query)
	if err != nil {
		return err
	}
	defer m.Close()
	if m.Info().EmbedDim != feats.Cols {
		return &exitError{code: 1, msg: fmt.Sprintf("%s holds %d-dimensional features; model %s makes %d", embPaths[0], feats.Cols, m.Info().Name, m.Info().EmbedDim)}
	}
	noteRandom(e, m, a.bools["json"])
	hits, err := printRanking(e, a.bools["json"], m.Info().RandomWeights, q, feats, names, top)
	if err != nil {
		return err
	}
	if page := a.str("html", ""); page != "" {
		return writePage(e, page, func(f *os.File) error {
			return report.WriteSearchPage(f, query, m.Info().Name, hits, pageOptions(m, top, page))
		})
	}
	return nil
}

// readEmbeddings reads the features of one or more embed --images-dir
// outputs (shards) and the paths of their rows' files, resolved against the
// folder each index records.
func readEmbeddings(paths []string) (clip.Matrix, []string, error) {
	var feats clip.Matrix
	var names []string
	for _, p := range paths {
		arr, err := npy.ReadFile(p)
		if err != nil {
			return clip.Matrix{}, nil, &exitError{code: 1, msg: err.Error()}
		}
		data, ok := arr.Data.([]float32)
		if !ok || len(arr.Shape) != 2 {
			return clip.Matrix{}, nil, &exitError{code: 1, msg: fmt.Sprintf("%s: want float32 [N,D] features, got %s %v", p, arr.DType, arr.Shape)}
		}
		if feats.Cols != 0 && arr.Shape[1] != feats.Cols {
			return clip.Matrix{}, nil, &exitError{code: 1, msg: fmt.Sprintf("%s holds %d-dimensional features, %s %d", p, arr.Shape[1], paths[0], feats.Cols)}
		}
		rowNames, err := readIndexNames(clip.IndexPath(p), arr.Shape[0])
		if err != nil {
			return clip.Matrix{}, nil, err
		}
		feats.Cols = arr.Shape[1]
		feats.Rows += arr.Shape[0]
		feats.Data = append(feats.Data, data...)
		names = append(names, rowNames...)
	}
	return feats, names, nil
}

// readIndexNames reads the file paths of the rows from an embed index.
func readIndexNames(path string, rows int) ([]string, error) {
	entries, err := clip.ReadIndex(path)
	if err != nil {
		return nil, &exitError{code: 1, msg: fmt.Sprintf("%s (the index written beside the features)", strings.TrimPrefix(err.Error(), "clip: "))}
	}
	names := make([]string, rows)
	for i, e := range entries {
		if e.Row < 0 || e.Row >= rows || names[e.Row] != "" {
			return nil, &exitError{code: 1, msg: fmt.Sprintf("%s: bad line %d", path, i+1)}
		}
		names[e.Row] = e.Path()
	}
	if len(entries) != rows {
		return nil, &exitError{code: 1, msg: fmt.Sprintf("%s names %d rows, the features have %d", path, len(entries), rows)}
	}
	return names, nil
}
