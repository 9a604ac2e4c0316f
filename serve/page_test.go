package serve

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/internal/testutil"
)

func runChromium(t *testing.T, bin, page string, args ...string) []byte {
	t.Helper()
	return testutil.RunChromium(t, bin, page, append([]string{"--virtual-time-budget=20000"}, args...)...)
}

// TestPageInChromium loads the page with an image and labels, and a search
// text, in its address (what dropping an image and typing does), and
// checks the probabilities and the ranked thumbnails it shows against the
// API's answers, in the DOM and in a screenshot.
func TestPageInChromium(t *testing.T) {
	bin := testutil.Chromium(t)
	s, base := startServer(t, Options{}, "tiny-vit")
	// An index: embed --images-dir of three solid images.
	dir := t.TempDir()
	photos := filepath.Join(dir, "photos")
	os.Mkdir(photos, 0o755)
	cols := map[string]color.RGBA{"red.png": {230, 30, 30, 255}, "green.png": {30, 200, 60, 255}, "blue.png": {30, 60, 230, 255}}
	for name, c := range cols {
		img := image.NewRGBA(image.Rect(0, 0, 120, 90))
		for i := 0; i < len(img.Pix); i += 4 {
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, 255
		}
		var b bytes.Buffer
		png.Encode(&b, img)
		os.WriteFile(filepath.Join(photos, name), b.Bytes(), 0o644)
	}
	out := filepath.Join(dir, "photos.npy")
	if _, err := testModel(t, "tiny-vit").EmbedDir(context.Background(), photos, out, clip.DirOptions{}); err != nil {
		t.Fatal(err)
	}
	ix, err := LoadIndex(out, "tiny-vit")
	if err != nil {
		t.Fatal(err)
	}
	s.SetIndex(ix)

	img := pngURI(t, 64, 48, color.RGBA{230, 30, 30, 255})
	labels := []string{"red", "green", "blue"}
	_, want, _ := post(t, base+"/v1/classify", map[string]any{"images": []string{img}, "labels": labels, "top_k": 3})
	_, wantRank, _ := post(t, base+"/v1/rank", map[string]any{"query": "red", "top_k": 24})

	frag := url.Values{"labels": {strings.Join(labels, ",")}, "image": {img}, "text": {"red"}}.Encode()
	page := base + "/#" + frag
	dom := string(runChromium(t, bin, page, "--dump-dom"))
	if !strings.Contains(dom, `data-state="done"`) {
		t.Fatalf("the page did not finish: %s", regexp.MustCompile(`<div id="status"[^<]*</div>`).FindString(dom))
	}
	// Probabilities, most probable first, as the API gives them.
	li := regexp.MustCompile(`<li data-label="([^"]+)" data-prob="([^"]+)">`).FindAllStringSubmatch(dom, -1)
	top := want["data"].([]any)[0].(map[string]any)["top"].([]any)
	if len(li) != len(top) {
		t.Fatalf("%d probabilities shown, want %d", len(li), len(top))
	}
	for i, m := range li {
		w := top[i].(map[string]any)
		p, _ := strconv.ParseFloat(m[2], 64)
		if m[1] != w["label"] || fmt.Sprintf("%.6f", p) != fmt.Sprintf("%.6f", num(t, w["prob"])) {
			t.Errorf("row %d: %s %s, want %v %v", i, m[1], m[2], w["label"], w["prob"])
		}
	}
	// Ranked thumbnails, loaded.
	figs := regexp.MustCompile(`<figure data-row="(\d+)" data-file="([^"]+)"[^>]*><img alt="[^"]*" src="blob:`).FindAllStringSubmatch(dom, -1)
	hits := wantRank["data"].([]any)
	if len(figs) != 3 || len(hits) != 3 {
		t.Fatalf("%d thumbnails shown (API: %d hits)", len(figs), len(hits))
	}
	for i, f := range figs {
		h := hits[i].(map[string]any)
		if f[1] != fmt.Sprint(h["index"]) || f[2] != h["file"] {
			t.Errorf("thumbnail %d: row %s %s, want %v %v", i, f[1], f[2], h["index"], h["file"])
		}
	}
	// Screenshot: the bars and the three thumbnails' colours are drawn.
	shot := filepath.Join(dir, "page.png")
	runChromium(t, bin, page, "--screenshot="+shot, "--window-size=1200,800")
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pic, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("GOCLIP_KEEP_SCREENSHOT") != "" {
		b, _ := os.ReadFile(shot)
		os.WriteFile(os.Getenv("GOCLIP_KEEP_SCREENSHOT"), b, 0o644)
	}
	for name, c := range map[string]color.RGBA{"bar": {0xef, 0x83, 0x54, 255}, "red": cols["red.png"], "green": cols["green.png"], "blue": cols["blue.png"]} {
		if n := testutil.CountNear(pic, c, 12); n < 200 {
			t.Errorf("screenshot: %d pixels of the %s colour, want a visible area", n, name)
		}
	}
}
