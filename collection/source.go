package collection

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/goclip/goclip/clip"
)

// ImageExtensions are the sample members taken as the image, in order of
// preference when a sample has several.
var ImageExtensions = []string{"jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff"}

// Sample is one input item: an image with an optional caption and
// metadata.
type Sample struct {
	// Key names the sample in the metadata's image_path column: the tar
	// member's __key__, or the image's path for a folder.
	Key string
	// Image holds the encoded image (tar input); File names it instead
	// (folder input).
	Image []byte
	File  string
	// Caption is the .txt beside the image; HasCaption tells an empty one
	// from none.
	Caption    string
	HasCaption bool
	// Meta is the .json beside the image, its objects flattened to
	// dot-joined keys as pandas.json_normalize does.
	Meta map[string]any
}

// source yields the samples of one partition in order. next returns io.EOF
// at the end; a *SampleError for a sample that is skipped (the source goes
// on); any other error ends the source early (a truncated tar).
type source interface {
	next() (Sample, error)
	close() error
}

// SampleError is a sample that could not be used; it is reported and
// skipped.
type SampleError struct {
	Key string
	Err error
}

func (e *SampleError) Error() string { return e.Key + ": " + e.Err.Error() }
func (e *SampleError) Unwrap() error { return e.Err }

// tarSource streams a WebDataset tar: consecutive members sharing a
// __key__ (the path up to the first dot of the base name) form a sample.
type tarSource struct {
	name    string
	f       io.Closer
	tr      *tar.Reader
	pending *tar.Header // first member of the next sample
	done    bool
}

func openTar(name string) (*tarSource, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	return &tarSource{name: name, f: f, tr: tar.NewReader(f)}, nil
}

func (t *tarSource) close() error { return t.f.Close() }

// splitKey splits a member name into WebDataset's key and lower-cased
// extension; ok is false for names without an extension.
func splitKey(name string) (key, ext string, ok bool) {
	dir, base := path.Split(name)
	stem, ext, ok := strings.Cut(base, ".")
	if !ok || stem == "" {
		return "", "", false
	}
	return dir + stem, strings.ToLower(ext), true
}

func (t *tarSource) nextMember() (*tar.Header, error) {
	if t.pending != nil {
		h := t.pending
		t.pending = nil
		return h, nil
	}
	for {
		h, err := t.tr.Next()
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		if _, _, ok := splitKey(h.Name); !ok || strings.HasPrefix(path.Base(h.Name), "__") {
			continue
		}
		return h, nil
	}
}

// maxMember bounds the size of one tar member read into memory.
const maxMember = 256 << 20

func (t *tarSource) next() (Sample, error) {
	if t.done {
		return Sample{}, io.EOF
	}
	files := map[string][]byte{}
	key := ""
	for {
		h, err := t.nextMember()
		if errors.Is(err, io.EOF) && key != "" {
			t.done = true
			break
		}
		if err != nil {
			t.done = true
			if errors.Is(err, io.EOF) {
				return Sample{}, io.EOF
			}
			return Sample{}, fmt.Errorf("%s: truncated or corrupt tar after %q: %w", t.name, key, err)
		}
		k, ext, _ := splitKey(h.Name)
		if key != "" && k != key {
			t.pending = h
			break
		}
		key = k
		if h.Size > maxMember {
			return Sample{}, t.skipSample(k, fmt.Errorf("member %q has %d bytes (limit %d)", h.Name, h.Size, maxMember))
		}
		data := make([]byte, h.Size)
		if _, err := io.ReadFull(t.tr, data); err != nil {
			t.done = true
			return Sample{}, fmt.Errorf("%s: truncated or corrupt tar in %q: %w", t.name, h.Name, err)
		}
		if _, dup := files[ext]; dup {
			return Sample{}, t.skipSample(key, fmt.Errorf("duplicate member %q", h.Name))
		}
		files[ext] = data
	}
	return buildSample(key, files)
}

// skipSample drains the rest of a bad sample so the next one starts clean.
func (t *tarSource) skipSample(key string, cause error) error {
	for {
		h, err := t.nextMember()
		if err != nil {
			t.done = true
			break
		}
		if k, _, _ := splitKey(h.Name); k != key {
			t.pending = h
			break
		}
	}
	return &SampleError{Key: key, Err: cause}
}

// buildSample assembles a sample from its members by extension.
func buildSample(key string, files map[string][]byte) (Sample, error) {
	s := Sample{Key: key}
	for _, ext := range ImageExtensions {
		if b, ok := files[ext]; ok {
			s.Image = b
			break
		}
	}
	if s.Image == nil {
		return Sample{}, &SampleError{Key: key, Err: errors.New("no image member")}
	}
	if err := s.addSidecars(files["txt"], files["json"], files["txt"] != nil); err != nil {
		return Sample{}, &SampleError{Key: key, Err: err}
	}
	return s, nil
}

func (s *Sample) addSidecars(txt, js []byte, hasTxt bool) error {
	if hasTxt {
		s.Caption, s.HasCaption = string(txt), true
	}
	if js != nil {
		m, err := flattenJSON(js)
		if err != nil {
			return fmt.Errorf("metadata json: %w", err)
		}
		s.Meta = m
	}
	return nil
}

// folderSource yields the images of a folder with their x.txt and x.json
// sidecars.
type folderSource struct {
	dir   string
	files []string // relative, forward slashes
	i     int
}

func (f *folderSource) close() error { return nil }

func (f *folderSource) next() (Sample, error) {
	if f.i >= len(f.files) {
		return Sample{}, io.EOF
	}
	rel := f.files[f.i]
	f.i++
	full := path.Join(filepath.ToSlash(f.dir), rel)
	s := Sample{Key: full, File: filepath.FromSlash(full)}
	stem := strings.TrimSuffix(s.File, filepath.Ext(s.File))
	txt, errT := os.ReadFile(stem + ".txt")
	js, errJ := os.ReadFile(stem + ".json")
	for _, err := range []error{errT, errJ} {
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return Sample{}, &SampleError{Key: full, Err: err}
		}
	}
	if errJ != nil {
		js = nil
	}
	if err := s.addSidecars(txt, js, errT == nil); err != nil {
		return Sample{}, &SampleError{Key: full, Err: err}
	}
	return s, nil
}

// listFolder lists the images below dir as EmbedDir does.
func listFolder(dir string) ([]string, error) { return clip.ListImages(dir, nil) }
