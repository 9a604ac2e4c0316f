package clip

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestAvailableModels(t *testing.T) {
	want := []string{"RN50", "RN101", "RN50x4", "RN50x16", "RN50x64", "ViT-B/32", "ViT-B/16", "ViT-L/14", "ViT-L/14@336px"}
	got := AvailableModels()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("AvailableModels() = %v", got)
	}
	for _, n := range want {
		s, err := LookupModel(n)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(s.URL, s.SHA256) || !strings.HasSuffix(s.URL, "/"+s.File) || s.ContextLength != 77 || s.VocabSize != 49408 {
			t.Errorf("%s: inconsistent spec %+v", n, s)
		}
	}
	if s, err := LookupModel("vit-b/32"); err != nil || s.Name != "ViT-B/32" {
		t.Errorf("case-insensitive lookup: %v %v", s.Name, err)
	}
	_, err := LookupModel("ViT-H/14")
	var ue *UnknownModelError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "RN50x64") || !strings.Contains(err.Error(), "ViT-L/14@336px") {
		t.Errorf("unknown model error = %v", err)
	}
	_, err = Load(context.Background(), "ViT-H/14", WithDevice("cpu"))
	if !errors.As(err, &ue) {
		t.Errorf("Load(unknown) = %v", err)
	}
}

func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func TestLoadErrors(t *testing.T) {
	src := goldenModel(t, "tiny_vit_b32")
	ctx := context.Background()

	tampered := copyDir(t, src)
	b, _ := os.ReadFile(filepath.Join(tampered, "model.pt"))
	b[len(b)/2] ^= 1
	os.WriteFile(filepath.Join(tampered, "model.pt"), b, 0o644)

	truncated := copyDir(t, src)
	os.WriteFile(filepath.Join(truncated, "model.pt"), b[:len(b)/3], 0o644)

	badManifest := copyDir(t, src)
	os.WriteFile(filepath.Join(badManifest, ManifestFile), []byte(`{"format_version": 1, "family": "vit"`), 0o644)

	newer := copyDir(t, src)
	mb, _ := os.ReadFile(filepath.Join(newer, ManifestFile))
	mb = []byte(strings.Replace(string(mb), `"torch_version": "`, `"torch_version": "9.9.0+`, 1))
	os.WriteFile(filepath.Join(newer, ManifestFile), mb, 0o644)

	bare := filepath.Join(t.TempDir(), "model.pt")
	ob, _ := os.ReadFile(filepath.Join(src, "model.pt"))
	os.WriteFile(bare, ob, 0o644)

	cases := []struct {
		name string
		path string
		opts []Option
		want error
	}{
		{"tampered artifact", tampered, nil, ErrArtifactMismatch},
		{"truncated artifact", truncated, nil, ErrArtifactMismatch},
		{"broken manifest", badManifest, nil, ErrManifest},
		{"newer torch", newer, nil, ErrArtifactTooNew},
		{"bare file without opt-in", bare, nil, ErrManifest},
		{"missing dir", filepath.Join(t.TempDir(), "nope"), nil, nil},
		{"fp16 on cpu", src, []Option{WithPrecision(FP16)}, nil},
		{"bad precision", src, []Option{WithPrecision("fp8")}, nil},
		{"bad device", src, []Option{WithDevice("tpu")}, nil},
	}
	for _, c := range cases {
		m, err := Load(ctx, c.path, append([]Option{WithDevice("cpu")}, c.opts...)...)
		if err == nil {
			m.Close()
			t.Errorf("%s: loaded", c.name)
			continue
		}
		if c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
	}
	if !strings.Contains(errString(Load(ctx, newer, WithDevice("cpu"))), "re-export") {
		t.Error("newer-torch error does not say to re-export")
	}
	// A bare file loads when the caller opts in.
	m, err := Load(ctx, bare, WithDevice("cpu"), AllowUnverified())
	if err != nil {
		t.Fatalf("bare file with AllowUnverified: %v", err)
	}
	m.Close()
}

