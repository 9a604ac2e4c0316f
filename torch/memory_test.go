//go:build cgo

package torch

import (
	"testing"

	"github.com/goclip/goclip/internal/testutil"
)

// TestRSSFlat makes tens of thousands of calls, a third of them failing, and
// checks that resident memory does not grow: every output buffer, error
// string and input wrapper is released.
func TestRSSFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	m, err := Load(fixture(t, "mlp.pt"), WithThreads(1))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	good, _ := NewTensor(make([]float32, 16*64), 16, 64) // 4 KiB out per call
	bad, _ := NewTensor(make([]float32, 16*63), 16, 63)  // shape error
	call := func(i int) {
		if i%3 == 0 {
			if _, err := m.Run("forward", bad); err == nil {
				t.Fatal("bad input accepted")
			}
			return
		}
		if _, err := m.Run("forward", good); err != nil {
			t.Fatal(err)
		}
	}
	settle := func() int64 {
		rss, ok := testutil.RSS()
		if !ok {
			t.Skip("no /proc/self/statm on this system")
		}
		return rss
	}
	for i := 0; i < 3000; i++ {
		call(i)
	}
	before := settle()
	const n = 30000
	for i := 0; i < n; i++ {
		call(i)
	}
	after := settle()
	growth := after - before
	t.Logf("RSS %0.1f MiB -> %0.1f MiB over %d calls (%d failing)", float64(before)/(1<<20), float64(after)/(1<<20), n, n/3)
	// A leak of one output buffer per successful call would be ~80 MiB.
	if growth > 8<<20 {
		t.Errorf("RSS grew by %d bytes over %d calls", growth, n)
	}
}
