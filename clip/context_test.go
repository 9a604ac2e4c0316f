package clip

import (
	"context"
	"errors"
	"image"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"
)

// afterCtx is a context whose Err reports context.Canceled from its n-th
// call on, so a test can cancel between two batches deterministically.
type afterCtx struct {
	context.Context
	calls, n atomic.Int32
}

func cancelAfter(n int32) *afterCtx {
	c := &afterCtx{Context: context.Background()}
	c.n.Store(n)
	return c
}

func (c *afterCtx) Err() error {
	if c.calls.Add(1) >= c.n.Load() {
		return context.Canceled
	}
	return nil
}

func grayImages(n int) []image.Image {
	imgs := make([]image.Image, n)
	for i := range imgs {
		img := image.NewGray(image.Rect(0, 0, 40, 30))
		for p := range img.Pix {
			img.Pix[p] = uint8(i*40 + p)
		}
		imgs[i] = img
	}
	return imgs
}

// TestContextCancel: every call that can run long takes a context and
// stops with its error, before the first batch and between batches.
func TestContextCancel(t *testing.T) {
	m := loadGolden(t, "tiny_vit_b32", WithBatchSize(1))
	done, cancel := context.WithCancel(context.Background())
	cancel()
	texts := []string{"a cat", "a dog", "a rocket"}
	imgs := grayImages(3)
	calls := []struct {
		name string
		run  func(ctx context.Context) error
	}{
		{"EncodeTexts", func(ctx context.Context) error { _, err := m.EncodeTexts(ctx, texts); return err }},
		{"EncodeImages", func(ctx context.Context) error { _, err := m.EncodeImages(ctx, imgs); return err }},
		{"NewClassifier", func(ctx context.Context) error { _, err := m.NewClassifier(ctx, texts, "{}"); return err }},
	}
	for _, c := range calls {
		if err := c.run(done); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: %v", c.name, err)
		}
		// Cancelled after the first batch: the call stops before the last.
		ctx := cancelAfter(2)
		if err := c.run(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("%s cancelled between batches: %v", c.name, err)
		}
		if n := ctx.calls.Load(); n < 2 || n > 3 {
			t.Errorf("%s checked the context %d times for 3 batches", c.name, n)
		}
		if err := c.run(context.Background()); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	// A cancelled NewClassifier leaves nothing in the cache.
	if n := m.classifiers.len(); n != 1 {
		t.Errorf("%d classifiers cached, want 1", n)
	}
	// EncodeImages equals encoding the preprocessed pixels in one call.
	got, err := m.EncodeImages(context.Background(), imgs)
	if err != nil {
		t.Fatal(err)
	}
	var px []float32
	for _, img := range imgs {
		p, err := m.Preprocessor().Image(img)
		if err != nil {
			t.Fatal(err)
		}
		px = append(px, p...)
	}
	for i := range imgs {
		want, err := m.EncodeImage(px[i*len(px)/3:(i+1)*len(px)/3], 1)
		if err != nil {
			t.Fatal(err)
		}
		for j, v := range want.Data {
			if got.Row(i)[j] != v {
				t.Fatalf("EncodeImages row %d differs from EncodeImage", i)
			}
		}
	}
	if _, err := m.EncodeImages(context.Background(), nil); !errors.Is(err, ErrInput) {
		t.Errorf("no images: %v", err)
	}
	if _, err := m.EncodeTexts(context.Background(), nil); !errors.Is(err, ErrInput) {
		t.Errorf("no texts: %v", err)
	}
}

// TestTokenizerContext: the vocabulary download behind Tokenizer and
// Tokenize obeys the context, and a cancelled load is retried, not
// remembered.
func TestTokenizerContext(t *testing.T) {
	official, err := os.ReadFile(vocabPath(t))
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		http.ServeContent(w, r, VocabFile, fileTime, bytesReader(official))
	}))
	defer srv.Close()
	t.Setenv("CLIP_VOCAB", "")
	m, err := Load(context.Background(), goldenModel(t, "tiny_vit_b32"), WithDevice("cpu"), WithCacheDir(t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	m.cfg.vocab.URL = srv.URL + "/" + VocabFile

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = m.Tokenizer(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !errors.Is(err, ErrVocab) {
		t.Errorf("Tokenizer with a deadline: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Tokenizer returned after %v, the deadline was 200ms", d)
	}
	done, stop := context.WithCancel(context.Background())
	stop()
	if _, err := m.Tokenize(done, []string{"a cat"}); !errors.Is(err, context.Canceled) {
		t.Errorf("Tokenize with a cancelled context: %v", err)
	}
	// While one load waits on the server, another caller's deadline still
	// counts: it does not queue behind the first without bound.
	first := make(chan error, 1)
	go func() { _, err := m.Tokenizer(context.Background()); first <- err }()
	time.Sleep(100 * time.Millisecond)
	ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel2()
	start = time.Now()
	if _, err := m.Tokenizer(ctx2); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Tokenizer behind a pending load: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Tokenizer behind a pending load returned after %v", d)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatalf("the pending load: %v", err)
	}
	rows, err := m.Tokenize(context.Background(), []string{"a cat"})
	if err != nil || len(rows) != 1 || rows[0][0] != 49406 || rows[0][1] != 320 {
		t.Fatalf("Tokenize after the failures: %v %v", rows, err)
	}
}
