package serve

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/internal/testutil"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.Cleanup()
	os.Exit(code)
}

var (
	modelsMu sync.Mutex
	models   = map[string]*clip.Model{}
)

// testModel loads (once per process) "tiny-vit" (the demo model) or one
// of the golden tiny models ("tiny_vit_b32", "tiny_rn").
func testModel(tb testing.TB, name string) *clip.Model {
	tb.Helper()
	modelsMu.Lock()
	defer modelsMu.Unlock()
	if m, ok := models[name]; ok {
		return m
	}
	dir := filepath.Join(testutil.RepoRoot(tb), "models", "tiny-vit")
	if name != "tiny-vit" {
		dir = testutil.ExportGolden(tb, name)
	}
	vocab := filepath.Join(testutil.SharedDir(tb), "clip", clip.VocabFile)
	m, err := clip.Load(context.Background(), dir, clip.WithDevice("cpu"), clip.WithVocab(vocab), clip.WithThreads(1))
	if err != nil {
		tb.Fatal(err)
	}
	models[name] = m
	return m
}

// startServer serves the named models on a loopback socket.
func startServer(tb testing.TB, opts Options, names ...string) (*Server, string) {
	tb.Helper()
	s := New(opts)
	for _, n := range names {
		if err := s.Add(context.Background(), n, testModel(tb, n)); err != nil {
			tb.Fatal(err)
		}
	}
	s.SetReady(true)
	ts := httptest.NewServer(s)
	tb.Cleanup(func() {
		ts.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Drain(ctx)
	})
	return s, ts.URL
}

var client = &http.Client{Timeout: 60 * time.Second}

// post sends a JSON body and returns the status and decoded answer.
func post(tb testing.TB, url string, body any) (int, map[string]any, http.Header) {
	tb.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		tb.Fatal(err)
	}
	return do(tb, url, "application/json", b)
}

func do(tb testing.TB, url, ctype string, body []byte) (int, map[string]any, http.Header) {
	tb.Helper()
	resp, err := client.Post(url, ctype, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	var out map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		tb.Fatalf("%s: status %d, body not JSON: %q", url, resp.StatusCode, raw)
	}
	return resp.StatusCode, out, resp.Header
}

// vectors reads data[*].embedding (float lists) as float32 rows.
func vectors(tb testing.TB, out map[string]any) [][]float32 {
	tb.Helper()
	data, _ := out["data"].([]any)
	rows := make([][]float32, len(data))
	for i, d := range data {
		e := d.(map[string]any)
		if int(num(tb, e["index"])) != i {
			tb.Fatalf("data[%d] has index %v", i, e["index"])
		}
		switch v := e["embedding"].(type) {
		case []any:
			for _, x := range v {
				rows[i] = append(rows[i], float32(num(tb, x)))
			}
		case string:
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				tb.Fatal(err)
			}
			for k := 0; k < len(b); k += 4 {
				rows[i] = append(rows[i], math.Float32frombits(uint32(b[k])|uint32(b[k+1])<<8|uint32(b[k+2])<<16|uint32(b[k+3])<<24))
			}
		}
	}
	return rows
}

func num(tb testing.TB, v any) float64 {
	tb.Helper()
	n, ok := v.(json.Number)
	if !ok {
		tb.Fatalf("%v is not a number", v)
	}
	f, err := n.Float64()
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// dataURI reads a file as a data URI.
func dataURI(tb testing.TB, path string) string {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return "data:image/x;base64," + base64.StdEncoding.EncodeToString(b)
}

// goldenFiles are the images and texts the golden model outputs were made from.
func goldenFiles(tb testing.TB) (files, texts []string) { return testutil.GoldenModelInputs(tb) }

// closeTo fails unless got and want agree within tol·max|want| (the
// bound of clip's golden tests); it returns the largest difference.
func closeTo(tb testing.TB, what string, got, want [][]float32, tol float64) float64 {
	tb.Helper()
	if len(got) != len(want) {
		tb.Fatalf("%s: %d rows, want %d", what, len(got), len(want))
	}
	var diff, ref float64
	for i := range want {
		if len(got[i]) != len(want[i]) {
			tb.Fatalf("%s row %d: %d values, want %d", what, i, len(got[i]), len(want[i]))
		}
		for j := range want[i] {
			diff = math.Max(diff, math.Abs(float64(got[i][j])-float64(want[i][j])))
			ref = math.Max(ref, math.Abs(float64(want[i][j])))
		}
	}
	if diff > tol*ref {
		tb.Errorf("%s: max|diff| %g exceeds %g·max|ref| (%g)", what, diff, tol, ref)
	}
	return diff
}

func rowsOf(m clip.Matrix) [][]float32 {
	out := make([][]float32, m.Rows)
	for i := range out {
		out[i] = m.Row(i)
	}
	return out
}

func errorParam(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	return fmt.Sprint(e["param"])
}

func startHandler(tb testing.TB, h http.Handler) string {
	tb.Helper()
	ts := httptest.NewServer(h)
	tb.Cleanup(ts.Close)
	return ts.URL
}
