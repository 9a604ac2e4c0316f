package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/goclip/goclip/clip"
)

// parseShard parses "i/n".
func parseShard(s string) (int, int, error) {
	if s == "" {
		return 0, 1, nil
	}
	is, ns, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(is)
	n, err2 := strconv.Atoi(ns)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return 0, 0, usagef("--shard wants i/n with 0 <= i < n, got %q", s)
	}
	return i, n, nil
}

func runEmbedDir(ctx context.Context, e *env, a *parsedArgs, out string) error {
	dir := a.str("images-dir", "")
	shard, shards, err := parseShard(a.str("shard", ""))
	if err != nil {
		return err
	}
	m, err := loadModel(ctx, e, a)
	if err != nil {
		return err
	}
	defer m.Close()
	bar := &progressBar{w: e.stderr, live: e.isTerminal}
	opt := clip.DirOptions{
		Shard: shard, Shards: shards, Fresh: a.bools["no-resume"],
		OnProgress: bar.update,
		OnError: func(file string, err error) {
			bar.clear()
			fmt.Fprintf(e.stderr, "clip embed: skipped %s\n", fileMessage(file, err))
		},
	}
	sum, err := m.EmbedDir(ctx, dir, out, opt)
	bar.clear()
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return &exitError{code: 130, msg: fmt.Sprintf("interrupted after %d of %d files; run the same command again to resume", sum.Done, sum.Total)}
		}
		return err
	}
	rate := float64(sum.NewFiles) / max(sum.Elapsed.Seconds(), 1e-9)
	fmt.Fprintf(e.stderr, "embedded %d of %d files (%d resumed, %d skipped) in %s, %.1f files/s\nwrote %s [%d,%d] and %s\n",
		sum.Done, sum.Total, sum.Resumed, sum.Failed, sum.Elapsed.Round(time.Millisecond), rate,
		sum.Out, sum.Done, m.Info().EmbedDim, sum.Index)
	return nil
}

// progressBar draws one redrawn line on a terminal and nothing elsewhere.
type progressBar struct {
	w     io.Writer
	live  bool
	drawn bool
	last  time.Time
}

func (p *progressBar) update(pr clip.DirProgress) {
	if !p.live || time.Since(p.last) < 100*time.Millisecond && pr.Done+pr.Failed < pr.Total {
		return
	}
	p.last = time.Now()
	done := pr.Done + pr.Failed
	rate := float64(pr.NewFiles) / max(pr.Elapsed.Seconds(), 1e-9)
	eta := "--"
	if rate > 0 {
		eta = (time.Duration(float64(pr.Total-done)/rate) * time.Second).Round(time.Second).String()
	}
	const width = 30
	fill := 0
	if pr.Total > 0 {
		fill = width * done / pr.Total
	}
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d files  %.1f files/s  ETA %s  ", strings.Repeat("#", fill), strings.Repeat(".", width-fill), done, pr.Total, rate, eta)
	p.drawn = true
}

func (p *progressBar) clear() {
	if p.drawn {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", 100))
		p.drawn = false
	}
}
