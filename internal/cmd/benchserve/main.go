// Command benchserve is the load generator of scripts/bench_serve.sh: it
// sends /v1/embeddings requests (one text, or one JPEG, per request) to a
// server on loopback at several concurrencies for a bounded time and
// prints requests/s, items/s and p50/p99 latency; with -inprocess it runs
// the same work through the Go API at a fixed batch size instead.
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/goclip/goclip/clip"
)

var texts = []string{
	"a photo of a cat", "a dog running on a beach at sunset", "a red car parked in the street",
	"two people hiking in the mountains", "a bowl of fruit on a wooden table", "an old castle in the fog",
	"a child playing with a ball", "a city skyline at night", "a plate of spaghetti", "a sailing boat",
}

func main() {
	url := flag.String("url", "", "server base URL (http://127.0.0.1:PORT)")
	label := flag.String("label", "server", "name printed with the results")
	kind := flag.String("kind", "text", "text or image")
	images := flag.String("images", "", "folder of JPEGs for -kind image")
	conc := flag.String("c", "1,8,32,128", "concurrencies")
	dur := flag.Duration("duration", 8*time.Second, "time per concurrency")
	maxReq := flag.Int("max-requests", 20000, "request cap per concurrency")
	inproc := flag.Bool("inprocess", false, "run the Go API in this process instead of calling a server")
	model := flag.String("model", "", "with -inprocess: model directory")
	vocab := flag.String("vocab", "", "with -inprocess: BPE vocabulary")
	batch := flag.Int("batch", 32, "with -inprocess: batch size")
	device := flag.String("device", "cpu", "with -inprocess: cpu or cuda")
	flag.Parse()
	var jpegs [][]byte
	if *kind == "image" {
		files, _ := filepath.Glob(filepath.Join(*images, "*.jpg"))
		sort.Strings(files)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				fail(err)
			}
			jpegs = append(jpegs, b)
		}
		if len(jpegs) == 0 {
			fail(fmt.Errorf("no .jpg files in %q", *images))
		}
	}
	if *inproc {
		inProcess(*model, *vocab, *device, *kind, jpegs, *batch, *dur)
		return
	}
	var bodies [][]byte
	if *kind == "text" {
		for _, t := range texts {
			b, _ := json.Marshal(map[string]any{"input": []string{t}})
			bodies = append(bodies, b)
		}
	} else {
		for _, j := range jpegs {
			b, _ := json.Marshal(map[string]any{"input": []any{map[string]string{"type": "image", "image": "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(j)}}})
			bodies = append(bodies, b)
		}
	}
	for _, cs := range strings.Split(*conc, ",") {
		c, err := strconv.Atoi(cs)
		if err != nil {
			fail(err)
		}
		load(*label, *kind, *url, bodies, c, *dur, *maxReq)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchserve:", err)
	os.Exit(1)
}

// load runs c clients for d (or max requests) and prints one line.
func load(label, kind, url string, bodies [][]byte, c int, d time.Duration, max int) {
	hc := &http.Client{Timeout: 120 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: c, MaxConnsPerHost: c}}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var mu sync.Mutex
	var lat []time.Duration
	errs, sent := 0, 0
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; ctx.Err() == nil; i += c {
				mu.Lock()
				if sent >= max {
					mu.Unlock()
					return
				}
				sent++
				mu.Unlock()
				t0 := time.Now()
				resp, err := hc.Post(url+"/v1/embeddings", "application/json", bytes.NewReader(bodies[i%len(bodies)]))
				ok := err == nil && resp.StatusCode == 200
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				el := time.Since(t0)
				mu.Lock()
				if ok {
					lat = append(lat, el)
				} else {
					errs++
				}
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	wall := time.Since(start).Seconds()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / 1e6
	}
	fmt.Printf("%-8s %-5s c=%-4d req/s=%8.1f items/s=%8.1f p50=%8.1fms p99=%8.1fms errors=%d\n",
		label, kind, c, float64(len(lat))/wall, float64(len(lat))/wall, pct(0.50), pct(0.99), errs)
}

// inProcess runs the Go API at batch size b for d: decoding and
// preprocessing on all cores, then one model call per batch.
func inProcess(dir, vocab, device, kind string, jpegs [][]byte, b int, d time.Duration) {
	ctx := context.Background()
	m, err := clip.Load(ctx, dir, clip.WithDevice(device), clip.WithVocab(vocab))
	if err != nil {
		fail(err)
	}
	defer m.Close()
	pre := m.Preprocessor()
	buf := make([]float32, b*pre.TensorLen())
	items := 0
	start := time.Now()
	for time.Since(start) < d {
		if kind == "text" {
			batch := make([]string, b)
			for i := range batch {
				batch[i] = texts[(items+i)%len(texts)]
			}
			rows, err := m.Tokenize(ctx, batch)
			if err != nil {
				fail(err)
			}
			if _, err := m.EncodeText(rows); err != nil {
				fail(err)
			}
		} else {
			batch := make([][]byte, b)
			for i := range batch {
				batch[i] = jpegs[(items+i)%len(jpegs)]
			}
			for _, err := range pre.BatchBytes(ctx, batch, buf) {
				if err != nil {
					fail(err)
				}
			}
			if _, err := m.EncodeImage(buf, b); err != nil {
				fail(err)
			}
		}
		items += b
	}
	wall := time.Since(start).Seconds()
	fmt.Printf("%-8s %-5s batch=%-3d items/s=%8.1f (batch latency %.1fms)\n", "go-api", kind, b, float64(items)/wall, 1000*wall/float64(items/b))
}
