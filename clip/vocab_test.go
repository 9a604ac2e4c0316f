package clip

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/goclip/goclip/tokenizer"
)

// TestFindVocab exercises the real lookup order and the real download code
// against a local HTTP server serving the official file.
func TestFindVocab(t *testing.T) {
	official, err := os.ReadFile(vocabPath(t))
	if err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/"+VocabFile {
			http.NotFound(w, r)
			return
		}
		hits.Add(1)
		http.ServeContent(w, r, VocabFile, fileTime, bytesReader(official))
	}))
	defer srv.Close()
	ctx := context.Background()
	t.Setenv("CLIP_VOCAB", "")

	cache := t.TempDir()
	opt := VocabOptions{CacheDir: cache, URL: srv.URL + "/" + VocabFile}
	p, src, err := FindVocab(ctx, opt)
	if err != nil || src != "download" || p != filepath.Join(cache, VocabFile) || hits.Load() != 1 {
		t.Fatalf("first lookup: %s %s %v (requests %d)", p, src, err, hits.Load())
	}
	if _, src, err = FindVocab(ctx, opt); err != nil || src != "cache" || hits.Load() != 1 {
		t.Fatalf("second lookup: %s %v (requests %d)", src, err, hits.Load())
	}
	// A corrupt cached file is detected and replaced.
	os.WriteFile(filepath.Join(cache, VocabFile), official[:1000], 0o644)
	if _, src, err = FindVocab(ctx, opt); err != nil || src != "download" || hits.Load() != 2 {
		t.Fatalf("corrupt cache: %s %v (requests %d)", src, err, hits.Load())
	}
	if tok, err := LoadTokenizer(ctx, opt); err != nil || len(tok.Encode("a photo of a cat")) != 5 {
		t.Fatalf("tokenizer from the downloaded file: %v", err)
	}
	// $CLIP_VOCAB beats the cache; the explicit path beats $CLIP_VOCAB.
	t.Setenv("CLIP_VOCAB", vocabPath(t))
	if p, src, _ := FindVocab(ctx, opt); src != "$CLIP_VOCAB" || p != vocabPath(t) {
		t.Errorf("with $CLIP_VOCAB: %s %s", p, src)
	}
	opt.Path = filepath.Join(cache, VocabFile)
	if p, src, _ := FindVocab(ctx, opt); src != "option" || p != opt.Path {
		t.Errorf("with a path: %s %s", p, src)
	}
	// Errors say how to get the file.
	t.Setenv("CLIP_VOCAB", "")
	for name, o := range map[string]VocabOptions{
		"missing path":  {Path: filepath.Join(cache, "nope.gz")},
		"no download":   {CacheDir: t.TempDir(), NoDownload: true},
		"server 404":    {CacheDir: t.TempDir(), URL: srv.URL + "/missing"},
		"wrong content": {CacheDir: t.TempDir(), URL: wrongServer(t)},
	} {
		_, _, err := FindVocab(ctx, o)
		if !errors.Is(err, ErrVocab) || !contains(err.Error(), "CLIP_VOCAB") {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A file that is not the vocabulary gives a tokenizer error, not a panic.
	junk := filepath.Join(t.TempDir(), "junk.gz")
	os.WriteFile(junk, []byte("not gzip"), 0o644)
	if _, err := LoadTokenizer(ctx, VocabOptions{Path: junk}); !errors.Is(err, ErrVocab) {
		t.Errorf("junk vocabulary: %v", err)
	}
	var _ *tokenizer.Tokenizer
}
