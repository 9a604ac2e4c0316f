package tokenizer

import (
	"slices"
	"testing"
)

// FuzzTokenize feeds arbitrary bytes to the tokenizer: it must not panic,
// every id must be in the vocabulary, and a truncated row must start with
// SOT, hold exactly one EOT, be zero after it, and agree with Encode.
func FuzzTokenize(f *testing.F) {
	tok := loadTokenizer(f)
	for _, c := range goldenCases(f) {
		f.Add(c.Text)
	}
	for _, s := range []string{
		"", "\xff\xfe", "\xc0\n", "\xed\xa0\x80\xed\xb0\n", "&#x110000;&#99999999999999999999;",
		"<|endoftext|><|startoftext|>", "Ã©Ã\u00a0 Ã la", "\x1b[31;1mred", "ΣΣ\u0301Σ", "\u0345\u0345",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		ids := tok.Encode(text)
		for _, id := range ids {
			if id < 0 || id >= VocabSize {
				t.Fatalf("Encode(%+q): id %d out of range", text, id)
			}
		}
		const ctx = DefaultContextLength
		rows, err := tok.Tokenize([]string{text}, ctx, true)
		if err != nil {
			t.Fatalf("Tokenize(%+q): %v", text, err)
		}
		row := rows[0]
		if len(row) != ctx || row[0] != SOT {
			t.Fatalf("Tokenize(%+q) = %v: want %d ids starting with SOT", text, row, ctx)
		}
		n := len(ids) + 2
		if n > ctx {
			n = ctx
		}
		if row[n-1] != EOT {
			t.Fatalf("Tokenize(%+q) = %v: want EOT at %d", text, row, n-1)
		}
		for i := 1; i < n-1; i++ {
			if row[i] != ids[i-1] {
				t.Fatalf("Tokenize(%+q) = %v disagrees with Encode %v", text, row, ids)
			}
		}
		eots := 0
		for i, id := range row {
			if id == EOT {
				eots++
			}
			if i >= n && id != 0 {
				t.Fatalf("Tokenize(%+q): non-zero padding at %d", text, i)
			}
			if id < 0 || id >= VocabSize {
				t.Fatalf("Tokenize(%+q): id %d out of range", text, id)
			}
		}
		// Encode may itself hold EOT (the literal "<|endoftext|>"); the
		// rule "exactly one EOT" is about texts that do not.
		if !slices.Contains(ids, EOT) && eots != 1 {
			t.Fatalf("Tokenize(%+q): %d EOTs, want 1", text, eots)
		}
		_ = tok.Decode(ids)
		if _, err := tok.DecodeStrict(ids); err != nil {
			t.Fatalf("DecodeStrict(Encode(%+q)): %v", text, err)
		}
	})
}
