//go:build cgo

package preprocess

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/goclip/goclip/internal/testutil"
)

// testdata/expected.json holds the official pipeline's results (Pillow 9.4
// + torchvision 0.14, n = 64) for the synthetic files in testdata and for
// byte-level mutations (testdata/mutations.json) of the shared golden
// images; testdata/gen_testdata.py produced it.

const refSize = 64

type mutation struct {
	Name     string   `json:"name"`
	File     string   `json:"file"`
	Testdata bool     `json:"testdata"`
	Truncate *int     `json:"truncate"`
	Set      [][2]int `json:"set"`
}

func loadExpected(t *testing.T) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// checkRef compares one result with Pillow's: same success or failure, the
// same bytes on success, and the same mode when Pillow reports it.
func checkRef(t *testing.T, name string, data []byte, want string) {
	t.Helper()
	out, err := New(refSize).U8Bytes(data)
	parts := strings.Split(want, ":")
	if parts[0] == "ERR" {
		if err == nil {
			t.Errorf("%s: succeeded, Pillow fails with %s", name, parts[1])
		}
		return
	}
	if err != nil {
		t.Errorf("%s: %v; Pillow succeeds", name, err)
		return
	}
	h := sha256.Sum256(out)
	if got := hex.EncodeToString(h[:]); got != parts[1] {
		t.Errorf("%s: output sha256 %s, Pillow %s", name, got, parts[1])
	}
	if len(parts) > 2 {
		im, err := Decode(data, DefaultMaxPixels)
		if err != nil {
			t.Errorf("%s: Decode: %v", name, err)
		} else if string(im.Mode) != parts[2] {
			t.Errorf("%s: mode %s, Pillow opens %s", name, im.Mode, parts[2])
		}
	}
}

func TestReferenceSyntheticFiles(t *testing.T) {
	exp := loadExpected(t)
	files, err := filepath.Glob(filepath.Join("testdata", "*.*"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		base := filepath.Base(f)
		want, ok := exp[base]
		if !ok {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		checkRef(t, base, data, want)
		n++
	}
	if n < 15 {
		t.Fatalf("only %d synthetic reference files found", n)
	}
}

func TestReferenceMutations(t *testing.T) {
	exp := loadExpected(t)
	b, err := os.ReadFile(filepath.Join("testdata", "mutations.json"))
	if err != nil {
		t.Fatal(err)
	}
	var muts []mutation
	if err := json.Unmarshal(b, &muts); err != nil {
		t.Fatal(err)
	}
	dir := testutil.Golden(t, "preprocess", "images")
	sort.Slice(muts, func(i, j int) bool { return muts[i].Name < muts[j].Name })
	for _, m := range muts {
		t.Run(m.Name, func(t *testing.T) {
			src := filepath.Join(dir, m.File)
			if m.Testdata {
				src = filepath.Join("testdata", m.File)
			}
			data, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			if m.Truncate != nil {
				data = data[:*m.Truncate]
			}
			for _, s := range m.Set {
				data[s[0]] = byte(s[1])
			}
			want, ok := exp[m.Name]
			if !ok {
				t.Fatalf("no expected result for %s", m.Name)
			}
			checkRef(t, m.Name, data, want)
			// Failures must carry one of the package's sentinels.
			if _, err := New(refSize).U8Bytes(data); err != nil {
				if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnsupportedFormat) && !errors.Is(err, ErrZeroSize) {
					t.Errorf("error %v matches no sentinel", err)
				}
			}
		})
	}
}
