package parity

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// eq reports got != want (deep equality) as an error.
func eq(t *testing.T, want, got any, msg ...any) {
	t.Helper()
	if !reflect.DeepEqual(want, got) {
		t.Errorf("%v: got %#v, want %#v", msg, got, want)
	}
}

func near(t *testing.T, want, got, delta float64, msg ...any) {
	t.Helper()
	if math.Abs(want-got) > delta {
		t.Errorf("%v: got %g, want %g ± %g", msg, got, want, delta)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestCompare(t *testing.T) {
	rel := Tolerance{Value: 1e-3, Relative: true}
	abs := Tolerance{Value: 1e-3}
	names := []string{"a", "b"}
	nan := float32(math.NaN())
	for _, c := range []struct {
		name      string
		got, ref  []float32
		tol       Tolerance
		status    string
		maxAbs    float64
		maxRel    float64
		identical int
		worst     []string
		note      string
	}{
		{"equal", []float32{1, 2, 3, 4}, []float32{1, 2, 3, 4}, Tolerance{}, StatusPass, 0, 0, 2, nil, ""},
		{"within rel", []float32{1, 2, 3, 4.002}, []float32{1, 2, 3, 4}, rel, StatusPass, 0.002, 0.0005, 1, []string{"b"}, ""},
		{"over rel", []float32{1, 2, 3, 4.01}, []float32{1, 2, 3, 4}, rel, StatusFail, 0.01, 0.0025, 1, []string{"b"}, "relative difference"},
		{"over abs", []float32{1.002, 2, 3, 4.001}, []float32{1, 2, 3, 4}, abs, StatusFail, 0.002, 0.0005, 0, []string{"a", "b"}, "exceeds"},
		{"exact fails on one ulp", []float32{1, math.Nextafter32(2, 3), 3, 4}, []float32{1, 2, 3, 4}, Tolerance{}, StatusFail, 2.4e-7, 6e-8, 1, []string{"a"}, ""},
		{"-0 is not bit-identical but equal", []float32{float32(math.Copysign(0, -1)), 1}, []float32{0, 1}, Tolerance{}, StatusPass, 0, 0, 1, nil, ""},
		{"NaN against a number fails", []float32{nan, 1, 1, 1}, []float32{1, 1, 1, 1}, Tolerance{Value: 1e9}, StatusFail, math.Inf(1), math.Inf(1), 1, []string{"a"}, ""},
		{"shape", []float32{1, 2}, []float32{1, 2, 3, 4}, rel, StatusFail, 0, 0, 0, nil, "shapes differ"},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := compare("s", c.got, c.ref, names, c.tol)
			eq(t, c.status, st.Status, st.Note)
			near(t, c.maxAbs, st.MaxAbs, 1e-7+c.maxAbs*1e-3)
			if math.IsInf(c.maxRel, 1) {
				eq(t, true, math.IsInf(st.MaxRel, 1))
			} else {
				near(t, c.maxRel, st.MaxRel, 1e-7+c.maxRel*1e-3)
			}
			eq(t, c.identical, st.RowsIdentical)
			var worst []string
			for _, w := range st.Worst {
				worst = append(worst, w.Input)
			}
			eq(t, c.worst, worst)
			if !strings.Contains(st.Note, c.note) {
				t.Errorf("note %q lacks %q", st.Note, c.note)
			}
		})
	}
}

func TestCompareWorstOrder(t *testing.T) {
	ref := []float32{0, 0, 0, 0, 0}
	got := []float32{0.1, 0.5, 0, 0.3, 0.2}
	st := compare("s", got, ref, []string{"a", "b", "c", "d", "e"}, Tolerance{Value: 1})
	if len(st.Worst) != 3 {
		t.Fatalf("len %d, want %d", len(st.Worst), 3)
	}
	eq(t, []string{"b", "d", "e"}, []string{st.Worst[0].Input, st.Worst[1].Input, st.Worst[2].Input})
	eq(t, 1, st.RowsIdentical)
	eq(t, true, math.IsInf(st.MaxRel, 1), "all-zero reference: relative difference is infinite")
}

func TestCompareTokens(t *testing.T) {
	tol := Tolerance{}
	st := compareTokens([][]int32{{49406, 320, 49407}, {49406, 1, 49407}}, []int64{49406, 320, 49407, 49406, 2, 49407}, []string{`"x"`, `"y"`}, tol)
	eq(t, StatusFail, st.Status)
	eq(t, 1, st.RowsIdentical)
	eq(t, 1.0, st.MaxAbs)
	eq(t, 0.0, st.MaxRel)
	if len(st.Worst) != 1 {
		t.Fatalf("len %d, want %d", len(st.Worst), 1)
	}
	eq(t, `"y"`, st.Worst[0].Input)
}

