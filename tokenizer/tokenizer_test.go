package tokenizer

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Reference ids of "a photo of a cat" (official encode).
var photoCat = []int32{320, 1125, 539, 320, 2368}

func TestTokenizeContextLength(t *testing.T) {
	tok := loadTokenizer(t)
	full := append(append([]int32{SOT}, photoCat...), EOT) // 7 tokens
	pad := func(ids []int32, n int) []int32 {
		return append(slices.Clone(ids), make([]int32, n-len(ids))...)
	}
	tests := []struct {
		name     string
		texts    []string
		ctx      int
		truncate bool
		want     [][]int32
		tooLong  *TooLongError
		ctxErr   bool
	}{
		{name: "zero", texts: []string{"a"}, ctx: 0, ctxErr: true},
		{name: "one", texts: []string{"a"}, ctx: 1, truncate: true, ctxErr: true},
		{name: "negative", texts: []string{"a"}, ctx: -3, ctxErr: true},
		{name: "empty text in 2", texts: []string{""}, ctx: 2, want: [][]int32{{SOT, EOT}}},
		{name: "truncated to 2", texts: []string{"a photo of a cat"}, ctx: 2, truncate: true, want: [][]int32{{SOT, EOT}}},
		{name: "exact fit", texts: []string{"a photo of a cat"}, ctx: 7, want: [][]int32{full}},
		{name: "padded", texts: []string{"a photo of a cat"}, ctx: 10, want: [][]int32{pad(full, 10)}},
		{name: "one over, truncated", texts: []string{"a photo of a cat"}, ctx: 6, truncate: true,
			want: [][]int32{{SOT, 320, 1125, 539, 320, EOT}}},
		{name: "one over", texts: []string{"a photo of a cat"}, ctx: 6,
			tooLong: &TooLongError{Index: 0, Tokens: 7, ContextLength: 6}},
		{name: "second too long", texts: []string{"", "a photo of a cat", "a photo of a cat"}, ctx: 5,
			tooLong: &TooLongError{Index: 1, Tokens: 7, ContextLength: 5}},
		{name: "batch", texts: []string{"a photo of a cat", ""}, ctx: 8,
			want: [][]int32{pad(full, 8), pad([]int32{SOT, EOT}, 8)}},
		{name: "no texts", texts: nil, ctx: 77, want: [][]int32{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tok.Tokenize(tc.texts, tc.ctx, tc.truncate)
			switch {
			case tc.ctxErr:
				if !errors.Is(err, ErrContextLength) || got != nil {
					t.Fatalf("got %v, %v; want ErrContextLength", got, err)
				}
			case tc.tooLong != nil:
				var tl *TooLongError
				if !errors.As(err, &tl) || *tl != *tc.tooLong || got != nil {
					t.Fatalf("got %v, %v; want %+v", got, err, tc.tooLong)
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(tc.want) {
					t.Fatalf("got %d rows, want %d", len(got), len(tc.want))
				}
				for i := range got {
					if !slices.Equal(got[i], tc.want[i]) {
						t.Errorf("row %d = %v, want %v", i, got[i], tc.want[i])
					}
				}
			}
		})
	}
}

func TestTooLongErrorMessage(t *testing.T) {
	e := &TooLongError{Index: 3, Tokens: 90, ContextLength: 77}
	msg := e.Error()
	for _, want := range []string{"input 3", "context length 77", "90 tokens"} {
		if !strings.Contains(msg, want) {
			t.Errorf("%q lacks %q", msg, want)
		}
	}
}

// TestEncodeEdgeCases: expected values are those of the official
// SimpleTokenizer (CPython 3.11, regex 2.5.123) on inputs that ftfy leaves
// alone or changes in obvious ways.
func TestEncodeEdgeCases(t *testing.T) {
	tok := loadTokenizer(t)
	tests := []struct {
		name, text, clean string
		ids               []int32
	}{
		{"final sigma", "ΟΔΟΣ ΣΟΦΙΑΣ Σ", "οδος σοφιας σ",
			[]int32{138, 123, 138, 112, 138, 123, 139, 480, 139, 225, 138, 123, 139, 228, 138, 117, 138, 109, 139, 480, 139, 481}},
		{"sigma and case-ignorable", "ΑΣ\u0301Β ΑΣ\u0301 Σ\u0301Α", "ασ\u0301β ας\u0301 σ\u0301α",
			[]int32{138, 109, 139, 481, 136, 479, 138, 366, 138, 109, 139, 480, 136, 479, 139, 481, 136, 479, 138, 365}},
		{"dotted capital I", "İstanbul İ", "i\u0307stanbul i\u0307", []int32{328, 16384, 11231, 328, 16384}},
		{"long s is not a literal", "ſtraße <|ſtartoftext|> 'ſ", "ſtraße <|ſtartoftext|> 'ſ",
			[]int32{129, 123, 752, 127, 253, 324, 27, 91, 129, 123, 2002, 6659, 18169, 91, 285, 6, 129, 379}},
		{"U+0345 matches no class", "x\u0345y \u0345", "x\u0345y \u0345", []int32{343, 344}},
		{"special tokens any case", "a<|ENDOFTEXT|>b <|startoftext|>", "a<|endoftext|>b <|startoftext|>",
			[]int32{320, 49407, 321, 49406}},
		{"contractions", "it's 'S 'LL 'RE 'VE 'M 'D 'T", "it's 's 'll 're 've 'm 'd 't",
			[]int32{585, 568, 568, 1342, 982, 1200, 880, 1896, 713}},
		{"html.unescape rules", "&notanentity; &amp &ampx &#0; &#x110000; &#65 &#X41; &#xD800;",
			"¬anentity; & &x \ufffd \ufffd a a \ufffd",
			[]int32{126, 361, 514, 28455, 282, 261, 261, 343, 39802, 39802, 320, 320, 39802}},
		{"entities twice", "&lt;b&gt; &AMP;amp; &Aacute &aacute;", "<b> & á á", []int32{283, 321, 285, 261, 22229, 22229}},
		{"whitespace", "tab\tnew\nline\fff \u00a0nbsp \u2003em \u3000ideo \u200bzwsp", "tab new line ff nbsp em ideo \u200bzwsp",
			[]int32{14724, 686, 1148, 1304, 6459, 4393, 2270, 1909, 334, 9844, 89, 86, 4393}},
		{"full width", "ＡＢＣ１２３", "abc123", []int32{5334, 272, 273, 274}},
		{"NFC and reordering", "e\u0301\u0323 a\u0323\u0301 \u1100\u1161\u11a8", "ẹ\u0301 ạ\u0301 각",
			[]int32{157, 118, 373, 136, 479, 157, 118, 350, 136, 479, 21122, 479}},
		{"numbers", "12345 ½ ² ⅷ ① ٣", "12345 ½ ² ⅷ ① ٣",
			[]int32{272, 273, 274, 275, 276, 33613, 41175, 158, 227, 371, 158, 239, 510, 149, 352}},
		{"compatibility letters", "Kelvin \u212a Ohm \u2126 Å", "kelvin k ohm ω å", []int32{32859, 330, 5648, 332, 38065, 127, 354}},
		{"emoji", "😀😀 👩\u200d👩\u200d👧 🇺🇸 #\ufe0f\u20e3", "😀😀 👩\u200d👩\u200d👧 🇺🇸 #\ufe0f\u20e3",
			[]int32{34503, 26304, 26304, 964, 356, 5688, 2, 4603}},
		{"empty", "", "", []int32{}},
		{"blank", "   ", "", []int32{}},
		{"controls only", "\x00\x01\x7f", "", []int32{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Clean(tc.text); got != tc.clean {
				t.Errorf("Clean(%+q) = %+q, want %+q", tc.text, got, tc.clean)
			}
			if got := tok.Encode(tc.text); !slices.Equal(got, tc.ids) {
				t.Errorf("Encode(%+q) = %v, want %v", tc.text, got, tc.ids)
			}
		})
	}
}

// TestFixTextCodecQuirks: ftfy's "utf-8-variants" codec finds its special
// sequences with a bytes pattern whose "$" also matches before a final
// newline, so a byte 0xC0 just before the newline that ends a line decodes
// (with the newline) as NUL, which is then removed. (Expected values follow
// ftfy 6.3.1's code.)
func TestFixTextCodecQuirks(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ÃƒÂ©\u00c0\n", "é"},
		{"caf\u00c3\u00a9 \u00c0\n", "café "},
		{"caf\u00c3\u00a9 \u00c0\nx", "café x"},
		{"caf\u00c3\u00a9 \u00c0x", "café \u00c0x"},
	}
	for _, tc := range tests {
		if got := fixText(tc.in); got != tc.want {
			t.Errorf("fixText(%+q) = %+q, want %+q", tc.in, got, tc.want)
		}
	}
}

