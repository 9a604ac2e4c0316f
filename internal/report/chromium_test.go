package report

import (
	"bytes"
	"image/color"
	"image/png"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/goclip/goclip/internal/testutil"
)

// runChromium runs headless Chromium on the page file with the extra
// arguments and returns its standard output.
func runChromium(t *testing.T, bin, pagePath string, args ...string) []byte {
	t.Helper()
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(pagePath)}
	return testutil.RunChromium(t, bin, u.String(), args...)
}

// TestChromiumRender renders a search page (embedded thumbnails) and a
// classification page (linked images, written in a sibling directory) in
// headless Chromium, checks the DOM it builds and that the thumbnails show
// up in a screenshot.
func TestChromiumRender(t *testing.T) {
	bin := testutil.Chromium(t)
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	imgDir := filepath.Join(dir, "my photos")
	outDir := filepath.Join(dir, "out")
	for _, d := range []string{imgDir, outDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Colours no part of the page's own style uses.
	red := color.RGBA{230, 30, 30, 255}
	green := color.RGBA{30, 200, 60, 255}
	yellow := color.RGBA{240, 220, 20, 255}
	files := []string{
		writeImage(t, imgDir, `red "cat" & co.png`, "png", solid(640, 480, red)),
		writeImage(t, imgDir, "green#1.jpg", "jpeg", solid(300, 600, green)),
		writeBytes(t, imgDir, "broken.jpg", []byte("not a JPEG")),
		writeImage(t, imgDir, "yellow 100%.png", "png", solid(500, 500, yellow)),
	}
	colours := map[string]color.RGBA{"red": red, "green": green, "yellow": yellow}

	t.Run("search", func(t *testing.T) {
		hits := make([]SearchHit, len(files))
		scores := []float32{0.3121, 0.2811, 0.2501, 0.2011}
		for i, f := range files {
			hits[i] = SearchHit{Rank: i + 1, File: f, Score: scores[i]}
		}
		pagePath := filepath.Join(outDir, "search.html")
		writePage(t, pagePath, func(w *bytes.Buffer) error {
			return WriteSearchPage(w, `a <b>cat</b> & "friends"`, "ViT-B/32", hits, PageOptions{})
		})
		dom := string(runChromium(t, bin, pagePath, "--dump-dom"))
		checkDOM(t, dom, len(files))
		if !strings.Contains(dom, `<dd class="query">a &lt;b&gt;cat&lt;/b&gt; &amp; "friends"</dd>`) {
			t.Error("rendered DOM lacks the query as text")
		}
		if n := strings.Count(dom, `<div class="placeholder"`); n != 1 {
			t.Errorf("%d placeholders, want 1", n)
		}
		got := regexp.MustCompile(`<span class="score-value">([^<]*)</span>`).FindAllStringSubmatch(dom, -1)
		want := []string{"0.3121", "0.2811", "0.2501", "0.2011"}
		if len(got) != len(want) {
			t.Fatalf("%d scores in the DOM, want %d", len(got), len(want))
		}
		for i := range want {
			if got[i][1] != want[i] {
				t.Errorf("score %d = %s, want %s", i, got[i][1], want[i])
			}
		}
		checkScreenshot(t, bin, pagePath, colours)
	})

	t.Run("classify", func(t *testing.T) {
		labels := []string{"a cat", "a dog", "<script>alert(1)</script>", "a car"}
		probs := [][]float32{{0.7, 0.2, 0.06, 0.04}, {0.1, 0.6, 0.05, 0.25}, {0.25, 0.25, 0.25, 0.25}, {0.01, 0.02, 0.9, 0.07}}
		results := make([]Classification, len(files))
		for i, f := range files {
			results[i] = Classification{File: f, Labels: labels, Probs: probs[i]}
		}
		pagePath := filepath.Join(outDir, "classify.html")
		writePage(t, pagePath, func(w *bytes.Buffer) error {
			return WriteClassifyPage(w, "RN50", results, PageOptions{Top: 3, Thumbnail: ThumbLink, BaseDir: outDir})
		})
		dom := string(runChromium(t, bin, pagePath, "--dump-dom"))
		checkDOM(t, dom, len(files))
		want := [][]string{
			{"a cat", "a dog", "&lt;script&gt;alert(1)&lt;/script&gt;"},
			{"a dog", "a car", "a cat"},
			{"a cat", "a dog", "&lt;script&gt;alert(1)&lt;/script&gt;"},
			{"&lt;script&gt;alert(1)&lt;/script&gt;", "a car", "a dog"},
		}
		cards := strings.Split(dom, `<article class="card">`)[1:]
		labelRE := regexp.MustCompile(`<span class="label">([^<]*)</span>`)
		for i, c := range cards {
			var got []string
			for _, m := range labelRE.FindAllStringSubmatch(c, -1) {
				got = append(got, m[1])
			}
			if strings.Join(got, "|") != strings.Join(want[i], "|") {
				t.Errorf("card %d labels %q, want %q", i, got, want[i])
			}
		}
		checkScreenshot(t, bin, pagePath, colours)
	})
}

func writePage(t *testing.T, path string, write func(*bytes.Buffer) error) {
	t.Helper()
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkDOM checks what both rendered pages share: the card count and that
// no script element came out of the user's text.
func checkDOM(t *testing.T, dom string, cards int) {
	t.Helper()
	if !strings.Contains(dom, "</html>") {
		t.Fatalf("chromium printed no DOM: %.200q", dom)
	}
	if n := strings.Count(dom, `<article class="card">`); n != cards {
		t.Errorf("%d cards in the rendered DOM, want %d", n, cards)
	}
	if strings.Contains(strings.ToLower(dom), "<script") {
		t.Error("rendered DOM has a script element")
	}
}

// checkScreenshot takes a 1200×900 screenshot of the page and checks that
// each solid-colour image covers a thumbnail-sized area.
func checkScreenshot(t *testing.T, bin, pagePath string, colours map[string]color.RGBA) {
	t.Helper()
	shot := filepath.Join(t.TempDir(), "shot.png")
	runChromium(t, bin, pagePath, "--screenshot="+shot, "--window-size=1200,900")
	data, err := os.ReadFile(shot)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 900 {
		t.Errorf("screenshot is %dx%d, want 1200x900", b.Dx(), b.Dy())
	}
	if dst := os.Getenv("GOCLIP_SCREENSHOT_DIR"); dst != "" {
		_ = os.WriteFile(filepath.Join(dst, filepath.Base(pagePath)+".png"), data, 0o644)
	}
	for name, c := range colours {
		// A thumbnail is about 270 px wide; the tall image covers the least.
		if n := testutil.CountNear(img, c, 16); n < 20000 {
			t.Errorf("%s image: %d pixels in the screenshot, want at least 20000", name, n)
		}
	}
}
