package parity

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/goclip/goclip/internal/report"
)

// Verdict is a one-line summary: PASS, or FAIL with the first failing stage.
func (rep *Report) Verdict() string {
	if rep.Pass {
		n := 0
		for _, st := range rep.Stages {
			if st.Status == StatusNotChecked {
				n++
			}
		}
		if n > 0 {
			return fmt.Sprintf("PASS: every checked stage is within its tolerance (%d not checked)", n)
		}
		return "PASS: every stage is within its tolerance"
	}
	return fmt.Sprintf("FAIL: first differing stage: %s", rep.FirstFailing)
}

// FormatTol prints a tolerance: "exact" for zero.
func FormatTol(t float64) string {
	if t == 0 {
		return "exact"
	}
	return fmt.Sprintf("%.0e", t)
}

func formatDiff(v float64) string {
	switch {
	case v == 0:
		return "0"
	case math.IsInf(v, 1):
		return "inf"
	}
	return fmt.Sprintf("%.3g", v)
}

func (st Stage) worstText() string {
	parts := make([]string, len(st.Worst))
	for i, w := range st.Worst {
		in := w.Input
		if len(in) > 32 {
			in = in[:29] + "..."
		}
		parts[i] = fmt.Sprintf("%q %s", in, formatDiff(w.MaxAbs))
	}
	return strings.Join(parts, ", ")
}

// WriteText prints the report as people read it: versions, the stage
// table, what each reference is, and the verdict.
func (rep *Report) WriteText(w io.Writer) error {
	v := rep.Versions
	var b strings.Builder
	fmt.Fprintf(&b, "clip parity: %s (%d images, %d texts) on %s %s\n", rep.Model, len(rep.Images), len(rep.Texts), v.GoclipDevice, v.Precision)
	fmt.Fprintf(&b, "goclip     %s, libtorch %s, artifact %s (sha256 %s, exported with torch %s)\n", v.Goclip, v.Libtorch, rep.Artifact, v.ArtifactSHA256, v.ArtifactTorch)
	fmt.Fprintf(&b, "reference  %s\n", v.Reference)
	fmt.Fprintf(&b, "           python %s (%s), torch %s, CUDA %s, torchvision %s, Pillow %s, device %s (%s)\n",
		v.Python, v.PythonExecutable, v.Torch, orDefault(v.CUDA, "none"), orDefault(v.Torchvision, "-"), orDefault(v.Pillow, "-"), v.Device, v.DeviceName)
	fmt.Fprintf(&b, "checkpoint %s (sha256 %s)\n", v.Checkpoint, v.CheckpointSHA256)
	for _, n := range rep.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "STAGE\tSTATUS\tIDENTICAL ROWS\tMAX ABS\tMAX REL\tTOL\tWORST INPUTS\n")
	for _, st := range rep.Stages {
		ident := fmt.Sprintf("%d/%d", st.Identical, st.Rows)
		abs, rel := formatDiff(st.MaxAbs), formatDiff(st.MaxRel)
		if st.Status == StatusNotChecked {
			ident, abs, rel = "-", "-", "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", st.Name, st.Status, ident, abs, rel, FormatTol(st.Tol), st.worstText())
	}
	tw.Flush()
	b.WriteString("\nreferences (max rel = max|goclip - reference| / max|reference|):\n")
	for _, st := range rep.Stages {
		fmt.Fprintf(&b, "  %-13s %s\n", st.Name, st.Reference)
		if st.Note != "" {
			fmt.Fprintf(&b, "  %-13s %s\n", "", st.Note)
		}
	}
	fmt.Fprintf(&b, "\n%s\n", rep.Verdict())
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteJSON writes the report as one indented JSON object, with the
// verdict line as "verdict".
func (rep *Report) WriteJSON(w io.Writer) error {
	type out struct {
		*Report
		Verdict string `json:"verdict"`
	}
	clean := *rep
	clean.Stages = make([]Stage, len(rep.Stages))
	for i, st := range rep.Stages { // JSON has no Inf
		if math.IsInf(st.MaxAbs, 0) {
			st.MaxAbs = math.MaxFloat64
		}
		if math.IsInf(st.MaxRel, 0) {
			st.MaxRel = math.MaxFloat64
		}
		clean.Stages[i] = st
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out{&clean, rep.Verdict()})
}

// WriteHTML writes the report page: versions, the stage table and the
// images ordered by their encode_image difference, largest first.
func (rep *Report) WriteHTML(w io.Writer, baseDir string) error {
	v := rep.Versions
	p := report.Parity{
		Model:   rep.Model,
		Verdict: rep.Verdict(),
		Pass:    rep.Pass,
		Facts: [][2]string{
			{"goclip", v.Goclip}, {"libtorch", v.Libtorch}, {"device", v.GoclipDevice + " " + v.Precision},
			{"artifact sha256", v.ArtifactSHA256}, {"reference", v.Reference},
			{"torch", v.Torch}, {"CUDA", orDefault(v.CUDA, "none")}, {"reference device", v.Device + " (" + v.DeviceName + ")"},
			{"checkpoint", v.Checkpoint}, {"checkpoint sha256", v.CheckpointSHA256},
		},
	}
	for _, n := range rep.Notes {
		p.Facts = append(p.Facts, [2]string{"note", n})
	}
	for _, st := range rep.Stages {
		ident, abs, rel := fmt.Sprintf("%d/%d", st.Identical, st.Rows), formatDiff(st.MaxAbs), formatDiff(st.MaxRel)
		if st.Status == StatusNotChecked {
			ident, abs, rel = "-", "-", "-"
		}
		p.Stages = append(p.Stages, report.ParityStage{
			Name: st.Name, Status: st.Status, Pass: st.Status != StatusFail, Identical: ident,
			MaxAbs: abs, MaxRel: rel, Tol: FormatTol(st.Tol), Worst: st.worstText(), Reference: st.Reference,
		})
	}
	order := make([]int, len(rep.Images))
	for i := range order {
		order[i] = i
	}
	if len(rep.ImageDiff) == len(rep.Images) {
		sort.SliceStable(order, func(a, b int) bool { return rep.ImageDiff[order[a]] > rep.ImageDiff[order[b]] })
	}
	for _, i := range order {
		d := "-"
		if len(rep.ImageDiff) == len(rep.Images) {
			d = formatDiff(rep.ImageDiff[i])
		}
		p.Images = append(p.Images, report.ParityImage{File: rep.Images[i], Diff: d})
	}
	return report.WriteParityPage(w, p, report.PageOptions{BaseDir: baseDir})
}
