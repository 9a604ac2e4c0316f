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
