// Package tokenizer is a pure-Go port of OpenAI CLIP's byte-level BPE
// tokenizer (clip.simple_tokenizer.SimpleTokenizer and clip.tokenize).
//
// It gives exactly the ids of the official Python code, including its text
// cleaning: ftfy.fix_text (ftfy 6.3.1 defaults, mojibake repair included),
// html.unescape twice, whitespace collapsing, Python's str.lower() and the
// regex-module pre-tokenizer pattern, all following the Unicode data of the
// reference environment (Python 3.11, Unicode 14) rather than Go's.
//
// The vocabulary is read from the official merges file
// bpe_simple_vocab_16e6.txt.gz (in the openai/CLIP repository, clip/).
// A Tokenizer is safe for concurrent use.
package tokenizer

//go:generate sh -c "/usr/bin/python3 internal/gen/gen.py | gofmt > tables.go"

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"unicode/utf8"
)

// Token ids and sizes of the CLIP vocabulary.
const (
	// SOT is the id of <|startoftext|>.
	SOT = 49406
	// EOT is the id of <|endoftext|>.
	EOT = 49407
	// VocabSize is the number of token ids.
	VocabSize = 49408
	// DefaultContextLength is the context length of the released models.
	DefaultContextLength = 77
)

// VocabFileName is the name of the official merges file.
const VocabFileName = "bpe_simple_vocab_16e6.txt.gz"

// numMerges is the number of merges the official code reads
// (lines 1 to 49152-256-2 of the file).
const numMerges = 49152 - 256 - 2

// vocabHint tells the user how to provide the merges file.
const vocabHint = "get " + VocabFileName + " from the openai/CLIP repository (clip/" + VocabFileName +
	") and pass its path with --vocab, set $CLIP_VOCAB, or put it in the goclip cache directory"

// VocabError reports a merges file that is missing, unreadable or corrupt.
type VocabError struct {
	// Path is the file name, or "" when read from a reader.
	Path string
	// Reason says what is wrong.
	Reason string
	// Err is the underlying error, if any.
	Err error
}

// Error implements error; the message says how to get a good file.
func (e *VocabError) Error() string {
	var b strings.Builder
	b.WriteString("tokenizer: vocabulary")
	if e.Path != "" {
		fmt.Fprintf(&b, " %q", e.Path)
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	b.WriteString(" (")
	b.WriteString(vocabHint)
	b.WriteString(")")
	return b.String()
}

// Unwrap returns the underlying error.
func (e *VocabError) Unwrap() error { return e.Err }

// TooLongError is returned by Tokenize when a text does not fit the context
// length and truncation is off.
type TooLongError struct {
	// Index is the position of the text in the input slice.
	Index int
	// Tokens is the number of tokens of the text, SOT and EOT included.
	Tokens int
	// ContextLength is the context length asked for.
	ContextLength int
}

// Error implements error.
func (e *TooLongError) Error() string {
	return fmt.Sprintf("tokenizer: input %d is too long for context length %d (%d tokens)",
		e.Index, e.ContextLength, e.Tokens)
}

// ErrContextLength is returned by Tokenize for a context length below 2
// (there is no room for SOT and EOT).
var ErrContextLength = errors.New("tokenizer: context length must be at least 2")

// Tokenizer is the CLIP BPE tokenizer. Create it with New or Load; it is
// safe for concurrent use.
type Tokenizer struct {
	// byteID maps a byte to the id of its vocabulary character.
	byteID [256]int32
	// single holds the ids of one-byte pre-tokens.
	single [256][1]int32
	// merges maps a pair of ids to its merge rank and the merged id.
	merges mergeTable
	// tokBytes holds the bytes each id decodes to ("</w>" kept), with
	// tokOff[id]..tokOff[id+1] delimiting id's bytes; tokOK tells whether
	// the id is in the official decoder (1) or not (0).
	tokBytes []byte
	tokOff   []int32
	tokOK    []byte

	cache, longCache bpeCache
}

type mergeInfo struct {
	rank int32
	id   int32
}

// bytesToUnicode returns the official byte-to-character table.
func bytesToUnicode() (bs []int, cs []rune) {
	for b := '!'; b <= '~'; b++ {
		bs = append(bs, int(b))
	}
	for b := 0xa1; b <= 0xac; b++ {
		bs = append(bs, b)
	}
	for b := 0xae; b <= 0xff; b++ {
		bs = append(bs, b)
	}
	for _, b := range bs {
		cs = append(cs, rune(b))
	}
	in := make(map[int]bool, len(bs))
	for _, b := range bs {
		in[b] = true
	}
	n := 0
	for b := 0; b < 256; b++ {
		if !in[b] {
			bs = append(bs, b)
			cs = append(cs, rune(256+n))
			n++
		}
	}
	return bs, cs
}

// Load reads the gzip-compressed merges file at path.
func Load(path string) (*Tokenizer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &VocabError{Path: path, Reason: "cannot open the merges file", Err: err}
	}
	defer f.Close()
	t, err := New(f)
	if err != nil {
		var ve *VocabError
		if errors.As(err, &ve) {
			ve.Path = path
		}
		return nil, err
	}
	return t, nil
}

