package report

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"html"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/image/bmp"
	"golang.org/x/image/draw"
	"golang.org/x/image/tiff"
)

// webpBlue4x2 is a 4×2 lossless WebP of solid blue (0,0,255), written by
// Pillow 9.4 (Image.new("RGB", (4, 2), (0, 0, 255)).save(..., "WEBP",
// lossless=True)). Go has no WebP encoder, hence the literal.
var webpBlue4x2 = []byte{
	0x52, 0x49, 0x46, 0x46, 0x1c, 0x00, 0x00, 0x00, 0x57, 0x45, 0x42, 0x50,
	0x56, 0x50, 0x38, 0x4c, 0x0f, 0x00, 0x00, 0x00, 0x2f, 0x03, 0x40, 0x00,
	0x00, 0x07, 0x10, 0xd1, 0xff, 0xfe, 0x07, 0x22, 0xa2, 0xff, 0x01, 0x00,
}

// solid returns a w×h image of one colour.
func solid(w, h int, c color.Color) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, c)
		}
	}
	return img
}

// writeImage encodes img into dir/name with the encoder named by format.
func writeImage(t *testing.T, dir, name, format string, img image.Image) string {
	t.Helper()
	var buf bytes.Buffer
	var err error
	switch format {
	case "png":
		err = png.Encode(&buf, img)
	case "jpeg":
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95})
	case "gif":
		err = gif.Encode(&buf, img, nil)
	case "bmp":
		err = bmp.Encode(&buf, img)
	case "tiff":
		err = tiff.Encode(&buf, img, nil)
	default:
		t.Fatalf("unknown format %q", format)
	}
	if err != nil {
		t.Fatal(err)
	}
	return writeBytes(t, dir, name, buf.Bytes())
}

func writeBytes(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

var (
	imgSrcRE   = regexp.MustCompile(`<img src="([^"]*)"`)
	scoreRE    = regexp.MustCompile(`<span class="rank">#(\d+)</span><span><span class="score-label">score</span><span class="score-value">([^<]*)</span>`)
	labelRowRE = regexp.MustCompile(`<span class="label">([^<]*)</span><span class="pct">([^<]*)</span><div class="bar"><div class="fill" style="width: ([^"]*)%"></div>`)
	cardRE     = regexp.MustCompile(`<article class="card">`)
)

func searchPage(t *testing.T, query, model string, hits []SearchHit, opts PageOptions) string {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteSearchPage(&buf, query, model, hits, opts); err != nil {
		t.Fatalf("WriteSearchPage: %v", err)
	}
	return buf.String()
}

func classifyPage(t *testing.T, model string, results []Classification, opts PageOptions) string {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteClassifyPage(&buf, model, results, opts); err != nil {
		t.Fatalf("WriteClassifyPage: %v", err)
	}
	return buf.String()
}

func TestThumbDims(t *testing.T) {
	tests := []struct{ w, h, wantW, wantH int }{
		{600, 300, 256, 128},
		{300, 600, 128, 256},
		{256, 256, 256, 256},
		{257, 100, 256, 100}, // 99.6 rounds to 100
		{1000, 3, 256, 1},    // 0.768 rounds to 1
		{5000, 1, 256, 1},    // 0.05 is clamped to 1
		{50, 40, 50, 40},     // never enlarged
		{1, 1, 1, 1},
		{4032, 3024, 256, 192},
	}
	for _, tc := range tests {
		w, h := thumbDims(tc.w, tc.h)
		if w != tc.wantW || h != tc.wantH {
			t.Errorf("thumbDims(%d, %d) = %d×%d, want %d×%d", tc.w, tc.h, w, h, tc.wantW, tc.wantH)
		}
	}
}

func TestLinkPaths(t *testing.T) {
	tests := []struct {
		name, base, file string
		want             string // as it appears in the HTML attribute
	}{
		{"same dir", "", "a.jpg", "a.jpg"},
		{"page in subdir", "out", "photos/beach day.jpg", "../photos/beach%20day.jpg"},
		{"image below page", "a/b", "a/b/c/d.png", "c/d.png"},
		{"quote and ampersand", "", `q "x" & y.png`, "q%20%22x%22%20&amp;%20y.png"},
		{"hash and question mark", "", "a#1?.png", "a%231%3F.png"},
		{"percent", "", "100%.png", "100%25.png"},
		{"non-ASCII", "", "café.png", "caf%C3%A9.png"},
		{"colon cannot be a scheme", "", "javascript:alert(1).png", "./javascript:alert%281%29.png"},
		{"absolute paths", "/srv/www/report", "/srv/img/x.png", "../../img/x.png"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := searchPage(t, "q", "m", []SearchHit{{File: tc.file, Score: 0.5}},
				PageOptions{Thumbnail: ThumbLink, BaseDir: tc.base})
			m := imgSrcRE.FindAllStringSubmatch(doc, -1)
			if len(m) != 1 {
				t.Fatalf("found %d <img src>, want 1", len(m))
			}
			if m[0][1] != tc.want {
				t.Errorf("src = %q, want %q", m[0][1], tc.want)
			}
		})
	}
}

