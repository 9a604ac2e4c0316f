package serve

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/goclip/goclip/internal/batch"
	"github.com/goclip/goclip/preprocess"
)

// item is one input: a text, a row of token ids or an image.
type item struct {
	image  bool
	text   string
	tokens []int32 // given token ids (not yet padded)
	isToks bool
	data   []byte // image bytes
	ref    string // image reference (data URI or URL) still to load
	param  string // where it came from, for errors: "input[3]"
}

// typedItem is {"type": "text", "text": ...} or {"type": "image", "image": ...}.
type typedItem struct {
	Type  string `json:"type"`
	Text  string `json:"text"`
	Image string `json:"image"`
}

// parseItems reads a JSON input: a string, a list of strings, token ids
// ([int] or [[int]]) or typed items, mixed. With imageStrings, strings are
// images (data URIs or URLs).
func parseItems(raw json.RawMessage, param string, imageStrings bool) ([]item, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, badRequest(param, "missing_input", "%s is required", param)
	}
	one := func(v json.RawMessage, p string) (item, error) {
		v = bytes.TrimSpace(v)
		switch {
		case len(v) > 0 && v[0] == '"':
			var s string
			if err := json.Unmarshal(v, &s); err != nil {
				return item{}, badRequest(p, "invalid_input", "%s: %v", p, err)
			}
			if imageStrings {
				return item{image: true, ref: s, param: p}, nil
			}
			return item{text: s, param: p}, nil
		case len(v) > 0 && v[0] == '{':
			var t typedItem
			if err := json.Unmarshal(v, &t); err != nil {
				return item{}, badRequest(p, "invalid_input", "%s: %v", p, err)
			}
			switch t.Type {
			case "text":
				return item{text: t.Text, param: p}, nil
			case "image":
				return item{image: true, ref: t.Image, param: p}, nil
			}
			return item{}, badRequest(p, "invalid_input", `%s: "type" must be "text" or "image", got %q`, p, t.Type)
		case len(v) > 0 && v[0] == '[':
			var ids []int64
			if err := json.Unmarshal(v, &ids); err != nil {
				return item{}, badRequest(p, "invalid_input", "%s: a list inside the input must hold token ids (integers): %v", p, err)
			}
			return tokenItem(ids, p)
		}
		return item{}, badRequest(p, "invalid_input", "%s: want a string, a typed item or token ids", p)
	}
	if raw[0] != '[' {
		it, err := one(raw, param)
		if err != nil {
			return nil, err
		}
		return []item{it}, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, badRequest(param, "invalid_input", "%s: %v", param, err)
	}
	if len(list) == 0 {
		return nil, badRequest(param, "invalid_input", "%s is empty", param)
	}
	// [int]: one row of token ids.
	if c := bytes.TrimSpace(list[0]); len(c) > 0 && (c[0] == '-' || (c[0] >= '0' && c[0] <= '9')) {
		var ids []int64
		if err := json.Unmarshal(raw, &ids); err != nil {
			return nil, badRequest(param, "invalid_input", "%s: token ids must all be integers: %v", param, err)
		}
		it, err := tokenItem(ids, param)
		if err != nil {
			return nil, err
		}
		return []item{it}, nil
	}
	items := make([]item, len(list))
	for i, v := range list {
		it, err := one(v, fmt.Sprintf("%s[%d]", param, i))
		if err != nil {
			return nil, err
		}
		items[i] = it
	}
	return items, nil
}

func tokenItem(ids []int64, p string) (item, error) {
	if len(ids) == 0 {
		return item{}, badRequest(p, "invalid_tokens", "%s: empty token id list", p)
	}
	row := make([]int32, len(ids))
	for i, id := range ids {
		if id < 0 || id > 1<<31-1 {
			return item{}, badRequest(p, "invalid_tokens", "%s: token id %d out of range", p, id)
		}
		row[i] = int32(id)
	}
	return item{tokens: row, isToks: true, param: p}, nil
}

