package parity

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
)

// WriteText prints the report as a table: the versions compared, one line
// per stage, the worst inputs of each differing stage, and the verdict.
func (r *Report) WriteText(w io.Writer) error {
	v := r.Versions
	var b strings.Builder
	fmt.Fprintf(&b, "model       %s (%s)\n", r.Model, r.Artifact)
	fmt.Fprintf(&b, "checkpoint  %s (sha256 %s)\n", v.Checkpoint, v.CheckpointSHA256)
	fmt.Fprintf(&b, "artifact    sha256 %s\n", orNone(v.ArtifactSHA256))
	fmt.Fprintf(&b, "goclip      %s, libtorch %s, %s %s, %d threads\n", v.Goclip, v.Libtorch, v.Device, v.Precision, v.Threads)
	fmt.Fprintf(&b, "reference   %s, python %s, torch %s, torchvision %s, CUDA %s\n", v.Reference, v.Python, v.PythonTorch, orNone(v.Torchvision), orNone(v.CUDA))
	fmt.Fprintf(&b, "device      %s\n", v.DeviceName)
	fmt.Fprintf(&b, "inputs      %d images, %d texts\n\n", len(r.Images), len(r.Texts))
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "STAGE\tMAX ABS\tMAX REL\tIDENTICAL ROWS\tTOLERANCE\tRESULT\n")
	for _, s := range r.Stages {
		if s.Status == StatusNotChecked {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t%s\t%s\n", s.Name, s.Tolerance, s.Status)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%s\t%s\n", s.Name, num(s.MaxAbs), num(s.MaxRel), s.RowsIdentical, s.Rows, s.Tolerance, strings.ToUpper(s.Status))
	}
	tw.Flush()
	for _, s := range r.Stages {
		if s.Status == StatusNotChecked {
			fmt.Fprintf(&b, "%s not checked: %s\n", s.Name, s.Note)
		}
		if len(s.Worst) > 0 {
			parts := make([]string, len(s.Worst))
			for i, x := range s.Worst {
				parts[i] = x.Input + " " + num(x.MaxAbs)
			}
			fmt.Fprintf(&b, "%s worst: %s\n", s.Name, strings.Join(parts, ", "))
		}
	}
	if r.RandomWeights {
		fmt.Fprintf(&b, "note: %s has random weights (a demo or test model): the check is still exact, its outputs mean nothing\n", r.Model)
	}
	if r.Passed() {
		fmt.Fprintf(&b, "\nPASS: goclip equals the reference within the tolerances\n")
	} else {
		s := r.stage(r.FirstFailure)
		fmt.Fprintf(&b, "\nFAIL: first failing stage %s: %s\n", r.FirstFailure, s.Note)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *Report) stage(name string) Stage {
	for _, s := range r.Stages {
		if s.Name == name {
			return s
		}
	}
	return Stage{}
}

// num prints 0 as "0" and other values with 3 significant digits.
func num(f float64) string {
	if f == 0 {
		return "0"
	}
	return strconv.FormatFloat(f, 'e', 2, 64)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