// New reads the gzip-compressed merges file (bpe_simple_vocab_16e6.txt.gz)
// from r: a header line, then the merges, of which the official code uses
// the first 48894. The vocabulary is the 256 byte characters, the same
// with "</w>", the merged pairs, <|startoftext|> and <|endoftext|>.
func New(r io.Reader) (*Tokenizer, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, &VocabError{Reason: "not a gzip file", Err: err}
	}
	defer zr.Close()
	br := bufio.NewReaderSize(zr, 1<<16)

	bs, cs := bytesToUnicode()
	t := &Tokenizer{}
	// byteOfChar[c] is the byte the vocabulary character c stands for, or
	// -1 (the characters are all below 324).
	var byteOfChar [324]int16
	for i := range byteOfChar {
		byteOfChar[i] = -1
	}
	for i, b := range bs {
		byteOfChar[cs[i]] = int16(b)
	}

	// All vocabulary strings, back to back in one buffer; vocab[i] is
	// text[off[i]:off[i+1]].
	text := make([]byte, 0, 1<<20)
	off := make([]int32, 0, VocabSize+1)
	addVocab := func(parts ...[]byte) {
		off = append(off, int32(len(text)))
		for _, p := range parts {
			text = append(text, p...)
		}
	}
	for i := range bs {
		addVocab(utf8.AppendRune(nil, cs[i]))
	}
	for i := range bs {
		addVocab(utf8.AppendRune(nil, cs[i]), []byte("</w>"))
	}

	// Header line.
	if _, err := br.ReadSlice('\n'); err != nil {
		return nil, &VocabError{Reason: "cannot read the header line", Err: noEOF(err)}
	}
	// split[i] is where the second symbol of merge i starts in its vocab
	// string.
	split := make([]int32, 0, numMerges)
	for len(split) < numMerges {
		k := len(split) + 1
		line, err := br.ReadSlice('\n')
		if err != nil && (err != io.EOF || len(line) == 0) {
			if err == io.EOF {
				break
			}
			return nil, &VocabError{Reason: "cannot read the merges", Err: err}
		}
		if !utf8.Valid(line) {
			return nil, &VocabError{Reason: fmt.Sprintf("merge %d is not valid UTF-8", k)}
		}
		a, b, ok := splitMerge(line)
		if !ok {
			return nil, &VocabError{Reason: fmt.Sprintf("merge %d: want two symbols, got %q", k, bytes.TrimSpace(line))}
		}
		for j, sym := range [2][]byte{a, b} {
			core := sym
			if j == 1 {
				core = bytes.TrimSuffix(sym, []byte("</w>"))
			}
			if len(core) == 0 {
				return nil, &VocabError{Reason: fmt.Sprintf("merge %d: empty symbol", k)}
			}
			for _, c := range string(core) {
				if c >= rune(len(byteOfChar)) || byteOfChar[c] < 0 {
					return nil, &VocabError{Reason: fmt.Sprintf("merge %d: %q is not a byte-level symbol", k, sym)}
				}
			}
		}
		split = append(split, int32(len(a)))
		addVocab(a, b)
		if err == io.EOF {
			break
		}
	}
	if len(split) < numMerges {
		return nil, &VocabError{Reason: fmt.Sprintf("file ends after %d merges, want %d", len(split), numMerges)}
	}
	addVocab([]byte("<|startoftext|>"))
	addVocab([]byte("<|endoftext|>"))
	off = append(off, int32(len(text)))
	all := string(text)
	nv := len(off) - 1
	vocab := func(i int) string { return all[off[i]:off[i+1]] }

	// encoder = dict(zip(vocab, range(len(vocab)))): later duplicates win;
	// the decoder only knows the ids that won.
	encoder := make(map[string]int32, nv)
	for i := 0; i < nv; i++ {
		encoder[vocab(i)] = int32(i)
	}
	t.tokOK = make([]byte, nv)
	for _, id := range encoder {
		t.tokOK[id] = 1
	}
	t.tokOff = make([]int32, nv+1)
	t.tokBytes = make([]byte, 0, len(all))
	for i := 0; i < nv; i++ {
		t.tokOff[i] = int32(len(t.tokBytes))
		for _, c := range vocab(i) {
			// Every character is a byte character: the merges were
			// checked, and "</w>" and the special tokens are ASCII.
			t.tokBytes = append(t.tokBytes, byte(byteOfChar[c]))
		}
	}
	t.tokOff[nv] = int32(len(t.tokBytes))

	// bpe_ranks = dict(zip(merges, range(len(merges)))): later duplicates
	// win. A merge whose parts are not vocabulary symbols can never apply.
	t.merges = newMergeTable(mergeSlotsFor(len(split)))
	for rank, sp := range split {
		v := vocab(512 + rank)
		a, okA := encoder[v[:sp]]
		b, okB := encoder[v[sp:]]
		if !okA || !okB {
			continue
		}
		t.merges.put(a, b, mergeInfo{rank: int32(rank), id: encoder[v]})
	}
	t.initFixed()
	return t, nil
}