// bodyImages reads a raw image body (Content-Type image/*) or the file
// fields of a multipart form; form values are returned too.
func bodyImages(r *http.Request) ([]item, map[string][]string, error) {
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if strings.HasPrefix(ct, "image/") {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, nil, err
		}
		return []item{{image: true, data: b, param: "body"}}, map[string][]string(r.URL.Query()), nil
	}
	if ct != "multipart/form-data" {
		return nil, nil, nil
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	values := map[string][]string{}
	for k, v := range r.URL.Query() {
		values[k] = v
	}
	var items []item
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var mb *http.MaxBytesError
			if errors.As(err, &mb) {
				return nil, nil, err
			}
			return nil, nil, badRequest("body", "invalid_multipart", "multipart body: %v", err)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return nil, nil, err
		}
		if p.FileName() != "" {
			items = append(items, item{image: true, data: b, param: fmt.Sprintf("%s[%d] (%s)", p.FormName(), len(items), p.FileName())})
		} else {
			values[p.FormName()] = append(values[p.FormName()], string(b))
		}
	}
	if len(items) == 0 {
		return nil, nil, badRequest("body", "missing_input", "the multipart form has no file fields")
	}
	return items, values, nil
}

// loadRef turns a data URI (or, when allowed, an http(s) URL) into bytes.
func (s *Server) loadRef(ctx context.Context, it *item) error {
	if it.data != nil || it.ref == "" && !it.image {
		return nil
	}
	ref := it.ref
	switch {
	case strings.HasPrefix(ref, "data:"):
		comma := strings.IndexByte(ref, ',')
		if comma < 0 || !strings.HasSuffix(ref[:comma], ";base64") {
			return badRequest(it.param, "invalid_image", "%s: want a base64 data URI (data:image/...;base64,...)", it.param)
		}
		b, err := base64.StdEncoding.DecodeString(ref[comma+1:])
		if err != nil {
			return badRequest(it.param, "invalid_image", "%s: bad base64: %v", it.param, err)
		}
		it.data = b
	case strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://"):
		if !s.opts.AllowURLFetch {
			return badRequest(it.param, "url_fetch_disabled", "%s: image URLs are not fetched (start the server with --allow-url-fetch), send a data URI", it.param)
		}
		b, err := s.fetch(ctx, ref)
		if err != nil {
			return badRequest(it.param, "fetch_failed", "%s: %v", it.param, err)
		}
		it.data = b
	case ref == "":
		return badRequest(it.param, "invalid_image", "%s: empty image", it.param)
	default:
		return badRequest(it.param, "invalid_image", "%s: an image must be a data URI (data:image/...;base64,...)", it.param)
	}
	return nil
}

func (s *Server) fetch(ctx context.Context, url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, s.opts.MaxRequestBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > s.opts.MaxRequestBytes {
		return nil, fmt.Errorf("GET %s: larger than %d bytes", url, s.opts.MaxRequestBytes)
	}
	return b, nil
}

// encoded is the result of encode: one feature row per item.
type encoded struct {
	feats  [][]float32
	tokens int // text tokens, for "usage"
	timing batch.Timing
}

// encode validates, tokenizes and preprocesses the items (one bad item
// fails the request with a 400 naming it), then runs them through the
// model's batchers.
func (s *Server) encode(ctx context.Context, m *served, items []item) (encoded, error) {
	if len(items) > s.opts.MaxItems {
		return encoded{}, badRequest("input", "too_many_items", "%d inputs; the limit is %d per request", len(items), s.opts.MaxItems)
	}
	return s.encodeItems(ctx, m, items)
}

