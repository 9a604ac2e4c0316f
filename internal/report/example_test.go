package report_test

import (
	"fmt"
	"log"
	"strings"

	"github.com/goclip/goclip/internal/report"
)

// A search page that links to the images (instead of embedding them), to be
// written as out/search.html: each image path becomes relative to "out".
func ExampleWriteSearchPage() {
	hits := []report.SearchHit{
		{Rank: 1, File: "photos/beach day.jpg", Score: 0.3127},
		{Rank: 2, File: "photos/dunes.png", Score: 0.2874},
	}
	var page strings.Builder
	err := report.WriteSearchPage(&page, "a sunny beach", "ViT-B/32", hits,
		report.PageOptions{Thumbnail: report.ThumbLink, BaseDir: "out"})
	if err != nil {
		log.Fatal(err)
	}
	for _, line := range strings.Split(page.String(), "\n") {
		if strings.HasPrefix(line, "<div class=") {
			fmt.Println(line)
		}
	}
	// Output:
	// <div class="thumb"><img src="../photos/beach%20day.jpg" alt="beach day.jpg"></div>
	// <div class="score"><span class="rank">#1</span><span><span class="score-label">score</span><span class="score-value">0.3127</span></span></div>
	// <div class="thumb"><img src="../photos/dunes.png" alt="dunes.png"></div>
	// <div class="score"><span class="rank">#2</span><span><span class="score-label">score</span><span class="score-value">0.2874</span></span></div>
}

// A parity page (what "clip parity --html" writes), with linked images.
func ExampleWriteParityPage() {
	p := report.Parity{
		Model:   "ViT-B/32",
		Verdict: "PASS: every stage is within its tolerance",
		Pass:    true,
		Stages: []report.ParityStage{
			{Name: "pixels", Status: "pass", Pass: true, Identical: "3/3", MaxAbs: "0", MaxRel: "0", Tol: "exact"},
		},
		Images: []report.ParityImage{{File: "cat.jpg", Diff: "0"}},
	}
	var page strings.Builder
	if err := report.WriteParityPage(&page, p, report.PageOptions{Thumbnail: report.ThumbLink}); err != nil {
		log.Fatal(err)
	}
	for _, line := range strings.Split(page.String(), "\n") {
		if strings.HasPrefix(line, "<p class=\"verdict") || strings.HasPrefix(line, "<tr class=") {
			fmt.Println(line)
		}
	}
	// Output:
	// <p class="verdict pass">PASS: every stage is within its tolerance</p>
	// <tr class="ok"><td>pixels<div class="ref"></div></td><td class="status">pass</td><td class="num">3/3</td><td class="num">0</td><td class="num">0</td><td class="num">exact</td><td></td></tr>
}
