package tokenizer

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportRates reports texts/s by wall clock and by process CPU time (the
// latter is steadier on a busy machine; run with GOMAXPROCS=1 to compare
// it with a single-threaded program).
func reportRates(b *testing.B, texts int, cpu0 time.Duration) {
	n := float64(b.N * texts)
	b.ReportMetric(n/b.Elapsed().Seconds(), "texts/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(n/cpu.Seconds(), "texts/cpu-s")
	}
}

// BenchmarkEncode encodes every text of the golden corpus once per
// iteration (BPE cache warm); texts/s is reported.
func BenchmarkEncode(b *testing.B) {
	tok := loadTokenizer(b)
	cases := goldenCases(b)
	texts := make([]string, len(cases))
	for i, c := range cases {
		texts[i] = c.Text
	}
	for _, s := range texts {
		tok.Encode(s)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		for _, s := range texts {
			tok.Encode(s)
		}
	}
	reportRates(b, len(texts), cpu0)
}

// BenchmarkTokenize is BenchmarkEncode through Tokenize with context 77.
func BenchmarkTokenize(b *testing.B) {
	tok := loadTokenizer(b)
	cases := goldenCases(b)
	texts := make([]string, len(cases))
	for i, c := range cases {
		texts[i] = c.Text
	}
	if _, err := tok.Tokenize(texts, DefaultContextLength, true); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		if _, err := tok.Tokenize(texts, DefaultContextLength, true); err != nil {
			b.Fatal(err)
		}
	}
	reportRates(b, len(texts), cpu0)
}

// BenchmarkLoad measures reading the merges file.
func BenchmarkLoad(b *testing.B) {
	p := vocabPath(b)
	data, err := os.ReadFile(p)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := New(bytesReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadCached measures loading through the table cache (warm).
func BenchmarkLoadCached(b *testing.B) {
	p := vocabPath(b)
	dir := b.TempDir()
	if _, err := LoadCached(p, dir); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, fromCache, err := loadCached(p, dir); err != nil || !fromCache {
			b.Fatal(fromCache, err)
		}
	}
}
