package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goclip/goclip/tokenizer"
)

// TestTokenizeCLIInput feeds "clip tokenize --encode" lines that take every
// path of its reader (plain strings, escapes, what only encoding/json
// decodes, blank lines, CRLF, a line longer than the read buffer, no final
// newline) and compares each row with encoding/json's string given to
// tokenizer.Encode. It also checks that the table cache is written to and
// then read from $GOCLIP_CACHE.
func TestTokenizeCLIInput(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("GOCLIP_CACHE", cache)
	tok, err := tokenizer.Load(vocab(t))
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("a photo of a very long caption, ", 4000) // 128 KB
	lines := []string{
		`"a photo of a cat"`,
		`"caf\u00e9 \u00C9t\u00e9 \ud83d\ude00 \u003cb\u003e \"quoted\" back\\slash \/ \n\t"`,
		`"café 日本語 😀"`,
		`  "padded"  `,
		"",
		`null`,
		"\"invalid \xff UTF-8\"",
		`"lone \ud83d surrogate"`,
		`"Ã©lÃ¨ve &amp; &lt;mojibake&gt;"`,
		`"` + long + `"`,
		"\t",
		`"crlf"` + "\r",
		`"last, no newline"`,
	}
	stdin := strings.Join(lines, "\n")
	var want []string
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		var s string
		if err := json.Unmarshal([]byte(l), &s); err != nil {
			t.Fatalf("%q: %v", l, err)
		}
		want = append(want, fmt.Sprint(tok.Encode(s)))
	}
	for run := range 2 {
		code, out, errs := clipRun(t, stdin, "tokenize", "--encode", "--vocab", vocab(t))
		if code != 0 {
			t.Fatalf("run %d: status %d: %s", run, code, errs)
		}
		rows := parseRows(t, out)
		if len(rows) != len(want) {
			t.Fatalf("run %d: %d rows for %d texts", run, len(rows), len(want))
		}
		for i, r := range rows {
			if fmt.Sprint(r) != want[i] {
				t.Errorf("run %d, row %d: got %v, want %v", run, i, r, want[i])
			}
		}
		matches, _ := filepath.Glob(filepath.Join(cache, "bpe-tables-*.bin"))
		if len(matches) != 1 {
			t.Fatalf("run %d: table cache files in $GOCLIP_CACHE: %v, want one", run, matches)
		}
	}
	// An error names its line, counted across the long one and the blanks.
	bad := stdin + "\n\"ok\"\n[1, 2]\n"
	code, out, errs := clipRun(t, bad, "tokenize", "--encode", "--vocab", vocab(t))
	if code != 1 || !strings.Contains(errs, fmt.Sprintf("line %d: not a JSON string", len(lines)+2)) {
		t.Errorf("bad line: status %d, stderr %q", code, errs)
	}
	if n := strings.Count(out, "\n"); n != 0 {
		t.Errorf("bad line in the first chunk: %d rows written before the error, want none", n)
	}
	// A damaged cache file is replaced and the output is unchanged.
	matches, _ := filepath.Glob(filepath.Join(cache, "bpe-tables-*.bin"))
	if err := os.WriteFile(matches[0], []byte("damaged"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs = clipRun(t, `"a photo of a cat"`+"\n", "tokenize", "--encode", "--vocab", vocab(t))
	if code != 0 || fmt.Sprint(parseRows(t, out)[0]) != want[0] {
		t.Errorf("damaged cache: status %d, out %q, stderr %q; want %s", code, out, errs, want[0])
	}
	if st, err := os.Stat(matches[0]); err != nil || st.Size() < 1<<20 {
		t.Errorf("damaged cache file not rewritten: %v %v", st, err)
	}
}

// TestTokenizeCLIChunks runs more lines than one chunk holds and checks
// their order and line numbers across chunks.
func TestTokenizeCLIChunks(t *testing.T) {
	t.Setenv("GOCLIP_CACHE", t.TempDir())
	tok, err := tokenizer.Load(vocab(t))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	var want []string
	for i := range 2500 {
		s := fmt.Sprintf("photo number %d of %d cats", i, i*7)
		fmt.Fprintf(&b, "%q\n", s)
		want = append(want, fmt.Sprint(tok.Encode(s)))
	}
	code, out, errs := clipRun(t, b.String(), "tokenize", "--encode", "--vocab", vocab(t))
	if code != 0 {
		t.Fatalf("status %d: %s", code, errs)
	}
	rows := parseRows(t, out)
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rows), len(want))
	}
	for i, r := range rows {
		if fmt.Sprint(r) != want[i] {
			t.Fatalf("row %d: got %v, want %v", i, r, want[i])
		}
	}
	// A too-long text in the third chunk: the rows before it are written,
	// and the error names its line.
	long := strings.Repeat("cat ", 100)
	in := b.String() + fmt.Sprintf("%q\n", long)
	code, out, errs = clipRun(t, in, "tokenize", "--vocab", vocab(t))
	if code != 1 || !strings.Contains(errs, "line 2501: text is too long") {
		t.Errorf("too long: status %d, stderr %q", code, errs)
	}
	if n := strings.Count(out, "\n"); n != 2500 {
		t.Errorf("%d rows before the too-long text, want 2500", n)
	}
}
