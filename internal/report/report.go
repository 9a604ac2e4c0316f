// Package report writes self-contained HTML pages for the results of the
// clip command line: "clip search --html" (the best matching images for a
// text query, with their similarity scores) and "clip classify --html" (each
// image with probability bars over the user's labels).
//
// The pages use no JavaScript and load nothing from the network. With
// ThumbEmbed (the default) every thumbnail is a small JPEG stored in the page
// as a data: URI, so the file can be mailed or archived on its own; with
// ThumbLink the page refers to the original image files by relative paths.
//
// Everything supplied by the user (query, model name, file names, labels) is
// escaped by html/template. A page carries a Content-Security-Policy that
// forbids scripts and network loads other than images.
package report

import (
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sort"
)

// ThumbnailMode says how a page shows the images.
type ThumbnailMode int

const (
	// ThumbEmbed decodes every image, scales it to at most 256 pixels on
	// its long side and embeds it in the page as a JPEG data: URI. The page
	// is then self-contained. An image that cannot be read or decoded is
	// shown as a placeholder box saying "unreadable". It is the zero value
	// and therefore the default.
	ThumbEmbed ThumbnailMode = iota
	// ThumbLink refers to each image with an <img src> holding the path of
	// the image relative to PageOptions.BaseDir. The images are not read.
	ThumbLink
)

// String returns "embed" or "link".
func (m ThumbnailMode) String() string {
	switch m {
	case ThumbEmbed:
		return "embed"
	case ThumbLink:
		return "link"
	}
	return fmt.Sprintf("ThumbnailMode(%d)", int(m))
}

// PageOptions controls how a page is written. The zero value is usable.
type PageOptions struct {
	// Title is the page title and main heading. When empty a default is
	// used ("Search: <query>" or "Classification").
	Title string
	// Top limits the output: for a search page, at most Top hits are shown
	// (the first Top in the order given); for a classification page, each
	// card shows the Top most probable labels. Zero means all; negative is
	// an error.
	Top int
	// Thumbnail selects embedded thumbnails (ThumbEmbed, the default) or
	// links to the image files (ThumbLink).
	Thumbnail ThumbnailMode
	// BaseDir is the directory the page will be written to. With ThumbLink
	// the image paths are made relative to it; empty means the current
	// directory. Relative file names and a relative BaseDir are both taken
	// relative to the current directory. It is not used with ThumbEmbed.
	BaseDir string
	// Notice, when not empty, is shown as a banner above the results: a
	// warning the reader must not miss (for example that the model has
	// random weights, so its results mean nothing).
	Notice string
}

// SearchHit is one result of a text-to-image search.
type SearchHit struct {
	// Rank is the 1-based position shown on the card; zero means "use the
	// position in the slice".
	Rank int
	// File is the image's path (absolute, or relative to the current
	// directory).
	File string
	// Score is the similarity between the query and the image, shown with
	// four decimals.
	Score float32
}

// Classification is the zero-shot classification of one image.
type Classification struct {
	// File is the image's path (absolute, or relative to the current
	// directory).
	File string
	// Labels are the candidate labels in the order the user gave them.
	Labels []string
	// Probs holds one probability per label, in the same order as Labels.
	Probs []float32
}

// WriteSearchPage writes an HTML page for the results of a search for query
// with the named model: one card per hit, in the order given, showing the
// thumbnail, the rank, the file name and the score.
//
// An image that cannot be read (ThumbEmbed) gives a placeholder on its card,
// not an error; errors are returned for invalid options and when writing to
// w fails.
func WriteSearchPage(w io.Writer, query string, model string, hits []SearchHit, opts PageOptions) (err error) {
	defer recoverError(&err)
	if err := checkArgs(w, opts); err != nil {
		return err
	}
	if opts.Top > 0 && len(hits) > opts.Top {
		hits = hits[:opts.Top]
	}
	title := opts.Title
	if title == "" {
		title = "Search: " + query
	}
	p := page{Title: title, Kind: "search", Query: query, HasQuery: true, Model: model, Notice: opts.Notice, Cards: make([]card, len(hits))}
	files := make([]string, len(hits))
	for i, h := range hits {
		rank := h.Rank
		if rank == 0 {
			rank = i + 1
		}
		files[i] = h.File
		p.Cards[i] = card{
			File:  h.File,
			Name:  filepath.Base(h.File),
			Rank:  rank,
			Score: formatScore(h.Score),
		}
	}
	if err := fillThumbs(p.Cards, files, opts); err != nil {
		return err
	}
	return render(w, &p)
}

