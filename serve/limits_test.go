package serve

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// pngURI is a data URI of a w×h PNG of one colour.
func pngURI(t testing.TB, w, h int, c color.RGBA) string {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes())
}

// TestBadInputs: every malformed request gets its 4xx with the error
// shape, naming the item; the server keeps answering.
func TestBadInputs(t *testing.T) {
	_, url := startServer(t, Options{MaxBatchSize: 4, MaxItems: 3, MaxRequestBytes: 64 << 10, MaxPixels: 100 * 100, APIKey: ""}, "tiny-vit")
	good := pngURI(t, 40, 30, color.RGBA{200, 10, 10, 255})
	bomb := pngURI(t, 101, 100, color.RGBA{1, 2, 3, 255})
	for _, tc := range []struct {
		name  string
		body  string
		code  int
		param string
	}{
		{"dimensions", `{"input":"a cat","dimensions":16}`, 400, "dimensions"},
		{"not JSON", `{"input":`, 400, "body"},
		{"no input", `{}`, 400, "input"},
		{"bad item type", `{"input":[{"type":"video"}]}`, 400, "input[0]"},
		{"bad base64 at index 1", `{"input":[{"type":"image","image":"` + good + `"},{"type":"image","image":"data:image/png;base64,@@"}]}`, 400, "input[1]"},
		{"not an image at index 2", `{"input":["a","b",{"type":"image","image":"data:image/png;base64,` + base64.StdEncoding.EncodeToString([]byte("hello")) + `"}]}`, 400, "input[2]"},
		{"decompression bomb", `{"input":[{"type":"image","image":"` + good + `"},{"type":"image","image":"` + bomb + `"}]}`, 400, "input[1]"},
		{"url fetch disabled", `{"input":[{"type":"image","image":"http://127.0.0.1:1/x.png"}]}`, 400, "input[0]"},
		{"too many items", `{"input":["a","b","c","d"]}`, 400, "input"},
		{"token out of vocabulary", `{"input":[[49406, 60000, 49407]]}`, 400, "input[0]"},
		{"too many tokens", `{"input":[` + strings.Repeat("1,", 80) + `1]}`, 400, "input"},
		{"text too long", `{"input":["ok","` + strings.Repeat("word ", 100) + `"]}`, 400, "input[1]"},
		{"bad encoding", `{"input":"x","encoding_format":"int8"}`, 400, "encoding_format"},
		{"unknown model", `{"model":"RN50","input":"x"}`, 404, "model"},
		{"too large", `{"input":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "<nil>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, _ := do(t, url+"/v1/embeddings", "application/json", []byte(tc.body))
			if code != tc.code {
				t.Fatalf("status %d, want %d: %v", code, tc.code, out)
			}
			e, ok := out["error"].(map[string]any)
			if !ok || e["message"] == "" || e["type"] == nil {
				t.Fatalf("error shape: %v", out)
			}
			for _, k := range []string{"message", "type", "param", "code"} {
				if _, ok := e[k]; !ok {
					t.Errorf("error lacks %q: %v", k, e)
				}
			}
			if p := errorParam(out); p != tc.param {
				t.Errorf("param %q, want %q (%v)", p, tc.param, e["message"])
			}
		})
	}
	// The bomb's message names the limit; the server still answers.
	_, out, _ := post(t, url+"/v1/embeddings", map[string]any{"input": []any{map[string]any{"type": "image", "image": bomb}}})
	if msg := fmt.Sprint(out["error"].(map[string]any)["message"]); !strings.Contains(msg, "input[0]") || !strings.Contains(msg, "decompression bomb") {
		t.Errorf("bomb message: %s", msg)
	}
	if code, _, _ := post(t, url+"/v1/embeddings", map[string]any{"input": []any{"ok", map[string]any{"type": "image", "image": good}}}); code != 200 {
		t.Errorf("a good request after the bad ones: %d", code)
	}
}

func TestAPIKey(t *testing.T) {
	_, url := startServer(t, Options{APIKey: "s3cret"}, "tiny-vit")
	for _, tc := range []struct {
		auth string
		code int
	}{{"", 401}, {"Bearer wrong", 401}, {"s3cret", 401}, {"Bearer s3cret", 200}} {
		req, _ := http.NewRequest("POST", url+"/v1/embeddings", strings.NewReader(`{"input":"a"}`))
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("Authorization %q: %d, want %d", tc.auth, resp.StatusCode, tc.code)
		}
	}
	// health and the page need no key
	for _, p := range []string{"/health/live", "/health/ready", "/"} {
		resp, err := client.Get(url + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d", p, resp.StatusCode)
		}
	}
}

// TestNotReady: before SetReady, ready and the API answer 503, live 200.
func TestNotReady(t *testing.T) {
	s := New(Options{})
	url := startHandler(t, s)
	for p, want := range map[string]int{"/health/live": 200, "/health/ready": 503, "/v1/models": 503} {
		resp, err := client.Get(url + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", p, resp.StatusCode, want)
		}
	}
}

// TestOverload: a tiny queue under a burst gives only 200s and 429s (with
// Retry-After).
func TestOverload(t *testing.T) {
	_, url := startServer(t, Options{MaxBatchSize: 1, MaxQueue: 2}, "tiny-vit")
	img := pngURI(t, 300, 200, color.RGBA{10, 200, 10, 255})
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, _, hdr := post(t, url+"/v1/embeddings", map[string]any{"input": []any{map[string]any{"type": "image", "image": img}}})
			if code == 429 && hdr.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	t.Logf("status counts: %v", codes)
	if codes[200] == 0 || codes[429] == 0 || codes[200]+codes[429] != 64 {
		t.Errorf("want only 200s and 429s, some of each: %v", codes)
	}
}

// TestClientsVanish: clients that give up mid-request (while their items
// are queued or being decoded) leave the server healthy: the queue empties,
// later requests are answered, and dropped items are counted as 499.
func TestClientsVanish(t *testing.T) {
	s, url := startServer(t, Options{MaxBatchSize: 2, MaxQueue: 1000}, "tiny-vit")
	img := pngURI(t, 640, 480, color.RGBA{10, 10, 200, 255})
	body := []byte(`{"input":[{"type":"image","image":"` + img + `"},{"type":"image","image":"` + img + `"},"a text"]}`)
	var wg sync.WaitGroup
	var gone atomic.Int64
	for i := 0; i < 60; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(1+i%10)*time.Millisecond)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "POST", url+"/v1/embeddings", bytes.NewReader(body))
			resp, err := client.Do(req)
			if err != nil {
				if errors.Is(err, context.DeadlineExceeded) {
					gone.Add(1)
				}
				return
			}
			resp.Body.Close()
		}(i)
	}
	wg.Wait()
	if gone.Load() == 0 {
		t.Fatal("no client gave up; the test did not exercise anything")
	}
	waitUntil(t, func() bool { return s.queueDepth() == 0 })
	if code, out, _ := do(t, url+"/v1/embeddings", "application/json", body); code != 200 || len(vectors(t, out)) != 3 {
		t.Errorf("after the vanished clients: %d %v", code, out)
	}
	m := metricsText(t, url)
	if !strings.Contains(m, `goclip_requests_total{code="499",route="/v1/embeddings"}`) {
		t.Errorf("no 499 counted:\n%s", grepLines(m, "goclip_requests_total"))
	}
}

// TestRequestTimeout: a request whose deadline passes while queued is
// dropped with a 503 before it reaches the model.
func TestRequestTimeout(t *testing.T) {
	_, url := startServer(t, Options{MaxBatchSize: 1, MaxQueue: 1000, RequestTimeout: 30 * time.Millisecond}, "tiny-vit")
	img := pngURI(t, 800, 600, color.RGBA{100, 100, 100, 255})
	var wg sync.WaitGroup
	var timeouts, oks atomic.Int64
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, out, _ := post(t, url+"/v1/embeddings", map[string]any{"input": []any{map[string]any{"type": "image", "image": img}}})
			switch code {
			case 200:
				oks.Add(1)
			case 503:
				if fmt.Sprint(out["error"].(map[string]any)["code"]) != "request_timeout" {
					t.Errorf("503: %v", out)
				}
				timeouts.Add(1)
			default:
				t.Errorf("status %d: %v", code, out)
			}
		}()
	}
	wg.Wait()
	t.Logf("%d answered, %d timed out", oks.Load(), timeouts.Load())
	if timeouts.Load() == 0 {
		t.Error("no request timed out")
	}
}

func TestMetrics(t *testing.T) {
	_, url := startServer(t, Options{}, "tiny-vit")
	post(t, url+"/v1/embeddings", map[string]any{"input": []any{"a", map[string]any{"type": "image", "image": pngURI(t, 20, 20, color.RGBA{1, 1, 1, 255})}}})
	post(t, url+"/v1/embeddings", map[string]any{"input": "x", "dimensions": 2})
	m := metricsText(t, url)
	for _, want := range []string{
		`goclip_requests_total{code="200",route="/v1/embeddings"} 1`,
		`goclip_requests_total{code="400",route="/v1/embeddings"} 1`,
		`goclip_request_duration_seconds_count{route="/v1/embeddings"} 2`,
		`goclip_queue_duration_seconds_count{modality="image",model="tiny-vit"}`,
		`goclip_inference_duration_seconds_count{modality="text",model="tiny-vit"}`,
		`goclip_batch_size_bucket{modality="text",model="tiny-vit",le="1"}`,
		`goclip_queue_depth 0`,
		`goclip_items_total{modality="image"} 1`,
		`goclip_items_total{modality="text"} 1`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func metricsText(t *testing.T, url string) string {
	t.Helper()
	resp, err := client.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return b.String()
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