func TestTolerances(t *testing.T) {
	cpu := DefaultTolerances(false, false)
	eq(t, Tolerance{0, false}, cpu[StageTokens])
	eq(t, Tolerance{0, false}, cpu[StagePixels])
	eq(t, Tolerance{1e-5, true}, cpu[StageEncodeImage])
	eq(t, Tolerance{1e-5, false}, cpu[StageProbs])
	eq(t, cpu, DefaultTolerances(true, false), "CUDA fp32 has the CPU's tolerances")
	half := DefaultTolerances(true, true)
	eq(t, Tolerance{2e-3, true}, half[StageLogits])
	eq(t, Tolerance{1e-3, false}, half[StageProbs])
	eq(t, len(Stages), len(cpu))

	must(t, ParseTolerances(" encode_image=1e-4, probs=0.01 ,", cpu))
	eq(t, Tolerance{1e-4, true}, cpu[StageEncodeImage])
	eq(t, Tolerance{0.01, false}, cpu[StageProbs])
	for _, bad := range []string{"pixels", "foo=1", "probs=-1", "probs=NaN", "probs=x", "probs=Inf"} {
		if ParseTolerances(bad, DefaultTolerances(false, false)) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	eq(t, "0 (exact)", Tolerance{}.String())
	eq(t, "1e-05 rel", Tolerance{1e-5, true}.String())
	eq(t, "0.001 abs", Tolerance{1e-3, false}.String())
}

func TestSoftmaxRows(t *testing.T) {
	p := softmaxRows([]float32{0, 0, 1000, 0, 0, float32(math.Log(3)), 2}, 2)
	eq(t, []float32{0.5, 0.5, 1, 0}, p[:4])
	near(t, 0.25, float64(p[4]), 1e-7)
	near(t, 0.75, float64(p[5]), 1e-7)
	eq(t, float32(0), p[6], "a partial row is left alone")
}

func TestNames(t *testing.T) {
	eq(t, []string{"a.png", "x/b.png", "y/b.png"}, displayNames([]string{"d/a.png", "x/b.png", "y/b.png"}))
	long := strings.Repeat("é", 50)
	eq(t, []string{`"cat"`, `"` + strings.Repeat("é", 39) + `…"`}, textNames([]string{"cat", long}))
	for _, c := range []struct {
		src, arch, seed string
		ok              bool
	}{
		{"random_checkpoint:tiny-vit:seed=1234", "tiny-vit", "1234", true},
		{"random_checkpoint:tiny-vit:seed=x", "", "", false},
		{"random_checkpoint::seed=1", "", "", false},
		{"ViT-B/32", "", "", false},
	} {
		arch, seed, ok := randomSource(c.src)
		eq(t, c.ok, ok, c.src)
		eq(t, c.arch, arch, c.src)
		eq(t, c.seed, seed, c.src)
	}
}

func TestWriteDemoImages(t *testing.T) {
	paths, err := WriteDemoImages(t.TempDir())
	must(t, err)
	if len(paths) != 3 {
		t.Fatalf("len %d, want %d", len(paths), 3)
	}
	for _, p := range paths {
		want, err := os.ReadFile(filepath.Join("..", "..", "testdata", "images", filepath.Base(p)))
		must(t, err)
		got, err := os.ReadFile(p)
		must(t, err)
		eq(t, want, got, "the demo images are the repository's testdata/images")
	}
}

func TestWriteText(t *testing.T) {
	rep := &Report{
		Model: "m", Images: []string{"a.png"}, Texts: []string{"x", "y"}, Verdict: "FAIL", FirstFailure: StageEncodeImage,
		Versions: Versions{Goclip: "1.0", Libtorch: "2.1.0", Reference: "openai clip 1.0", Device: "cuda:0", Precision: "fp16", CUDA: "12.1"},
		Stages: []Stage{
			{Name: StageTokens, Status: StatusPass, Rows: 2, RowsIdentical: 2},
			{Name: StagePixels, Status: StatusPass, Rows: 1, RowsIdentical: 1},
			{Name: StageEncodeImage, Status: StatusFail, Rows: 1, MaxAbs: 0.25, MaxRel: 0.5, Tolerance: Tolerance{2e-3, true},
				Note: "relative difference 0.5 exceeds the tolerance 0.002 rel", Worst: []Worst{{Input: "a.png", MaxAbs: 0.25}}},
		},
	}
	var b bytes.Buffer
	must(t, rep.WriteText(&b))
	out := b.String()
	for _, want := range []string{
		"openai clip 1.0", "CUDA 12.1", "cuda:0 fp16", "1 images, 2 texts",
		"encode_image  2.50e-01  5.00e-01  0/1", "FAIL",
		"encode_image worst: a.png 2.50e-01",
		"FAIL: first failing stage encode_image: relative difference 0.5 exceeds",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
