package tokenizer

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/goclip/goclip/internal/testutil"
)

// goldenCase is one line of golden/tokenizer/tokenize.jsonl.
type goldenCase struct {
	Idx             int     `json:"idx"`
	Category        string  `json:"category"`
	Text            string  `json:"text"`
	Encode          []int32 `json:"encode"`
	Tokenize77      []int32 `json:"tokenize77"`
	TooLong         bool    `json:"too_long"`
	NEncode         int     `json:"n_encode"`
	FtfyFixText     string  `json:"ftfy_fix_text"`
	CleanLower      string  `json:"clean_lower"`
	Pretokens       []string
	Decode          string `json:"decode"`
	DecodeTokenize7 string `json:"decode_tokenize77"`
}

func readJSONL[T any](tb testing.TB, path string) []T {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

var (
	testTokOnce sync.Once
	testTok     *Tokenizer
	testTokErr  error
)

// vocabPath returns the shared merges file.
func vocabPath(tb testing.TB) string {
	tb.Helper()
	return filepath.Join(testutil.SharedDir(tb), "clip", VocabFileName)
}

// loadTokenizer loads the shared vocabulary once per test binary.
func loadTokenizer(tb testing.TB) *Tokenizer {
	tb.Helper()
	p := vocabPath(tb)
	testTokOnce.Do(func() { testTok, testTokErr = Load(p) })
	if testTokErr != nil {
		tb.Fatal(testTokErr)
	}
	return testTok
}

func goldenCases(tb testing.TB) []goldenCase {
	tb.Helper()
	cases := readJSONL[goldenCase](tb, testutil.Golden(tb, "tokenizer", "tokenize.jsonl"))
	if len(cases) != 417 {
		tb.Fatalf("tokenize.jsonl: %d cases, want 417", len(cases))
	}
	return cases
}

func TestGoldenFixText(t *testing.T) {
	for _, c := range goldenCases(t) {
		if got := fixText(c.Text); got != c.FtfyFixText {
			t.Errorf("#%d %s: fixText(%+q) = %+q, want %+q", c.Idx, c.Category, c.Text, got, c.FtfyFixText)
		}
	}
}

func TestGoldenClean(t *testing.T) {
	for _, c := range goldenCases(t) {
		if got := Clean(c.Text); got != c.CleanLower {
			t.Errorf("#%d %s: Clean(%+q) = %+q, want %+q", c.Idx, c.Category, c.Text, got, c.CleanLower)
		}
	}
}

func TestGoldenEncode(t *testing.T) {
	tok := loadTokenizer(t)
	for _, c := range goldenCases(t) {
		got := tok.Encode(c.Text)
		if !slices.Equal(got, c.Encode) {
			t.Errorf("#%d %s: Encode(%+q) = %v, want %v", c.Idx, c.Category, c.Text, got, c.Encode)
		}
		if len(c.Encode) != c.NEncode {
			t.Fatalf("#%d: golden n_encode %d != len(encode) %d", c.Idx, c.NEncode, len(c.Encode))
		}
	}
}

func TestGoldenTokenize77(t *testing.T) {
	tok := loadTokenizer(t)
	cases := goldenCases(t)
	texts := make([]string, len(cases))
	for i, c := range cases {
		texts[i] = c.Text
	}
	// The whole corpus in one batch, truncated.
	rows, err := tok.Tokenize(texts, DefaultContextLength, true)
	if err != nil {
		t.Fatal(err)
	}
	nTooLong := 0
	for i, c := range cases {
		want := make([]int32, len(c.Tokenize77))
		for k, v := range c.Tokenize77 {
			want[k] = int32(v)
		}
		if !slices.Equal(rows[i], want) {
			t.Errorf("#%d: Tokenize = %v, want %v", c.Idx, rows[i], want)
		}
		// One at a time, not truncated: an error exactly when too long.
		row, err := tok.TokenizeOne(c.Text, DefaultContextLength, false)
		if c.TooLong {
			nTooLong++
			var tl *TooLongError
			if !errorAs(err, &tl) || tl.Index != 0 || tl.Tokens != c.NEncode+2 || tl.ContextLength != 77 {
				t.Errorf("#%d: too long: got err %v, want *TooLongError{0, %d, 77}", c.Idx, err, c.NEncode+2)
			}
			continue
		}
		if err != nil || !slices.Equal(row, want) {
			t.Errorf("#%d: TokenizeOne(no truncate) = %v, %v; want %v", c.Idx, row, err, want)
		}
		// decode_tokenize77: the decoding of the used part of the row.
		n := min(c.NEncode+2, 77)
		if got := tok.Decode(want[:n]); got != c.DecodeTokenize7 {
			t.Errorf("#%d: Decode(tokenize77) = %+q, want %+q", c.Idx, got, c.DecodeTokenize7)
		}
	}
	if nTooLong != 9 {
		t.Errorf("%d too-long cases, stats.json says 9", nTooLong)
	}
}

func TestGoldenDecodeAll(t *testing.T) {
	tok := loadTokenizer(t)
	for _, c := range goldenCases(t) {
		if got := tok.Decode(c.Encode); got != c.Decode {
			t.Errorf("#%d: Decode = %+q, want %+q", c.Idx, got, c.Decode)
		}
	}
}

func TestGoldenDecode(t *testing.T) {
	tok := loadTokenizer(t)
	type decodeCase struct {
		Idx    int     `json:"idx"`
		Text   string  `json:"text"`
		Tokens []int32 `json:"tokens"`
		Decode string  `json:"decode"`
	}
	cases := readJSONL[decodeCase](t, testutil.Golden(t, "tokenizer", "decode.jsonl"))
	if len(cases) != 50 {
		t.Fatalf("decode.jsonl: %d cases, want 50", len(cases))
	}
	for _, c := range cases {
		got, err := tok.DecodeStrict(c.Tokens)
		if err != nil || got != c.Decode {
			t.Errorf("#%d: Decode(%v) = %+q, %v; want %+q", c.Idx, c.Tokens, got, err, c.Decode)
		}
	}
}

func TestGoldenOtherContext(t *testing.T) {
	tok := loadTokenizer(t)
	type ctxCase struct {
		Idx           int     `json:"idx"`
		Text          string  `json:"text"`
		ContextLength int     `json:"context_length"`
		Tokenize      []int32 `json:"tokenize"`
	}
	cases := readJSONL[ctxCase](t, testutil.Golden(t, "tokenizer", "tokenize_other_context.jsonl"))
	if len(cases) != 80 {
		t.Fatalf("tokenize_other_context.jsonl: %d cases, want 80", len(cases))
	}
	seen := map[int]int{}
	for _, c := range cases {
		seen[c.ContextLength]++
		got, err := tok.TokenizeOne(c.Text, c.ContextLength, true)
		if err != nil || !slices.Equal(got, c.Tokenize) {
			t.Errorf("#%d L=%d: TokenizeOne = %v, %v; want %v", c.Idx, c.ContextLength, got, err, c.Tokenize)
		}
	}
	if seen[16] != 40 || seen[5] != 40 {
		t.Errorf("context lengths seen %v, want 40 each of 16 and 5", seen)
	}
}

func errorAs(err error, target any) bool { return errors.As(err, target) }

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
