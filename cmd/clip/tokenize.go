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

	"github.com/goclip/goclip/clip"
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
	in := bufio.NewReaderSize(e.stdin, 1<<20)
	out := bufio.NewWriterSize(e.stdout, 1<<20)
	defer out.Flush()
	const chunk = 4096
	lineNo := 0
	for {
		texts, lines, err := readJSONLines(in, chunk, &lineNo)
		if err != nil {
			return err
		}
		if len(texts) == 0 {
			return nil
		}
		rows := make([][]int32, len(texts))
		errs := make([]error, len(texts))
		parallel(len(texts), func(i int) {
			if encode {
				rows[i] = tok.Encode(texts[i])
				return
			}
			r, err := tok.Tokenize(texts[i:i+1], n, truncate)
			if err != nil {
				errs[i] = err
				return
			}
			rows[i] = r[0]
		})
		buf := make([]byte, 0, 1024)
		for i, row := range rows {
			if errs[i] != nil {
				out.Flush()
				var tl *tokenizer.TooLongError
				if errors.As(errs[i], &tl) {
					return &exitError{code: 1, msg: fmt.Sprintf("line %d: text is too long for context length %d (%d tokens with SOT and EOT); use --truncate to cut it", lines[i], n, tl.Tokens+2)}
				}
				return &exitError{code: 1, msg: fmt.Sprintf("line %d: %v", lines[i], errs[i])}
			}
			buf = appendIntArray(buf[:0], row)
			buf = append(buf, '\n')
			out.Write(buf)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// readJSONLines reads up to max non-blank lines, each a JSON string, and
// returns the texts with their 1-based line numbers.
func readJSONLines(r *bufio.Reader, max int, lineNo *int) ([]string, []int, error) {
	var texts []string
	var lines []int
	for len(texts) < max {
		line, err := r.ReadBytes('\n')
		if len(line) > 0 {
			*lineNo++
			trimmed := trimSpaceBytes(line)
			if len(trimmed) > 0 {
				var s string
				if jerr := json.Unmarshal(trimmed, &s); jerr != nil {
					return nil, nil, &exitError{code: 1, msg: fmt.Sprintf("line %d: not a JSON string: %v", *lineNo, jerr)}
				}
				texts = append(texts, s)
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
