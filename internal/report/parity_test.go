package report

import (
	"image/color"
	"strings"
	"testing"
)

func TestParityPage(t *testing.T) {
	dir := t.TempDir()
	red := writeImage(t, dir, "red.png", "png", solid(40, 30, color.RGBA{R: 255, A: 255}))
	p := Parity{
		Model:   "ViT-B/32",
		Verdict: "FAIL: first differing stage: encode_image",
		Facts:   [][2]string{{"torch", "2.11.0"}, {"note", "<script>alert(1)</script>"}},
		Stages: []ParityStage{
			{Name: "pixels", Status: "pass", Pass: true, Identical: "2/2", MaxAbs: "0", MaxRel: "0", Tol: "exact", Reference: "torchvision"},
			{Name: "encode_image", Status: "FAIL", Identical: "0/2", MaxAbs: "0.01", MaxRel: "0.002", Tol: "1e-05", Worst: `"red.png" 0.01`},
		},
		Images: []ParityImage{{File: red, Diff: "0.01"}, {File: dir + "/missing.jpg", Diff: "0"}},
	}
	var b strings.Builder
	if err := WriteParityPage(&b, p, PageOptions{}); err != nil {
		t.Fatal(err)
	}
	h := b.String()
	for _, want := range []string{
		"<title>Parity: ViT-B/32</title>", `<p class="verdict fail">FAIL: first differing stage: encode_image</p>`,
		`<tr class="ok"><td>pixels<div class="ref">torchvision</div></td><td class="status">pass</td><td class="num">2/2</td>`,
		`<tr class="fail"><td>encode_image`, "&lt;script&gt;alert(1)&lt;/script&gt;", "data:image/jpeg;base64,",
		`<span class="rank">#2</span>`, ">unreadable<", "Content-Security-Policy",
	} {
		if !strings.Contains(h, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(h, "<script>") {
		t.Error("user text reached the page unescaped")
	}
	if err := WriteParityPage(failWriter{}, p, PageOptions{Thumbnail: ThumbLink}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("failing writer: %v", err)
	}
	if err := WriteParityPage(panicWriter{}, p, PageOptions{Thumbnail: ThumbLink}); err == nil {
		t.Error("panicking writer: no error")
	}
	if err := WriteParityPage(&b, p, PageOptions{Top: -1}); err == nil {
		t.Error("negative Top accepted")
	}
}
