#!/usr/bin/python3
"""One-shot checks of the export code on a GPU machine (or any torch install).

Usage:
    device_check.py [--golden DIR] [--bench] [--json OUT]

1. torch.jit.script of clip_model under the local torch (e.g. 2.x): the
   scripted module must equal the eager module bit for bit (CPU fp32, and on
   CUDA in fp32 and in the official fp16 layout).
2. With --golden DIR (a folder holding tiny_vit_b32/ and tiny_rn/ of the
   shared goldens): the scripted artifact against the h100-torch2.11
   references: cpu_fp32, cuda_fp32 and cuda_fp16 (the official CUDA path),
   also with the TorchScript graph optimiser off (what a libtorch runtime
   that disables fusion sees).
3. With --bench: bench_eager throughput of a few configurations (eager and
   scripted, official fp16 layout on CUDA).
Prints one JSON line per result; --json also writes them to a file.
"""

import argparse
import gzip
import io
import json
import os
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export  # noqa: E402
import random_checkpoint  # noqa: E402
import bench_eager  # noqa: E402

clip_model = export.clip_model
import numpy as np  # noqa: E402
import torch  # noqa: E402

OUTPUTS = ("encode_image", "encode_text", "logits_per_image", "logits_per_text")
RESULTS = []


def emit(**kw):
    RESULTS.append(kw)
    print(json.dumps(kw), flush=True)


def outputs(model, images, tokens):
    with torch.no_grad():
        lpi, lpt = model(images, tokens)
        return {"encode_image": model.encode_image(images), "encode_text": model.encode_text(tokens),
                "logits_per_image": lpi, "logits_per_text": lpt}


def diffs(a, b):
    return {k: float((a[k].float().cpu().double() - torch.as_tensor(b[k]).float().cpu().double()).abs().max())
            for k in OUTPUTS}


def script_vs_eager(label, arch_name_or_sd, device, half):
    """Scripted vs eager on one device/layout; returns the scripted module."""
    if isinstance(arch_name_or_sd, str):
        arch = random_checkpoint.arch_for(arch_name_or_sd)
        eager = random_checkpoint.random_model(arch, 5)
    else:
        eager, arch = export.build_loaded_model(export.clean_state_dict(arch_name_or_sd))
    with tempfile.TemporaryDirectory() as tmp:
        export.save_scripted(eager, tmp)
        scripted = torch.jit.load(os.path.join(tmp, "model.pt"), map_location="cpu")
    scripted.eval()
    eager = eager.to(device)
    scripted = scripted.to(device)
    if half:
        clip_model.apply_half_layout(eager)
        names = clip_model.half_param_names(eager)
        params = dict(scripted.named_parameters())
        with torch.no_grad():
            for n in names:
                params[n].data = params[n].data.half()
    images, tokens = random_checkpoint.example_inputs(arch, 3, 1)
    images, tokens = images.to(device), tokens.to(device)
    a, b = outputs(eager, images, tokens), outputs(scripted, images, tokens)
    b2 = outputs(scripted, images, tokens)
    b3 = outputs(scripted, images, tokens)  # after profiling runs: optimised graph
    emit(check="script_vs_eager", model=label, device=device, layout="fp16-official" if half else "fp32",
         first_call=diffs(a, b), third_call=diffs(a, b3), second_vs_first=diffs(b, b2),
         dtype_out=str(b["encode_image"].dtype))
    return scripted