func TestSearchPage(t *testing.T) {
	hits := []SearchHit{
		{Rank: 1, File: "imgs/cat.jpg", Score: 0.31234},
		{Rank: 2, File: "imgs/dog.jpg", Score: 0.29871},
		{Rank: 3, File: "imgs/car.jpg", Score: -0.01},
		{Rank: 4, File: "imgs/sky.jpg", Score: 0.1},
	}
	tests := []struct {
		name       string
		hits       []SearchHit
		opts       PageOptions
		wantTitle  string
		wantRanks  []string
		wantScores []string
		wantFiles  []string
	}{
		{
			name:       "all",
			hits:       hits,
			opts:       PageOptions{Thumbnail: ThumbLink},
			wantTitle:  "Search: a cat",
			wantRanks:  []string{"1", "2", "3", "4"},
			wantScores: []string{"0.3123", "0.2987", "-0.0100", "0.1000"},
			wantFiles:  []string{"imgs/cat.jpg", "imgs/dog.jpg", "imgs/car.jpg", "imgs/sky.jpg"},
		},
		{
			name:       "top 2 and a title",
			hits:       hits,
			opts:       PageOptions{Thumbnail: ThumbLink, Top: 2, Title: "Pets"},
			wantTitle:  "Pets",
			wantRanks:  []string{"1", "2"},
			wantScores: []string{"0.3123", "0.2987"},
			wantFiles:  []string{"imgs/cat.jpg", "imgs/dog.jpg"},
		},
		{
			name:       "zero ranks use the position",
			hits:       []SearchHit{{File: "b.png", Score: 0.5}, {File: "a.png", Score: 0.25}},
			opts:       PageOptions{Thumbnail: ThumbLink, Top: 10},
			wantTitle:  "Search: a cat",
			wantRanks:  []string{"1", "2"},
			wantScores: []string{"0.5000", "0.2500"},
			wantFiles:  []string{"b.png", "a.png"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := searchPage(t, "a cat", "ViT-B/32", tc.hits, tc.opts)
			for _, want := range []string{
				"<title>" + tc.wantTitle + "</title>",
				"<h1>" + tc.wantTitle + "</h1>",
				`<dd class="query">a cat</dd>`,
				`<dd class="model">ViT-B/32</dd>`,
				`<dd class="count">` + strconv.Itoa(len(tc.wantFiles)) + `</dd>`,
			} {
				if !strings.Contains(doc, want) {
					t.Errorf("page lacks %q", want)
				}
			}
			if n := len(cardRE.FindAllString(doc, -1)); n != len(tc.wantFiles) {
				t.Errorf("%d cards, want %d", n, len(tc.wantFiles))
			}
			m := scoreRE.FindAllStringSubmatch(doc, -1)
			if len(m) != len(tc.wantScores) {
				t.Fatalf("%d scores, want %d", len(m), len(tc.wantScores))
			}
			for i := range m {
				if m[i][1] != tc.wantRanks[i] || m[i][2] != tc.wantScores[i] {
					t.Errorf("card %d: rank %s score %s, want rank %s score %s", i, m[i][1], m[i][2], tc.wantRanks[i], tc.wantScores[i])
				}
			}
			srcs := imgSrcRE.FindAllStringSubmatch(doc, -1)
			for i, f := range tc.wantFiles {
				if srcs[i][1] != f {
					t.Errorf("card %d: src %q, want %q", i, srcs[i][1], f)
				}
				if !strings.Contains(doc, `<figcaption class="file" title="`+f+`">`+filepath.Base(f)+`</figcaption>`) {
					t.Errorf("card %d: no caption for %q", i, f)
				}
			}
		})
	}
}

