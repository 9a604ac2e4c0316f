package main

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gofrs/flock"

	"github.com/goclip/goclip/internal/testutil"
)

// clipRunTimeout is clipRun that fails the test instead of hanging when the
// command does not finish within d.
func clipRunTimeout(t *testing.T, d time.Duration, args ...string) (int, string, string) {
	t.Helper()
	type result struct {
		code     int
		out, err string
	}
	done := make(chan result, 1)
	go func() {
		code, out, errs := clipRun(t, "", args...)
		done <- result{code, out, errs}
	}()
	select {
	case r := <-done:
		return r.code, r.out, r.err
	case <-time.After(d):
		t.Fatalf("clip %v did not finish within %v", args, d)
		return 0, "", ""
	}
}

// TestUnexpectedArguments checks that every command refuses arguments it
// does not take, with one line pointing to "clip help CMD".
func TestUnexpectedArguments(t *testing.T) {
	for _, c := range []struct {
		args []string
		hint string
	}{
		{[]string{"version", "junk"}, ""},
		{[]string{"doctor", "junk"}, ""},
		{[]string{"search", "--model", "m", "--embeddings", "e.npy", "--text", "a", "rocket", "at", "night"}, `quote a text with spaces`},
		{[]string{"tokenize", "junk"}, "stdin"},
		{[]string{"export", "--checkpoint", "c", "--out", "o", "junk"}, ""},
		{[]string{"embed", "--model", "m", "-o", "x.npy", "junk"}, "--image"},
		{[]string{"bench", "junk"}, ""},
	} {
		code, out, errs := clipRun(t, "", c.args...)
		cmd := c.args[0]
		lines := strings.Split(strings.TrimSpace(errs), "\n")
		if code != 2 || out != "" || len(lines) != 2 || !strings.Contains(lines[0], `unexpected argument`) ||
			!strings.Contains(lines[0], c.hint) || lines[1] != `Run "clip help `+cmd+`" for usage.` {
			t.Errorf("%v: status %d, stdout %q, stderr %q", c.args, code, out, errs)
		}
	}
	// Other usage errors are one line too, without the flag list.
	code, _, errs := clipRun(t, "", "classify", "--model", "m", "--labels", "a,b")
	if code != 2 || strings.Contains(errs, "Flags:") || strings.Count(errs, "\n") != 2 || !strings.Contains(errs, `clip help classify`) {
		t.Errorf("classify without images: %d %q", code, errs)
	}
}

// specialFiles makes a FIFO and a link to /dev/zero named like images.
func specialFiles(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	fifo, zero := filepath.Join(dir, "fifo.jpg"), filepath.Join(dir, "zero.png")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	return []string{fifo, zero}
}

// TestSpecialFilesCLI checks that classify, rank and preprocess of a FIFO
// or a device fail clearly instead of hanging.
func TestSpecialFilesCLI(t *testing.T) {
	model := testutil.ExportGolden(t, "tiny_vit_b32")
	for _, f := range specialFiles(t) {
		for _, args := range [][]string{
			{"classify", "--model", model, "--device", "cpu", "--vocab", vocab(t), "--labels", "a,b", f},
			{"rank", "--model", model, "--device", "cpu", "--vocab", vocab(t), "--text", "a", f},
			{"preprocess", "--size", "32", "-o", filepath.Join(t.TempDir(), "p.npy"), f},
			{"preprocess", "--size", "32", "--u8", "-o", filepath.Join(t.TempDir(), "p.npy"), f},
			{"embed", "--model", model, "--device", "cpu", "-o", filepath.Join(t.TempDir(), "e.npy"), "--image", f},
		} {
			code, _, errs := clipRunTimeout(t, 30*time.Second, args...)
			if code != 1 || !strings.Contains(errs, f+": not a regular file") {
				t.Errorf("%s %s: status %d, stderr %q", args[0], filepath.Base(f), code, errs)
			}
		}
	}
}

