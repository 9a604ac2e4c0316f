package main

import (
	"context"
	"runtime"
	"testing"

	"github.com/goclip/goclip/internal/testutil"
)

// TestDefaultThreads: without --threads a command runs libtorch on the
// cores it may use (capped); --threads N is kept as given.
func TestDefaultThreads(t *testing.T) {
	model := testutil.ExportGolden(t, "tiny_vit_b32")
	want := min(runtime.GOMAXPROCS(0), maxDefaultThreads)
	if want < 1 || defaultThreads() != want {
		t.Fatalf("defaultThreads() = %d, want %d", defaultThreads(), want)
	}
	for _, c := range []struct {
		args []string
		want int
	}{
		{nil, want},
		{[]string{"--threads", "1"}, 1},
		{[]string{"--threads", "3"}, 3},
	} {
		a, err := parseArgs(append([]string{"--model", model, "--device", "cpu"}, c.args...), modelFlags)
		if err != nil {
			t.Fatal(err)
		}
		m, err := loadModel(context.Background(), &env{}, a)
		if err != nil {
			t.Fatal(err)
		}
		if got := m.Info().Threads; got != c.want {
			t.Errorf("%v: %d threads, want %d", c.args, got, c.want)
		}
		m.Close()
	}
}
