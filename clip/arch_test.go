package clip

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goclip/goclip/internal/testutil"
	"github.com/goclip/goclip/npy"
)

// archCase is one architecture of TestArchitectures.
type archCase struct {
	name string
	slow bool // run only with GOCLIP_SLOW=1
}

var archCases = []archCase{
	{"tiny-vit", false}, {"tiny-rn", false}, {"ViT-B/32", false}, {"RN50", false},
	{"RN101", true}, {"RN50x4", true}, {"RN50x16", true}, {"RN50x64", true},
	{"ViT-B/16", true}, {"ViT-L/14", true}, {"ViT-L/14@336px", true},
}

// pyReference runs the exported artifact with Python's torch (the same
// libtorch) on the inputs and writes its outputs next to them.
const pyReference = `
import sys, numpy as np, torch
torch.set_num_threads(1)
m = torch.jit.load(sys.argv[1])
px = torch.from_numpy(np.load(sys.argv[2])); tok = torch.from_numpy(np.load(sys.argv[3])).long()
with torch.inference_mode():
    np.save(sys.argv[4], m.encode_image(px).float().numpy())
    np.save(sys.argv[5], m.encode_text(tok).float().numpy())
`

// pythonFeatures runs artifact's encode_image and encode_text in Python's
// torch on pixels [n,3,r,r] and token rows [n,l], with the thread settings
// of a Go model loaded WithThreads(1): one libtorch thread and one
// OpenBLAS thread (the BLAS split changes the last bits).
func pythonFeatures(tb testing.TB, artifact string, px []float32, n, r int, tok []int32, l int) (img, txt Matrix) {
	tb.Helper()
	dir := tb.TempDir()
	pxPath, tokPath := filepath.Join(dir, "px.npy"), filepath.Join(dir, "tok.npy")
	if err := npy.WriteFile(pxPath, []int{n, 3, r, r}, px); err != nil {
		tb.Fatal(err)
	}
	if err := npy.WriteFile(tokPath, []int{len(tok) / l, l}, tok); err != nil {
		tb.Fatal(err)
	}
	imgRef, txtRef := filepath.Join(dir, "img.npy"), filepath.Join(dir, "txt.npy")
	py := exec.Command(testutil.Python(), "-c", pyReference, artifact, pxPath, tokPath, imgRef, txtRef)
	py.Env = append(os.Environ(), "OPENBLAS_NUM_THREADS=1", "OMP_NUM_THREADS=1")
	if b, err := py.CombinedOutput(); err != nil {
		tb.Fatalf("python reference: %v\n%s", err, b)
	}
	return readMatrix(tb, imgRef), readMatrix(tb, txtRef)
}

// TestArchitectures builds a random checkpoint with each official
// architecture's exact shapes and dtypes, exports it, runs one forward from
// Go and compares with Python's torch running the same artifact. CI runs
// the tiny models, ViT-B/32 and RN50; GOCLIP_SLOW=1 runs all nine.
func TestArchitectures(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	slow := os.Getenv("GOCLIP_SLOW") == "1"
	root := testutil.RepoRoot(t)
	for _, c := range archCases {
		t.Run(strings.ReplaceAll(c.name, "/", "_"), func(t *testing.T) {
			if c.slow && !slow {
				t.Skip("slow suite: set GOCLIP_SLOW=1")
			}
			dir := t.TempDir()
			ckpt := filepath.Join(dir, "ckpt.pt")
			gen := exec.Command(testutil.Python(), filepath.Join(root, "export", "random_checkpoint.py"), "--arch", c.name, "--out", ckpt)
			if b, err := gen.CombinedOutput(); err != nil {
				t.Fatalf("random checkpoint: %v\n%s", err, b)
			}
			exp := filepath.Join(dir, "export")
			ex := exec.Command(testutil.Python(), filepath.Join(root, "export", "export.py"), "--checkpoint", ckpt, "--out", exp, "--name", c.name)
			if b, err := ex.CombinedOutput(); err != nil {
				t.Fatalf("export: %v\n%s", err, b)
			}
			os.Remove(ckpt)
			man, err := ReadManifest(exp)
			if err != nil {
				t.Fatal(err)
			}
			if spec, err := LookupModel(c.name); err == nil {
				if man.EmbedDim != spec.EmbedDim || man.ImageResolution != spec.ImageResolution || man.Family != spec.Family {
					t.Errorf("manifest %+v does not match the registry %+v", man, spec)
				}
			}
			r, l := man.ImageResolution, man.ContextLength
			rng := rand.New(rand.NewPCG(7, uint64(r)))
			px := make([]float32, 2*3*r*r)
			for i := range px {
				px[i] = float32(rng.NormFloat64())
			}
			tok := make([]int32, 2*l)
			for i, n := range []int{5, l - 2} {
				tok[i*l] = 49406
				for j := 1; j <= n; j++ {
					tok[i*l+j] = int32(rng.IntN(49405))
				}
				tok[i*l+n+1] = 49407
			}
			imgRef, txtRef := pythonFeatures(t, man.ArtifactPath(exp), px, 2, r, tok, l)

			before, _ := testutil.RSS()
			m, err := Load(context.Background(), exp, WithDevice("cpu"), WithThreads(1))
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			if c.name == "ViT-B/32" {
				// Loading holds the weights once: under 1.2x the artifact's size.
				after, _ := testutil.RSS()
				grew := after - before
				fi, _ := os.Stat(man.ArtifactPath(exp))
				t.Logf("ViT-B/32: loading grew RSS by %.1f MiB for a %.1f MiB artifact (%.2fx)", float64(grew)/(1<<20), float64(fi.Size())/(1<<20), float64(grew)/float64(fi.Size()))
				if float64(grew) > 1.2*float64(fi.Size()) {
					t.Errorf("loading grew RSS by %d bytes, over 1.2x the artifact (%d bytes)", grew, fi.Size())
				}
			}
			img, err := m.EncodeImage(px, 2)
			if err != nil {
				t.Fatal(err)
			}
			txt, err := m.EncodeTokens(tok, 2, l)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range []struct {
				name string
				got  Matrix
				ref  Matrix
			}{{"image", img, imgRef}, {"text", txt, txtRef}} {
				want := o.ref
				if o.got.Rows != 2 || o.got.Cols != man.EmbedDim {
					t.Fatalf("%s features %dx%d, want 2x%d", o.name, o.got.Rows, o.got.Cols, man.EmbedDim)
				}
				d, ref := maxDiff(t, o.got, want)
				for _, v := range o.got.Data {
					if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
						t.Fatalf("%s: non-finite feature", o.name)
					}
				}
				t.Logf("%s %s: max|diff| vs python %.3g (max|ref| %.3g)", c.name, o.name, d, ref)
				if d != 0 { // the same libtorch with the same threads: bit-identical
					t.Errorf("%s: Go and Python differ by %g", o.name, d)
				}
			}
		})
	}
}