// TestEmbedDirSpecialFilesCLI checks that embed --images-dir of a folder
// holding a FIFO, a socket, a link to /dev/zero and a link loop finishes,
// embeds the good file and names each special file.
func TestEmbedDirSpecialFilesCLI(t *testing.T) {
	model := testutil.ExportGolden(t, "tiny_vit_b32")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.jpg"), must(os.ReadFile(testutil.Golden(t, "preprocess", "images", "skimage-rocket.jpg"))), 0o644)
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.jpg"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", filepath.Join(dir, "sock.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	os.Symlink("/dev/zero", filepath.Join(dir, "zero.jpg"))
	os.Symlink("loop.jpg", filepath.Join(dir, "loop.jpg"))
	out := filepath.Join(t.TempDir(), "e.npy")
	code, _, errs := clipRunTimeout(t, 60*time.Second, "embed", "--model", model, "--device", "cpu", "--images-dir", dir, "-o", out)
	if code != 0 || !strings.Contains(errs, "embedded 1 of 5 files (0 resumed, 4 skipped)") {
		t.Fatalf("status %d: %s", code, errs)
	}
	for _, n := range []string{"fifo.jpg", "sock.jpg", "zero.jpg"} {
		if !strings.Contains(errs, "skipped "+filepath.Join(dir, n)+": not a regular file") {
			t.Errorf("%s not reported: %s", n, errs)
		}
	}
	if !strings.Contains(errs, "skipped "+filepath.Join(dir, "loop.jpg")+": ") {
		t.Errorf("loop.jpg not reported: %s", errs)
	}
}

// randomModel returns a copy of the tiny golden model whose manifest says
// random_weights, like the demo model.
func randomModel(t *testing.T) string {
	t.Helper()
	src := testutil.ExportGolden(t, "tiny_vit_b32")
	dir := t.TempDir()
	pt, err := os.ReadFile(filepath.Join(src, "model.pt"))
	if err != nil {
		t.Fatal(err)
	}
	var man map[string]any
	b, _ := os.ReadFile(filepath.Join(src, "manifest.json"))
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatal(err)
	}
	man["random_weights"] = true
	b, _ = json.Marshal(man)
	os.WriteFile(filepath.Join(dir, "model.pt"), pt, 0o644)
	os.WriteFile(filepath.Join(dir, "manifest.json"), b, 0o644)
	return dir
}

