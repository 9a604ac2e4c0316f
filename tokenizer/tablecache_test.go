package tokenizer

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// cacheFile returns the cache file LoadCached uses for the merges file at
// vocab in dir.
func cacheFile(t *testing.T, dir, vocab string) string {
	t.Helper()
	data, err := os.ReadFile(vocab)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, tableCacheName(sha256.Sum256(data)))
}

// sameTables fails unless a and b hold the same derived tables.
func sameTables(t *testing.T, a, b *Tokenizer) {
	t.Helper()
	if a.byteID != b.byteID || a.single != b.single {
		t.Error("byte ids differ")
	}
	if !slices.Equal(a.merges.slots, b.merges.slots) || a.merges.shift != b.merges.shift {
		t.Error("merge tables differ")
	}
	if !bytes.Equal(a.tokBytes, b.tokBytes) || !slices.Equal(a.tokOff, b.tokOff) || !slices.Equal(a.tokOK, b.tokOK) {
		t.Error("token bytes differ")
	}
	if len(a.cache.slots) != len(b.cache.slots) || len(a.longCache.slots) != len(b.longCache.slots) {
		t.Error("BPE caches differ in size")
	}
}

// checkGolden fails unless tok encodes every golden text as the official
// code does.
func checkGolden(t *testing.T, tok *Tokenizer) {
	t.Helper()
	for _, c := range goldenCases(t) {
		if got := tok.Encode(c.Text); !slices.Equal(got, c.Encode) {
			t.Fatalf("case %d: Encode(%q) = %v, want %v", c.Idx, c.Text, got, c.Encode)
		}
		if got := tok.Decode(c.Encode); got != c.Decode {
			t.Fatalf("case %d: Decode = %q, want %q", c.Idx, got, c.Decode)
		}
	}
}

func TestLoadCachedRoundTrip(t *testing.T) {
	dir := t.TempDir()
	vocab := vocabPath(t)
	first, fromCache, err := loadCached(vocab, dir)
	if err != nil {
		t.Fatal(err)
	}
	if fromCache {
		t.Fatal("first load: tables came from an empty cache directory")
	}
	if _, err := os.Stat(cacheFile(t, dir, vocab)); err != nil {
		t.Fatalf("first load wrote no cache file: %v", err)
	}
	second, fromCache, err := loadCached(vocab, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !fromCache {
		t.Fatal("second load parsed the merges file instead of reading the cache")
	}
	sameTables(t, first, second)
	sameTables(t, loadTokenizer(t), second)
	checkGolden(t, second)
	// No temporary file is left behind.
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("cache directory holds %d entries, want the one cache file", len(entries))
	}
}

func TestLoadCachedCorrupt(t *testing.T) {
	vocab := vocabPath(t)
	good, err := os.ReadFile(vocab)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(good)
	valid := encodeTables(loadTokenizer(t), sum)
	flip := func(i int) []byte {
		b := slices.Clone(valid)
		b[i] ^= 0x40
		return b
	}
	other := sha256.Sum256([]byte("another vocabulary"))
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"garbage", []byte(strings.Repeat("not a table cache ", 100))},
		{"truncated", valid[:len(valid)/2]},
		{"one byte short", valid[:len(valid)-1]},
		{"one byte more", append(slices.Clone(valid), 0)},
		{"bad magic", flip(0)},
		{"other vocabulary's sha256", append(append(append([]byte(nil), valid[:8]...), other[:]...), valid[8+sha256.Size:]...)},
		{"flipped count", flip(tableCacheHeader - 1)},
		{"flipped token bytes", flip(len(valid) / 3)},
		{"flipped merge slot", flip(len(valid) - 100)},
		{"flipped checksum", flip(len(valid) - 1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := decodeTables(tc.data, sum); err == nil {
				t.Fatal("decodeTables accepted a damaged cache file")
			}
			dir := t.TempDir()
			name := cacheFile(t, dir, vocab)
			if err := os.WriteFile(name, tc.data, 0o644); err != nil {
				t.Fatal(err)
			}
			tok, fromCache, err := loadCached(vocab, dir)
			if err != nil {
				t.Fatal(err)
			}
			if fromCache {
				t.Fatal("a damaged cache file was used")
			}
			sameTables(t, loadTokenizer(t), tok)
			// The damaged file was replaced by a good one.
			rewritten, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(rewritten, valid) {
				t.Fatal("the damaged cache file was not rewritten")
			}
			if _, fromCache, err := loadCached(vocab, dir); err != nil || !fromCache {
				t.Fatalf("load after the rewrite: fromCache %v, err %v; want the cache used", fromCache, err)
			}
		})
	}
}

