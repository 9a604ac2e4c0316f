package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/goclip/goclip/internal/testutil"
	"github.com/goclip/goclip/npy"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.Cleanup()
	os.Exit(code)
}

// clip runs one command line in-process and returns status, stdout, stderr.
func clipRun(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb}
	code := run(context.Background(), e, args)
	return code, out.String(), errb.String()
}

func vocab(t *testing.T) string {
	return filepath.Join(testutil.SharedDir(t), "clip", "bpe_simple_vocab_16e6.txt.gz")
}

type tokenCase struct {
	Idx        int    `json:"idx"`
	Text       string `json:"text"`
	Encode     []int  `json:"encode"`
	Tokenize77 []int  `json:"tokenize77"`
	TooLong    bool   `json:"too_long"`
	Ctx        int    `json:"context_length"`
	Tokenize   []int  `json:"tokenize"`
}

func readCases(t *testing.T, file string) []tokenCase {
	t.Helper()
	f, err := os.Open(testutil.Golden(t, "tokenizer", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []tokenCase
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var c tokenCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, c)
	}
	return cases
}

func jsonLines(texts []string) string {
	var b strings.Builder
	for _, s := range texts {
		j, _ := json.Marshal(s)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

func parseRows(t *testing.T, out string) [][]int {
	t.Helper()
	var rows [][]int
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		var r []int
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("bad output line %q: %v", line, err)
		}
		rows = append(rows, r)
	}
	return rows
}

// TestTokenizeCLI drives "clip tokenize" exactly as external checks do and
// compares every golden text.
func TestTokenizeCLI(t *testing.T) {
	t.Setenv("GOCLIP_CACHE", t.TempDir()) // the table cache
	cases := readCases(t, "tokenize.jsonl")
	texts := make([]string, len(cases))
	for i, c := range cases {
		texts[i] = c.Text
	}
	code, out, errs := clipRun(t, jsonLines(texts), "tokenize", "--truncate", "--vocab", vocab(t))
	if code != 0 {
		t.Fatalf("status %d: %s", code, errs)
	}
	rows := parseRows(t, out)
	if len(rows) != len(cases) {
		t.Fatalf("%d rows for %d texts", len(rows), len(cases))
	}
	for i, c := range cases {
		if fmt.Sprint(rows[i]) != fmt.Sprint(c.Tokenize77) {
			t.Errorf("text %d (%q): got %v, want %v", c.Idx, c.Text, rows[i], c.Tokenize77)
		}
	}
	code, out, _ = clipRun(t, jsonLines(texts), "tokenize", "--encode", "--vocab", vocab(t))
	rows = parseRows(t, out)
	for i, c := range cases {
		if code != 0 || fmt.Sprint(rows[i]) != fmt.Sprint(c.Encode) {
			t.Fatalf("encode %d: got %v, want %v", c.Idx, rows[i], c.Encode)
		}
	}
	// Without --truncate the first too-long text fails, naming its line.
	first := -1
	for i, c := range cases {
		if c.TooLong {
			first = i
			break
		}
	}
	if first < 0 {
		t.Fatal("no too-long golden text")
	}
	code, _, errs = clipRun(t, jsonLines(texts), "tokenize", "--vocab", vocab(t))
	if code != 1 || !strings.Contains(errs, fmt.Sprintf("line %d:", first+1)) {
		t.Errorf("too long: status %d, stderr %q (want line %d)", code, errs, first+1)
	}
	// Other context lengths.
	other := readCases(t, "tokenize_other_context.jsonl")
	for _, l := range []int{16, 5} {
		var ts []string
		var want [][]int
		for _, c := range other {
			if c.Ctx == l {
				ts = append(ts, c.Text)
				want = append(want, c.Tokenize)
			}
		}
		code, out, errs := clipRun(t, jsonLines(ts), "tokenize", "--truncate", "--context-length", fmt.Sprint(l), "--vocab", vocab(t))
		if code != 0 {
			t.Fatalf("L=%d: %s", l, errs)
		}
		if got := parseRows(t, out); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("L=%d: got %v, want %v", l, got, want)
		}
	}
	for _, bad := range []struct {
		stdin string
		args  []string
		code  int
	}{
		{"not json\n", nil, 1},
		{"[1,2]\n", nil, 1},
		{"\"x\"\n", []string{"--context-length", "1"}, 2},
		{"\"x\"\n", []string{"--context-length", "abc"}, 2},
		{"\"x\"\n", []string{"--bogus"}, 2},
	} {
		code, _, errs := clipRun(t, bad.stdin, append([]string{"tokenize", "--vocab", vocab(t)}, bad.args...)...)
		if code != bad.code || errs == "" {
			t.Errorf("%q %v: status %d (want %d), stderr %q", bad.stdin, bad.args, code, bad.code, errs)
		}
	}
}