// WriteClassifyPage writes an HTML page for zero-shot classification results
// of the named model: one card per image, in the order given, showing the
// thumbnail, the file name and horizontal bars for the opts.Top most
// probable labels (all when opts.Top is 0), sorted by decreasing
// probability, with the percentage. Labels of equal probability keep the
// user's order; NaN probabilities sort last.
//
// It returns an error when a result has different numbers of labels and
// probabilities, for invalid options, and when writing to w fails; an image
// that cannot be read (ThumbEmbed) gives a placeholder on its card instead.
func WriteClassifyPage(w io.Writer, model string, results []Classification, opts PageOptions) (err error) {
	defer recoverError(&err)
	if err := checkArgs(w, opts); err != nil {
		return err
	}
	title := opts.Title
	if title == "" {
		title = "Classification"
	}
	p := page{Title: title, Kind: "classify", Model: model, Notice: opts.Notice, Cards: make([]card, len(results))}
	files := make([]string, len(results))
	for i, r := range results {
		if len(r.Labels) != len(r.Probs) {
			return fmt.Errorf("report: result %d (%q) has %d labels but %d probabilities", i, r.File, len(r.Labels), len(r.Probs))
		}
		files[i] = r.File
		p.Cards[i] = card{
			File:   r.File,
			Name:   filepath.Base(r.File),
			Rank:   i + 1,
			Labels: topLabels(r.Labels, r.Probs, opts.Top),
		}
	}
	if err := fillThumbs(p.Cards, files, opts); err != nil {
		return err
	}
	return render(w, &p)
}

// checkArgs validates what both page writers share.
func checkArgs(w io.Writer, opts PageOptions) error {
	if w == nil {
		return errors.New("report: nil writer")
	}
	if opts.Top < 0 {
		return fmt.Errorf("report: negative Top %d", opts.Top)
	}
	if opts.Thumbnail != ThumbEmbed && opts.Thumbnail != ThumbLink {
		return fmt.Errorf("report: unknown thumbnail mode %v", opts.Thumbnail)
	}
	return nil
}

// recoverError turns a panic (from an io.Writer supplied by the caller, for
// instance) into an error so that none escapes the public API.
func recoverError(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("report: internal error: %v", r)
	}
}

// labelRow is one bar of a classification card.
type labelRow struct {
	Label string
	Pct   string // "42.5%", or "NaN"
	Width string // bar width in percent, "0" to "100"
}

// topLabels returns the k most probable labels (all when k is 0) sorted by
// decreasing probability; ties keep their order and NaN sorts last.
func topLabels(labels []string, probs []float32, k int) []labelRow {
	idx := make([]int, len(labels))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		pa, pb := probs[idx[a]], probs[idx[b]]
		if isNaN(pb) {
			return !isNaN(pa)
		}
		return pa > pb
	})
	if k > 0 && len(idx) > k {
		idx = idx[:k]
	}
	rows := make([]labelRow, len(idx))
	for i, j := range idx {
		p := float64(probs[j])
		row := labelRow{Label: labels[j], Pct: "NaN", Width: "0"}
		if !math.IsNaN(p) {
			row.Pct = fmt.Sprintf("%.1f%%", 100*p)
			row.Width = fmt.Sprintf("%.1f", 100*math.Max(0, math.Min(1, p)))
		}
		rows[i] = row
	}
	return rows
}

func isNaN(f float32) bool { return f != f }

// formatScore prints a similarity score with four decimals.
func formatScore(s float32) string {
	return fmt.Sprintf("%.4f", s)
}
