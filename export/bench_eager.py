#!/usr/bin/python3
"""PyTorch throughput of the CLIP module code, for comparison with goclip.

Usage:
    bench_eager.py --arch NAME --device cuda|cpu --batch B --what image|text --iters K
                   [--warmup W] [--mode eager|script] [--jit-optimize on|off]
                   [--dtype auto|fp16|fp32] [--seed S]

Random weights at the official shapes (random_checkpoint.py). On CUDA the
default dtype "auto" is the official layout (convert_weights parameters in
float16, LayerNorm/BatchNorm/embeddings float32, as clip.load on CUDA); on
the CPU it is float32. --mode script runs torch.jit.script of the same
module, as goclip does. Prints one JSON object: images_per_s or texts_per_s,
latency_ms (mean per batch), latency_ms_p50, and the settings.
"""

import argparse
import json
import os
import statistics
import sys
import time
from typing import List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import export  # noqa: E402
import random_checkpoint  # noqa: E402

clip_model = export.clip_model
import torch  # noqa: E402


def run(arch_name: str, device: str, batch: int, what: str, iters: int, warmup: int = 3,
        mode: str = "eager", dtype: str = "auto", seed: int = 0, jit_optimize: bool = True, host_inputs: bool = False) -> dict:
    """Benchmark one configuration; returns the result dict.

    jit_optimize=False runs a scripted module with the graph executor's
    optimisations (profiling, fusion) off, as a runtime that needs the eager
    numerics must (fused fp16 elementwise kernels round differently)."""
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("CUDA is not available")
    if batch < 1 or iters < 1 or warmup < 0:
        raise ValueError("batch and iters must be >= 1, warmup >= 0")
    arch = random_checkpoint.arch_for(arch_name)
    model = random_checkpoint.random_model(arch, seed).to(device)
    half = dtype == "fp16" or (dtype == "auto" and device == "cuda")
    if half:
        clip_model.apply_half_layout(model)
    if mode == "script":
        model = torch.jit.script(model)
    images, tokens = random_checkpoint.example_inputs(arch, batch, seed)
    if host_inputs:
        # Inputs start in (pageable) host memory each call, as they do for
        # an API that takes host arrays: the copy to the device is timed.
        fn = ((lambda: model.encode_image(images.to(device)).float().cpu()) if what == "image"
              else (lambda: model.encode_text(tokens.to(device)).float().cpu()))
    else:
        images, tokens = images.to(device), tokens.to(device)
        fn = (lambda: model.encode_image(images)) if what == "image" else (lambda: model.encode_text(tokens))

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    times = []
    with torch.no_grad(), torch.jit.optimized_execution(jit_optimize):
        for _ in range(warmup):
            fn()
        sync()
        for _ in range(iters):
            t0 = time.perf_counter()
            out = fn()
            sync()
            times.append(time.perf_counter() - t0)
    mean = sum(times) / len(times)
    key = "images_per_s" if what == "image" else "texts_per_s"
    res = {
        "arch": arch_name, "device": device, "what": what, "batch": batch, "iters": iters, "warmup": warmup,
        "mode": mode, "jit_optimize": jit_optimize if mode == "script" else None, "dtype": "fp16-official-layout" if half else "fp32",
        key: batch / mean, "latency_ms": mean * 1e3, "latency_ms_p50": statistics.median(times) * 1e3,
        "output_shape": list(out.shape), "output_finite": bool(torch.isfinite(out).all()),
        "host_inputs": host_inputs, "torch_version": torch.__version__, "threads": torch.get_num_threads(),
    }
    if device == "cuda":
        res["gpu"] = torch.cuda.get_device_name()
    return res


def main(argv: Optional[List[str]] = None) -> int:
    """CLI entry point; returns the exit status."""
    ap = argparse.ArgumentParser(description="Eager PyTorch CLIP throughput.")
    ap.add_argument("--arch", required=True, help="one of: " + ", ".join(random_checkpoint.arch_names()))
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--what", default="image", choices=["image", "text"])
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--mode", default="eager", choices=["eager", "script"])
    ap.add_argument("--dtype", default="auto", choices=["auto", "fp16", "fp32"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    ap.add_argument("--host-inputs", action="store_true",
                    help="start every call from host memory and copy the features back (like goclip's API)")
    ap.add_argument("--jit-optimize", default="on", choices=["on", "off"],
                    help="graph executor optimisations for --mode script (off = eager numerics)")
    args = ap.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    try:
        res = run(args.arch, args.device, args.batch, args.what, args.iters, args.warmup,
                  args.mode, args.dtype, args.seed, args.jit_optimize == "on", args.host_inputs)
    except (ValueError, RuntimeError) as e:
        print("bench_eager: error: %s" % export._first_line(e), file=sys.stderr)
        return 1
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
