"""Tests of the export side: parity with the official CLIP goldens and the CLIs.

Run:  /usr/bin/python3 -m unittest discover -s export
Env:  GOCLIP_SHARED   the shared data folder (default: ../shared beside the checkout)
      GOCLIP_SLOW=1   also export the six large official architectures
      GOCLIP_BITEXACT=name[,name]|1  require bit-identical golden parity for
                      those golden models (all with 1); otherwise the test
                      reports max |diff| and requires <= 1e-5 * max|ref|
"""

import contextlib
import gzip
import hashlib
import http.server
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import unittest
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import export  # noqa: E402
import make_tiny  # noqa: E402
import random_checkpoint  # noqa: E402
import bench_eager  # noqa: E402

clip_model = export.clip_model
import numpy as np  # noqa: E402
import torch  # noqa: E402

SLOW = os.environ.get("GOCLIP_SLOW") == "1"
OUTPUTS = ("encode_image", "encode_text", "logits_per_image", "logits_per_text")
GOLDEN_MODELS = ("tiny_vit_b32", "tiny_rn")
NINE = ["RN50", "RN101", "RN50x4", "RN50x16", "RN50x64", "ViT-B/32", "ViT-B/16", "ViT-L/14", "ViT-L/14@336px"]
# Parameter counts printed by the official notebook for the released models
# (sum of numel over model.parameters()).
OFFICIAL_PARAM_COUNTS = {
    "RN50": 102007137, "RN101": 119688033, "RN50x4": 178300601, "RN50x16": 290979217,
    "RN50x64": 623258305, "ViT-B/32": 151277313, "ViT-B/16": 149620737,
    "ViT-L/14": 427616513, "ViT-L/14@336px": 427944193,
}
FAST_ARCHS = ("tiny-vit", "tiny-rn", "RN50", "ViT-B/32")


def shared_dir():
    """The shared data folder, or None."""
    d = os.environ.get("GOCLIP_SHARED")
    if d:
        return d
    cur = HERE
    while True:
        cand = os.path.join(cur, "shared")
        if os.path.isfile(os.path.join(cand, "golden", "README.md")):
            return cand
        parent = os.path.dirname(cur)
        if parent == cur:
            return None
        cur = parent


SHARED = shared_dir()


def need_shared(test):
    """Skip (fail under CI) when the shared goldens are missing."""
    if SHARED is None:
        if os.environ.get("CI"):
            raise AssertionError("shared golden data not found (set GOCLIP_SHARED)")
        raise unittest.SkipTest("shared golden data not found (set GOCLIP_SHARED)")


def golden_dir(name):
    return os.path.join(SHARED, "golden", "models", name)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def read_json(path):
    with open(path, "r", encoding="utf-8") as f:
        return json.load(f)


def load_npy(path):
    if path.endswith(".gz"):
        with gzip.open(path, "rb") as f:
            return np.load(io.BytesIO(f.read()))
    return np.load(path)


def golden_inputs(name):
    meta = read_json(os.path.join(golden_dir(name), "meta.json"))
    images = load_npy(os.path.join(SHARED, "golden", meta["inputs"]["image_batch_file"]))
    tokens = np.load(os.path.join(golden_dir(name), "input_text_tokens.npy"))
    return torch.from_numpy(images), torch.from_numpy(tokens), meta


def run_outputs(model, images, tokens):
    with torch.no_grad():
        lpi, lpt = model(images, tokens)
        return {
            "encode_image": model.encode_image(images),
            "encode_text": model.encode_text(tokens),
            "logits_per_image": lpi,
            "logits_per_text": lpt,
        }


def maxdiff(a, b):
    a = a.numpy() if isinstance(a, torch.Tensor) else a
    b = b.numpy() if isinstance(b, torch.Tensor) else b
    return float(np.abs(a.astype(np.float64) - b.astype(np.float64)).max())