// TestPreprocessCLI compares "clip preprocess" with the golden tensors.
func TestPreprocessCLI(t *testing.T) {
	names := []string{"skimage-rocket.jpg", "basn3p08-trns.png", "synth-rgba.png"}
	var files []string
	for _, n := range names {
		files = append(files, testutil.Golden(t, "preprocess", "images", n))
	}
	out := filepath.Join(t.TempDir(), "px.npy")
	code, _, errs := clipRun(t, "", append([]string{"preprocess", "--size", "224", "-o", out}, files...)...)
	if code != 0 {
		t.Fatalf("status %d: %s", code, errs)
	}
	got, err := npy.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got.Shape) != "[3 3 224 224]" {
		t.Fatalf("shape %v", got.Shape)
	}
	plane := 3 * 224 * 224
	for i, n := range names {
		want, err := npy.ReadFile(testutil.Golden(t, "preprocess", "arrays", n+".n224.f32.npy.gz"))
		if err != nil {
			t.Fatal(err)
		}
		g := got.Data.([]float32)[i*plane : (i+1)*plane]
		for k, v := range want.Data.([]float32) {
			if math.Float32bits(v) != math.Float32bits(g[k]) {
				t.Fatalf("%s: value %d = %v, want %v", n, k, g[k], v)
			}
		}
	}
	code, _, errs = clipRun(t, "", "preprocess", "--size", "224", "--u8", "-o", out, files[0])
	if code != 0 {
		t.Fatal(errs)
	}
	u8, _ := npy.ReadFile(out)
	want, _ := npy.ReadFile(testutil.Golden(t, "preprocess", "arrays", names[0]+".n224.u8.npy.gz"))
	if fmt.Sprint(u8.Shape) != "[1 224 224 3]" || !bytes.Equal(u8.Data.([]uint8), want.Data.([]uint8)) {
		t.Errorf("--u8 output differs from the golden (shape %v)", u8.Shape)
	}
	bad := filepath.Join(t.TempDir(), "bad.jpg")
	os.WriteFile(bad, []byte("nope"), 0o644)
	code, _, errs = clipRun(t, "", "preprocess", "--size", "224", "-o", out, files[0], bad)
	if code != 1 || !strings.Contains(errs, "bad.jpg") {
		t.Errorf("bad file: status %d, stderr %q", code, errs)
	}
	if code, _, _ := clipRun(t, "", "preprocess", "-o", out, files[0]); code != 2 {
		t.Errorf("missing --size: status %d", code)
	}
}