// regzip returns the merges file at path recompressed at another level:
// the same merges, different bytes, so a different sha256.
func regzip(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	w, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
	w.Write(text)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestLoadCachedKeyedByContent(t *testing.T) {
	dir := t.TempDir()
	vocab := vocabPath(t)
	other := filepath.Join(t.TempDir(), VocabFileName)
	if err := os.WriteFile(other, regzip(t, vocab), 0o644); err != nil {
		t.Fatal(err)
	}
	a, b := cacheFile(t, dir, vocab), cacheFile(t, dir, other)
	if a == b {
		t.Fatal("two different merges files share a cache file name")
	}
	for _, p := range []string{vocab, other} {
		if _, fromCache, err := loadCached(p, dir); err != nil || fromCache {
			t.Fatalf("%s: first load: fromCache %v, err %v", p, fromCache, err)
		}
	}
	for _, name := range []string{a, b} {
		if _, err := os.Stat(name); err != nil {
			t.Fatal(err)
		}
	}
	// Same merges, so the same tables, each from its own cache file.
	tok, fromCache, err := loadCached(other, dir)
	if err != nil || !fromCache {
		t.Fatalf("reload: fromCache %v, err %v", fromCache, err)
	}
	sameTables(t, loadTokenizer(t), tok)

	// A cache file copied under another merges file's name is refused
	// (it records the sha256 of the file it was made from).
	data, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, fromCache, err := loadCached(other, dir); err != nil || fromCache {
		t.Fatalf("load with another file's cache: fromCache %v, err %v; want it refused", fromCache, err)
	}
}

func TestLoadCachedConcurrent(t *testing.T) {
	dir := t.TempDir()
	vocab := vocabPath(t)
	const loaders = 8
	toks := make([]*Tokenizer, loaders)
	errs := make([]error, loaders)
	var wg sync.WaitGroup
	for i := range loaders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			toks[i], _, errs[i] = loadCached(vocab, dir)
		}()
	}
	wg.Wait()
	for i := range loaders {
		if errs[i] != nil {
			t.Fatalf("loader %d: %v", i, errs[i])
		}
		sameTables(t, loadTokenizer(t), toks[i])
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != filepath.Base(cacheFile(t, dir, vocab)) {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("cache directory holds %v, want only the cache file", names)
	}
	tok, fromCache, err := loadCached(vocab, dir)
	if err != nil || !fromCache {
		t.Fatalf("load after the concurrent ones: fromCache %v, err %v", fromCache, err)
	}
	checkGolden(t, tok)
}

func TestLoadCachedUnwritableDir(t *testing.T) {
	// The cache directory's place is taken by a file: nothing can be
	// written, and loading still works.
	parent := t.TempDir()
	dir := filepath.Join(parent, "cache")
	if err := os.WriteFile(dir, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, fromCache, err := loadCached(vocabPath(t), dir)
	if err != nil || fromCache {
		t.Fatalf("fromCache %v, err %v", fromCache, err)
	}
	sameTables(t, loadTokenizer(t), tok)
}

func TestLoadCachedErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.gz")
	_, err := LoadCached(missing, dir)
	var ve *VocabError
	if !errors.As(err, &ve) || ve.Path != missing {
		t.Fatalf("missing file: %v, want a *VocabError naming it", err)
	}
	bad := filepath.Join(dir, "bad.gz")
	if err := os.WriteFile(bad, []byte("not gzip"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = LoadCached(bad, dir)
	if !errors.As(err, &ve) || ve.Path != bad || !strings.Contains(err.Error(), "not a gzip file") {
		t.Fatalf("bad file: %v, want a *VocabError naming it", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("a failed load left %d entries in the directory, want only bad.gz", len(entries))
	}
}
