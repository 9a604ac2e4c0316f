#!/usr/bin/python3
"""Writes N deterministic photo-like JPEGs of one size, for folder-embedding
benchmarks (scripts/bench_pipeline.py and `clip embed --images-dir`).

Usage: make_jpegs.py OUT_DIR [--n 4096] [--size 693x520] [--quality 90] [--jobs 0]

Each image is a smooth random colour field (low-frequency noise upsampled)
with fine grain on top, so JPEG sizes and decode costs are those of ordinary
photographs rather than of flat test patterns. Needs numpy and Pillow.
"""
import argparse
import os
from multiprocessing import Pool

import numpy as np
from PIL import Image


def make_one(args):
    out, i, w, h, quality = args
    rng = np.random.default_rng(i)
    low = rng.integers(0, 256, size=(h // 32 + 2, w // 32 + 2, 3), dtype=np.uint8)
    img = Image.fromarray(low).resize((w, h), Image.BICUBIC)
    arr = np.asarray(img, dtype=np.int16)
    arr = arr + rng.integers(-12, 13, size=arr.shape, dtype=np.int16)
    Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(
        os.path.join(out, f"img{i:06d}.jpg"), quality=quality)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--n", type=int, default=4096)
    ap.add_argument("--size", default="693x520", help="WxH (0.36 megapixels by default)")
    ap.add_argument("--quality", type=int, default=90)
    ap.add_argument("--jobs", type=int, default=0, help="processes (0: all cores)")
    a = ap.parse_args()
    w, h = (int(v) for v in a.size.lower().split("x"))
    os.makedirs(a.out, exist_ok=True)
    with Pool(a.jobs or os.cpu_count()) as pool:
        pool.map(make_one, [(a.out, i, w, h, a.quality) for i in range(a.n)], chunksize=16)
    print(f"wrote {a.n} JPEGs of {w}x{h} to {a.out}")


if __name__ == "__main__":
    main()
