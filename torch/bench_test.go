//go:build cgo

package torch

import (
	"runtime"
	"sync"
	"testing"
)

func benchModule(b *testing.B) *Module {
	b.Helper()
	m, err := Load(fixture(b, "mlp.pt"), WithThreads(1))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { m.Close() })
	return m
}

// BenchmarkRunNoop measures the Go→shim→libtorch overhead of one call on a
// method that returns its [1,64] input; compare with cgo/bench/bench_call
// (scripts/bench_torch.sh runs both).
func BenchmarkRunNoop(b *testing.B) {
	m := benchModule(b)
	x, _ := NewTensor(make([]float32, 64), 1, 64)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Run("noop", x); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkForward runs the small MLP on a [64,64] batch from one goroutine
// and from GOMAXPROCS goroutines (the ratio is the concurrent scaling).
func BenchmarkForward(b *testing.B) {
	x, _ := NewTensor(make([]float32, 64*64), 64, 64)
	b.Run("goroutines=1", func(b *testing.B) {
		m := benchModule(b)
		for b.Loop() {
			if _, err := m.Run("forward", x); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, shared := range []bool{true, false} {
		name := "goroutines=GOMAXPROCS"
		if !shared {
			name += ",module-each"
		}
		b.Run(name, func(b *testing.B) {
			n := runtime.GOMAXPROCS(0)
			mods := make([]*Module, n)
			for g := range mods {
				if g == 0 || !shared {
					mods[g] = benchModule(b)
				} else {
					mods[g] = mods[0]
				}
			}
			b.ResetTimer()
			var wg sync.WaitGroup
			per := b.N/n + 1
			for g := 0; g < n; g++ {
				wg.Add(1)
				go func(m *Module) {
					defer wg.Done()
					for i := 0; i < per; i++ {
						if _, err := m.Run("forward", x); err != nil {
							b.Error(err)
							return
						}
					}
				}(mods[g])
			}
			wg.Wait()
		})
	}
}