// TestEmbedCLI runs "clip embed" on the golden inputs and compares with the
// official outputs.
func TestEmbedCLI(t *testing.T) {
	model := testutil.ExportGolden(t, "tiny_vit_b32")
	dir := t.TempDir()
	// The golden pixels are gzip'd; embed reads .npy.gz too.
	px := testutil.Golden(t, "models", "tiny_vit_b32", "input_images.f32.npy.gz")
	tok := testutil.Golden(t, "models", "tiny_vit_b32", "input_text_tokens.npy")
	cases := []struct {
		args []string
		ref  string
	}{
		{[]string{"--pixels-npy", px}, "encode_image.npy"},
		{[]string{"--tokens-npy", tok}, "encode_text.npy"},
		{[]string{"--pixels-npy", px, "--tokens-npy", tok, "--logits"}, "logits_per_image.npy"},
	}
	var textFeat []float32 // the int64-token features, for the int32 run below
	for _, c := range cases {
		out := filepath.Join(dir, "out.npy")
		args := append([]string{"embed", "--model", model, "--device", "cpu", "-o", out}, c.args...)
		code, _, errs := clipRun(t, "", args...)
		if code != 0 {
			t.Fatalf("%v: status %d: %s", c.args, code, errs)
		}
		got, _ := npy.ReadFile(out)
		want, _ := npy.ReadFile(testutil.Golden(t, "models", "tiny_vit_b32", c.ref))
		if fmt.Sprint(got.Shape) != fmt.Sprint(want.Shape) {
			t.Fatalf("%s: shape %v, want %v", c.ref, got.Shape, want.Shape)
		}
		var d, ref float64
		for i, v := range want.Data.([]float32) {
			d = math.Max(d, math.Abs(float64(v-got.Data.([]float32)[i])))
			ref = math.Max(ref, math.Abs(float64(v)))
		}
		t.Logf("embed %s: max|diff| %.3g", c.ref, d)
		if c.ref == "encode_text.npy" {
			textFeat = got.Data.([]float32)
		}
		if d > 1e-5*ref {
			t.Errorf("%s: max|diff| %g", c.ref, d)
		}
	}
	// int32 tokens give the same features as int64 tokens, bit for bit.
	arr, _ := npy.ReadFile(tok)
	i32 := make([]int32, len(arr.Data.([]int64)))
	for i, v := range arr.Data.([]int64) {
		i32[i] = int32(v)
	}
	tok32 := filepath.Join(dir, "tok32.npy")
	npy.WriteFile(tok32, arr.Shape, i32)
	out := filepath.Join(dir, "t32.npy")
	if code, _, errs := clipRun(t, "", "embed", "--model", model, "--device", "cpu", "-o", out, "--tokens-npy", tok32); code != 0 {
		t.Fatal(errs)
	}
	got, _ := npy.ReadFile(out)
	if !reflect.DeepEqual(got.Data, textFeat) {
		t.Error("int32 tokens give different features from int64 tokens")
	}
	// Text and image inputs through the Go tokenizer and preprocessing.
	img := testutil.Golden(t, "preprocess", "images", "skimage-rocket.jpg")
	if code, _, errs := clipRun(t, "", "embed", "--model", model, "--device", "cpu", "--vocab", vocab(t), "-o", out, "--image", img, "--text", "a photo of a cat", "hello", "--logits"); code != 0 {
		t.Fatal(errs)
	}
	got, _ = npy.ReadFile(out)
	if fmt.Sprint(got.Shape) != "[1 2]" {
		t.Errorf("logits shape %v", got.Shape)
	}
	// Usage and input errors.
	bad := []struct {
		args []string
		code int
	}{
		{[]string{"--model", model, "-o", out}, 2},
		{[]string{"--model", model, "-o", out, "--pixels-npy", px, "--tokens-npy", tok}, 2},
		{[]string{"--model", model, "-o", out, "--pixels-npy", px, "--image", img}, 2},
		{[]string{"--model", model, "-o", out, "--text", "x", "--logits"}, 2},
		{[]string{"--model", "ViT-H/14", "-o", out, "--text", "x"}, 1},
		{[]string{"--model", model, "-o", out, "--pixels-npy", tok}, 1},
		{[]string{"--model", model, "-o", out, "--tokens-npy", px}, 1},
		{[]string{"--model", model, "-o", out, "--pixels-npy", filepath.Join(dir, "missing.npy")}, 1},
		{[]string{"--model", model, "--device", "cpu", "--precision", "fp16", "-o", out, "--tokens-npy", tok}, 1},
	}
	for _, b := range bad {
		code, _, errs := clipRun(t, "", append([]string{"embed"}, b.args...)...)
		if code != b.code || errs == "" {
			t.Errorf("%v: status %d (want %d), stderr %q", b.args, code, b.code, errs)
		}
	}
}