// initFixed sets what does not depend on the merges file: the byte ids
// (the first 256 ids are the byte characters in bytesToUnicode's order)
// and the BPE caches.
func (t *Tokenizer) initFixed() {
	bs, _ := bytesToUnicode()
	for i, b := range bs {
		t.byteID[b] = int32(i)
	}
	for b := range t.single {
		t.single[b][0] = t.byteID[b] + 256
	}
	t.cache.init(cacheSlots)
	t.longCache.init(longCacheSlots)
}

// simpleSymbol reports whether b certainly holds no whitespace: no ASCII
// space or control byte, no U+0085 or U+00A0, no character of three bytes
// or more (where the other Unicode spaces are).
func simpleSymbol(b []byte) bool {
	for i, c := range b {
		if c <= ' ' || c == 0x7f || c >= 0xe0 || (c == 0xc2 && i+1 < len(b) && (b[i+1] == 0x85 || b[i+1] == 0xa0)) {
			return false
		}
	}
	return true
}

// splitMerge splits a merges line into its two symbols (Python's
// str.split(): runs of whitespace separate, ends are trimmed).
func splitMerge(line []byte) (a, b []byte, ok bool) {
	body := bytes.TrimSuffix(line, []byte("\n"))
	if sp := bytes.IndexByte(body, ' '); sp > 0 && sp < len(body)-1 {
		a, b = body[:sp], body[sp+1:]
		if simpleSymbol(a) && simpleSymbol(b) {
			return a, b, true
		}
	}
	f := bytes.Fields(line)
	if len(f) != 2 {
		return nil, nil, false
	}
	return f[0], f[1], true
}

func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Encode returns the token ids of text, without SOT and EOT, exactly as the
// official SimpleTokenizer.encode does.
func (t *Tokenizer) Encode(text string) []int32 {
	bufp := idBufs.Get().(*[]int32)
	ids32 := t.appendEncode((*bufp)[:0], text)
	ids := append([]int32(nil), ids32...)
	if cap(ids32) <= 1<<16 {
		*bufp = ids32
		idBufs.Put(bufp)
	}
	return ids
}