func TestClassifyPage(t *testing.T) {
	nan := float32(math.NaN())
	tests := []struct {
		name   string
		labels []string
		probs  []float32
		top    int
		want   [][3]string // label, percentage text, bar width
	}{
		{
			name:   "sorted, all",
			labels: []string{"a dog", "a cat", "a car"},
			probs:  []float32{0.1, 0.6, 0.3},
			want:   [][3]string{{"a cat", "60.0%", "60.0"}, {"a car", "30.0%", "30.0"}, {"a dog", "10.0%", "10.0"}},
		},
		{
			name:   "top 2",
			labels: []string{"a dog", "a cat", "a car"},
			probs:  []float32{0.1, 0.6, 0.3},
			top:    2,
			want:   [][3]string{{"a cat", "60.0%", "60.0"}, {"a car", "30.0%", "30.0"}},
		},
		{
			name:   "top beyond the labels",
			labels: []string{"x", "y"},
			probs:  []float32{0.25, 0.75},
			top:    5,
			want:   [][3]string{{"y", "75.0%", "75.0"}, {"x", "25.0%", "25.0"}},
		},
		{
			name:   "ties keep the given order, NaN last",
			labels: []string{"n", "p", "q", "r"},
			probs:  []float32{nan, 0.4, 0.2, 0.4},
			want:   [][3]string{{"p", "40.0%", "40.0"}, {"r", "40.0%", "40.0"}, {"q", "20.0%", "20.0"}, {"n", "NaN", "0"}},
		},
		{
			name:   "bars are clamped to 0..100",
			labels: []string{"lo", "hi", "tiny"},
			probs:  []float32{-0.5, 1.5, 0.0004},
			want:   [][3]string{{"hi", "150.0%", "100.0"}, {"tiny", "0.0%", "0.0"}, {"lo", "-50.0%", "0.0"}},
		},
		{
			name: "no labels",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := classifyPage(t, "RN50", []Classification{{File: "x.png", Labels: tc.labels, Probs: tc.probs}},
				PageOptions{Thumbnail: ThumbLink, Top: tc.top})
			m := labelRowRE.FindAllStringSubmatch(doc, -1)
			if len(m) != len(tc.want) {
				t.Fatalf("%d label rows, want %d", len(m), len(tc.want))
			}
			for i, w := range tc.want {
				if m[i][1] != w[0] || m[i][2] != w[1] || m[i][3] != w[2] {
					t.Errorf("row %d = %q %q %q, want %q", i, m[i][1], m[i][2], m[i][3], w)
				}
			}
		})
	}
}

