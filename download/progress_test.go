package download

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// fakeClock is a settable clock for ProgressWriter tests.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

func (c *fakeClock) at(d time.Duration) { c.t = time.Unix(1000, 0).Add(d) }

func TestProgressWriterPlain(t *testing.T) {
	var buf bytes.Buffer
	clk := &fakeClock{}
	clk.at(0)
	p := newProgressWriter(&buf, "model.pt", 10*mib, false, clk.now)
	p.SetDone(2 * mib) // resumed: 2 MiB were already there
	steps := []struct {
		at   time.Duration
		n    int
		want string // output added by this step
	}{
		{time.Second, mib, ""},
		// 4 of 10 MiB; 2 MiB received in 5s = 409.6 KiB/s; 6 MiB left = 15s.
		{5 * time.Second, mib, "model.pt 4.0 MiB / 10.0 MiB (40%) 409.6 KiB/s ETA 15s\n"},
		{9 * time.Second, mib, ""}, // under LogInterval since the last line
		// 10 of 10 MiB; 8 MiB in 10s = 819.2 KiB/s.
		{10 * time.Second, 5 * mib, "model.pt 10.0 MiB / 10.0 MiB (100%) 819.2 KiB/s ETA 0s\n"},
	}
	for i, s := range steps {
		before := buf.Len()
		clk.at(s.at)
		if n, err := p.Write(make([]byte, s.n)); n != s.n || err != nil {
			t.Fatalf("step %d: Write = %d, %v", i, n, err)
		}
		if got := buf.String()[before:]; got != s.want {
			t.Errorf("step %d: output %q, want %q", i, got, s.want)
		}
	}
	before := buf.Len()
	p.Finish()
	p.Finish()
	p.Write(make([]byte, 10))
	if got, want := buf.String()[before:], "model.pt 10.0 MiB done in 10s (819.2 KiB/s)\n"; got != want {
		t.Errorf("final output %q, want %q", got, want)
	}
}

func TestProgressWriterTerminal(t *testing.T) {
	var buf bytes.Buffer
	clk := &fakeClock{}
	clk.at(0)
	p := newProgressWriter(&buf, "x.bin", 3*mib, true, clk.now)
	line1 := "x.bin 1.5 MiB / 3.0 MiB (50%) 1.5 MiB/s ETA 1s"
	line2 := "x.bin 2.0 MiB 1.0 MiB/s" // total unknown: no percentage or ETA
	final := "x.bin 2.0 MiB done in 2s (1.0 MiB/s)"
	clk.at(time.Second)
	p.Write(make([]byte, 3*mib/2))
	clk.at(time.Second + 100*time.Millisecond) // under TerminalInterval
	p.Write(make([]byte, 0))
	clk.at(2 * time.Second)
	p.SetTotal(-1)
	p.Write(make([]byte, mib/2))
	p.Finish()
	want := "\r" + line1 +
		"\r" + line2 + strings.Repeat(" ", len(line1)-len(line2)) + // erase the rest of line1
		"\r" + final + "\n"
	if got := buf.String(); got != want {
		t.Errorf("output\n%q\nwant\n%q", got, want)
	}
}

func TestProgressWriterNoData(t *testing.T) {
	var buf bytes.Buffer
	clk := &fakeClock{}
	clk.at(0)
	p := newProgressWriter(&buf, "empty", 0, false, clk.now)
	clk.at(6 * time.Second)
	p.Write(nil)
	p.Finish()
	// No bytes received: no speed, and 0 of 0 bytes has no percentage.
	if got, want := buf.String(), "empty 0 B / 0 B\nempty 0 B done in 6s\n"; got != want {
		t.Errorf("output %q, want %q", got, want)
	}
	// A nil output is allowed and discards everything.
	q := NewProgressWriter(nil, "n", 1)
	q.Write([]byte{1})
	q.Finish()
}

func TestIsTerminal(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isTerminal(&bytes.Buffer{}) || isTerminal(f) || isTerminal((*os.File)(nil)) {
		t.Error("a buffer, a regular file or a nil *os.File counted as a terminal")
	}
	if runtime.GOOS != "windows" {
		null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer null.Close()
		if !isTerminal(null) {
			t.Error("character device /dev/null not detected")
		}
	}
}

func TestFormatBytes(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {1536, "1.5 KiB"},
		{1<<20 - 1, "1.0 MiB"}, {354418688, "338.0 MiB"}, {47395635, "45.2 MiB"},
		{1288490189, "1.2 GiB"}, {5 << 40, "5.0 TiB"}, {3 << 50, "3072.0 TiB"},
	}
	for _, tc := range tests {
		if got := formatBytes(tc.n); got != tc.want {
			t.Errorf("formatBytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0s"}, {-time.Second, "0s"}, {1499 * time.Millisecond, "1s"},
		{24 * time.Second, "24s"}, {125 * time.Second, "2m5s"}, {3723 * time.Second, "1h2m3s"},
	}
	for _, tc := range tests {
		if got := formatDuration(tc.d); got != tc.want {
			t.Errorf("formatDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

// TestFetchProgressOutput checks the progress lines of a real (fast)
// download into a non-terminal writer: no periodic line fits in the run,
// so only the final line appears.
func TestFetchProgressOutput(t *testing.T) {
	content, sum := testContent(t)
	s := newTestServer(t, content, nil)
	dest := filepath.Join(t.TempDir(), "model.bin")
	var buf bytes.Buffer
	opt := fastOpts(s.URL, sum, dest)
	opt.Progress = &buf
	if err := Fetch(t.Context(), opt); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.HasPrefix(out, "model.bin 4.0 MiB done in ") || !strings.HasSuffix(out, "/s)\n") || strings.Count(out, "\n") != 1 {
		t.Errorf("progress output %q, want one final line", out)
	}
}
