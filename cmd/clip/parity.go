package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/internal/parity"
	"github.com/goclip/goclip/internal/report"
)

func parityCmd() *command {
	return &command{
		name:    "parity",
		summary: "check goclip against PyTorch on this machine, stage by stage (tokens, pixels, features, logits, probabilities)",
		usage:   `parity --model M [--checkpoint F] [--device D] [--precision P] [--images FILES|--images-dir D] [--texts-file F] [--html report.html] [--json] [--tol "stage=value,..."]`,
		flags: []flagSpec{
			{name: "model", kind: valueArg, usage: "official name (ViT-B/32, RN50, ...) or export directory"},
			{name: "checkpoint", kind: valueArg, usage: "the original checkpoint the reference loads (default: the manifest's source, or an official name's cached download)"},
			{name: "device", kind: valueArg, usage: "auto (default), cpu, cuda or cuda:N"},
			{name: "precision", kind: valueArg, usage: "auto (default: fp16 on CUDA, fp32 on CPU), fp32 or fp16"},
			{name: "images", kind: multiArg, usage: "image files (default: the built-in demo images)"},
			{name: "images-dir", kind: valueArg, usage: "a folder of images"},
			{name: "texts-file", kind: valueArg, usage: "texts, one a line (default: 8 built-in texts)"},
			{name: "html", kind: valueArg, usage: "also write an HTML page with the stage table and the worst images"},
			{name: "json", kind: boolArg, usage: "print the report as one JSON object"},
			{name: "tol", kind: valueArg, usage: "tolerances by stage, \"encode_image=1e-4,probs=1e-3\" (stages: " + strings.Join(parity.Stages, ", ") + ")"},
			{name: "vocab", kind: valueArg, usage: "BPE vocabulary file (else $CLIP_VOCAB, else the cache, else download)"},
			{name: "threads", kind: valueArg, usage: "intra-op threads of both sides (default: the cores this process may use, at most 16)"},
		},
		run: runParity,
	}
}

func runParity(ctx context.Context, e *env, a *parsedArgs) error {
	model := a.str("model", "")
	if model == "" {
		return usagef("--model is required (one of %v, or an export directory)", clip.AvailableModels())
	}
	images := a.values["images"]
	if d := a.str("images-dir", ""); d != "" {
		if len(images) > 0 {
			return usagef("give --images or --images-dir, not both")
		}
		var err error
		rel, err := clip.ListImages(d, nil)
		if err != nil {
			return err
		}
		if len(rel) == 0 {
			return &exitError{code: 1, msg: "no images in " + d}
		}
		for _, r := range rel {
			images = append(images, filepath.Join(d, r))
		}
	}
	if len(images) == 0 { // the demo images, kept until the page is written
		dir, err := os.MkdirTemp("", "goclip-parity-images-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		if images, err = parity.WriteDemoImages(dir); err != nil {
			return err
		}
	}
	var texts []string
	if f := a.str("texts-file", ""); f != "" {
		var err error
		if texts, err = readLines(f); err != nil {
			return &exitError{code: 1, msg: err.Error()}
		}
		if len(texts) == 0 {
			return &exitError{code: 1, msg: "no texts in " + f}
		}
	}
	threads, err := a.integer("threads", 0)
	if err != nil {
		return err
	}
	if threads < 0 {
		return usagef("--threads must not be negative")
	}
	if threads == 0 {
		threads = defaultThreads()
	}
	tolSpec := a.str("tol", "")
	if err := parity.ParseTolerances(tolSpec, parity.DefaultTolerances(false, false)); err != nil {
		return usagef("--tol: %v", err)
	}
	opts := []clip.Option{
		clip.WithDevice(a.str("device", "auto")),
		clip.WithPrecision(clip.Precision(a.str("precision", "auto"))),
		clip.WithProgress(progressWriter(e)),
	}
	if v := a.str("vocab", ""); v != "" {
		opts = append(opts, clip.WithVocab(v))
	}
	rep, err := parity.Run(ctx, parity.Options{
		Model: model, Checkpoint: a.str("checkpoint", ""), LoadOptions: opts,
		Images: images, Texts: texts, TolSpec: tolSpec, Threads: threads, Version: version,
	})
	if errors.Is(err, parity.ErrNoCheckpoint) {
		return &exitError{code: 1, msg: err.Error()}
	}
	if err != nil {
		return err
	}
	if a.bools["json"] {
		enc := json.NewEncoder(e.stdout)
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else if err := rep.WriteText(e.stdout); err != nil {
		return err
	}
	if page := a.str("html", ""); page != "" {
		if err := writePage(e, page, func(f *os.File) error { return report.WriteParityPage(f, parityPage(rep), report.PageOptions{}) }); err != nil {
			return err
		}
	}
	if !rep.Passed() {
		return &exitError{code: 1, msg: "FAIL: first failing stage " + rep.FirstFailure}
	}
	return nil
}

// parityPage turns a parity report into the report package's page data.
func parityPage(r *parity.Report) report.Parity {
	v := r.Versions
	p := report.Parity{
		Model: r.Model, Verdict: r.Verdict, FirstFailure: r.FirstFailure,
		Versions: [][2]string{
			{"goclip", v.Goclip}, {"libtorch", v.Libtorch}, {"reference", v.Reference},
			{"python torch", v.PythonTorch}, {"torchvision", v.Torchvision}, {"CUDA", v.CUDA},
			{"device", v.Device + " " + v.Precision + " (" + v.DeviceName + ")"},
			{"artifact sha256", v.ArtifactSHA256}, {"checkpoint", v.Checkpoint}, {"checkpoint sha256", v.CheckpointSHA256},
		},
	}
	if r.RandomWeights {
		p.Notice = "Note: " + fmt.Sprintf(randomNote, r.Model) + "; the comparison is still exact."
	}
	for _, s := range r.Stages {
		row := report.ParityStage{Name: s.Name, Status: s.Status, Note: s.Note, Tolerance: s.Tolerance.String()}
		if s.Status != parity.StatusNotChecked {
			row.MaxAbs, row.MaxRel = fmt.Sprintf("%.3g", s.MaxAbs), fmt.Sprintf("%.3g", s.MaxRel)
			row.Identical = fmt.Sprintf("%d/%d", s.RowsIdentical, s.Rows)
		}
		for _, w := range s.Worst {
			row.Worst = append(row.Worst, fmt.Sprintf("%s %.3g", w.Input, w.MaxAbs))
			if w.File != "" && len(p.WorstImages) < 6 && !hasImage(p.WorstImages, w.File) {
				p.WorstImages = append(p.WorstImages, report.ParityImage{File: w.File, Stage: s.Name, MaxAbs: w.MaxAbs})
			}
		}
		p.Stages = append(p.Stages, row)
	}
	return p
}

func hasImage(imgs []report.ParityImage, f string) bool {
	for _, i := range imgs {
		if i.File == f {
			return true
		}
	}
	return false
}

// readLines reads the non-blank lines of a file (without line ends).
func readLines(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) != "" {
			out = append(out, sc.Text())
		}
	}
	return out, sc.Err()
}
