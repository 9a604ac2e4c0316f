package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"
)

func benchCmd() *command {
	flags := append([]flagSpec{
		{name: "what", kind: valueArg, usage: "image (default) or text"},
		{name: "iters", kind: valueArg, usage: "timed calls (default 20)"},
		{name: "warmup", kind: valueArg, usage: "untimed calls first (default 3)"},
		{name: "u8", kind: boolArg, usage: "images as resized RGB bytes (EncodeImageU8: normalised on the device)"},
	}, modelFlags...)
	return &command{
		name:    "bench",
		summary: "time the model on random inputs of one batch size; prints one JSON object",
		usage:   "bench --model M [--device D] [--precision P] [--batch-size B] [--what image|text] [--iters K]",
		flags:   flags,
		run:     runBench,
	}
}

// benchResult is what "clip bench" prints.
type benchResult struct {
	Model       string  `json:"model"`
	Device      string  `json:"device"`
	Precision   string  `json:"precision"`
	What        string  `json:"what"`
	Input       string  `json:"input"`
	Batch       int     `json:"batch"`
	Iters       int     `json:"iters"`
	ItemsPerSec float64 `json:"items_per_s"`
	MeanMs      float64 `json:"mean_ms"`
	MedianMs    float64 `json:"median_ms"`
	MinMs       float64 `json:"min_ms"`
}

func runBench(ctx context.Context, e *env, a *parsedArgs) error {
	what := a.str("what", "image")
	if what != "image" && what != "text" {
		return usagef("--what is image or text")
	}
	iters, err := a.integer("iters", 20)
	if err != nil {
		return err
	}
	if iters <= 0 {
		return usagef("--iters must be positive")
	}
	warm, err := a.integer("warmup", 3)
	if err != nil {
		return err
	}
	m, err := loadModel(ctx, e, a)
	if err != nil {
		return err
	}
	defer m.Close()
	info := m.Info()
	b := m.BatchSize()
	rng := rand.New(rand.NewPCG(1, 2))
	var call func() error
	input := "float32"
	if what == "image" && a.bools["u8"] {
		input = "uint8"
		r := info.ImageResolution
		px := make([]uint8, b*r*r*3)
		for i := range px {
			px[i] = uint8(rng.IntN(256))
		}
		call = func() error { _, err := m.EncodeImageU8(px, b); return err }
	} else if what == "image" {
		r := info.ImageResolution
		px := make([]float32, b*3*r*r)
		for i := range px {
			px[i] = float32(rng.NormFloat64())
		}
		call = func() error { _, err := m.EncodeImage(px, b); return err }
	} else {
		l := info.ContextLength
		tok := make([]int32, b*l)
		for i := 0; i < b; i++ {
			n := 5 + rng.IntN(l-6)
			tok[i*l] = 49406
			for j := 1; j <= n; j++ {
				tok[i*l+j] = int32(rng.IntN(49405))
			}
			tok[i*l+n+1] = 49407
		}
		call = func() error { _, err := m.EncodeTokens(tok, b, l); return err }
		input = "int32"
	}
	for i := 0; i < warm; i++ {
		if err := call(); err != nil {
			return err
		}
	}
	times := make([]float64, iters)
	start := time.Now()
	for i := range times {
		t0 := time.Now()
		if err := call(); err != nil {
			return err
		}
		times[i] = float64(time.Since(t0).Microseconds()) / 1000
	}
	total := time.Since(start).Seconds()
	sort.Float64s(times)
	res := benchResult{
		Model: info.Name, Device: info.Device.String(), Precision: string(info.Precision), What: what, Input: input,
		Batch: b, Iters: iters, ItemsPerSec: float64(b*iters) / total,
		MeanMs: total * 1000 / float64(iters), MedianMs: times[len(times)/2], MinMs: times[0],
	}
	out, _ := json.Marshal(res)
	fmt.Fprintln(e.stdout, string(out))
	return nil
}
