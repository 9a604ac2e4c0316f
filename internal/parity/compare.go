package parity

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Stage names, in the order the chain runs them. The first stage that
// exceeds its tolerance is the one reported as failing.
const (
	StageTokens      = "tokens"
	StagePixels      = "pixels"
	StageEncodeImage = "encode_image"
	StageEncodeText  = "encode_text"
	StageLogits      = "logits"
	StageProbs       = "probs"
)

// Stages lists the stage names in chain order.
var Stages = []string{StageTokens, StagePixels, StageEncodeImage, StageEncodeText, StageLogits, StageProbs}

// Status of a stage.
const (
	StatusPass       = "pass"
	StatusFail       = "FAIL"
	StatusNotChecked = "not checked"
)

// Tolerances maps a stage name to the largest accepted relative difference:
// max|goclip - reference| / max|reference|. Zero means bit-identical.
type Tolerances map[string]float64

// DefaultTolerances returns the defaults for a device and precision: token
// ids and pixels exact everywhere; on the CPU in fp32 1e-5 for features,
// logits and probabilities; on CUDA 1e-4 in fp32 (cuDNN may pick other
// kernels run to run) and 1e-2 in fp16 (one float16 ulp is ~1e-3).
func DefaultTolerances(device, precision string) Tolerances {
	feat := 1e-5
	if strings.HasPrefix(device, "cuda") {
		feat = 1e-4
		if precision == "fp16" {
			feat = 1e-2
		}
	}
	return Tolerances{
		StageTokens: 0, StagePixels: 0,
		StageEncodeImage: feat, StageEncodeText: feat, StageLogits: feat, StageProbs: feat,
	}
}

// ParseTolerances applies --tol values to t: "stage=value" (comma-separated
// or repeated) sets one stage; a bare value sets every float stage
// (encode_image, encode_text, logits, probs).
func ParseTolerances(t Tolerances, specs []string) error {
	for _, spec := range specs {
		for _, item := range strings.Split(spec, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			name, val, named := strings.Cut(item, "=")
			if !named {
				val = name
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
			if err != nil || v < 0 || math.IsNaN(v) {
				return fmt.Errorf("tolerance %q: want a non-negative number", item)
			}
			if !named {
				for _, s := range []string{StageEncodeImage, StageEncodeText, StageLogits, StageProbs} {
					t[s] = v
				}
				continue
			}
			name = strings.TrimSpace(name)
			if !knownStage(name) {
				return fmt.Errorf("tolerance %q: unknown stage %q (stages: %s)", item, name, strings.Join(Stages, ", "))
			}
			t[name] = v
		}
	}
	return nil
}

func knownStage(name string) bool {
	for _, s := range Stages {
		if s == name {
			return true
		}
	}
	return false
}

// Worst is one input among those that differ most.
type Worst struct {
	Input  string  `json:"input"`   // file name or text
	MaxAbs float64 `json:"max_abs"` // largest |difference| in its row
}

// Stage is the comparison of one stage of the chain.
type Stage struct {
	Name      string  `json:"name"`
	Reference string  `json:"reference"` // what the reference values are
	Status    string  `json:"status"`    // pass, FAIL or "not checked"
	Note      string  `json:"note,omitempty"`
	Rows      int     `json:"rows"`
	Identical int     `json:"rows_identical"` // rows bit-identical to the reference
	MaxAbs    float64 `json:"max_abs"`
	MaxRel    float64 `json:"max_rel"` // MaxAbs / max|reference|
	Tol       float64 `json:"tolerance"`
	Worst     []Worst `json:"worst,omitempty"` // rows that differ, largest first (at most 3)
}

// maxWorst is how many differing inputs a stage names.
const maxWorst = 3

// compare fills a stage from goclip's and the reference's values, both
// rows×cols, row-major; names label the rows. A shape mismatch fails the
// stage with a note.
func compare(st *Stage, got, want []float64, rows int, names []string, tol float64) {
	st.Rows, st.Tol = rows, tol
	if len(got) != len(want) || rows <= 0 || len(want)%rows != 0 {
		st.Status = StatusFail
		st.Note = fmt.Sprintf("shape mismatch: goclip has %d values, the reference %d (%d rows)", len(got), len(want), rows)
		st.MaxAbs, st.MaxRel = math.Inf(1), math.Inf(1)
		return
	}
	cols := len(want) / rows
	var maxRef float64
	for _, v := range want {
		maxRef = math.Max(maxRef, math.Abs(v))
	}
	var worst []Worst
	for r := 0; r < rows; r++ {
		var rowMax float64
		same := true
		for c := 0; c < cols; c++ {
			g, w := got[r*cols+c], want[r*cols+c]
			if math.Float64bits(g) != math.Float64bits(w) && !(g == w) {
				same = false
			}
			d := math.Abs(g - w)
			if math.IsNaN(d) {
				d = math.Inf(1)
			}
			rowMax = math.Max(rowMax, d)
		}
		if same {
			st.Identical++
			continue
		}
		st.MaxAbs = math.Max(st.MaxAbs, rowMax)
		name := fmt.Sprintf("row %d", r)
		if r < len(names) {
			name = names[r]
		}
		worst = append(worst, Worst{Input: name, MaxAbs: rowMax})
	}
	sort.SliceStable(worst, func(a, b int) bool { return worst[a].MaxAbs > worst[b].MaxAbs })
	if len(worst) > maxWorst {
		worst = worst[:maxWorst]
	}
	st.Worst = worst
	switch {
	case st.MaxAbs == 0:
		st.MaxRel = 0
	case maxRef == 0:
		st.MaxRel = math.Inf(1)
	default:
		st.MaxRel = st.MaxAbs / maxRef
	}
	st.Status = StatusPass
	if st.MaxRel > tol || (tol == 0 && st.Identical != rows) {
		st.Status = StatusFail
	}
}

func float32s(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func int64s(v []int64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}
