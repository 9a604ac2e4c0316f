package download

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Redraw intervals of a ProgressWriter.
const (
	// TerminalInterval is the minimum time between redraws on a terminal.
	TerminalInterval = 200 * time.Millisecond
	// LogInterval is the minimum time between plain progress lines when
	// the output is not a terminal (a log file, a pipe, a buffer).
	LogInterval = 5 * time.Second
)

// ProgressWriter renders the progress of a download of known or unknown
// size. Feed it the transferred bytes through Write (it is an io.Writer, so
// it fits io.TeeReader and io.MultiWriter) and call Finish at the end.
//
// When the output is a terminal (an *os.File that is a character device)
// one line is redrawn in place, at most every TerminalInterval:
//
//	\rViT-B-32.pt 45.2 MiB / 338.0 MiB (13%) 12.3 MiB/s ETA 24s
//
// Otherwise a plain line ending in "\n" is printed at most every
// LogInterval. Finish prints a final line in both cases:
//
//	ViT-B-32.pt 338.0 MiB done in 28s (12.1 MiB/s)
//
// The speed counts only the bytes written since the ProgressWriter was
// created, so a resumed download does not look faster than it is. Errors
// from the output are ignored. A ProgressWriter is safe for concurrent use.
type ProgressWriter struct {
	mu       sync.Mutex
	out      io.Writer
	name     string
	terminal bool
	interval time.Duration
	now      func() time.Time

	total    int64 // -1 when unknown
	done     int64 // position in the file
	received int64 // bytes written since creation
	began    time.Time
	last     time.Time // time of the last output
	drawn    int       // length of the last terminal line, for erasing
	finished bool
}

// NewProgressWriter returns a ProgressWriter that reports on out for the
// file called name whose size is total bytes (negative when unknown). A
// nil out discards the output.
func NewProgressWriter(out io.Writer, name string, total int64) *ProgressWriter {
	return newProgressWriter(out, name, total, isTerminal(out), time.Now)
}

// newProgressWriter is NewProgressWriter with the terminal test and the
// clock supplied by the caller.
func newProgressWriter(out io.Writer, name string, total int64, terminal bool, now func() time.Time) *ProgressWriter {
	if out == nil {
		out = io.Discard
	}
	p := &ProgressWriter{out: out, name: name, total: max(total, -1), terminal: terminal, now: now}
	p.interval = LogInterval
	if terminal {
		p.interval = TerminalInterval
	}
	p.began = now()
	p.last = p.began
	return p
}

// isTerminal reports whether w is a character device such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || f == nil {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Write records len(b) more transferred bytes and redraws when due. It
// never fails.
func (p *ProgressWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += int64(len(b))
	p.received += int64(len(b))
	if p.finished {
		return len(b), nil
	}
	now := p.now()
	if now.Sub(p.last) >= p.interval {
		p.last = now
		p.emit(p.status(now), false)
	}
	return len(b), nil
}

// SetTotal sets the expected size in bytes (negative when unknown).
func (p *ProgressWriter) SetTotal(total int64) {
	p.mu.Lock()
	p.total = max(total, -1)
	p.mu.Unlock()
}

// SetDone sets the current position in the file without counting the
// bytes as transferred: the size of a resumed partial file, or 0 after a
// restart.
func (p *ProgressWriter) SetDone(done int64) {
	p.mu.Lock()
	p.done = done
	p.mu.Unlock()
}

// Finish prints the final line. Later calls do nothing.
func (p *ProgressWriter) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.finished {
		return
	}
	p.finished = true
	elapsed := p.now().Sub(p.began)
	line := fmt.Sprintf("%s %s done in %s", p.name, formatBytes(p.done), formatDuration(elapsed))
	if r := p.rate(elapsed); r > 0 {
		line += fmt.Sprintf(" (%s/s)", formatBytes(int64(r)))
	}
	p.emit(line, true)
}

// status formats the progress line (without "\r" or "\n").
func (p *ProgressWriter) status(now time.Time) string {
	var b strings.Builder
	b.WriteString(p.name)
	b.WriteByte(' ')
	b.WriteString(formatBytes(p.done))
	if p.total >= 0 {
		fmt.Fprintf(&b, " / %s", formatBytes(p.total))
		if p.total > 0 {
			fmt.Fprintf(&b, " (%d%%)", min(p.done, p.total)*100/p.total)
		}
	}
	elapsed := now.Sub(p.began)
	if r := p.rate(elapsed); r > 0 {
		fmt.Fprintf(&b, " %s/s", formatBytes(int64(r)))
		if p.total >= 0 && p.total >= p.done {
			eta := time.Duration(float64(p.total-p.done) / r * float64(time.Second))
			fmt.Fprintf(&b, " ETA %s", formatDuration(eta))
		}
	}
	return b.String()
}

// rate is the mean speed in bytes per second, or 0 when not measurable.
func (p *ProgressWriter) rate(elapsed time.Duration) float64 {
	if elapsed <= 0 || p.received <= 0 {
		return 0
	}
	return float64(p.received) / elapsed.Seconds()
}

// emit writes one line: redrawn in place on a terminal, appended
// otherwise. final ends the terminal line.
func (p *ProgressWriter) emit(line string, final bool) {
	if !p.terminal {
		io.WriteString(p.out, line+"\n")
		return
	}
	pad := ""
	if n := p.drawn - len(line); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	p.drawn = len(line)
	end := ""
	if final {
		end = "\n"
		p.drawn = 0
	}
	io.WriteString(p.out, "\r"+line+pad+end)
}

// formatBytes formats a size with binary units and one decimal:
// "512 B", "1.5 KiB", "45.2 MiB", "1.1 GiB".
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v := float64(n) / unit
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB"} {
		// Compare against the rounding threshold so that 1023.97 KiB
		// prints as "1.0 MiB" rather than "1024.0 KiB".
		if v < unit-0.05 || u == "TiB" {
			return fmt.Sprintf("%.1f %s", v, u)
		}
		v /= unit
	}
	return "" // not reached
}

// formatDuration rounds d to whole seconds: "0s", "24s", "2m5s", "1h2m3s".
func formatDuration(d time.Duration) string {
	return max(d, 0).Round(time.Second).String()
}