def bitexact_required(name):
    v = os.environ.get("GOCLIP_BITEXACT", "")
    return v == "1" or name in [s.strip() for s in v.split(",") if s.strip()]


def report(msg):
    sys.stderr.write("\n    [report] " + msg)
    sys.stderr.flush()


class GoldenExportTest(unittest.TestCase):
    """Export the golden tiny archives once; compare against the official outputs."""

    @classmethod
    def setUpClass(cls):
        need_shared(cls)
        cls.tmp = tempfile.TemporaryDirectory(prefix="goclip-export-test-")
        cls.models, cls.manifests, cls.eager = {}, {}, {}
        for name in GOLDEN_MODELS:
            out = os.path.join(cls.tmp.name, name)
            cls.manifests[name] = export.export_checkpoint(os.path.join(golden_dir(name), "model.jit.pt"), out, name=name)
            cls.models[name] = torch.jit.load(os.path.join(out, "model.pt"), map_location="cpu")
            sd, _ = export.read_state_dict(os.path.join(golden_dir(name), "model.jit.pt"))
            cls.eager[name], _ = export.build_loaded_model(export.clean_state_dict(sd))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_encode_image_u8(self):
        """encode_image_u8 on the golden resized bytes equals encode_image on
        the golden float32 tensors, and its table is torchvision's exactly."""
        lut = load_npy(os.path.join(SHARED, "golden", "preprocess", "normalize_lut.npy"))
        values = torch.arange(256, dtype=torch.float32).div(255)
        mean = torch.tensor([0.48145466, 0.4578275, 0.40821073], dtype=torch.float32)
        std = torch.tensor([0.26862954, 0.26130258, 0.27577711], dtype=torch.float32)
        table = values[None, :].sub(mean[:, None]).div(std[:, None]).numpy()
        self.assertTrue(np.array_equal(table.view(np.uint32), lut.view(np.uint32)))
        arrays = os.path.join(SHARED, "golden", "preprocess", "arrays")
        names = [im["name"] for im in read_json(os.path.join(golden_dir("tiny_vit_b32"), "meta.json"))["inputs"]["images"]]
        u8 = torch.from_numpy(np.stack([load_npy(os.path.join(arrays, n + ".n224.u8.npy.gz")) for n in names]))
        f32 = torch.from_numpy(np.stack([load_npy(os.path.join(arrays, n + ".n224.f32.npy.gz")) for n in names]))
        for name in GOLDEN_MODELS:
            with self.subTest(model=name), torch.inference_mode():
                a = self.models[name].encode_image_u8(u8)
                b = self.models[name].encode_image(f32)
                self.assertTrue(torch.equal(a, b))
        with self.assertRaises(Exception):
            self.models["tiny_vit_b32"].encode_image_u8(u8.float())

    def test_parity_with_official_goldens(self):
        for name in GOLDEN_MODELS:
            images, tokens, _ = golden_inputs(name)
            got = run_outputs(self.models[name], images, tokens)
            for out in OUTPUTS:
                with self.subTest(model=name, output=out):
                    ref = np.load(os.path.join(golden_dir(name), out + ".npy"))
                    self.assertEqual(list(got[out].shape), list(ref.shape))
                    self.assertEqual(got[out].dtype, torch.float32)
                    d = maxdiff(got[out], ref)
                    scale = float(np.abs(ref).max())
                    report("%s %-16s max|diff| = %.3g (max|ref| %.3g)%s"
                           % (name, out, d, scale, " bit-identical" if d == 0 else ""))
                    if bitexact_required(name):
                        self.assertEqual(d, 0.0)
                    self.assertLessEqual(d, 1e-5 * scale)

    def test_scripted_equals_eager_bitwise(self):
        # the artifact must compute exactly what the (official-order) eager module does
        for name in GOLDEN_MODELS:
            images, tokens, _ = golden_inputs(name)
            a = run_outputs(self.models[name], images, tokens)
            b = run_outputs(self.eager[name], images, tokens)
            for out in OUTPUTS:
                with self.subTest(model=name, output=out):
                    self.assertTrue(torch.equal(a[out], b[out]), "max diff %g" % maxdiff(a[out], b[out]))

    def test_repeated_calls_identical(self):
        # the profiling executor optimises after the first runs: results must not change
        name = "tiny_vit_b32"
        images, tokens, _ = golden_inputs(name)
        first = run_outputs(self.models[name], images, tokens)
        for _ in range(3):
            again = run_outputs(self.models[name], images, tokens)
        for out in OUTPUTS:
            self.assertTrue(torch.equal(first[out], again[out]), out)

    def test_int32_tokens_match_int64(self):
        for name in GOLDEN_MODELS:
            images, tokens, _ = golden_inputs(name)
            m = self.models[name]
            with torch.no_grad():
                t64 = m.encode_text(tokens.to(torch.int64))
                t32 = m.encode_text(tokens.to(torch.int32))
                l64 = m(images, tokens.to(torch.int64))[0]
                l32 = m(images, tokens.to(torch.int32))[0]
            self.assertTrue(torch.equal(t64, t32), name)
            self.assertTrue(torch.equal(l64, l32), name)

    def test_batch_sizes_give_same_rows(self):
        for name in GOLDEN_MODELS:
            images, tokens, _ = golden_inputs(name)
            m = self.models[name]
            with torch.no_grad():
                img3 = m.encode_image(images[:3])
                img1 = torch.cat([m.encode_image(images[i:i + 1]) for i in range(3)])
                txt3 = m.encode_text(tokens[:3])
                txt1 = torch.cat([m.encode_text(tokens[i:i + 1]) for i in range(3)])
            for what, a, b in (("image", img3, img1), ("text", txt3, txt1)):
                d = maxdiff(a, b)
                report("%s %s batch 3 vs 1: max|diff| = %.3g" % (name, what, d))
                self.assertLessEqual(d, 1e-5 * float(a.abs().max()), (name, what))

    def test_logits_helpers(self):
        for name in GOLDEN_MODELS:
            images, tokens, _ = golden_inputs(name)
            m = self.models[name]
            with torch.no_grad():
                fi, ft = m.encode_image(images), m.encode_text(tokens)
                lpi, lpt = m(images, tokens)
                self.assertTrue(torch.equal(m.logits(fi, ft), lpi), name)
                self.assertTrue(torch.equal(lpt, lpi.t()), name)
                scale = m.logit_scale_exp()
            self.assertEqual(scale.dim(), 0)
            sd = torch.jit.load(os.path.join(golden_dir(name), "model.jit.pt"), map_location="cpu").state_dict()
            self.assertEqual(float(scale), float(sd["logit_scale"].float().exp()))
            self.assertAlmostEqual(float(scale), 100.0, places=4)  # goldens store ln(100)

    def test_shorter_context(self):
        # tokens cut after the last EOT give the same features (causal mask)
        name = "tiny_vit_b32"
        _, tokens, _ = golden_inputs(name)
        rows = tokens[:5]  # the 6th text is truncated at 77
        cut = int(rows.argmax(dim=-1).max()) + 1
        m = self.models[name]
        with torch.no_grad():
            full = m.encode_text(rows)
            short = m.encode_text(rows[:, :cut])
        self.assertLess(cut, 77)
        self.assertLessEqual(maxdiff(full, short), 1e-5 * float(full.abs().max()))

    def test_bad_token_shapes_raise(self):
        m = self.models["tiny_vit_b32"]
        for bad in (torch.zeros(77, dtype=torch.long), torch.zeros(1, 78, dtype=torch.long)):
            with self.subTest(shape=list(bad.shape)):
                with self.assertRaises(Exception):
                    m.encode_text(bad)

    def test_manifest(self):
        for name in GOLDEN_MODELS:
            man = self.manifests[name]
            meta = read_json(os.path.join(golden_dir(name), "meta.json"))
            out = os.path.join(self.tmp.name, name)
            with open(os.path.join(out, "manifest.json")) as f:
                self.assertEqual(json.load(f), man)
            kw = meta["constructor_kwargs"]
            want_arch = dict(kw, vision_heads=meta["vision_heads"])
            self.assertEqual(man["architecture"], want_arch)
            self.assertEqual(man["format_version"], 1)
            self.assertEqual(man["name"], name)
            self.assertEqual(man["family"], "resnet" if isinstance(kw["vision_layers"], list) else "vit")
            for k in ("image_resolution", "context_length", "embed_dim", "vocab_size"):
                self.assertEqual(man[k], kw[k], k)
            self.assertEqual(man["dtype"], "float32")
            self.assertEqual(man["methods"], ["encode_image", "encode_image_u8", "encode_text", "forward", "logits", "logit_scale_exp"])
            self.assertEqual(man["torch_version"], torch.__version__)
            self.assertEqual(man["artifact"], "model.pt")
            self.assertEqual(man["artifact_sha256"], export.sha256_file(os.path.join(out, "model.pt")))
            self.assertEqual(man["source_sha256"], meta["files"]["model.jit.pt"]["sha256"])
            self.assertTrue(man["source"].endswith("model.jit.pt"))
            self.assertEqual(man["source_path"], os.path.abspath(os.path.join(golden_dir(name), "model.jit.pt")))
            self.assertRegex(man["created"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
            # half_params = the float16 tensors of the golden archive (except the
            # token embedding, stored float16 there only to save space)
            fp16 = sorted(k for k, (dt, _) in meta["jit_state_dict_keys"].items()
                          if dt == "torch.float16" and k != "token_embedding.weight")
            self.assertEqual(sorted(man["half_params"]), fp16)
            params = dict(self.models[name].named_parameters())
            for p in man["half_params"]:
                self.assertIn(p, params)
            for meth in man["methods"]:
                self.assertTrue(hasattr(self.models[name], meth), meth)


class SourceFormatTest(unittest.TestCase):
    """A state_dict source gives the same artifact as the TorchScript archive."""

    def test_state_dict_variants(self):
        need_shared(self)
        name = "tiny_rn"
        src = os.path.join(golden_dir(name), "model.jit.pt")
        images, tokens, _ = golden_inputs(name)
        with tempfile.TemporaryDirectory() as tmp:
            ref_man = export.export_checkpoint(src, os.path.join(tmp, "ref"))
            ref = run_outputs(torch.jit.load(os.path.join(tmp, "ref", "model.pt")), images, tokens)
            sd = torch.jit.load(src, map_location="cpu").state_dict()
            plain = {k: v for k, v in sd.items() if k not in clip_model.METADATA_KEYS}
            variants = {
                "with_metadata": dict(sd),
                "plain": plain,
                "wrapped_state_dict": {"state_dict": plain, "epoch": 3},
                "wrapped_model": {"model": plain},
                "module_prefix": {"module." + k: v for k, v in plain.items()},
            }
            for label, obj in variants.items():
                with self.subTest(variant=label):
                    path = os.path.join(tmp, label + ".pt")
                    torch.save(obj, path)
                    man = export.export_checkpoint(path, os.path.join(tmp, label))
                    # same process, same weights: the scripted archive bytes match too
                    self.assertEqual(man["artifact_sha256"], ref_man["artifact_sha256"])
                    got = run_outputs(torch.jit.load(os.path.join(tmp, label, "model.pt")), images, tokens)
                    for out in OUTPUTS:
                        self.assertTrue(torch.equal(got[out], ref[out]), out)

    def test_not_clip_state_dict(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "x.pt")
            torch.save({"weight": torch.zeros(3)}, path)
            with self.assertRaisesRegex(export.ExportError, "not a CLIP state_dict"):
                export.export_checkpoint(path, os.path.join(tmp, "out"))
            self.assertFalse(os.path.exists(os.path.join(tmp, "out", "model.pt")))


class RandomArchTest(unittest.TestCase):
    """Random checkpoints with the official layout export and run for every architecture."""

    def check_arch(self, arch_name):
        arch = random_checkpoint.arch_for(arch_name)
        with tempfile.TemporaryDirectory() as tmp:
            ckpt = os.path.join(tmp, "ckpt.pt")
            random_checkpoint.write_checkpoint(arch_name, ckpt, "state_dict", seed=7)
            sd = torch.load(ckpt, map_location="cpu")
            model = clip_model.build_model(arch)
            half = set(clip_model.half_param_names(model))
            want = model.state_dict()
            self.assertEqual(int(sd.pop(export.RANDOM_WEIGHTS_KEY)), 1)
            self.assertEqual(set(sd), set(want))
            for k, v in sd.items():
                self.assertEqual(tuple(v.shape), tuple(want[k].shape), k)
                if k in half:
                    self.assertEqual(v.dtype, torch.float16, k)
                elif k.endswith("num_batches_tracked"):
                    self.assertEqual(v.dtype, torch.int64, k)
                else:
                    self.assertEqual(v.dtype, torch.float32, k)
            if arch_name in OFFICIAL_PARAM_COUNTS:
                self.assertEqual(sum(p.numel() for p in model.parameters()), OFFICIAL_PARAM_COUNTS[arch_name])
            self.assertAlmostEqual(float(sd["logit_scale"].exp()), 100.0, places=3)
            del model, want, sd
            man = export.export_checkpoint(ckpt, os.path.join(tmp, "out"), name=arch_name if arch_name in NINE else None)
            self.assertIs(man["random_weights"], True)
            for k in clip_model.ARCH_KEYS:
                self.assertEqual(man["architecture"][k], arch[k], k)
            m = torch.jit.load(os.path.join(tmp, "out", "model.pt"), map_location="cpu")
            images, tokens = random_checkpoint.example_inputs(arch, batch=1, seed=3)
            with torch.no_grad():
                lpi, lpt = m(images, tokens)
                fi = m.encode_image(images)
            self.assertEqual(list(fi.shape), [1, arch["embed_dim"]])
            self.assertEqual(list(lpi.shape), [1, 1])
            self.assertEqual(list(lpt.shape), [1, 1])
            self.assertTrue(bool(torch.isfinite(fi).all()) and bool(torch.isfinite(lpi).all()))

    def test_fast_archs(self):
        for name in FAST_ARCHS:
            with self.subTest(arch=name):
                self.check_arch(name)

    @unittest.skipUnless(SLOW, "set GOCLIP_SLOW=1 for the large architectures")
    def test_slow_archs(self):
        for name in NINE:
            if name not in FAST_ARCHS:
                with self.subTest(arch=name):
                    self.check_arch(name)

    def test_plain_state_dict_not_random(self):
        # a checkpoint without the mark (a real one) exports random_weights false
        with tempfile.TemporaryDirectory() as tmp:
            ckpt = os.path.join(tmp, "ckpt.pt")
            random_checkpoint.write_checkpoint("tiny-vit", ckpt, "state_dict", seed=7)
            sd = torch.load(ckpt, map_location="cpu")
            del sd[export.RANDOM_WEIGHTS_KEY]
            torch.save(sd, ckpt)
            man = export.export_checkpoint(ckpt, os.path.join(tmp, "out"))
            self.assertIs(man["random_weights"], False)

    def test_jit_format_roundtrip(self):
        # the traced release-style archive exports to the same computation
        for name in ("tiny-vit", "tiny-rn"):
            with self.subTest(arch=name), tempfile.TemporaryDirectory() as tmp:
                arch = random_checkpoint.arch_for(name)
                ckpt = os.path.join(tmp, "ckpt.pt")
                random_checkpoint.write_checkpoint(name, ckpt, "jit", seed=11)
                archive = torch.jit.load(ckpt, map_location="cpu")
                sd = archive.state_dict()
                self.assertEqual(int(sd["input_resolution"]), arch["image_resolution"])
                self.assertEqual(int(sd["context_length"]), 77)
                self.assertEqual(int(sd["vocab_size"]), 49408)
                self.assertEqual(sd["token_embedding.weight"].dtype, torch.float32)
                self.assertEqual(sd["visual.conv1.weight"].dtype, torch.float16)
                for meth in ("forward", "encode_image", "encode_text"):
                    self.assertTrue(hasattr(archive, meth))
                man = export.export_checkpoint(ckpt, os.path.join(tmp, "out"))
                self.assertIs(man["random_weights"], True)
                m = torch.jit.load(os.path.join(tmp, "out", "model.pt"))
                ref = random_checkpoint.random_model(arch, 11)
                images, tokens = random_checkpoint.example_inputs(arch, batch=2, seed=4)
                a, b = run_outputs(m, images, tokens), run_outputs(ref, images, tokens)
                for out in OUTPUTS:
                    self.assertTrue(torch.equal(a[out], b[out]), out)
                # logits are not trivial: the two texts score differently
                self.assertGreater(float((a["logits_per_image"][:, 0] - a["logits_per_image"][:, 1]).abs().max()), 1e-3)

    def test_unknown_arch(self):
        with self.assertRaisesRegex(ValueError, "ViT-L/14@336px"):
            random_checkpoint.arch_for("ViT-H/14")


class RegistryTest(unittest.TestCase):
    def test_models_json(self):
        entries = export.load_registry()
        self.assertEqual([e["name"] for e in entries], NINE)
        for e in entries:
            with self.subTest(model=e["name"]):
                m = re.fullmatch(r"https://openaipublic\.azureedge\.net/clip/models/([0-9a-f]{64})/([^/]+\.pt)", e["url"])
                self.assertIsNotNone(m, e["url"])
                self.assertEqual(m.group(1), e["sha256"])
                self.assertEqual(m.group(2), e["file"])
                rn = isinstance(e["vision_layers"], list)
                self.assertEqual(e["family"], "resnet" if rn else "vit")
                self.assertEqual(e["vision_patch_size"] is None, rn)
                self.assertEqual(e["vision_heads"], e["vision_width"] * 32 // 64 if rn else e["vision_width"] // 64)
                self.assertEqual(e["transformer_heads"], e["transformer_width"] // 64)
                self.assertEqual((e["context_length"], e["vocab_size"]), (77, 49408))
                if not rn:
                    self.assertEqual(e["image_resolution"] % e["vision_patch_size"], 0)


class _RangeHandler(http.server.BaseHTTPRequestHandler):
    """Serves server.payload at any path; honours Range unless server.ignore_range."""

    def do_GET(self):
        srv = self.server
        srv.requests.append(self.headers.get("Range"))
        data = srv.payload
        rng = self.headers.get("Range")
        m = re.fullmatch(r"bytes=(\d+)-", rng or "")
        if m and not srv.ignore_range:
            start = int(m.group(1))
            if start >= len(data):
                self.send_response(416)
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
            body = data[start:]
        else:
            self.send_response(200)
            body = data
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class DownloadTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _RangeHandler)
        cls.server.payload = b""
        cls.server.requests = []
        cls.server.ignore_range = False
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()
        cls.url = "http://127.0.0.1:%d/ckpt/model.pt" % cls.server.server_address[1]

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dest = os.path.join(self.tmp.name, "cache", "model.pt")
        self.payload = bytes(range(256)) * 4099  # ~1 MiB, not a multiple of the read size
        self.sha = hashlib.sha256(self.payload).hexdigest()
        self.server.payload = self.payload
        self.server.requests = []
        self.server.ignore_range = False

    def tearDown(self):
        self.tmp.cleanup()

    def test_fresh_download_then_cached(self):
        export.download(self.url, self.sha, self.dest)
        self.assertEqual(read_bytes(self.dest), self.payload)
        self.assertFalse(os.path.exists(self.dest + ".part"))
        export.download(self.url, self.sha, self.dest)
        self.assertEqual(self.server.requests, [None])  # the second call used the cache

    def test_resume_with_range(self):
        os.makedirs(os.path.dirname(self.dest))
        with open(self.dest + ".part", "wb") as f:
            f.write(self.payload[:300001])
        export.download(self.url, self.sha, self.dest)
        self.assertEqual(self.server.requests, ["bytes=300001-"])
        self.assertEqual(read_bytes(self.dest), self.payload)

    def test_server_ignoring_range_restarts(self):
        self.server.ignore_range = True
        os.makedirs(os.path.dirname(self.dest))
        with open(self.dest + ".part", "wb") as f:
            f.write(b"garbage" * 100)
        export.download(self.url, self.sha, self.dest)
        self.assertEqual(read_bytes(self.dest), self.payload)

    def test_bad_partial_is_retried_from_scratch(self):
        os.makedirs(os.path.dirname(self.dest))
        with open(self.dest + ".part", "wb") as f:
            f.write(b"x" * 1000)  # wrong prefix: resumed file fails the hash
        export.download(self.url, self.sha, self.dest)
        self.assertEqual(self.server.requests, ["bytes=1000-", None])
        self.assertEqual(read_bytes(self.dest), self.payload)

    def test_corrupt_cache_redownloaded(self):
        os.makedirs(os.path.dirname(self.dest))
        with open(self.dest, "wb") as f:
            f.write(self.payload[:-1] + b"\0")
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            export.download(self.url, self.sha, self.dest)
        self.assertIn("wrong sha256", err.getvalue())
        self.assertEqual(self.server.requests, [None])
        self.assertEqual(read_bytes(self.dest), self.payload)

    def test_sha_mismatch(self):
        with self.assertRaisesRegex(export.ExportError, "sha256 mismatch"):
            export.download(self.url, "0" * 64, self.dest)
        self.assertFalse(os.path.exists(self.dest))
        self.assertFalse(os.path.exists(self.dest + ".part"))

    def test_named_source_downloads_and_exports(self):
        need_shared(self)
        src = os.path.join(golden_dir("tiny_vit_b32"), "model.jit.pt")
        data = read_bytes(src)
        sha = hashlib.sha256(data).hexdigest()
        self.server.payload = data
        entry = {"name": "tiny-test", "file": "tiny-test.pt", "url": self.url, "sha256": sha, "family": "vit",
                 "embed_dim": 32, "image_resolution": 224, "vision_layers": 2, "vision_width": 64,
                 "vision_patch_size": 32, "vision_heads": 1, "context_length": 77, "vocab_size": 49408,
                 "transformer_width": 64, "transformer_heads": 1, "transformer_layers": 2}
        cache = os.path.join(self.tmp.name, "cache")
        with mock.patch.object(export, "load_registry", return_value=[entry]):
            man = export.export_checkpoint("tiny-test", os.path.join(self.tmp.name, "out"), cache_dir=cache)
            self.assertEqual(man["name"], "tiny-test")
            self.assertEqual(man["source_sha256"], sha)
            self.assertTrue(os.path.isfile(os.path.join(cache, "tiny-test.pt")))
            # a registry entry whose architecture disagrees is refused
            bad = dict(entry, embed_dim=64)
            with mock.patch.object(export, "load_registry", return_value=[bad]):
                with self.assertRaisesRegex(export.ExportError, "embed_dim"):
                    export.export_checkpoint("tiny-test", os.path.join(self.tmp.name, "out2"), cache_dir=cache)


def run_cli(script, *args, env=None):
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([sys.executable, os.path.join(HERE, script)] + list(args),
                          capture_output=True, text=True, env=e, timeout=300)


class CLITest(unittest.TestCase):
    def assertOneLineError(self, res, *needles):
        self.assertEqual(res.returncode, 1, res.stderr)
        self.assertNotIn("Traceback", res.stderr)
        lines = [l for l in res.stderr.splitlines() if l.strip()]
        self.assertEqual(len(lines), 1, res.stderr)
        for n in needles:
            self.assertIn(n, lines[0])

    def test_unknown_name_lists_the_nine(self):
        with tempfile.TemporaryDirectory() as tmp:
            res = run_cli("export.py", "--checkpoint", "ViT-H/14", "--out", tmp)
            self.assertOneLineError(res, "ViT-H/14", *NINE)

    def test_truncated_and_foreign_files(self):
        need_shared(self)
        src = os.path.join(golden_dir("tiny_vit_b32"), "model.jit.pt")
        with tempfile.TemporaryDirectory() as tmp:
            data = read_bytes(src)
            cases = {
                "truncated.pt": (data[: len(data) // 2], "truncated"),
                "empty.pt": (b"", "empty"),
                "text.pt": (b"hello world\n", "not a checkpoint"),
            }
            for fname, (content, needle) in cases.items():
                with self.subTest(file=fname):
                    path = os.path.join(tmp, fname)
                    with open(path, "wb") as f:
                        f.write(content)
                    res = run_cli("export.py", "--checkpoint", path, "--out", os.path.join(tmp, "out"))
                    self.assertOneLineError(res, needle)
                    self.assertFalse(os.path.exists(os.path.join(tmp, "out", "model.pt")))

    def test_make_tiny_is_deterministic(self):
        with tempfile.TemporaryDirectory() as tmp:
            shas = []
            for i in range(2):
                out = os.path.join(tmp, "run%d" % i)
                res = run_cli("make_tiny.py", "--out", out, "--arch", "tiny-vit")
                self.assertEqual(res.returncode, 0, res.stderr)
                man = read_json(os.path.join(out, "manifest.json"))
                self.assertEqual(man["artifact_sha256"], export.sha256_file(os.path.join(out, "model.pt")))
                self.assertEqual(man["name"], "tiny-vit")
                shas.append(man["artifact_sha256"])
            self.assertEqual(shas[0], shas[1])
            m = torch.jit.load(os.path.join(tmp, "run0", "model.pt"))
            ref = random_checkpoint.random_model(random_checkpoint.arch_for("tiny-vit"), make_tiny.DEFAULT_SEED)
            images, tokens = random_checkpoint.example_inputs(random_checkpoint.arch_for("tiny-vit"), 2, 9)
            a, b = run_outputs(m, images, tokens), run_outputs(ref, images, tokens)
            for out in OUTPUTS:
                self.assertTrue(torch.equal(a[out], b[out]), out)

    def test_random_checkpoint_cli_error(self):
        with tempfile.TemporaryDirectory() as tmp:
            res = run_cli("random_checkpoint.py", "--arch", "nope", "--out", os.path.join(tmp, "x.pt"))
            self.assertOneLineError(res, "nope", "tiny-rn")


class BenchEagerTest(unittest.TestCase):
    def test_cpu_run(self):
        res = bench_eager.run("tiny-rn", "cpu", batch=2, what="text", iters=2, warmup=1)
        self.assertEqual(res["output_shape"], [2, 32])
        self.assertTrue(res["output_finite"])
        self.assertGreater(res["texts_per_s"], 0)
        self.assertEqual(res["dtype"], "fp32")
        self.assertAlmostEqual(res["texts_per_s"], 2 / (res["latency_ms"] / 1e3), places=6)


if __name__ == "__main__":
    unittest.main()