func TestClassifyPageCards(t *testing.T) {
	results := []Classification{
		{File: "one.png", Labels: []string{"a", "b"}, Probs: []float32{0.9, 0.1}},
		{File: "two.png", Labels: []string{"a", "b"}, Probs: []float32{0.2, 0.8}},
	}
	doc := classifyPage(t, "ViT-L/14", results, PageOptions{Thumbnail: ThumbLink, Top: 1})
	for _, want := range []string{
		"<title>Classification</title>",
		`<dd class="model">ViT-L/14</dd>`,
		`<dd class="count">2</dd>`,
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(doc, `class="query"`) {
		t.Error("classification page shows a query")
	}
	m := labelRowRE.FindAllStringSubmatch(doc, -1)
	if len(m) != 2 || m[0][1] != "a" || m[1][1] != "b" {
		t.Errorf("top labels per card = %q, want a (one.png) then b (two.png)", m)
	}
	if i, j := strings.Index(doc, "one.png"), strings.Index(doc, "two.png"); i < 0 || j < i {
		t.Error("cards are not in the given order")
	}
}

func TestEscaping(t *testing.T) {
	const (
		label = `<script>alert(1)</script>`
		file  = `my "best" & worst <pic>.png`
		query = `<b>bold</b> & "quoted"`
		model = `<i>model</i>`
	)
	var buf bytes.Buffer
	err := WriteClassifyPage(&buf, model, []Classification{{File: file, Labels: []string{label, "ok"}, Probs: []float32{0.7, 0.3}}},
		PageOptions{Thumbnail: ThumbLink, Title: query})
	if err != nil {
		t.Fatal(err)
	}
	classify := buf.String()
	search := searchPage(t, query, model, []SearchHit{{File: file, Score: 1}}, PageOptions{Thumbnail: ThumbLink})

	for name, doc := range map[string]string{"classify": classify, "search": search} {
		for _, bad := range []string{"<script", "<b>", "<i>", "<pic>", `"best"`, "& worst"} {
			if strings.Contains(strings.ToLower(doc), bad) {
				t.Errorf("%s page contains unescaped %q", name, bad)
			}
		}
		for _, want := range []string{
			`&lt;b&gt;bold&lt;/b&gt; &amp; &#34;quoted&#34;`,        // query / title
			`&lt;i&gt;model&lt;/i&gt;`,                              // model
			`title="my &#34;best&#34; &amp; worst &lt;pic&gt;.png"`, // file, attribute
			`>my &#34;best&#34; &amp; worst &lt;pic&gt;.png</figcaption>`,
			`<img src="my%20%22best%22%20&amp;%20worst%20%3Cpic%3E.png"`,
		} {
			if !strings.Contains(doc, want) {
				t.Errorf("%s page lacks %q", name, want)
			}
		}
	}
	if !strings.Contains(classify, `<span class="label">&lt;script&gt;alert(1)&lt;/script&gt;</span>`) {
		t.Error("classification page lacks the escaped label")
	}
}

// thumbOf decodes the JPEG of a data: URI taken from an HTML attribute.
func thumbOf(t *testing.T, src string) image.Image {
	t.Helper()
	src = html.UnescapeString(src) // html/template writes '+' as "&#43;"
	const prefix = "data:image/jpeg;base64,"
	if !strings.HasPrefix(src, prefix) {
		t.Fatalf("src %.40q is not a JPEG data URI", src)
	}
	data, err := base64.StdEncoding.DecodeString(src[len(prefix):])
	if err != nil {
		t.Fatal(err)
	}
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// near reports whether c is within tol of want on every channel.
func near(c color.Color, want color.RGBA, tol int) bool {
	r, g, b, _ := c.RGBA()
	d := func(x uint32, y uint8) bool { return math.Abs(float64(x>>8)-float64(y)) <= float64(tol) }
	return d(r, want.R) && d(g, want.G) && d(b, want.B)
}

func TestEmbeddedThumbnails(t *testing.T) {
	dir := t.TempDir()
	red := color.RGBA{255, 0, 0, 255}
	green := color.RGBA{0, 160, 0, 255}
	blue := color.RGBA{0, 0, 255, 255}
	white := color.RGBA{255, 255, 255, 255}
	tests := []struct {
		file         string
		wantW, wantH int
		want         color.RGBA
	}{
		{writeImage(t, dir, "wide.png", "png", solid(600, 300, red)), 256, 128, red},
		{writeImage(t, dir, "tall.jpg", "jpeg", solid(100, 400, green)), 64, 256, green},
		{writeImage(t, dir, "big.jpg", "jpeg", solid(1400, 1050, red)), 256, 192, red}, // box-reduced first
		{writeImage(t, dir, "small.gif", "gif", solid(50, 40, blue)), 50, 40, blue},
		{writeImage(t, dir, "square.bmp", "bmp", solid(512, 512, green)), 256, 256, green},
		{writeImage(t, dir, "odd.tiff", "tiff", solid(300, 257, red)), 256, 219, red},
		{writeImage(t, dir, "clear.png", "png", solid(20, 20, color.NRGBA{0, 0, 0, 0})), 20, 20, white},
		{writeBytes(t, dir, "blue.webp", webpBlue4x2), 4, 2, blue},
	}
	hits := make([]SearchHit, len(tests))
	for i, tc := range tests {
		hits[i] = SearchHit{File: tc.file, Score: float32(i)}
	}
	doc := searchPage(t, "q", "m", hits, PageOptions{})
	srcs := imgSrcRE.FindAllStringSubmatch(doc, -1)
	if len(srcs) != len(tests) {
		t.Fatalf("%d images, want %d", len(srcs), len(tests))
	}
	for i, tc := range tests {
		img := thumbOf(t, srcs[i][1])
		b := img.Bounds()
		if b.Dx() != tc.wantW || b.Dy() != tc.wantH {
			t.Errorf("%s: thumbnail %dx%d, want %dx%d", filepath.Base(tc.file), b.Dx(), b.Dy(), tc.wantW, tc.wantH)
		}
		c := img.At(b.Min.X+b.Dx()/2, b.Min.Y+b.Dy()/2)
		if !near(c, tc.want, 12) {
			t.Errorf("%s: centre colour %v, want about %v", filepath.Base(tc.file), c, tc.want)
		}
	}
}

func TestUnreadableImages(t *testing.T) {
	dir := t.TempDir()
	good := writeImage(t, dir, "good.png", "png", solid(8, 8, color.RGBA{0, 0, 255, 255}))
	// A PNG header claiming 100000×100000 pixels: refused before decoding.
	var huge bytes.Buffer
	if err := png.Encode(&huge, solid(1, 1, color.Black)); err != nil {
		t.Fatal(err)
	}
	hb := huge.Bytes()
	copy(hb[16:24], []byte{0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0})
	binary.BigEndian.PutUint32(hb[29:33], crc32.ChecksumIEEE(hb[12:29])) // IHDR CRC
	files := []string{
		filepath.Join(dir, "missing.png"),
		writeBytes(t, dir, "text.jpg", []byte("this is not an image")),
		writeBytes(t, dir, "empty.png", nil),
		writeBytes(t, dir, "truncated.png", hb[:40]),
		writeBytes(t, dir, "huge.png", hb),
		dir, // a directory
		good,
	}
	results := make([]Classification, len(files))
	for i, f := range files {
		results[i] = Classification{File: f, Labels: []string{"x"}, Probs: []float32{1}}
	}
	doc := classifyPage(t, "m", results, PageOptions{Thumbnail: ThumbEmbed})
	if n := len(cardRE.FindAllString(doc, -1)); n != len(files) {
		t.Errorf("%d cards, want %d", n, len(files))
	}
	if n := strings.Count(doc, `">unreadable</div>`); n != len(files)-1 {
		t.Errorf("%d placeholders, want %d", n, len(files)-1)
	}
	if !strings.Contains(doc, `title="image too large or empty: 100000x100000"`) {
		t.Error("the oversized image's placeholder does not say why")
	}
	srcs := imgSrcRE.FindAllStringSubmatch(doc, -1)
	if len(srcs) != 1 {
		t.Fatalf("%d images, want 1", len(srcs))
	}
	if c := thumbOf(t, srcs[0][1]).At(4, 4); !near(c, color.RGBA{0, 0, 255, 255}, 12) {
		t.Errorf("good image colour %v, want blue", c)
	}
}

func TestEmptyPage(t *testing.T) {
	doc := searchPage(t, "nothing", "m", nil, PageOptions{})
	if !strings.Contains(doc, `<p class="empty">No images.</p>`) || strings.Contains(doc, "<main") {
		t.Error("empty search page does not say there are no images")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

type panicWriter struct{}

func (panicWriter) Write([]byte) (int, error) { panic("boom") }

func TestErrors(t *testing.T) {
	hits := []SearchHit{{File: "a.png", Score: 1}}
	good := []Classification{{File: "a.png", Labels: []string{"x"}, Probs: []float32{1}}}
	tests := []struct {
		name    string
		write   func(w *bytes.Buffer) error
		wantErr string
	}{
		{"search negative top", func(w *bytes.Buffer) error {
			return WriteSearchPage(w, "q", "m", hits, PageOptions{Top: -1})
		}, "negative Top"},
		{"search bad mode", func(w *bytes.Buffer) error {
			return WriteSearchPage(w, "q", "m", hits, PageOptions{Thumbnail: 7})
		}, "unknown thumbnail mode ThumbnailMode(7)"},
		{"search nil writer", func(*bytes.Buffer) error {
			return WriteSearchPage(nil, "q", "m", hits, PageOptions{})
		}, "nil writer"},
		{"search failing writer", func(*bytes.Buffer) error {
			return WriteSearchPage(failWriter{}, "q", "m", hits, PageOptions{Thumbnail: ThumbLink})
		}, "disk full"},
		{"search panicking writer", func(*bytes.Buffer) error {
			return WriteSearchPage(panicWriter{}, "q", "m", hits, PageOptions{Thumbnail: ThumbLink})
		}, "boom"},
		{"classify mismatched lengths", func(w *bytes.Buffer) error {
			return WriteClassifyPage(w, "m", append(good, Classification{File: "b.png", Labels: []string{"x", "y"}, Probs: []float32{1}}), PageOptions{})
		}, `result 1 ("b.png") has 2 labels but 1 probabilities`},
		{"classify negative top", func(w *bytes.Buffer) error {
			return WriteClassifyPage(w, "m", good, PageOptions{Top: -3})
		}, "negative Top -3"},
		{"classify nil writer", func(*bytes.Buffer) error {
			return WriteClassifyPage(nil, "m", good, PageOptions{})
		}, "nil writer"},
		{"classify failing writer", func(*bytes.Buffer) error {
			return WriteClassifyPage(failWriter{}, "m", good, PageOptions{Thumbnail: ThumbLink})
		}, "disk full"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := tc.write(&buf)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
			if buf.Len() != 0 {
				t.Errorf("%d bytes written despite the error", buf.Len())
			}
		})
	}
}

func TestThumbnailModeString(t *testing.T) {
	for m, want := range map[ThumbnailMode]string{ThumbEmbed: "embed", ThumbLink: "link", 3: "ThumbnailMode(3)"} {
		if got := m.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(m), got, want)
		}
	}
}

// BenchmarkEmbedThumb measures one thumbnail of a 12-megapixel JPEG photo
// (read, decode, Catmull-Rom resize, JPEG encode, base64).
func BenchmarkEmbedThumb(b *testing.B) {
	img := image.NewRGBA(image.Rect(0, 0, 4032, 3024))
	for y := 0; y < 3024; y++ {
		for x := 0; x < 4032; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), uint8(x ^ y), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "photo.jpg")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := embedThumb(path); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBoxReduce checks that shrinking a large YCbCr (JPEG) image by box
// averaging before Catmull-Rom gives nearly the thumbnail Catmull-Rom alone
// gives.
func TestBoxReduce(t *testing.T) {
	tests := []struct {
		pattern        string
		luma           func(x, y int) uint8
		maxMean, maxPx float64
	}{
		{"smooth", func(x, y int) uint8 {
			return uint8(128 + 100*math.Sin(float64(x)/97)*math.Cos(float64(y)/61))
		}, 0.5, 3},
		{"fine stripes", func(x, y int) uint8 { return uint8(255 * (x / 3 % 2)) }, 0.5, 24},
		{"checkerboard", func(x, y int) uint8 { return uint8(20 + 210*((x/200+y/200)%2)) }, 1.0, 40},
	}
	for _, tc := range tests {
		t.Run(tc.pattern, func(t *testing.T) {
			src := image.NewYCbCr(image.Rect(0, 0, 1601, 1203), image.YCbCrSubsampleRatio420)
			for y := 0; y < 1203; y++ {
				for x := 0; x < 1601; x++ {
					src.Y[src.YOffset(x, y)] = tc.luma(x, y)
					c := src.COffset(x, y)
					src.Cb[c] = uint8(88 + x/20)
					src.Cr[c] = uint8(100 + y/20)
				}
			}
			got := thumbnail(src)
			want := image.NewRGBA(image.Rect(0, 0, 256, 192))
			draw.CatmullRom.Scale(want, want.Bounds(), src, src.Bounds(), draw.Src, nil)
			if got.Bounds() != want.Bounds() {
				t.Fatalf("thumbnail bounds %v, want %v", got.Bounds(), want.Bounds())
			}
			var sum, worst float64
			for i := range got.Pix {
				d := math.Abs(float64(got.Pix[i]) - float64(want.Pix[i]))
				sum += d
				worst = max(worst, d)
			}
			if mean := sum / float64(len(got.Pix)); mean > tc.maxMean || worst > tc.maxPx {
				t.Errorf("mean difference %.3f (max %.2f), worst %.0f (max %.0f)", mean, tc.maxMean, worst, tc.maxPx)
			}
		})
	}
}

// TestNoticeBanner checks that PageOptions.Notice shows as a banner on both
// pages, escaped, and that pages without one have none.
func TestNoticeBanner(t *testing.T) {
	const notice = "random weights <b>: results mean nothing"
	for _, withNotice := range []bool{true, false} {
		opts := PageOptions{Thumbnail: ThumbLink}
		if withNotice {
			opts.Notice = notice
		}
		var s, c strings.Builder
		if err := WriteSearchPage(&s, "q", "m", []SearchHit{{File: "a.png", Score: 0.5}}, opts); err != nil {
			t.Fatal(err)
		}
		if err := WriteClassifyPage(&c, "m", []Classification{{File: "a.png", Labels: []string{"x"}, Probs: []float32{1}}}, opts); err != nil {
			t.Fatal(err)
		}
		for _, page := range []string{s.String(), c.String()} {
			has := strings.Contains(page, `<p class="notice" role="alert">random weights &lt;b&gt;: results mean nothing</p>`)
			if has != withNotice || strings.Contains(page, "<b>") {
				t.Errorf("notice %v: banner present %v", withNotice, has)
			}
		}
	}
}

// TestThumbSpecialFile checks that a FIFO named like an image gives a
// placeholder instead of blocking the page.
func TestThumbSpecialFile(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo.png")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan string, 1)
	go func() {
		var b strings.Builder
		WriteSearchPage(&b, "q", "m", []SearchHit{{File: fifo, Score: 0.5}}, PageOptions{})
		done <- b.String()
	}()
	select {
	case page := <-done:
		if !strings.Contains(page, "not a regular file") {
			t.Errorf("no placeholder reason in the page")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("WriteSearchPage blocked on a FIFO")
	}
}