// encodeItems is encode without the item limit.
func (s *Server) encodeItems(ctx context.Context, m *served, items []item) (encoded, error) {
	var textIdx, imgIdx []int
	var rows []tokens
	var res encoded
	ctxLen, vocab := m.info.ContextLength, m.info.VocabSize
	for i := range items {
		it := &items[i]
		if it.image {
			imgIdx = append(imgIdx, i)
			continue
		}
		row := it.tokens
		if !it.isToks {
			var err error
			if row, err = m.tokenize(ctx, it.text); err != nil {
				return encoded{}, badRequest(it.param, "invalid_text", "%s: %v", it.param, err)
			}
		} else {
			if len(row) > ctxLen {
				return encoded{}, badRequest(it.param, "invalid_tokens", "%s: %d token ids; the model's context length is %d", it.param, len(row), ctxLen)
			}
			for _, id := range row {
				if vocab > 0 && int(id) >= vocab {
					return encoded{}, badRequest(it.param, "invalid_tokens", "%s: token id %d is outside the vocabulary [0, %d)", it.param, id, vocab)
				}
			}
			row = append(row, make([]int32, ctxLen-len(row))...)
		}
		for _, id := range row {
			if id != 0 {
				res.tokens++
			}
		}
		textIdx = append(textIdx, i)
		rows = append(rows, m.textIn(row))
	}
	px, err := s.preprocessAll(ctx, m, items, imgIdx)
	if err != nil {
		return encoded{}, err
	}
	s.met.items.WithLabelValues("text").Add(float64(len(rows)))
	s.met.items.WithLabelValues("image").Add(float64(len(px)))
	res.feats = make([][]float32, len(items))
	var wg sync.WaitGroup
	var textErr, imgErr error
	var tt, it batch.Timing
	if len(rows) > 0 && len(px) > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var f [][]float32
			f, tt, textErr = submitChunks(ctx, m.text, rows, s.opts.MaxBatchSize)
			for k, i := range textIdx {
				if textErr == nil {
					res.feats[i] = f[k]
				}
			}
		}()
	} else if len(rows) > 0 {
		var f [][]float32
		f, tt, textErr = submitChunks(ctx, m.text, rows, s.opts.MaxBatchSize)
		for k, i := range textIdx {
			if textErr == nil {
				res.feats[i] = f[k]
			}
		}
	}
	if len(px) > 0 {
		var f [][]float32
		f, it, imgErr = submitChunks(ctx, m.image, px, s.opts.MaxBatchSize)
		for k, i := range imgIdx {
			if imgErr == nil {
				res.feats[i] = f[k]
			}
		}
	}
	wg.Wait()
	res.timing = batch.Timing{Queue: max(tt.Queue, it.Queue), Inference: tt.Inference + it.Inference}
	if textErr != nil {
		return res, textErr
	}
	return res, imgErr
}

// preprocessAll loads, decodes and transforms the images on the worker
// pool. The first failing image (by index) fails the request.
func (s *Server) preprocessAll(ctx context.Context, m *served, items []item, idx []int) ([]pixels, error) {
	if len(idx) == 0 {
		return nil, nil
	}
	out := make([]pixels, len(idx))
	errs := make([]error, len(idx))
	var wg sync.WaitGroup
	for k, i := range idx {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case s.workers <- struct{}{}:
			case <-ctx.Done():
				errs[k] = ctx.Err()
				return
			}
			defer func() { <-s.workers }()
			it := &items[i]
			if err := s.loadRef(ctx, it); err != nil {
				errs[k] = err
				return
			}
			p, err := m.preprocess(it.data)
			if err != nil {
				code := "invalid_image"
				if errors.Is(err, preprocess.ErrTooManyPixels) || errors.Is(err, preprocess.ErrTooLarge) {
					code = "image_too_large"
				}
				errs[k] = badRequest(it.param, code, "%s: %v", it.param, err)
				return
			}
			it.data = nil
			out[k] = m.withSlot(p)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// timingHeaders sets x-queue-time and x-inference-time (milliseconds).
func timingHeaders(w http.ResponseWriter, t batch.Timing) {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/float64(time.Millisecond)) }
	w.Header().Set("x-queue-time", ms(t.Queue))
	w.Header().Set("x-inference-time", ms(t.Inference))
}

// submitChunks submits ins in chunks of at most n items, one after the
// other, so that a request larger than the queue is still served.
func submitChunks[In any](ctx context.Context, b *batch.Batcher[In, []float32], ins []In, n int) ([][]float32, batch.Timing, error) {
	var out [][]float32
	var t batch.Timing
	for s := 0; s < len(ins); s += n {
		f, ct, err := b.Submit(ctx, ins[s:min(s+n, len(ins))])
		t.Queue += ct.Queue
		t.Inference += ct.Inference
		if err != nil {
			return nil, t, err
		}
		out = append(out, f...)
	}
	return out, t, nil
}
