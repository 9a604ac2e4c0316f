//go:build cgo

package preprocess

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/goclip/goclip/internal/testutil"
)

// FuzzDecode feeds arbitrary bytes through the public API. Panics are not
// recovered here, so any crash is reported; successful results must be
// consistent.
func FuzzDecode(f *testing.F) {
	var seeds []string
	if d, ok := testutil.FindShared(); ok {
		imgs, _ := filepath.Glob(filepath.Join(d, "golden", "preprocess", "images", "*"))
		for _, p := range imgs {
			if st, err := os.Stat(p); err == nil && st.Size() < 64<<10 {
				seeds = append(seeds, p)
			}
		}
	}
	more, _ := filepath.Glob(filepath.Join("testdata", "*.*"))
	seeds = append(seeds, more...)
	for _, p := range seeds {
		if filepath.Ext(p) == ".json" || filepath.Ext(p) == ".py" {
			continue
		}
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		recoverPanics = false
		defer func() { recoverPanics = true }()
		const limit = 1 << 20 // keep decoded images small
		im, err := Decode(data, limit)
		if err == nil {
			if verr := im.validate(); verr != nil {
				t.Fatalf("Decode returned an invalid image: %v", verr)
			}
			if _, err := im.RGB(); err != nil {
				t.Fatal(err)
			}
		}
		p := New(24, WithMaxPixels(limit))
		out, err2 := p.U8Bytes(data)
		if err2 == nil && len(out) != 24*24*3 {
			t.Fatalf("output of %d bytes", len(out))
		}
		if (err == nil) != (err2 == nil) {
			t.Fatalf("Decode error %v but preprocessing error %v", err, err2)
		}
	})
}