// AppendEncode appends the ids Encode returns for text to dst and returns
// the extended slice: the same ids without a new slice per text.
func (t *Tokenizer) AppendEncode(dst []int32, text string) []int32 {
	return t.appendEncode(dst, text)
}

// idBufs recycles Encode's scratch buffers.
var idBufs = sync.Pool{New: func() any { b := make([]int32, 0, 128); return &b }}

// appendEncode appends the ids of text to dst.
func (t *Tokenizer) appendEncode(dst []int32, text string) []int32 {
	clean := Clean(text)
	p := getProps()
	for i := 0; ; {
		start, end := nextPretoken(p, clean, i)
		if start >= len(clean) {
			return dst
		}
		dst = append(dst, t.bpe(clean[start:end])...)
		i = end
	}
}

// Tokenize returns, for each text, SOT, its ids and EOT, zero padded to
// contextLength, as clip.tokenize does. A text that does not fit gives a
// *TooLongError, unless truncate is set: then its first contextLength
// tokens are kept and the last one is replaced by EOT. A contextLength
// below 2 gives ErrContextLength.
func (t *Tokenizer) Tokenize(texts []string, contextLength int, truncate bool) (rows [][]int32, err error) {
	defer func() {
		// No input is known to panic (see FuzzTokenize); should one, it
		// is reported as an error rather than crashing the caller.
		if r := recover(); r != nil {
			rows, err = nil, fmt.Errorf("tokenizer: internal error: %v", r)
		}
	}()
	if contextLength < 2 {
		return nil, fmt.Errorf("%w (got %d)", ErrContextLength, contextLength)
	}
	out := make([][]int32, len(texts))
	buf := make([]int32, len(texts)*contextLength)
	var scratch []int32
	for i, text := range texts {
		scratch = append(scratch[:0], SOT)
		scratch = t.appendEncode(scratch, text)
		scratch = append(scratch, EOT)
		row := buf[i*contextLength : (i+1)*contextLength : (i+1)*contextLength]
		if len(scratch) > contextLength {
			if !truncate {
				return nil, &TooLongError{Index: i, Tokens: len(scratch), ContextLength: contextLength}
			}
			scratch = scratch[:contextLength]
			scratch[contextLength-1] = EOT
		}
		copy(row, scratch)
		out[i] = row
	}
	return out, nil
}

// TokenizeOne is Tokenize for a single text.
func (t *Tokenizer) TokenizeOne(text string, contextLength int, truncate bool) ([]int32, error) {
	rows, err := t.Tokenize([]string{text}, contextLength, truncate)
	if err != nil {
		return nil, err
	}
	return rows[0], nil
}

// Decode returns the text of ids with the official semantics: the bytes of
// the tokens are decoded as UTF-8 (each maximal invalid subsequence becomes
// U+FFFD) and every "</w>" becomes a space. Ids the official decoder does
// not know (negative or >= VocabSize) are skipped; DecodeStrict reports
// them instead.
func (t *Tokenizer) Decode(ids []int32) string {
	var b []byte
	for _, id := range ids {
		if !t.known(id) {
			continue
		}
		b = append(b, t.tokBytes[t.tokOff[id]:t.tokOff[id+1]]...)
	}
	return strings.ReplaceAll(decodeReplace(b), "</w>", " ")
}

// DecodeStrict is Decode, but an unknown id is an error (the official
// decode raises KeyError).
func (t *Tokenizer) DecodeStrict(ids []int32) (string, error) {
	for i, id := range ids {
		if !t.known(id) {
			return "", fmt.Errorf("tokenizer: unknown token id %d at position %d", id, i)
		}
	}
	return t.Decode(ids), nil
}

// known reports whether id is a token of the vocabulary.
func (t *Tokenizer) known(id int32) bool {
	return id >= 0 && int(id) < len(t.tokOK) && t.tokOK[id] != 0
}