// TestRandomWeightsSaid checks that every output of a random-weights model
// says so: the note on stderr for tables, a JSON field, a banner on pages;
// and that a real model's outputs do not.
func TestRandomWeightsSaid(t *testing.T) {
	img := testutil.Golden(t, "preprocess", "images", "skimage-rocket.jpg")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.jpg"), must(os.ReadFile(img)), 0o644)
	for _, random := range []bool{true, false} {
		model := testutil.ExportGolden(t, "tiny_vit_b32")
		if random {
			model = randomModel(t)
		}
		emb := filepath.Join(t.TempDir(), "e.npy")
		if code, _, errs := clipRun(t, "", "embed", "--model", model, "--device", "cpu", "--images-dir", dir, "-o", emb); code != 0 {
			t.Fatal(errs)
		}
		common := []string{"--model", model, "--device", "cpu", "--vocab", vocab(t)}
		for _, cmd := range [][]string{
			{"classify", "--labels", "a,b", img},
			{"rank", "--text", "a", img},
			{"search", "--text", "a", "--embeddings", emb},
		} {
			args := append(append([]string{cmd[0]}, common...), cmd[1:]...)
			page := filepath.Join(t.TempDir(), "p.html")
			code, _, errs := clipRun(t, "", append(args, "--html", page)...)
			if code != 0 {
				t.Fatalf("%v: %s", args, errs)
			}
			if strings.Contains(errs, "note: model") != random || !strings.Contains(errs, "wrote "+page) {
				t.Errorf("%s table (random %v): stderr %q", cmd[0], random, errs)
			}
			b, _ := os.ReadFile(page)
			if strings.Contains(string(b), `class="notice"`) != random || !strings.Contains(string(b), "a.jpg") && cmd[0] == "search" {
				t.Errorf("%s page (random %v): banner wrong", cmd[0], random)
			}
			code, out, errs := clipRun(t, "", append(args, "--json")...)
			if code != 0 || strings.Contains(errs, "note:") {
				t.Fatalf("%v --json: %d %s", args, code, errs)
			}
			var obj map[string]any
			if err := json.Unmarshal([]byte(strings.Split(out, "\n")[0]), &obj); err != nil {
				t.Fatal(err)
			}
			if (obj["random_weights"] == true) != random {
				t.Errorf("%s json (random %v): %s", cmd[0], random, out)
			}
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestSearchShardsAndFolders embeds a folder in two shards from inside it,
// then searches both from elsewhere: all rows are searched and every file
// path resolves.
func TestSearchShardsAndFolders(t *testing.T) {
	model := testutil.ExportGolden(t, "tiny_vit_b32")
	vocabPath := vocab(t) // found from the checkout, before the test changes folder
	root := t.TempDir()
	dir := filepath.Join(root, "photos")
	os.Mkdir(dir, 0o755)
	for _, n := range []string{"skimage-rocket.jpg", "skimage-chelsea.png", "basn3p08-trns.png", "synth-rgba.png"} {
		os.WriteFile(filepath.Join(dir, n), must(os.ReadFile(testutil.Golden(t, "preprocess", "images", n))), 0o644)
	}
	outDir := t.TempDir()
	t.Chdir(root)
	var shards []string
	for i := 0; i < 2; i++ {
		out := filepath.Join(outDir, []string{"s0.npy", "s1.npy"}[i])
		shards = append(shards, out)
		if code, _, errs := clipRun(t, "", "embed", "--model", model, "--device", "cpu", "--images-dir", "photos", "-o", out, "--shard", []string{"0/2", "1/2"}[i]); code != 0 {
			t.Fatal(errs)
		}
	}
	t.Chdir(outDir)
	code, out, errs := clipRun(t, "", "search", "--model", model, "--device", "cpu", "--vocab", vocabPath,
		"--embeddings", shards[0], "--embeddings", shards[1], "--text", "a rocket", "--json")
	if code != 0 {
		t.Fatal(errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 {
		t.Fatalf("searched %d rows of 4:\n%s", len(lines), out)
	}
	for _, l := range lines {
		var r struct{ File string }
		json.Unmarshal([]byte(l), &r)
		if _, err := os.Stat(r.File); err != nil || !filepath.IsAbs(r.File) {
			t.Errorf("result %q does not resolve: %v", r.File, err)
		}
	}
	// Both shards after one flag work as well.
	code, out2, errs := clipRun(t, "", "search", "--model", model, "--device", "cpu", "--vocab", vocabPath,
		"--embeddings", shards[0], shards[1], "--text", "a rocket", "--json")
	if code != 0 || out2 != out {
		t.Errorf("--embeddings A B: %d %s", code, errs)
	}
}

// TestEmbedLockedCLI checks that a second run on the same output says that
// another run holds it.
func TestEmbedLockedCLI(t *testing.T) {
	model := testutil.ExportGolden(t, "tiny_vit_b32")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.jpg"), must(os.ReadFile(testutil.Golden(t, "preprocess", "images", "skimage-rocket.jpg"))), 0o644)
	out := filepath.Join(t.TempDir(), "e.npy")
	lock := flock.New(out + ".lock")
	if ok, err := lock.TryLock(); !ok || err != nil {
		t.Fatal(ok, err)
	}
	defer lock.Unlock()
	code, _, errs := clipRun(t, "", "embed", "--model", model, "--device", "cpu", "--images-dir", dir, "-o", out)
	if code != 1 || strings.TrimSpace(errs) != "clip embed: another run holds "+out {
		t.Errorf("status %d, stderr %q", code, errs)
	}
}
