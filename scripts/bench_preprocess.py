#!/usr/bin/python3
"""Benchmark the official CLIP preprocessing on one core.

The pipeline is exactly clip.clip._transform(n_px) applied to
PIL.Image.open(path):
    Compose([Resize(n_px, interpolation=BICUBIC), CenterCrop(n_px),
             _convert_image_to_rgb, ToTensor(),
             Normalize((0.48145466, 0.4578275, 0.40821073),
                       (0.26862954, 0.26130258, 0.27577711))])
built from torchvision directly (the clip package need not be installed).

Usage: /usr/bin/python3 scripts/bench_preprocess.py [--size N] [--min-time S]
           [--breakdown] FILE_OR_DIR...
Prints images/s and megapixels/s (source pixels) over all files, by wall
clock and by process CPU time (stable on a busy machine), and per file with
--breakdown (CPU time of open+decode / resize / rest).  Runs on one core: torch and
OpenMP are limited to one thread.
"""
import argparse
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402
from PIL import Image  # noqa: E402
from torchvision.transforms import (CenterCrop, Compose, InterpolationMode,  # noqa: E402
                                    Normalize, Resize, ToTensor)

torch.set_num_threads(1)


def _convert_image_to_rgb(image):
    return image.convert("RGB")


def transform(n_px):
    return Compose([
        Resize(n_px, interpolation=InterpolationMode.BICUBIC),
        CenterCrop(n_px),
        _convert_image_to_rgb,
        ToTensor(),
        Normalize((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)),
    ])


def files_of(args):
    out = []
    for p in args:
        if os.path.isdir(p):
            out += sorted(os.path.join(p, f) for f in os.listdir(p)
                          if os.path.isfile(os.path.join(p, f)))
        else:
            out.append(p)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--min-time", type=float, default=3.0, help="seconds per measurement")
    ap.add_argument("--breakdown", action="store_true")
    ap.add_argument("paths", nargs="+")
    a = ap.parse_args()
    try:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    except (AttributeError, OSError):
        pass
    files = files_of(a.paths)
    tf = transform(a.size)
    datas = {}
    pixels = 0
    for f in files:
        with open(f, "rb") as fh:
            datas[f] = fh.read()
        with Image.open(f) as im:
            pixels += im.size[0] * im.size[1]
    import io

    def run_all():
        for f in files:
            tf(Image.open(io.BytesIO(datas[f])))

    run_all()  # warm up
    n = 0
    t0 = time.perf_counter()
    c0 = time.process_time()
    while True:
        run_all()
        n += 1
        el = time.perf_counter() - t0
        if el >= a.min_time:
            break
    cpu = time.process_time() - c0
    per_round = el / n
    cpu_round = cpu / n
    print(f"python official pipeline (Pillow {Image.__version__}, torch {torch.__version__}, 1 thread), "
          f"n_px={a.size}: {len(files)} files x {n} rounds: "
          f"wall {len(files) / per_round:.1f} images/s, {pixels / 1e6 / per_round:.1f} MP/s, "
          f"{per_round / len(files) * 1e3:.2f} ms/image; "
          f"cpu {len(files) / cpu_round:.1f} images/s, {pixels / 1e6 / cpu_round:.1f} MP/s")
    if a.breakdown:
        for f in files:
            reps = 0
            td = tr = tt = 0.0
            t_start = time.perf_counter()
            while time.perf_counter() - t_start < max(0.3, a.min_time / len(files)):
                t0 = time.process_time()
                im = Image.open(io.BytesIO(datas[f]))
                im.load()
                t1 = time.process_time()
                im2 = tf.transforms[0](im)
                t2 = time.process_time()
                x = tf.transforms[1](im2)
                for t in tf.transforms[2:]:
                    x = t(x)
                t3 = time.process_time()
                td += t1 - t0
                tr += t2 - t1
                tt += t3 - t2
                reps += 1
            print(f"  {os.path.basename(f):28s} {im.size[0]}x{im.size[1]} {im.mode:5s} "
                  f"decode {td / reps * 1e3:7.2f} ms  resize {tr / reps * 1e3:7.2f} ms  "
                  f"rest {tt / reps * 1e3:6.2f} ms  total {(td + tr + tt) / reps * 1e3:7.2f} ms")


if __name__ == "__main__":
    sys.exit(main())
