package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"sync"
	"unsafe"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/internal/jsonstr"
	"github.com/goclip/goclip/tokenizer"
)

func tokenizeCmd() *command {
	return &command{
		name:    "tokenize",
		summary: "tokenize JSON Lines from stdin (one JSON string a line) like clip.tokenize; one JSON array a line out",
		usage:   "tokenize [--context-length N] [--truncate] [--encode] [--vocab FILE] < texts.jsonl",
		flags: []flagSpec{
			{name: "context-length", kind: valueArg, usage: "tokens per row, SOT and EOT included (default 77)"},
			{name: "truncate", kind: boolArg, usage: "cut too-long texts (last kept token becomes EOT) instead of failing"},
			{name: "encode", kind: boolArg, usage: "write the untruncated ids without SOT/EOT/padding instead"},
			{name: "vocab", kind: valueArg, usage: "BPE vocabulary file (else $CLIP_VOCAB, else the cache, else download)"},
		},
		argHint: "tokenize reads its texts from stdin",
		run:     runTokenize,
	}
}

func runTokenize(ctx context.Context, e *env, a *parsedArgs) error {
	n, err := a.integer("context-length", tokenizer.DefaultContextLength)
	if err != nil {
		return err
	}
	if n < 2 && !a.bools["encode"] {
		return usagef("--context-length must be at least 2 (SOT and EOT), got %d", n)
	}
	tok, err := clip.LoadTokenizer(ctx, clip.VocabOptions{Path: a.str("vocab", ""), Progress: progressWriter(e)})
	if err != nil {
		return err
	}
	encode, truncate := a.bools["encode"], a.bools["truncate"]
	// Buffers of moderate size, reused from chunk to chunk: fresh memory
	// costs a page fault per page, which dominates a short run.
	in := &lineReader{r: bufio.NewReaderSize(e.stdin, 64<<10)}
	out := bufio.NewWriterSize(e.stdout, 64<<10)
	defer out.Flush()
	const chunk = 1024
	var buf []byte
	var parts []part
	for {
		texts, lines, err := in.read(chunk)
		if err != nil {
			return err
		}
		if len(texts) == 0 {
			return nil
		}
		// The texts are cut into one contiguous part per worker; each
		// part's rows go back to back into one slice.
		parts = splitParts(parts, len(texts), runtime.GOMAXPROCS(0))
		parallel(len(parts), func(p int) {
			pt := &parts[p]
			for i := pt.lo; i < pt.hi; i++ {
				if encode {
					pt.ids = tok.AppendEncode(pt.ids, texts[i])
				} else {
					r, err := tok.Tokenize(texts[i:i+1], n, truncate)
					if err != nil {
						pt.err, pt.errAt = err, i
						return
					}
					pt.ids = append(pt.ids, r[0]...)
				}
				pt.ends = append(pt.ends, len(pt.ids))
			}
		})
		for _, pt := range parts {
			start := 0
			for _, end := range pt.ends {
				buf = appendIntArray(buf[:0], pt.ids[start:end])
				buf = append(buf, '\n')
				out.Write(buf)
				start = end
			}
			if pt.err != nil {
				out.Flush()
				var tl *tokenizer.TooLongError
				if errors.As(pt.err, &tl) {
					return &exitError{code: 1, msg: fmt.Sprintf("line %d: text is too long for context length %d (%d tokens with SOT and EOT); use --truncate to cut it", lines[pt.errAt], n, tl.Tokens+2)}
				}
				return &exitError{code: 1, msg: fmt.Sprintf("line %d: %v", lines[pt.errAt], pt.err)}
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// part is a contiguous run of texts [lo, hi) tokenized by one worker: the
// rows back to back in ids, row k ending at ends[k]; err is the first
// failure (at text errAt), after which the part stops.
type part struct {
	lo, hi int
	ids    []int32
	ends   []int
	err    error
	errAt  int
}

// splitParts cuts n texts into at most workers parts of nearly equal
// size, reusing the buffers of parts.
func splitParts(parts []part, n, workers int) []part {
	workers = max(1, min(workers, n))
	for len(parts) < workers {
		parts = append(parts, part{})
	}
	parts = parts[:workers]
	for w := range parts {
		parts[w] = part{lo: n * w / workers, hi: n * (w + 1) / workers, ids: parts[w].ids[:0], ends: parts[w].ends[:0]}
	}
	return parts
}

// lineReader reads JSON Lines of strings, reusing its buffers.
type lineReader struct {
	r      *bufio.Reader
	lineNo int
	arena  []byte
	ends   []int
	lines  []int
	texts  []string
	long   []byte
}

// read reads up to max non-blank lines, each a JSON string, and returns
// the texts with their 1-based line numbers, valid until the next call
// (they share the reader's buffer).
// Plain strings are decoded by jsonstr; anything else goes through
// encoding/json, so the texts (and errors) are encoding/json's.
func (lr *lineReader) read(max int) ([]string, []int, error) {
	r := lr.r
	arena, ends, lines, long := lr.arena[:0], lr.ends[:0], lr.lines[:0], lr.long[:0]
	lineNo := &lr.lineNo
	defer func() { lr.arena, lr.ends, lr.long = arena, ends, long }()
	for len(ends) < max {
		line, err := r.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A line longer than the buffer: gather it.
			long = append(long[:0], line...)
			for err == bufio.ErrBufferFull {
				line, err = r.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if len(line) > 0 {
			*lineNo++
			trimmed := trimSpaceBytes(line)
			if len(trimmed) > 0 {
				var ok bool
				if arena, ok = jsonstr.AppendUnquote(arena, trimmed); !ok {
					var s string
					if jerr := json.Unmarshal(trimmed, &s); jerr != nil {
						return nil, nil, &exitError{code: 1, msg: fmt.Sprintf("line %d: not a JSON string: %v", *lineNo, jerr)}
					}
					arena = append(arena, s...)
				}
				ends = append(ends, len(arena))
				lines = append(lines, *lineNo)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, err
		}
	}
	// The texts alias the arena, reused by the next call: no copy, no
	// garbage per chunk. Nothing keeps them past a chunk (the tokenizer
	// clones what its BPE cache keeps).
	var all string
	if len(arena) > 0 {
		all = unsafe.String(&arena[0], len(arena))
	}
	texts := lr.texts[:0]
	start := 0
	for _, end := range ends {
		texts = append(texts, all[start:end])
		start = end
	}
	lr.texts, lr.lines = texts, lines
	return texts, lines, nil
}

func trimSpaceBytes(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r' || b[len(b)-1] == '\n') {
		b = b[:len(b)-1]
	}
	return b
}

func appendIntArray(buf []byte, row []int32) []byte {
	buf = append(buf, '[')
	for k, v := range row {
		if k > 0 {
			buf = append(buf, ',', ' ')
		}
		buf = strconv.AppendInt(buf, int64(v), 10)
	}
	return append(buf, ']')
}

// parallel runs fn(i) for i in [0,n) on all cores.
func parallel(n int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		for i := 0; i < n; i++ {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	next := make(chan int, n)
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// progressWriter returns stderr when it is a terminal, else nil.
func progressWriter(e *env) io.Writer {
	if e.isTerminal {
		return e.stderr
	}
	return nil
}