func TestDecodeUTF8Variants(t *testing.T) {
	tests := []struct {
		in   []byte
		want string
		ok   bool
	}{
		{[]byte("abc"), "abc", true},
		{[]byte{0xc0, 0x80}, "\x00", true},
		{[]byte{0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80}, "\U0001f600", true}, // CESU-8 pair
		{[]byte{0xed, 0xa0, 0xbd}, "", false},                            // lone surrogate
		{[]byte{0xed, 0x95, 0x9c}, "한", true},                            // plain UTF-8
		{[]byte{0xc0, 'a'}, "", false},
		{[]byte{'x', 0xc0, '\n'}, "x\x00", true},                                         // "$" before a final newline
		{[]byte{0xed, 0xa0, 0x80, 0xed, 0xb0, '\n'}, "\U0001000a", true},                 // ditto
		{[]byte{0xed, 0xa0, 0x80, 0xed, 0xb0, '\n', 'z'}, "", false},                     // not final
		{[]byte{0xf0, 0x9f, 0x98, 0x80, 0xed, 0xa0, 0xbd, 0xed, 0xb8, 0x80}, "😀😀", true}, // both kinds
	}
	for _, tc := range tests {
		got, ok := decodeUTF8Variants(tc.in)
		if ok != tc.ok || (ok && string(got) != tc.want) {
			t.Errorf("decodeUTF8Variants(% x) = %+q, %v; want %+q, %v", tc.in, string(got), ok, tc.want, tc.ok)
		}
	}
}

