package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/internal/report"
)

func classifyCmd() *command {
	flags := append([]flagSpec{
		{name: "labels", kind: valueArg, usage: `comma-separated labels, "a,b,c"`},
		{name: "labels-file", kind: valueArg, usage: "labels, one a line"},
		{name: "template", kind: valueArg, usage: `prompt template with {} for the label (repeatable; default "a photo of a {}."; "{}" uses labels as they are)`},
		{name: "templates", kind: valueArg, usage: "a built-in template set: imagenet (the reference notebook's 80)"},
		{name: "top", kind: valueArg, usage: "labels shown per image in the table (default 5)"},
		{name: "json", kind: boolArg, usage: `one JSON object a line per image: {"file","labels","probs"}`},
		{name: "html", kind: valueArg, usage: "also write an HTML page with thumbnails and probability bars"},
	}, modelFlags...)
	return &command{
		name:       "classify",
		summary:    "zero-shot classification of images over labels (softmax of logit_scale·cosine)",
		usage:      `classify --model M [--device D] --labels "a,b,c" [--template T]... [--templates imagenet] [--top K] [--json] [--html PAGE] IMAGE...`,
		flags:      flags,
		positional: true,
		run:        runClassify,
	}
}

// readLabels collects labels from --labels and --labels-file.
func readLabels(a *parsedArgs) ([]string, error) {
	var labels []string
	if v := a.str("labels", ""); v != "" {
		for _, l := range strings.Split(v, ",") {
			labels = append(labels, strings.TrimSpace(l))
		}
	}
	if p := a.str("labels-file", ""); p != "" {
		f, err := os.Open(p)
		if err != nil {
			return nil, &exitError{code: 1, msg: err.Error()}
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); l != "" {
				labels = append(labels, l)
			}
		}
		if err := sc.Err(); err != nil {
			return nil, err
		}
	}
	if len(labels) == 0 {
		return nil, usagef("give labels with --labels \"a,b,c\" or --labels-file F")
	}
	return labels, nil
}

func readTemplates(a *parsedArgs) ([]string, error) {
	templates := append([]string(nil), a.values["template"]...)
	switch set := a.str("templates", ""); set {
	case "":
	case "imagenet":
		templates = append(templates, clip.ImageNetTemplates()...)
	default:
		return nil, usagef("unknown template set %q (known: imagenet)", set)
	}
	return templates, nil
}

func runClassify(ctx context.Context, e *env, a *parsedArgs) error {
	labels, err := readLabels(a)
	if err != nil {
		return err
	}
	templates, err := readTemplates(a)
	if err != nil {
		return err
	}
	top, err := a.integer("top", 5)
	if err != nil {
		return err
	}
	files := a.positional
	if len(files) == 0 {
		return usagef("no images given")
	}
	m, err := loadModel(ctx, e, a)
	if err != nil {
		return err
	}
	defer m.Close()
	c, err := m.NewClassifier(ctx, labels, templates...)
	if err != nil {
		return err
	}
	preds, errs, err := c.ClassifyFiles(ctx, files)
	if err != nil {
		return err
	}
	random := m.Info().RandomWeights
	noteRandom(e, m, a.bools["json"])
	failed := 0
	out := bufio.NewWriter(e.stdout)
	defer out.Flush()
	var tw *tabwriter.Writer
	if !a.bools["json"] {
		tw = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "FILE\tRANK\tLABEL\tPROB\n")
	}
	var pageResults []report.Classification
	for i, f := range files {
		if errs[i] != nil {
			failed++
			fmt.Fprintf(e.stderr, "clip classify: %s\n", fileMessage(f, errs[i]))
			continue
		}
		p := preds[i]
		pageResults = append(pageResults, report.Classification{File: f, Labels: labels, Probs: p.Probs})
		if a.bools["json"] {
			line, _ := json.Marshal(struct {
				File          string    `json:"file"`
				Labels        []string  `json:"labels"`
				Probs         []float32 `json:"probs"`
				RandomWeights bool      `json:"random_weights,omitempty"`
			}{f, labels, p.Probs, random})
			out.Write(line)
			out.WriteByte('\n')
			continue
		}
		for r, lp := range p.TopK(top) {
			name := f
			if r > 0 {
				name = ""
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%6.2f%%\n", name, r+1, lp.Label, 100*lp.Prob)
		}
	}
	if tw != nil {
		tw.Flush()
	}
	if page := a.str("html", ""); page != "" {
		if err := writePage(e, page, func(f *os.File) error {
			return report.WriteClassifyPage(f, m.Info().Name, pageResults, pageOptions(m, top, page))
		}); err != nil {
			return err
		}
	}
	if failed > 0 {
		out.Flush()
		return &exitError{code: 1, msg: fmt.Sprintf("%d of %d images could not be read", failed, len(files))}
	}
	return nil
}