def golden_checks(golden):
    for name in ("tiny_vit_b32", "tiny_rn"):
        d = os.path.join(golden, name)
        if not os.path.isdir(d):
            emit(check="golden", model=name, error="missing " + d)
            continue
        with gzip.open(os.path.join(golden, "tiny_vit_b32", "input_images.f32.npy.gz"), "rb") as f:
            images = torch.from_numpy(np.load(io.BytesIO(f.read())))
        tokens = torch.from_numpy(np.load(os.path.join(d, "input_text_tokens.npy")))
        sd, _ = export.read_state_dict(os.path.join(d, "model.jit.pt"))
        with tempfile.TemporaryDirectory() as tmp:
            man = export.export_state_dict(sd, tmp, name=name)
            art = os.path.join(tmp, "model.pt")
            ref_dir = os.path.join(d, "h100-torch2.11")
            cpu_ref = {k: np.load(os.path.join(d, k + ".npy")) for k in OUTPUTS}
            m = torch.jit.load(art, map_location="cpu").eval()
            got = outputs(m, images, tokens)
            emit(check="golden", model=name, device="cpu", ref="torch1.13 cpu goldens", maxdiff=diffs(got, cpu_ref))
            if os.path.isdir(ref_dir):
                ref = {k: np.load(os.path.join(ref_dir, "cpu_fp32_" + k + ".npy")) for k in OUTPUTS}
                emit(check="golden", model=name, device="cpu", ref="cpu_fp32 (torch2.11)", maxdiff=diffs(got, ref))
            if not torch.cuda.is_available() or not os.path.isdir(ref_dir):
                continue
            for layout in ("fp32", "fp16"):
                ref = {k: np.load(os.path.join(ref_dir, "cuda_%s_%s.npy" % (layout, k))) for k in OUTPUTS}
                for optimize in (True, False):
                    m = torch.jit.load(art, map_location="cpu").eval().to("cuda")
                    if layout == "fp16":
                        params = dict(m.named_parameters())
                        with torch.no_grad():
                            for n in man["half_params"]:
                                params[n].data = params[n].data.half()
                    with torch.jit.optimized_execution(optimize):
                        runs = [outputs(m, images.cuda(), tokens.cuda()) for _ in range(3)]
                    emit(check="golden", model=name, device="cuda", layout=layout, jit_optimize=optimize,
                         ref="cuda_%s (torch2.11 eager official)" % layout,
                         maxdiff_call1=diffs(runs[0], ref), maxdiff_call3=diffs(runs[2], ref))
                # eager module of the same code, as a control
                eager, _ = export.build_loaded_model(export.clean_state_dict(sd))
                eager = eager.to("cuda")
                if layout == "fp16":
                    clip_model.apply_half_layout(eager)
                got = outputs(eager, images.cuda(), tokens.cuda())
                emit(check="golden", model=name, device="cuda", layout=layout, module="eager clip_model",
                     ref="cuda_%s" % layout, maxdiff=diffs(got, ref))


def bench(device):
    confs = [("ViT-B/32", "image", 64), ("ViT-B/32", "text", 64), ("RN50", "image", 64), ("ViT-L/14", "image", 32)]
    if device == "cpu":
        confs = [("tiny-vit", "image", 4)]
    for arch, what, batch in confs:
        for mode, opt in (("eager", True), ("script", True), ("script", False)):
            try:
                emit(check="bench", **bench_eager.run(arch, device, batch, what, iters=10, warmup=3, mode=mode,
                                                      jit_optimize=opt))
            except Exception as e:  # keep going: this is a one-shot report
                emit(check="bench", arch=arch, what=what, mode=mode, error=str(e).splitlines()[0][:300])
            if device == "cuda":
                torch.cuda.empty_cache()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--golden")
    ap.add_argument("--bench", action="store_true")
    ap.add_argument("--json")
    args = ap.parse_args()
    t0 = time.time()
    cuda = torch.cuda.is_available()
    emit(check="env", torch=torch.__version__, cuda=cuda, gpu=torch.cuda.get_device_name() if cuda else None,
         cudnn=torch.backends.cudnn.version() if cuda else None, threads=torch.get_num_threads())
    steps = [("script_vs_eager", lambda: [script_vs_eager(a, a, dev, half)
                                          for a in ("tiny-vit", "tiny-rn")
                                          for dev, half in ([("cpu", False)] + ([("cuda", False), ("cuda", True)] if cuda else []))])]
    if args.golden:
        steps.append(("golden", lambda: golden_checks(args.golden)))
    if args.bench:
        steps.append(("bench", lambda: bench("cuda" if cuda else "cpu")))
    for label, fn in steps:
        try:
            fn()
        except Exception:
            emit(check=label, error=traceback.format_exc()[-2000:])
    emit(check="done", seconds=round(time.time() - t0, 1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(RESULTS, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
