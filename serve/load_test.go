package serve

import (
	"bytes"
	"encoding/json"
	"image/color"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/goclip/goclip/internal/testutil"
)

// request is one test request and the embeddings it must get.
type loadCase struct {
	body []byte
	bad  bool
	want [][]float32 // answered alone
}

// loadCases builds good requests (texts, images, both) and malformed ones.
func loadCases(t *testing.T, url string) []loadCase {
	t.Helper()
	files, _ := goldenFiles(t)
	var imgs []any
	for _, f := range files[2:] { // the small PNGs: the load stays quick
		imgs = append(imgs, map[string]any{"type": "image", "image": dataURI(t, f)})
	}
	for i, c := range []color.RGBA{{200, 0, 0, 255}, {0, 200, 0, 255}, {0, 0, 200, 255}} {
		imgs = append(imgs, map[string]any{"type": "image", "image": pngURI(t, 50+20*i, 40+10*i, c)})
	}
	texts := []any{"a photo of a cat", "a dog", "一只猫坐在垫子上", "red", "a blue square on white", "hello world"}
	var cases []loadCase
	add := func(input []any) {
		b, _ := json.Marshal(map[string]any{"input": input, "normalize": false, "encoding_format": "base64"})
		code, out, _ := do(t, url+"/v1/embeddings", "application/json", b)
		if code != 200 {
			t.Fatalf("reference request: %d %v", code, out)
		}
		cases = append(cases, loadCase{body: b, want: vectors(t, out)})
	}
	for i, x := range texts {
		add([]any{x})
		add([]any{x, texts[(i+1)%len(texts)]})
	}
	for i, im := range imgs {
		add([]any{im})
		add([]any{texts[i%len(texts)], im})
	}
	bad := []string{
		`{"input":`,
		`{"input":[{"type":"image","image":"data:image/png;base64,aGVsbG8="}]}`,
		`{"input":"x","dimensions":3}`,
		`{"input":["fine",{"type":"image","image":"data:;base64,!!"}]}`,
		`{"input":[[1,2,99999]]}`,
	}
	for _, b := range bad {
		cases = append(cases, loadCase{body: []byte(b), bad: true})
	}
	return cases
}

// TestFixedBatchLoadIndependent: with FixedBatch, the same inputs give
// bit-identical embeddings alone and inside heavy mixed load.
func TestFixedBatchLoadIndependent(t *testing.T) {
	for _, name := range []string{"tiny-vit", "tiny_rn"} {
		t.Run(name, func(t *testing.T) {
			_, url := startServer(t, Options{MaxBatchSize: 8, FixedBatch: true, MaxQueue: 4096, MaxQueueDelay: 2 * time.Millisecond}, name)
			cases := loadCases(t, url) // each answered alone
			res := runLoad(t, url, cases, 600, 16)
			if res.wrong > 0 || res.badOK > 0 || res.other > 0 {
				t.Errorf("under load: %d answers differ in some bit, %d malformed requests answered 200, %d other statuses", res.wrong, res.badOK, res.other)
			}
			t.Logf("%d requests, %d good and bit-identical", res.n, res.good)
		})
	}
}

// TestMixedLoad sends 10,000 requests, 5% malformed, at concurrency 16:
// every good answer equals the answer alone (fixed batch), every bad one
// is a 4xx, and the resident memory stays flat.
func TestMixedLoad(t *testing.T) {
	_, url := startServer(t, Options{MaxBatchSize: 8, FixedBatch: true, MaxQueue: 4096}, "tiny-vit")
	cases := loadCases(t, url)
	runLoad(t, url, cases, 300, 16) // warm: allocator and pools reach their working size
	before, ok := testutil.RSS()
	start := time.Now()
	res := runLoad(t, url, cases, 10000, 16)
	after, _ := testutil.RSS()
	t.Logf("10000 requests in %v: %d good, %d bad (4xx); RSS %d MB -> %d MB", time.Since(start).Round(time.Millisecond), res.good, res.bad4xx, before>>20, after>>20)
	if res.wrong > 0 || res.badOK > 0 || res.other > 0 {
		t.Errorf("%d wrong answers, %d malformed requests answered 200, %d other statuses", res.wrong, res.badOK, res.other)
	}
	if res.bad4xx < 400 || res.good < 9000 {
		t.Errorf("mix: %d good, %d bad", res.good, res.bad4xx)
	}
	if ok && after-before > 40<<20 {
		t.Errorf("RSS grew by %d MB over 10,000 requests", (after-before)>>20)
	}
}

type loadResult struct{ n, good, wrong, bad4xx, badOK, other int }

// runLoad sends n requests (one in 20 malformed) over conc connections.
func runLoad(t *testing.T, url string, cases []loadCase, n, conc int) loadResult {
	t.Helper()
	var good, bad []loadCase
	for _, c := range cases {
		if c.bad {
			bad = append(bad, c)
		} else {
			good = append(good, c)
		}
	}
	var mu sync.Mutex
	var res loadResult
	res.n = n
	next := make(chan int)
	var wg sync.WaitGroup
	hc := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conc}}
	for w := 0; w < conc; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				var c loadCase
				if i%20 == 7 {
					c = bad[(i/20)%len(bad)]
				} else {
					c = good[i%len(good)]
				}
				resp, err := hc.Post(url+"/v1/embeddings", "application/json", bytes.NewReader(c.body))
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				mu.Lock()
				switch {
				case c.bad && resp.StatusCode >= 400 && resp.StatusCode < 500:
					res.bad4xx++
				case c.bad && resp.StatusCode == 200:
					res.badOK++
				case !c.bad && resp.StatusCode == 200:
					var out map[string]any
					dec := json.NewDecoder(bytes.NewReader(b))
					dec.UseNumber()
					if dec.Decode(&out) != nil || !equalRows(vectors(t, out), c.want) {
						res.wrong++
					} else {
						res.good++
					}
				default:
					res.other++
					if res.other < 5 {
						t.Logf("status %d: %s", resp.StatusCode, b)
					}
				}
				mu.Unlock()
			}
		}()
	}
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return res
}