// randomNote is what every output says about a model with random weights.
const randomNote = "model %s has random weights (a demo or test model): its labels and scores mean nothing"

// noteRandom says on stderr, for table output, that the model's weights
// are random (JSON lines carry "random_weights": true instead).
func noteRandom(e *env, m *clip.Model, jsonOut bool) {
	if m.Info().RandomWeights && !jsonOut {
		fmt.Fprintf(e.stderr, "note: "+randomNote+"\n", m.Info().Name)
	}
}

// pageOptions are the HTML page options for the model's results.
func pageOptions(m *clip.Model, top int, page string) report.PageOptions {
	opt := report.PageOptions{Top: top, BaseDir: filepath.Dir(page)}
	if m.Info().RandomWeights {
		opt.Notice = "Note: " + fmt.Sprintf(randomNote, m.Info().Name) + "."
	}
	return opt
}

// writePage creates path, fills it with write and says where it wrote it.
func writePage(e *env, path string, write func(*os.File) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "wrote %s\n", path)
	return nil
}

func rankCmd() *command {
	flags := append([]flagSpec{
		{name: "text", kind: valueArg, usage: "the query text"},
		{name: "json", kind: boolArg, usage: `one JSON object a line: {"rank","file","score"}`},
		{name: "top", kind: valueArg, usage: "show only the best K (default all)"},
		{name: "html", kind: valueArg, usage: "also write an HTML page with the ranked images as thumbnails"},
	}, modelFlags...)
	return &command{
		name:       "rank",
		summary:    "rank images by cosine similarity to a text",
		usage:      `rank --model M --text "query" [--json] [--top K] [--html PAGE.html] IMAGE...`,
		flags:      flags,
		positional: true,
		run:        runRank,
	}
}

func runRank(ctx context.Context, e *env, a *parsedArgs) error {
	query := a.str("text", "")
	if query == "" {
		return usagef("--text is required")
	}
	files := a.positional
	if len(files) == 0 {
		return usagef("no images given")
	}
	top, err := a.integer("top", 0)
	if err != nil {
		return err
	}
	m, q, err := loadQueryModel(ctx, e, a, query)
	if err != nil {
		return err
	}
	defer m.Close()
	feats, errs, err := m.EncodeImageFiles(ctx, files)
	if err != nil {
		return err
	}
	var good []string
	var rows clip.Matrix
	rows.Cols = feats.Cols
	for i, f := range files {
		if errs[i] != nil {
			fmt.Fprintf(e.stderr, "clip rank: %s\n", fileMessage(f, errs[i]))
			continue
		}
		good = append(good, f)
		rows.Data = append(rows.Data, feats.Row(i)...)
		rows.Rows++
	}
	noteRandom(e, m, a.bools["json"])
	hits, err := printRanking(e, a.bools["json"], m.Info().RandomWeights, q, rows, good, top)
	if err != nil {
		return err
	}
	if page := a.str("html", ""); page != "" {
		if err := writePage(e, page, func(f *os.File) error {
			opt := pageOptions(m, top, page)
			opt.Title = "Rank: " + query
			return report.WriteSearchPage(f, query, m.Info().Name, hits, opt)
		}); err != nil {
			return err
		}
	}
	if len(good) < len(files) {
		return &exitError{code: 1, msg: fmt.Sprintf("%d of %d images could not be read", len(files)-len(good), len(files))}
	}
	return nil
}

// printRanking ranks feats by cosine similarity to query, keeps the best top
// (0: all), prints them (a table, or JSON lines, with "random_weights":
// true when random is) and returns them as hits.
func printRanking(e *env, jsonOut, random bool, query []float32, feats clip.Matrix, names []string, top int) ([]report.SearchHit, error) {
	ranked, err := clip.Rank(query, feats)
	if err != nil {
		return nil, err
	}
	if top > 0 && top < len(ranked) {
		ranked = ranked[:top]
	}
	out := bufio.NewWriter(e.stdout)
	defer out.Flush()
	hits := make([]report.SearchHit, len(ranked))
	for i, r := range ranked {
		hits[i] = report.SearchHit{Rank: i + 1, File: names[r.Index], Score: r.Score}
		if jsonOut {
			obj := map[string]any{"rank": i + 1, "file": names[r.Index], "score": r.Score}
			if random {
				obj["random_weights"] = true
			}
			line, _ := json.Marshal(obj)
			out.Write(line)
			out.WriteByte('\n')
		} else {
			fmt.Fprintf(out, "%3d  %.4f  %s\n", i+1, r.Score, names[r.Index])
		}
	}
	return hits, nil
}
