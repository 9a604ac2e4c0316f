package clip

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/goclip/goclip/download"
	"github.com/goclip/goclip/tokenizer"
)

// The official BPE vocabulary: its address in the reference repository at
// the commit the project follows, and its sha256.
const (
	VocabFile   = "bpe_simple_vocab_16e6.txt.gz"
	VocabURL    = "https://github.com/openai/CLIP/raw/d05afc436d78f1c48dc0dbf8e5980a9d471f35f6/clip/bpe_simple_vocab_16e6.txt.gz"
	VocabSHA256 = "924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a"
)

// VocabOptions says where to look for the vocabulary.
type VocabOptions struct {
	// Path, when set, is used as is (a missing file is an error).
	Path string
	// CacheDir overrides the cache directory (default download.CacheDir()).
	CacheDir string
	// NoDownload forbids the download step.
	NoDownload bool
	// Progress receives download progress (nil: silent).
	Progress io.Writer
	// URL overrides the download address (tests, mirrors).
	URL string
}

// VocabSource says where FindVocab found the vocabulary: "option",
// "$CLIP_VOCAB", "cache" or "download".
type VocabSource string

// FindVocab locates the vocabulary file, in this order: the explicit path,
// $CLIP_VOCAB, the cache directory, else a download from the official
// address into the cache, checked against its sha256 and renamed into place
// atomically. It returns the path and where it came from.
func FindVocab(ctx context.Context, opt VocabOptions) (string, VocabSource, error) {
	if opt.Path != "" {
		if _, err := os.Stat(opt.Path); err != nil {
			return "", "", vocabError(fmt.Errorf("vocabulary given as %s: %w", opt.Path, err))
		}
		return opt.Path, "option", nil
	}
	if p := os.Getenv("CLIP_VOCAB"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", "", vocabError(fmt.Errorf("$CLIP_VOCAB=%s: %w", p, err))
		}
		return p, "$CLIP_VOCAB", nil
	}
	dir := opt.CacheDir
	if dir == "" {
		d, err := download.CacheDir()
		if err != nil {
			return "", "", vocabError(err)
		}
		dir = d
	}
	dest := filepath.Join(dir, VocabFile)
	if err := download.VerifyFile(dest, VocabSHA256); err == nil {
		return dest, "cache", nil
	}
	if opt.NoDownload {
		return "", "", vocabError(fmt.Errorf("%s is not in the cache (%s) and downloading is disabled", VocabFile, dir))
	}
	url := opt.URL
	if url == "" {
		url = VocabURL
	}
	err := download.Fetch(ctx, download.Options{URL: url, SHA256: VocabSHA256, Dest: dest, Progress: opt.Progress})
	if err != nil {
		return "", "", vocabError(err)
	}
	return dest, "download", nil
}

// ErrVocab is wrapped by every error about the vocabulary file.
var ErrVocab = errors.New("clip: BPE vocabulary unavailable")

func vocabError(err error) error {
	return fmt.Errorf("%w: %w\n(get %s from %s and pass --vocab FILE or set $CLIP_VOCAB, or put it in the cache directory)",
		ErrVocab, err, VocabFile, VocabURL)
}

// LoadTokenizer finds the vocabulary (see FindVocab) and builds the
// tokenizer, keeping a binary copy of its tables in the cache directory
// (see tokenizer.LoadCached; none when the directory is unknown).
func LoadTokenizer(ctx context.Context, opt VocabOptions) (*tokenizer.Tokenizer, error) {
	path, _, err := FindVocab(ctx, opt)
	if err != nil {
		return nil, err
	}
	dir := opt.CacheDir
	if dir == "" {
		dir, _ = download.CacheDir()
	}
	tok, err := tokenizer.LoadCached(path, dir)
	if err != nil {
		return nil, vocabError(err)
	}
	return tok, nil
}