// TestDecodeReplace: expected values are CPython's
// bytes.decode("utf-8", "replace").
func TestDecodeReplace(t *testing.T) {
	tests := []struct {
		in   []byte
		want string
	}{
		{[]byte{0xe2, 0x82}, "\ufffd"},
		{[]byte{0xf0, 0x90, 0x80, 'A'}, "\ufffdA"},
		{[]byte{0xe0, 0x80}, "\ufffd\ufffd"},
		{[]byte{0xed, 0xa0, 0x80}, "\ufffd\ufffd\ufffd"},
		{[]byte{0xc0, 0xaf}, "\ufffd\ufffd"},
		{[]byte{0xf4, 0x90, 0x80, 0x80}, "\ufffd\ufffd\ufffd\ufffd"},
		{[]byte{'a', 0xff, 'b'}, "a\ufffdb"},
		{[]byte{0xe2, 0x82, 0xac}, "€"},
		{[]byte{0xf0, 0x9f, 0x98}, "\ufffd"},
		{[]byte{0xc3}, "\ufffd"},
		{[]byte{0xe1, 0x80, 0xe1, 0x80, 0x80}, "\ufffd\u1000"},
	}
	for _, tc := range tests {
		if got := decodeReplace(tc.in); got != tc.want {
			t.Errorf("decodeReplace(% x) = %+q, want %+q", tc.in, got, tc.want)
		}
	}
}