func errString(_ *Model, err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestBadInputs(t *testing.T) {
	m := loadGolden(t, "tiny_vit_b32")
	pixels, n, tokens := goldenInputs(t)
	if _, err := m.EncodeImage(pixels[:len(pixels)-1], n); !errors.Is(err, ErrInput) {
		t.Errorf("short pixels: %v", err)
	}
	if _, err := m.EncodeImage(pixels[:3*112*112], 1); !errors.Is(err, ErrInput) {
		t.Errorf("wrong resolution: %v", err)
	}
	if _, err := m.EncodeImage(nil, 0); !errors.Is(err, ErrInput) {
		t.Errorf("no images: %v", err)
	}
	bad := [][]int32{append([]int32(nil), tokens[0]...)}
	bad[0][3] = 49408
	if _, err := m.EncodeText(bad); !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "49408") {
		t.Errorf("id out of range: %v", err)
	}
	bad[0][3] = -1
	if _, err := m.EncodeText(bad); !errors.Is(err, ErrInput) {
		t.Errorf("negative id: %v", err)
	}
	if _, err := m.EncodeText([][]int32{tokens[0][:40]}); !errors.Is(err, ErrInput) {
		t.Errorf("short row: %v", err)
	}
	if _, err := m.EncodeText([][]int32{tokens[0], tokens[1][:10]}); !errors.Is(err, ErrInput) {
		t.Errorf("ragged rows: %v", err)
	}
	if _, err := m.Logits(NewMatrix(2, 32), NewMatrix(2, 16)); !errors.Is(err, ErrInput) {
		t.Errorf("mismatched features: %v", err)
	}
	long := strings.Repeat("word ", 100)
	if _, err := m.EncodeTexts(context.Background(), []string{"fine", long}); err == nil || !strings.Contains(err.Error(), "1") {
		t.Errorf("too-long text: %v", err)
	}
	m.Close()
	if _, err := m.EncodeImage(pixels, n); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestInfo(t *testing.T) {
	m := loadGolden(t, "tiny_rn")
	info := m.Info()
	if info.Family != "resnet" || info.ImageResolution != 224 || info.ContextLength != 77 || info.EmbedDim != 32 || info.VocabSize != 49408 {
		t.Errorf("Info() = %+v", info)
	}
	if info.Device.String() != testDevice() && testDevice() == "cpu" {
		t.Errorf("device %v", info.Device)
	}
	s, err := m.LogitScale()
	if err != nil || s < 99.99 || s > 100.01 {
		t.Errorf("LogitScale() = %v, %v (the golden models use ln(100))", s, err)
	}
}

// TestTokenIDs: token ids are int32 from the tokenizer to the model: the
// ids of Tokenizer().Encode sit in Tokenize's rows, and EncodeTokens on the
// flattened rows equals EncodeText on the rows bit for bit.
func TestTokenIDs(t *testing.T) {
	ctx := context.Background()
	m := loadGolden(t, "tiny_vit_b32")
	tok, err := m.Tokenizer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	texts := []string{"a photo of a cat", "a diagram"}
	rows, err := m.Tokenize(ctx, texts)
	if err != nil {
		t.Fatal(err)
	}
	var flat []int32
	for i, row := range rows {
		ids := tok.Encode(texts[i])
		if !slices.Equal(row[1:1+len(ids)], ids) {
			t.Errorf("row %d = %v, Encode = %v", i, row, ids)
		}
		if got := tok.Decode(ids); got != texts[i]+" " {
			t.Errorf("Decode(Encode(%q)) = %q", texts[i], got)
		}
		flat = append(flat, row...)
	}
	a, err := m.EncodeText(rows)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.EncodeTokens(flat, len(rows), len(rows[0]))
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := maxDiff(t, a, b); d != 0 {
		t.Errorf("EncodeTokens differs from EncodeText by %g", d)
	}
	if _, err := m.EncodeTokens(flat[:len(flat)-1], len(rows), len(rows[0])); !errors.Is(err, ErrInput) {
		t.Errorf("short buffer: %v", err)
	}
}
