package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"

	"github.com/goclip/goclip/npy"
	"github.com/goclip/goclip/preprocess"
)

func preprocessCmd() *command {
	return &command{
		name:    "preprocess",
		summary: "preprocess images exactly like the reference's _transform(N) into one .npy",
		usage:   "preprocess --size N -o OUT.npy [--u8] FILE...",
		flags: []flagSpec{
			{name: "size", kind: valueArg, usage: "n_px, the model's input resolution (224, 288, 336, 384, 448)"},
			{name: "o", kind: valueArg, usage: "output .npy: float32 [len(FILE),3,N,N]"},
			{name: "u8", kind: boolArg, usage: "write uint8 [len(FILE),N,N,3] after resize, crop and RGB instead"},
			{name: "max-pixels", kind: valueArg, usage: "decompression-bomb limit in pixels (default Pillow's 89478485; error at twice it; 0 disables)"},
		},
		positional: true,
		run:        runPreprocess,
	}
}

func runPreprocess(ctx context.Context, e *env, a *parsedArgs) error {
	size, err := a.integer("size", 0)
	if err != nil {
		return err
	}
	if size <= 0 {
		return usagef("--size N is required (a positive integer)")
	}
	out := a.str("o", "")
	if out == "" {
		return usagef("-o OUT.npy is required")
	}
	files := a.positional
	if len(files) == 0 {
		return usagef("no input files")
	}
	var opts []preprocess.Option
	if v := a.str("max-pixels", ""); v != "" {
		n, err := a.integer("max-pixels", 0)
		if err != nil {
			return err
		}
		opts = append(opts, preprocess.WithMaxPixels(int64(n)))
	}
	pre := preprocess.New(size, opts...)
	if a.bools["u8"] {
		buf := make([]uint8, len(files)*size*size*3)
		if err := firstFileError(files, pre.BatchFilesU8(ctx, files, buf)); err != nil {
			return err
		}
		return npy.WriteFile(out, []int{len(files), size, size, 3}, buf)
	}
	buf := make([]float32, len(files)*3*size*size)
	if err := firstFileError(files, pre.BatchFiles(ctx, files, buf)); err != nil {
		return err
	}
	return npy.WriteFile(out, []int{len(files), 3, size, size}, buf)
}

// firstFileError returns an exit error naming the first file that failed.
func firstFileError(files []string, errs []error) error {
	for i, err := range errs {
		if err != nil {
			return &exitError{code: 1, msg: fileMessage(files[i], err)}
		}
	}
	return nil
}

// fileMessage is "FILE: error", without repeating the file when the error
// already names it.
func fileMessage(file string, err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) && filepath.Clean(pe.Path) == filepath.Clean(file) {
		return file + ": " + pe.Err.Error()
	}
	msg := err.Error()
	if strings.HasPrefix(msg, file+":") {
		return msg
	}
	return file + ": " + msg
}
