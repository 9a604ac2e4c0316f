package main

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/internal/parity"
	"github.com/goclip/goclip/internal/pyexport"
)

// defaultParityTexts is the built-in text set: captions, the demo labels,
// an empty text, a literal end token, non-Latin scripts, emoji, HTML
// entities, mojibake and a text longer than the context (truncated).
var defaultParityTexts = []string{
	"a photo of a cat",
	"a red circle",
	"a blue square",
	"a green triangle",
	"",
	"hello <|endoftext|> world",
	"一只猫的照片",
	"👨‍👩‍👧 family at the beach",
	"Caf\u00e9 &amp; cr\u00e8me br\u00fbl\u00e9e",
	"doesnâ€™t fix itself",
	strings.Repeat("a very long caption that goes on ", 12),
}

func parityCmd() *command {
	return &command{
		name:    "parity",
		summary: "compare goclip with PyTorch (official clip package, else the export module) stage by stage on this machine",
		usage:   "parity --model M [--checkpoint F] [--device D] [--precision P] [--images FILES|--images-dir D] [--texts-file F] [--html report.html] [--json] [--tol [STAGE=]V]...",
		flags: []flagSpec{
			{name: "model", kind: valueArg, usage: "official name (ViT-B/32, RN50, ...) or export directory"},
			{name: "checkpoint", kind: valueArg, usage: "original checkpoint for the reference (default: the official name's download, else the manifest's source)"},
			{name: "device", kind: valueArg, usage: "auto (default), cpu, cuda or cuda:N (both sides)"},
			{name: "precision", kind: valueArg, usage: "auto (default: fp16 on CUDA, fp32 on CPU), fp32 or fp16"},
			{name: "images", kind: multiArg, usage: "image files (default: the demo images in testdata/images)"},
			{name: "images-dir", kind: valueArg, usage: "every image below DIR (each side runs all images as one batch: keep it to tens)"},
			{name: "texts-file", kind: valueArg, usage: "texts, one a line (default: a built-in set)"},
			{name: "html", kind: valueArg, usage: "also write an HTML page with the stage table and the images"},
			{name: "json", kind: boolArg, usage: "print the report as JSON"},
			{name: "tol", kind: valueArg, usage: "tolerance, max|diff|/max|ref|: STAGE=V (tokens, pixels, encode_image, encode_text, logits, probs) or V for all float stages; repeatable"},
		},
		run: runParity,
	}
}

func runParity(ctx context.Context, e *env, a *parsedArgs) error {
	model := a.str("model", "")
	if model == "" {
		return usagef("--model is required (one of %v, or an export directory)", clip.AvailableModels())
	}
	if len(a.positional) > 0 {
		return usagef("unexpected argument %q (images go after --images)", a.positional[0])
	}
	if err := parity.ParseTolerances(parity.Tolerances{}, a.values["tol"]); err != nil {
		return usagef("--tol: %v", err)
	}
	script, err := pyexport.Script()
	if err != nil {
		return err
	}
	exportDir := filepath.Dir(script)
	images, err := parityImages(a, exportDir)
	if err != nil {
		return err
	}
	texts, err := parityTexts(a)
	if err != nil {
		return err
	}
	rep, err := parity.Run(ctx, parity.Options{
		Model: model, Checkpoint: a.str("checkpoint", ""),
		Device: a.str("device", ""), Precision: a.str("precision", ""),
		Images: images, Texts: texts, Tol: a.values["tol"],
		Python: pyexport.Python(), RefScript: filepath.Join(exportDir, "parity_ref.py"),
		Version:     version,
		LoadOptions: []clip.Option{clip.WithProgress(progressWriter(e))},
	})
	if err != nil {
		return err
	}
	out := bufio.NewWriter(e.stdout)
	if a.bools["json"] {
		err = rep.WriteJSON(out)
	} else {
		err = rep.WriteText(out)
	}
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return err
	}
	if page := a.str("html", ""); page != "" {
		if err := writePage(e, page, func(f *os.File) error { return rep.WriteHTML(f, filepath.Dir(page)) }); err != nil {
			return err
		}
	}
	if !rep.Pass {
		msg := "" // the text report ends with the verdict already
		if a.bools["json"] {
			msg = rep.Verdict()
		}
		return &exitError{code: 1, msg: msg}
	}
	return nil
}

// parityImages returns --images, the files below --images-dir, or the demo
// images of testdata/images beside export/.
func parityImages(a *parsedArgs, exportDir string) ([]string, error) {
	files := a.values["images"]
	if dir := a.str("images-dir", ""); dir != "" {
		if len(files) > 0 {
			return nil, usagef("give --images or --images-dir, not both")
		}
		list, err := clip.ListImages(dir, nil)
		if err != nil {
			return nil, err
		}
		for _, f := range list {
			files = append(files, filepath.Join(dir, f))
		}
		if len(files) == 0 {
			return nil, &exitError{code: 1, msg: "no images below " + dir}
		}
	}
	if len(files) > 0 {
		for _, f := range files {
			if st, err := os.Stat(f); err != nil {
				return nil, &exitError{code: 1, msg: err.Error()}
			} else if !st.Mode().IsRegular() {
				return nil, &exitError{code: 1, msg: f + ": not a regular file"}
			}
		}
		return files, nil
	}
	demo := filepath.Join(filepath.Dir(exportDir), "testdata", "images")
	files, err := clip.ListImages(demo, nil)
	if err != nil || len(files) == 0 {
		return nil, usagef("no --images given and the demo images (%s) are not there", demo)
	}
	for i, f := range files {
		files[i] = filepath.Join(demo, f)
	}
	return files, nil
}

// parityTexts returns the lines of --texts-file (blank lines kept: an empty
// text is a valid input), or the built-in set.
func parityTexts(a *parsedArgs) ([]string, error) {
	p := a.str("texts-file", "")
	if p == "" {
		return defaultParityTexts, nil
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, &exitError{code: 1, msg: err.Error()}
	}
	s := strings.TrimSuffix(strings.ReplaceAll(string(b), "\r\n", "\n"), "\n")
	if s == "" {
		return nil, &exitError{code: 1, msg: p + " holds no texts"}
	}
	return strings.Split(s, "\n"), nil
}
