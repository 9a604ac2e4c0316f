package parity

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestCompare(t *testing.T) {
	names := []string{"a.png", "b.jpg"}
	for _, c := range []struct {
		name           string
		got, want      []float64
		tol            float64
		status         string
		identical      int
		maxAbs, maxRel float64
		worst          []string
	}{
		{"identical", []float64{1, -2, 3, 4}, []float64{1, -2, 3, 4}, 0, StatusPass, 2, 0, 0, nil},
		{"within tolerance", []float64{1, -2, 3, 4.00001}, []float64{1, -2, 3, 4}, 1e-5, StatusPass, 1, 1e-5, 2.5e-6, []string{"b.jpg"}},
		{"exact stage differs", []float64{1, -2, 3, 5}, []float64{1, -2, 3, 4}, 0, StatusFail, 1, 1, 0.25, []string{"b.jpg"}},
		{"over tolerance, worst first", []float64{1.5, -2, 3, 4.1}, []float64{1, -2, 3, 4}, 1e-2, StatusFail, 0, 0.5, 0.125, []string{"a.png", "b.jpg"}},
		{"NaN", []float64{math.NaN(), 0, 0, 0}, []float64{1, 0, 0, 0}, 1, StatusFail, 1, math.Inf(1), math.Inf(1), []string{"a.png"}},
		{"shape mismatch", []float64{1, 2}, []float64{1, 2, 3, 4}, 1, StatusFail, 0, math.Inf(1), math.Inf(1), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var st Stage
			compare(&st, c.got, c.want, 2, names, c.tol)
			if st.Status != c.status || st.Identical != c.identical {
				t.Errorf("status %s, %d identical; want %s, %d", st.Status, st.Identical, c.status, c.identical)
			}
			if math.Abs(st.MaxAbs-c.maxAbs) > 1e-9 && !(math.IsInf(c.maxAbs, 1) && math.IsInf(st.MaxAbs, 1)) {
				t.Errorf("max abs %g, want %g", st.MaxAbs, c.maxAbs)
			}
			if math.Abs(st.MaxRel-c.maxRel) > 1e-9 && !(math.IsInf(c.maxRel, 1) && math.IsInf(st.MaxRel, 1)) {
				t.Errorf("max rel %g, want %g", st.MaxRel, c.maxRel)
			}
			var worst []string
			for _, w := range st.Worst {
				worst = append(worst, w.Input)
			}
			if strings.Join(worst, ",") != strings.Join(c.worst, ",") {
				t.Errorf("worst %v, want %v", worst, c.worst)
			}
		})
	}
}

func TestTolerances(t *testing.T) {
	for _, c := range []struct {
		device, precision string
		specs             []string
		want              map[string]float64
		err               bool
	}{
		{"cpu", "fp32", nil, map[string]float64{"tokens": 0, "pixels": 0, "encode_image": 1e-5, "probs": 1e-5}, false},
		{"cuda:0", "fp32", nil, map[string]float64{"pixels": 0, "encode_text": 1e-4}, false},
		{"cuda:0", "fp16", nil, map[string]float64{"tokens": 0, "logits": 1e-2}, false},
		{"cpu", "fp32", []string{"1e-3"}, map[string]float64{"pixels": 0, "encode_image": 1e-3, "encode_text": 1e-3, "logits": 1e-3, "probs": 1e-3}, false},
		{"cpu", "fp32", []string{"pixels=0.5, logits=2e-5", "probs=0"}, map[string]float64{"pixels": 0.5, "logits": 2e-5, "probs": 0, "encode_image": 1e-5}, false},
		{"cpu", "fp32", []string{"feature=1"}, nil, true},
		{"cpu", "fp32", []string{"logits=-1"}, nil, true},
		{"cpu", "fp32", []string{"logits=x"}, nil, true},
		{"cpu", "fp32", []string{"NaN"}, nil, true},
	} {
		tol := DefaultTolerances(c.device, c.precision)
		err := ParseTolerances(tol, c.specs)
		if (err != nil) != c.err {
			t.Errorf("%v: error %v", c.specs, err)
			continue
		}
		for k, v := range c.want {
			if tol[k] != v {
				t.Errorf("%s %s %v: %s = %g, want %g", c.device, c.precision, c.specs, k, tol[k], v)
			}
		}
	}
}

func sampleReport() *Report {
	rep := &Report{Model: "m", Images: []string{"x/a.png", "x/b.jpg"}, Texts: []string{"cat", "dog"}}
	rep.Versions.Reference = "project export module"
	got := &goclipOutputs{tokens: [][]int32{{1, 2}, {1, 3}}, pixels: []float32{0, 1, 2, 3}, probs: []float32{0.5, 0.5, 0.25, 0.75}}
	got.encodeImage.Data = []float32{1, 2, 3, 4}
	got.encodeText.Data = []float32{1, 2, 3, 4}
	got.logits.Data = []float32{10, 20, 30, 40.5}
	ref := &reference{pixels: []float32{0, 1, 2, 3}, encodeImage: []float32{1, 2, 3, 4}, encodeText: []float32{1, 2, 3, 4},
		logits: []float32{10, 20, 30, 40}, probs: []float32{0.5, 0.5, 0.25, 0.75}}
	rep.compareAll(got, ref, DefaultTolerances("cpu", "fp32"))
	return rep
}

func TestReportOutputs(t *testing.T) {
	rep := sampleReport()
	if rep.Pass || rep.FirstFailing != StageLogits || rep.Stages[0].Status != StatusNotChecked {
		t.Fatalf("pass %v, first failing %q, tokens %q", rep.Pass, rep.FirstFailing, rep.Stages[0].Status)
	}
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"tokens        not checked", "logits        FAIL", `"b.jpg" 0.5`, "FAIL: first differing stage: logits"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Pass         bool    `json:"pass"`
		FirstFailing string  `json:"first_failing"`
		Verdict      string  `json:"verdict"`
		Stages       []Stage `json:"stages"`
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Pass || back.FirstFailing != "logits" || len(back.Stages) != 6 || back.Stages[4].MaxAbs != 0.5 {
		t.Errorf("JSON round trip: %+v", back)
	}
	var page bytes.Buffer
	if err := rep.WriteHTML(&page, ""); err != nil {
		t.Fatal(err)
	}
	h := page.String()
	// b.jpg differs in nothing here and a.png neither: both unreadable
	// placeholders, in input order; the failing row is marked.
	for _, want := range []string{`<tr class="fail"><td>logits`, "FAIL: first differing stage: logits", "unreadable", "a.png"} {
		if !strings.Contains(h, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
