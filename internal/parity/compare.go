package parity

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// The stages, in the order they are checked.
const (
	StageTokens      = "tokens"
	StagePixels      = "pixels"
	StageEncodeImage = "encode_image"
	StageEncodeText  = "encode_text"
	StageLogits      = "logits"
	StageProbs       = "probs"
)

// Stages lists the stage names in order.
var Stages = []string{StageTokens, StagePixels, StageEncodeImage, StageEncodeText, StageLogits, StageProbs}

// Statuses of a stage.
const (
	StatusPass       = "pass"
	StatusFail       = "fail"
	StatusNotChecked = "not checked"
)

// Tolerance bounds one stage: the largest allowed max abs difference
// (Relative false) or max abs difference over the largest |reference|
// value of the stage (Relative true).
type Tolerance struct {
	Value    float64 `json:"value"`
	Relative bool    `json:"relative"`
}

// String is "0 (exact)", "1e-05 rel" or "0.001 abs".
func (t Tolerance) String() string {
	v := strconv.FormatFloat(t.Value, 'g', -1, 64)
	switch {
	case t.Value == 0:
		return "0 (exact)"
	case t.Relative:
		return v + " rel"
	}
	return v + " abs"
}

// DefaultTolerances are the tolerances of a device and precision: token
// ids and pixels exact; features and logits 1e-5 relative in float32 (CPU
// or CUDA) and 2e-3 in CUDA float16; probabilities 1e-5 absolute in float32
// and 1e-3 in float16.
func DefaultTolerances(cuda, fp16 bool) map[string]Tolerance {
	feat, probs := 1e-5, 1e-5
	if cuda && fp16 {
		feat, probs = 2e-3, 1e-3
	}
	return map[string]Tolerance{
		StageTokens:      {0, false},
		StagePixels:      {0, false},
		StageEncodeImage: {feat, true},
		StageEncodeText:  {feat, true},
		StageLogits:      {feat, true},
		StageProbs:       {probs, false},
	}
}

// ParseTolerances applies overrides "stage=value,stage=value" to tol (in
// place): each value keeps its stage's kind (relative or absolute).
func ParseTolerances(spec string, tol map[string]Tolerance) error {
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, ok := strings.Cut(part, "=")
		name = strings.TrimSpace(name)
		if !ok {
			return fmt.Errorf("tolerance %q: want stage=value", part)
		}
		t, known := tol[name]
		if !known {
			return fmt.Errorf("tolerance %q: unknown stage %q (stages: %s)", part, name, strings.Join(Stages, ", "))
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil || v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("tolerance %q: want a finite number >= 0", part)
		}
		t.Value = v
		tol[name] = t
	}
	return nil
}

// Stage is the comparison of one stage.
type Stage struct {
	Name      string    `json:"stage"`
	Status    string    `json:"status"`         // pass, fail or not checked
	Note      string    `json:"note,omitempty"` // why not checked, or what failed
	MaxAbs    float64   `json:"max_abs"`        // max |goclip - reference|
	MaxRel    float64   `json:"max_rel"`        // MaxAbs / max |reference|
	Tolerance Tolerance `json:"tolerance"`
	// RowsIdentical of Rows rows (one per image or text) are bit-identical.
	RowsIdentical int `json:"rows_identical"`
	Rows          int `json:"rows"`
	// Worst are the (at most 3) inputs whose rows differ most.
	Worst []Worst `json:"worst,omitempty"`
}

// Worst is one input with a differing row.
type Worst struct {
	Input  string  `json:"input"`
	File   string  `json:"file,omitempty"` // the image file, for image rows
	MaxAbs float64 `json:"max_abs"`
}

// Passed reports whether the stage is within its tolerance.
func (s Stage) Passed() bool { return s.Status != StatusFail }

// compare compares got against ref, both [len(names), cols] row-major.
func compare(name string, got, ref []float32, names []string, tol Tolerance) Stage {
	st := Stage{Name: name, Tolerance: tol, Rows: len(names)}
	if len(got) != len(ref) || len(names) == 0 || len(ref)%len(names) != 0 {
		st.Status, st.Note = StatusFail, fmt.Sprintf("shapes differ: goclip %d values, reference %d, for %d rows", len(got), len(ref), len(names))
		return st
	}
	cols := len(ref) / len(names)
	var maxRef float64
	var worst []Worst
	for r := range names {
		identical := true
		var rowMax float64
		for c := r * cols; c < (r+1)*cols; c++ {
			g, f := float64(got[c]), float64(ref[c])
			maxRef = math.Max(maxRef, math.Abs(f))
			if math.Float32bits(got[c]) != math.Float32bits(ref[c]) {
				identical = false
			}
			d := math.Abs(g - f)
			if math.IsNaN(d) && !(math.IsNaN(g) && math.IsNaN(f)) {
				d = math.Inf(1)
			}
			rowMax = math.Max(rowMax, d)
		}
		if identical {
			st.RowsIdentical++
		}
		if rowMax > 0 {
			worst = append(worst, Worst{Input: names[r], MaxAbs: rowMax})
		}
		st.MaxAbs = math.Max(st.MaxAbs, rowMax)
	}
	sort.SliceStable(worst, func(i, j int) bool { return worst[i].MaxAbs > worst[j].MaxAbs })
	st.Worst = worst[:min(3, len(worst))]
	switch {
	case st.MaxAbs == 0:
	case maxRef > 0:
		st.MaxRel = st.MaxAbs / maxRef
	default:
		st.MaxRel = math.Inf(1)
	}
	measure := st.MaxAbs
	if tol.Relative {
		measure = st.MaxRel
	}
	st.Status = StatusPass
	if !(measure <= tol.Value) {
		st.Status = StatusFail
		st.Note = fmt.Sprintf("%s %.3g exceeds the tolerance %s", map[bool]string{true: "relative difference", false: "difference"}[tol.Relative], measure, tol)
	}
	return st
}

// compareTokens compares token rows; any difference fails.
func compareTokens(got [][]int32, ref []int64, names []string, tol Tolerance) Stage {
	flat := make([]float32, 0, len(ref))
	for _, row := range got {
		for _, v := range row {
			flat = append(flat, float32(v))
		}
	}
	refF := make([]float32, len(ref))
	for i, v := range ref {
		refF[i] = float32(v) // token ids < 2^24 are exact in float32
	}
	st := compare(StageTokens, flat, refF, names, tol)
	st.MaxRel = 0 // ids are labels, not magnitudes
	return st
}

// softmaxRows is the softmax of each row of m ([rows, cols]), computed in
// float64 and rounded to float32.
func softmaxRows(data []float32, cols int) []float32 {
	out := make([]float32, len(data))
	for r := 0; r+cols <= len(data) && cols > 0; r += cols {
		row := data[r : r+cols]
		maxv := math.Inf(-1)
		for _, v := range row {
			maxv = math.Max(maxv, float64(v))
		}
		var sum float64
		for _, v := range row {
			sum += math.Exp(float64(v) - maxv)
		}
		for j, v := range row {
			out[r+j] = float32(math.Exp(float64(v)-maxv) / sum)
		}
	}
	return out
}
