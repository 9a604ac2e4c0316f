package serve

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/goclip/goclip/clip"
)

// TestRoutesMatchLibrary checks every route against what clip embed,
// classify and rank compute (the library calls they make) on the demo
// model and the golden tiny ViT and ResNet, with the golden images and
// texts.
func TestRoutesMatchLibrary(t *testing.T) {
	files, texts := goldenFiles(t)
	texts = texts[:5] // the last is longer than the context (refused without --truncate)
	ctx := context.Background()
	for _, name := range []string{"tiny-vit", "tiny_vit_b32", "tiny_rn"} {
		t.Run(name, func(t *testing.T) {
			m := testModel(t, name)
			_, url := startServer(t, Options{MaxBatchSize: 4}, name)
			wantText, err := m.EncodeTexts(ctx, texts)
			if err != nil {
				t.Fatal(err)
			}
			wantImg, errs, err := m.EncodeImageFiles(ctx, files)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range errs {
				if e != nil {
					t.Fatal(e)
				}
			}
			uris := make([]any, len(files))
			for i, f := range files {
				uris[i] = dataURI(t, f)
			}
			f := false
			// texts
			code, out, hdr := post(t, url+"/v1/embeddings", map[string]any{"model": name, "input": texts, "normalize": f})
			if code != 200 {
				t.Fatalf("texts: %d %v", code, out)
			}
			if hdr.Get("x-queue-time") == "" || hdr.Get("x-inference-time") == "" {
				t.Errorf("timing headers missing: %v", hdr)
			}
			closeTo(t, "text features", vectors(t, out), rowsOf(wantText), 1e-5)
			if u := out["usage"].(map[string]any); num(t, u["prompt_tokens"]) < float64(len(texts)*2) {
				t.Errorf("usage %v", u)
			}
			// normalised by default, base64 equal to float
			_, out, _ = post(t, url+"/v1/embeddings", map[string]any{"input": texts})
			closeTo(t, "normalised text features", vectors(t, out), rowsOf(wantText.Normalized()), 1e-5)
			_, out64, _ := post(t, url+"/v1/embeddings", map[string]any{"input": texts, "encoding_format": "base64"})
			if !equalRows(vectors(t, out), vectors(t, out64)) {
				t.Error("base64 embeddings differ from the float ones")
			}
			// token ids: [[int]] and [int]
			rows, err := m.Tokenize(ctx, texts[:2])
			if err != nil {
				t.Fatal(err)
			}
			_, outTok, _ := post(t, url+"/v1/embeddings", map[string]any{"input": [][]int32{trim(rows[0]), trim(rows[1])}, "normalize": false})
			closeTo(t, "token-id features", vectors(t, outTok), rowsOf(wantText)[:2], 1e-5)
			_, outTok1, _ := post(t, url+"/v1/embeddings", map[string]any{"input": trim(rows[0]), "normalize": false})
			closeTo(t, "one token row", vectors(t, outTok1), rowsOf(wantText)[:1], 1e-5)
			// images: modality image, typed items mixed with texts
			_, out, _ = post(t, url+"/v1/embeddings", map[string]any{"input": uris, "modality": "image", "normalize": false})
			closeTo(t, "image features", vectors(t, out), rowsOf(wantImg), 1e-5)
			mixed := []any{map[string]any{"type": "image", "image": uris[0]}, texts[0], map[string]any{"type": "text", "text": texts[1]}, map[string]any{"type": "image", "image": uris[1]}}
			_, out, _ = post(t, url+"/v1/embeddings", map[string]any{"input": mixed, "normalize": false})
			closeTo(t, "mixed", vectors(t, out), [][]float32{wantImg.Row(0), wantText.Row(0), wantText.Row(1), wantImg.Row(1)}, 1e-5)
			// raw image body and multipart
			raw, _ := os.ReadFile(files[0])
			_, out, _ = do(t, url+"/v1/embeddings?normalize=false&model="+name, "image/jpeg", raw)
			closeTo(t, "raw image body", vectors(t, out), rowsOf(wantImg)[:1], 1e-5)
			body, ctype := multipartBody(t, map[string]string{"normalize": "false"}, files[:2]...)
			_, out, _ = do(t, url+"/v1/embeddings", ctype, body)
			closeTo(t, "multipart", vectors(t, out), rowsOf(wantImg)[:2], 1e-5)

			// classify: clip classify's classifier
			labels := []string{"a rocket", "a cat", "a transparent square"}
			c, err := m.NewClassifier(ctx, labels, clip.ImageNetTemplates()[:4]...)
			if err != nil {
				t.Fatal(err)
			}
			preds, _, err := c.ClassifyFiles(ctx, files)
			if err != nil {
				t.Fatal(err)
			}
			code, out, _ = post(t, url+"/v1/classify", map[string]any{"images": uris, "labels": labels, "templates": clip.ImageNetTemplates()[:4], "top_k": 2})
			if code != 200 {
				t.Fatalf("classify: %d %v", code, out)
			}
			for i, d := range out["data"].([]any) {
				d := d.(map[string]any)
				var got []float32
				for _, p := range d["probs"].([]any) {
					got = append(got, float32(num(t, p)))
				}
				closeTo(t, "probabilities", [][]float32{got}, [][]float32{preds[i].Probs}, 1e-5)
				top := d["top"].([]any)
				if len(top) != 2 || top[0].(map[string]any)["label"] != preds[i].TopK(1)[0].Label {
					t.Errorf("image %d top %v, want %s first", i, top, preds[i].TopK(1)[0].Label)
				}
			}
			body, ctype = multipartBody(t, map[string]string{"labels": strings.Join(labels, ","), "templates": clip.DefaultTemplate}, files[0])
			code, out, _ = do(t, url+"/v1/classify", ctype, body)
			if code != 200 || len(out["data"].([]any)) != 1 {
				t.Errorf("multipart classify: %d %v", code, out)
			}

			// rank: clip rank (text query over images), and an image query over texts
			q, _ := m.EncodeTexts(ctx, []string{"a cat"})
			want, _ := clip.Rank(q.Row(0), wantImg)
			_, out, _ = post(t, url+"/v1/rank", map[string]any{"query": "a cat", "candidates": uris, "modality": "image"})
			checkRanking(t, out, want)
			want, _ = clip.Rank(wantImg.Row(2), wantText)
			_, out, _ = post(t, url+"/v1/rank", map[string]any{"query": map[string]any{"type": "image", "image": uris[2]}, "candidates": texts})
			checkRanking(t, out, want)

			// models
			resp, err := http.Get(url + "/v1/models")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			info := m.Info()
			for _, s := range []string{`"id":"` + name + `"`, `"embed_dim":` + itoa(info.EmbedDim), `"image_resolution":` + itoa(info.ImageResolution), `"context_length":77`, `"device":"cpu"`, `"precision":"fp32"`} {
				if !strings.Contains(string(b), s) {
					t.Errorf("/v1/models lacks %s: %s", s, b)
				}
			}
			man, err := clip.ReadManifest(info.Dir)
			if err != nil || !strings.Contains(string(b), man.ArtifactSHA256) {
				t.Errorf("/v1/models lacks the artifact sha256: %s", b)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func checkRanking(t *testing.T, out map[string]any, want []clip.Ranked) {
	t.Helper()
	data, _ := out["data"].([]any)
	if len(data) != len(want) {
		t.Fatalf("rank: %d hits, want %d: %v", len(data), len(want), out)
	}
	var sum float64
	for i, d := range data {
		d := d.(map[string]any)
		if int(num(t, d["index"])) != want[i].Index {
			t.Errorf("rank %d: candidate %v, want %d", i, d["index"], want[i].Index)
		}
		closeTo(t, "cosine", [][]float32{{float32(num(t, d["cosine"]))}}, [][]float32{{want[i].Score}}, 1e-5)
		sum += num(t, d["softmax"])
	}
	if sum < 0.999 || sum > 1.001 {
		t.Errorf("softmax scores sum to %g", sum)
	}
}

func trim(row []int32) []int32 {
	n := len(row)
	for n > 0 && row[n-1] == 0 {
		n--
	}
	return row[:n]
}

func equalRows(a, b [][]float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				return false
			}
		}
	}
	return true
}

func multipartBody(t *testing.T, fields map[string]string, files ...string) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		w.WriteField(k, fields[k])
	}
	for _, f := range files {
		fw, err := w.CreateFormFile("image", filepath.Base(f))
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(b)
	}
	w.Close()
	return buf.Bytes(), w.FormDataContentType()
}
