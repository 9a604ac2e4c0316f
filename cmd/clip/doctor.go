package main

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/download"
	"github.com/goclip/goclip/internal/pyexport"
	"github.com/goclip/goclip/torch"
)

// shimCandidate is one place the shim was looked for.
type shimCandidate struct {
	Source string `json:"source"`
	Path   string `json:"path"`
	Status string `json:"status"` // "opened", "not tried: ...", or why it failed
}

// doctorReport is what "clip doctor" finds.
type doctorReport struct {
	Version       string          `json:"version"`
	Go            string          `json:"go"`
	Libtorch      string          `json:"libtorch"`
	LibtorchPath  string          `json:"libtorch_path"`
	ShimPath      string          `json:"shim_path"`
	ShimError     string          `json:"shim_error,omitempty"`
	ShimSearch    []shimCandidate `json:"shim_search"`
	CUDAAvailable bool            `json:"cuda_available"`
	CUDADevices   []string        `json:"cuda_devices"`
	TorchThreads  int             `json:"torch_threads"`
	GOMAXPROCS    int             `json:"gomaxprocs"`
	BLAS          string          `json:"blas"`
	CacheDir      string          `json:"cache_dir"`
	Vocab         string          `json:"vocab"`
	VocabSource   string          `json:"vocab_source"`
	VocabError    string          `json:"vocab_error,omitempty"`
	Python        string          `json:"python"`
	ExportScript  string          `json:"export_script"`
}

func doctorCmd() *command {
	return &command{
		name:    "doctor",
		summary: "report libtorch, CUDA, threads, and where the shim and the vocabulary were found",
		usage:   "doctor [--vocab FILE] [--json]",
		flags: []flagSpec{
			{name: "vocab", kind: valueArg, usage: "BPE vocabulary file (else $CLIP_VOCAB, else the cache)"},
			{name: "json", kind: boolArg, usage: "print one JSON object"},
		},
		run: func(ctx context.Context, e *env, a *parsedArgs) error {
			r := doctorReport{
				Version:    version,
				Go:         runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
				GOMAXPROCS: runtime.GOMAXPROCS(0),
				Python:     pyexport.Python(),
			}
			if err := torch.Init(); err != nil {
				r.ShimError = err.Error()
			} else {
				r.Libtorch = torch.Version()
				r.LibtorchPath = torch.LibtorchPath()
				r.ShimPath = torch.ShimPath()
				r.CUDAAvailable = torch.CUDAAvailable()
				r.TorchThreads = torch.NumThreads()
				r.BLAS = torch.BLAS()
			}
			opened := ""
			for _, c := range torch.LibrarySearch() {
				sc := shimCandidate{Source: c.Source, Path: c.Path, Status: "opened"}
				switch {
				case c.Err != nil:
					sc.Status = c.Err.Error()
				case !c.Opened:
					sc.Status = "not tried: " + opened + " was opened first"
				default:
					opened = c.Source
				}
				r.ShimSearch = append(r.ShimSearch, sc)
			}
			for i := 0; i < torch.CUDADeviceCount(); i++ {
				name, err := torch.CUDADeviceName(i)
				if err != nil {
					name = err.Error()
				}
				r.CUDADevices = append(r.CUDADevices, fmt.Sprintf("cuda:%d %s", i, name))
			}
			if d, err := download.CacheDir(); err == nil {
				r.CacheDir = d
			}
			path, src, err := clip.FindVocab(ctx, clip.VocabOptions{Path: a.str("vocab", ""), NoDownload: true})
			if err != nil {
				r.VocabError = err.Error()
			} else {
				r.Vocab, r.VocabSource = path, string(src)
			}
			if s, err := pyexport.Script(); err == nil {
				r.ExportScript = s
			}
			if a.bools["json"] {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			w := e.stdout
			fmt.Fprintf(w, "goclip      %s (%s)\n", r.Version, r.Go)
			if r.ShimError != "" {
				fmt.Fprintf(w, "shim        not loaded: models cannot run (tokenize and preprocess still work)\n")
			} else {
				fmt.Fprintf(w, "libtorch    %s (%s)\n", r.Libtorch, r.LibtorchPath)
				fmt.Fprintf(w, "shim        %s\n", r.ShimPath)
			}
			for i, c := range r.ShimSearch {
				label := ""
				if i == 0 {
					label = "search"
				}
				fmt.Fprintf(w, "  %-9s %-22s %s: %s\n", label, c.Source, c.Path, c.Status)
			}
			if r.CUDAAvailable {
				fmt.Fprintf(w, "CUDA        available, %d device(s)\n", len(r.CUDADevices))
				for _, d := range r.CUDADevices {
					fmt.Fprintf(w, "            %s\n", d)
				}
			} else {
				fmt.Fprintf(w, "CUDA        not available (CPU only)\n")
			}
			if r.ShimError != "" {
				fmt.Fprintf(w, "threads     GOMAXPROCS %d\n", r.GOMAXPROCS)
			} else {
				fmt.Fprintf(w, "threads     libtorch intra-op %d, GOMAXPROCS %d, BLAS %s\n", r.TorchThreads, r.GOMAXPROCS, orNone(r.BLAS))
			}
			fmt.Fprintf(w, "cache       %s\n", orNone(r.CacheDir))
			if r.VocabError != "" {
				fmt.Fprintf(w, "vocabulary  not found (downloaded on first use): %s\n", firstLine(r.VocabError))
			} else {
				fmt.Fprintf(w, "vocabulary  %s (from %s)\n", r.Vocab, r.VocabSource)
			}
			fmt.Fprintf(w, "exporter    %s %s\n", r.Python, orNone(r.ExportScript))
			if r.ShimError != "" {
				return &exitError{code: 1, msg: r.ShimError}
			}
			return nil
		},
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}
