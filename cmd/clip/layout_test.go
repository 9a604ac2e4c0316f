package main

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goclip/goclip/clip"
	"github.com/goclip/goclip/internal/testutil"
	"github.com/goclip/goclip/npy"
)

// writeShards packs golden images into n WebDataset tars with captions and
// returns the brace spec.
func writeShards(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	imgs := []string{"skimage-chelsea.png", "skimage-rocket.jpg", "video-001.jpeg", "synth-224x229.png", "triangle-001.gif"}
	k := 0
	for s := 0; s < n; s++ {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		for j := 0; j < 3; j++ {
			data, err := os.ReadFile(testutil.Golden(t, "preprocess", "images", imgs[k%len(imgs)]))
			if err != nil {
				t.Fatal(err)
			}
			key := fmt.Sprintf("s%02d", k)
			for _, m := range []struct {
				name string
				data []byte
			}{{key + filepath.Ext(imgs[k%len(imgs)]), data}, {key + ".txt", []byte(fmt.Sprintf("caption %d", k))}} {
				tw.WriteHeader(&tar.Header{Name: m.name, Mode: 0o644, Size: int64(len(m.data)), Typeflag: tar.TypeReg})
				tw.Write(m.data)
			}
			k++
		}
		tw.Close()
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("%d.tar", s)), b.Bytes(), 0o644)
	}
	return filepath.Join(dir, fmt.Sprintf("{0..%d}.tar", n-1))
}

// TestLayoutCLI runs embed --input --layout as one process and as two
// shards, merges both and searches the layout.
func TestLayoutCLI(t *testing.T) {
	model := testutil.ExportGolden(t, "tiny_vit_b32")
	spec := writeShards(t, 3)
	dir := t.TempDir()
	base := []string{"embed", "--model", model, "--device", "cpu", "--vocab", vocab(t), "--input", spec, "--layout", "clip-retrieval"}
	one := filepath.Join(dir, "one")
	if code, _, errs := clipRun(t, "", append(base, "-o", one)...); code != 0 {
		t.Fatalf("embed: %d %s", code, errs)
	}
	two := filepath.Join(dir, "two")
	for _, s := range []string{"0/2", "1/2"} {
		code, _, errs := clipRun(t, "", append(base, "-o", two, "--shard", s)...)
		if code != 0 || !strings.Contains(errs, "shard "+s) {
			t.Fatalf("embed --shard %s: %d %s", s, code, errs)
		}
	}
	// Again: every partition is complete.
	if code, _, errs := clipRun(t, "", append(base, "-o", two)...); code != 0 || !strings.Contains(errs, "0 of 3 partitions written, 3 complete already") {
		t.Fatalf("rerun: %d %s", code, errs)
	}
	var merged [2][]byte
	for i, d := range []string{one, two} {
		out := d + ".npy"
		if code, _, errs := clipRun(t, "", "merge", "-o", out, d); code != 0 {
			t.Fatalf("merge: %d %s", code, errs)
		}
		a, err := npy.ReadFile(out)
		if err != nil || len(a.Shape) != 2 || a.Shape[0] != 9 || a.DType != "<f4" {
			t.Fatalf("merged %v %v", a, err)
		}
		b, _ := os.ReadFile(out)
		idx, _ := os.ReadFile(clip.IndexPath(out))
		merged[i] = append(b, idx...)
		entries, err := clip.ReadIndex(clip.IndexPath(out))
		if err != nil || len(entries) != 9 || entries[4].File != "s04" {
			t.Fatalf("index %v %v", entries, err)
		}
	}
	if !bytes.Equal(merged[0], merged[1]) {
		t.Error("two shards merge differently from one process")
	}
	// Search over the layout shows the metadata; over the merged file too.
	code, out, errs := clipRun(t, "", "search", "--model", model, "--device", "cpu", "--vocab", vocab(t), "--embeddings", one, "--text", "a cat", "--top", "9", "--json")
	if code != 0 {
		t.Fatalf("search: %d %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 9 {
		t.Fatalf("%d results", len(lines))
	}
	code, out2, errs := clipRun(t, "", "search", "--model", model, "--device", "cpu", "--vocab", vocab(t), "--embeddings", one+".npy", "--text", "a cat", "--top", "9", "--json")
	if code != 0 {
		t.Fatalf("search merged: %d %s", code, errs)
	}
	lines2 := strings.Split(strings.TrimSpace(out2), "\n")
	for i, l := range lines {
		var h, h2 map[string]any
		json.Unmarshal([]byte(l), &h)
		json.Unmarshal([]byte(lines2[i]), &h2)
		key := h["file"].(string)
		if h["caption"] != "caption "+strings.TrimPrefix(key, "s0") || h["score"] != h2["score"] || filepath.Base(h2["file"].(string)) != key {
			t.Errorf("result %d: layout %v, merged %v", i, h, h2)
		}
	}
	page := filepath.Join(dir, "page.html")
	if code, _, errs := clipRun(t, "", "search", "--model", model, "--device", "cpu", "--vocab", vocab(t), "--embeddings", one, "--text", "a cat", "--html", page); code != 0 {
		t.Fatalf("search --html: %d %s", code, errs)
	}
	if b, _ := os.ReadFile(page); !bytes.Contains(b, []byte("s0")) {
		t.Error("page names no sample")
	}
}

func TestLayoutCLIErrors(t *testing.T) {
	model := testutil.ExportGolden(t, "tiny_vit_b32")
	out := t.TempDir()
	t.Setenv("JOB_COMPLETION_INDEX", "1")
	t.Setenv("CLIP_SHARD_COUNT", "")
	cases := []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--input", "x.tar", "--layout", "webdataset"}, 2, "only layout"},
		{[]string{"--input", "x.tar"}, 2, "--layout clip-retrieval"},
		{[]string{"--input", "x.tar", "--layout", "clip-retrieval", "--shard", "auto"}, 2, "CLIP_SHARD_COUNT"},
		{[]string{"--input", "x.tar", "--layout", "clip-retrieval", "--shard", "2/2"}, 2, "shard"},
		{[]string{"--input", "x.tar", "--layout", "clip-retrieval", "--dtype", "f64"}, 2, "dtype"},
		{[]string{"--input", "x.tar", "--layout", "clip-retrieval", "--images-dir", "d"}, 2, "--images-dir"},
		{[]string{"--input", "{a", "--layout", "clip-retrieval"}, 1, "unbalanced"},
		{[]string{"--input", filepath.Join(out, "missing.tar"), "--layout", "clip-retrieval", "--shard", "0/2"}, 1, "could not be opened"},
	}
	for _, c := range cases {
		args := append([]string{"embed", "--model", model, "--device", "cpu", "-o", out}, c.args...)
		code, _, errs := clipRun(t, "", args...)
		if code != c.code || !strings.Contains(errs, c.msg) {
			t.Errorf("%v: status %d, stderr %q", c.args, code, errs)
		}
	}
	if code, _, _ := clipRun(t, "", "merge", "-o", filepath.Join(out, "m.npy"), out); code != 1 {
		t.Errorf("merge of an empty folder: status %d", code)
	}
}