func TestDecode(t *testing.T) {
	tok := loadTokenizer(t)
	// "😀" is [34503] (bytes f0 9f 98 80 + "</w>").
	tests := []struct {
		name string
		ids  []int32
		want string
		bad  bool
	}{
		{"words", []int32{320, 1125, 539, 320, 2368}, "a photo of a cat ", false},
		{"special", []int32{SOT, 320, EOT}, "<|startoftext|>a <|endoftext|>", false},
		{"unknown ids skipped", []int32{-1, 320, VocabSize, 1 << 30}, "a ", true},
		{"empty", nil, "", false},
		{"cut emoji", []int32{172}, "\ufffd", false}, // byte f0 alone
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tok.Decode(tc.ids); got != tc.want {
				t.Errorf("Decode(%v) = %+q, want %+q", tc.ids, got, tc.want)
			}
			got, err := tok.DecodeStrict(tc.ids)
			if tc.bad != (err != nil) {
				t.Fatalf("DecodeStrict(%v) error %v, want error %v", tc.ids, err, tc.bad)
			}
			if err == nil && got != tc.want {
				t.Errorf("DecodeStrict(%v) = %+q, want %+q", tc.ids, got, tc.want)
			}
		})
	}
}

func TestInvalidUTF8Input(t *testing.T) {
	tok := loadTokenizer(t)
	// Invalid bytes become U+FFFD as Python's decode("utf-8", "replace")
	// would make them; the ids are the official encoding of that text.
	tests := []struct {
		in   string
		want []int32
	}{
		{"\xff", []int32{39802}},
		{"\xe2\x82", []int32{39802}},
		{"a\xc0\xafb", []int32{320, 47356, 39802, 321}},
		{"x\xe2\x82 y\xff", []int32{343, 39802, 344, 39802}},
	}
	for _, tc := range tests {
		if got := tok.Encode(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("Encode(%+q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// gz returns the gzip compression of s.
func gz(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	good := "#version: 0.2\n" + strings.Repeat("i n\n", numMerges)
	tests := []struct {
		name   string
		data   []byte
		reason string
	}{
		{"not gzip", []byte("i n\nt h\n"), "not a gzip file"},
		{"empty gzip", gz(t, ""), "header"},
		{"truncated", gz(t, "#version: 0.2\ni n\nt h\n"), "file ends after 2 merges"},
		{"three symbols", gz(t, "#version: 0.2\ni n\nt h e\n"), "merge 2: want two symbols"},
		{"not byte-level", gz(t, "#version: 0.2\ni n\nt \u4e00\n"), "not a byte-level symbol"},
		{"invalid UTF-8", gz(t, "#version: 0.2\ni \xff\n"), "not valid UTF-8"},
		{"corrupt gzip", gz(t, good)[:200], "cannot read the merges"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".gz")
			if err := os.WriteFile(p, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			tok, err := Load(p)
			var ve *VocabError
			if tok != nil || !errors.As(err, &ve) {
				t.Fatalf("Load = %v, %v; want *VocabError", tok, err)
			}
			if ve.Path != p || !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("error %q (path %q), want reason %q and path %q", err, ve.Path, tc.reason, p)
			}
		})
	}
	// A synthetic but well-formed file loads.
	if _, err := New(bytes.NewReader(gz(t, good))); err != nil {
		t.Errorf("New(well-formed) = %v", err)
	}
}

func TestLoadMissing(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nope.txt.gz")
	_, err := Load(p)
	var ve *VocabError
	if !errors.As(err, &ve) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load(missing) = %v; want a *VocabError wrapping fs.ErrNotExist", err)
	}
	for _, want := range []string{p, "--vocab", "$CLIP_VOCAB", VocabFileName, "cache"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
}

// TestLoadMemory checks the cost of New: allocations well under 40 MB.
func TestLoadMemory(t *testing.T) {
	data, err := os.ReadFile(vocabPath(t))
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	tok, err := New(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if mb := float64(after.TotalAlloc-before.TotalAlloc) / (1 << 20); mb > 40 {
		t.Errorf("New allocated %.1f MB, want < 40", mb)
	}
	runtime.KeepAlive(tok)
}

// TestConcurrentEncode encodes the golden corpus from several goroutines
// at once (run it with -race).
func TestConcurrentEncode(t *testing.T) {
	data, err := os.ReadFile(vocabPath(t))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := New(bytes.NewReader(data)) // fresh, cold cache
	if err != nil {
		t.Fatal(err)
	}
	cases := goldenCases(t)
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for k := range cases {
				c := cases[(k*7+g*101)%len(cases)]
				if got := tok.Encode(c.Text); !slices.Equal(got, c.Encode) {
					errs <- c.Text
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("concurrent Encode(%+q) differs from the golden ids", e)
	}
}

// TestCacheEviction fills the BPE cache past its size and checks results
// stay right.
func TestCacheEviction(t *testing.T) {
	tok := loadTokenizer(t)
	n := 3 * cacheSlots
	if testing.Short() {
		n = cacheSlots / 4
	}
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.Reset()
		for x := i + 1; x > 0; x /= 26 {
			b.WriteByte(byte('a' + x%26))
		}
		tok.Encode(b.String())
	}
	used := 0
	for i := range tok.cache.slots {
		if tok.cache.slots[i].Load() != nil {
			used++
		}
	}
	if used > cacheSlots {
		t.Fatalf("%d cache entries, bound %d", used, cacheSlots)
	}
	for _, c := range goldenCases(t)[:60] {
		if got := tok.Encode(c.Text); !slices.Equal(got, c.Encode) {
			t.Errorf("after eviction Encode(%+q) = %v, want %v", c.Text, got, c.Encode)
		}
	}
}

// TestMergeMethodsAgree checks the heap-based merge against the official
// step-by-step one on the corpus's pre-tokens and on long synthetic words.
func TestMergeMethodsAgree(t *testing.T) {
	tok := loadTokenizer(t)
	var words []string
	for _, c := range goldenCases(t) {
		words = append(words, c.Pretokens...)
	}
	pieces := []string{"a", "aa", "ab", "the", "ing", "er", "😀", "猫", "ä", "x", "ll", "е", "ана", "ſ"}
	for i := 0; i < 400; i++ {
		var b strings.Builder
		for j := 0; j < 1+(i*7919)%90; j++ {
			b.WriteString(pieces[(i*31+j*j*17+j)%len(pieces)])
		}
		words = append(words, b.String())
	}
	for _, w := range words {
		base := make([]int32, len(w))
		for i := 0; i < len(w); i++ {
			base[i] = tok.byteID[w[i]]
		}
		base[len(base)-1] += 256
		simple := tok.mergeSimple(slices.Clone(base))
		heap := tok.mergeHeap(slices.Clone(base))
		if !slices.Equal(simple, heap) {
			t.Fatalf("%q: simple %v, heap %v", w, simple, heap)
		}
	}
}

// TestASCIIFastPaths checks the hand-made ASCII tables against the
// generated ones, and the one-pass ASCII cleaning against the general path.
func TestASCIIFastPaths(t *testing.T) {
	p := getProps()
	for c := rune(0); c < 0x80; c++ {
		var want uint8
		switch f := p.flag(c); {
		case f&pTokLetter != 0:
			want = clsLetter
		case f&pTokNumber != 0:
			want = clsNumber
		case f&pTokSkip != 0:
			want = clsSkip
		default:
			want = clsOther
		}
		if asciiClass[c] != want {
			t.Errorf("asciiClass[%#x] = %d, tables say %d", c, asciiClass[c], want)
		}
	}
	for _, s := range []string{"", " ", "A", "  Two  Words\t\n", "a\fb", "x  y", "ALL CAPS ", "already clean", "tail "} {
		fast, ok := cleanSimpleASCII(s)
		if !ok {
			t.Fatalf("cleanSimpleASCII(%q) refused", s)
		}
		slow := pyLower(collapseWhitespace(pyStrip(pyHTMLUnescape(pyHTMLUnescape(fixText(s))))))
		if fast != slow {
			t.Errorf("cleanSimpleASCII(%q) = %q, general path %q", s, fast, slow)
		}
	}
	for _, s := range []string{"a&b", "a\rb", "\x1b[0m", "\x00", "é", "\x7f", "\v"} {
		if _, ok := cleanSimpleASCII(s); ok {
			t.Errorf("cleanSimpleASCII(%q) accepted", s)
		}
	}
}
