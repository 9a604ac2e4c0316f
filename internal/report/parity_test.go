package report

import (
	"bytes"
	"image/color"
	"strings"
	"testing"
)

func TestParityPage(t *testing.T) {
	dir := t.TempDir()
	red := writeImage(t, dir, "red.png", "png", solid(40, 20, color.RGBA{255, 0, 0, 255}))
	p := Parity{
		Model: "ViT-B/32 <x>", Verdict: "FAIL", FirstFailure: "encode_image",
		Versions: [][2]string{{"goclip", "1.2"}, {"CUDA", ""}, {"libtorch", "2.1.0"}},
		Stages: []ParityStage{
			{Name: "tokens", Status: "not checked", Tolerance: "0 (exact)", Note: "no official package"},
			{Name: "encode_image", Status: "fail", MaxAbs: "0.25", MaxRel: "0.5", Identical: "0/1", Tolerance: "1e-05 rel",
				Worst: []string{"red.png 0.25", "<b>.png 0.1"}},
		},
		WorstImages: []ParityImage{{File: red, Stage: "encode_image", MaxAbs: 0.25}},
	}
	var b bytes.Buffer
	if err := WriteParityPage(&b, p, PageOptions{Notice: "random weights"}); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{
		"<title>Parity: ViT-B/32 &lt;x&gt;</title>",
		`class="verdict verdict-FAIL">FAIL (first failing stage: encode_image)`,
		"<dt>goclip</dt><dd>1.2</dd>", "<dt>libtorch</dt><dd>2.1.0</dd>",
		`<tr class="status-not-checked"><td>tokens</td><td>-</td><td>-</td><td>-</td><td>0 (exact)</td>`,
		"no official package</td></tr>",
		`<tr class="status-fail"><td>encode_image</td><td>0.25</td><td>0.5</td><td>0/1</td><td>1e-05 rel</td>`,
		"red.png 0.25; &lt;b&gt;.png 0.1",
		"red.png · encode_image", "max |Δ|", `<span class="score-value">0.25</span>`,
		`src="data:image/jpeg;base64,`, "random weights",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "<dt>CUDA</dt>") {
		t.Error("an empty version is shown")
	}
	if strings.Contains(page, "<b>") {
		t.Error("a name is not escaped")
	}

	b.Reset()
	p.Verdict, p.FirstFailure, p.WorstImages, p.Stages = "PASS", "", nil, nil
	if err := WriteParityPage(&b, p, PageOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "verdict-PASS\">PASS</dd>") || !strings.Contains(b.String(), "Every image is bit-identical") {
		t.Errorf("PASS page:\n%s", b.String())
	}
	if err := WriteParityPage(nil, p, PageOptions{}); err == nil {
		t.Error("nil writer accepted")
	}
}
