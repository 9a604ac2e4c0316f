#!/usr/bin/python3
"""Make a deterministic set of ordinary-looking JPEG photographs for the
preprocess benchmarks (scripts/bench_preprocess.sh).

The pictures are built from the two real photographs in the shared golden
data (skimage-rocket.jpg, skimage-chelsea.png): scaled to the target size,
mirrored/tiled for variety, with mild seeded sensor-like noise so the JPEG
files have realistic entropy.  Sizes run from 640x480 to 4000x3000, landscape
and portrait, 4:2:0 (Pillow's default) and a few 4:4:4 / progressive.

Usage: /usr/bin/python3 scripts/make_photos.py [OUT_DIR]
       (default OUT_DIR: .bench/photos beside this script's repository; the
       folder is git-ignored).  Needs Pillow and numpy.
"""
import hashlib
import os
import sys

import numpy as np
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# (name, source, width, height, quality, subsampling, progressive)
PHOTOS = [
    ("p01_640x480", "rocket", 640, 480, 90, 2, False),
    ("p02_480x640", "chelsea", 480, 640, 90, 2, False),
    ("p03_800x600", "chelsea", 800, 600, 85, 2, False),
    ("p04_1024x768", "rocket", 1024, 768, 90, 2, False),
    ("p05_1280x720", "chelsea", 1280, 720, 92, 0, False),
    ("p06_1600x1200", "rocket", 1600, 1200, 88, 2, True),
    ("p07_1920x1080", "chelsea", 1920, 1080, 90, 2, False),
    ("p08_1080x1920", "rocket", 1080, 1920, 90, 2, False),
    ("p09_2048x1536", "chelsea", 2048, 1536, 90, 1, False),
    ("p10_3000x2000", "rocket", 3000, 2000, 92, 2, False),
    ("p11_3000x4000", "chelsea", 3000, 4000, 90, 2, False),
    ("p12_4000x3000", "rocket", 4000, 3000, 95, 2, False),
]


def shared_images():
    cands = [os.environ.get("GOCLIP_SHARED", ""), os.path.join(os.path.dirname(REPO), "shared")]
    for c in cands:
        d = os.path.join(c, "golden", "preprocess", "images")
        if c and os.path.isdir(d):
            return d
    sys.exit("shared/golden/preprocess/images not found (set GOCLIP_SHARED)")


def make(src, w, h, seed):
    sw, sh = src.size
    # Cover the target: scale so the source fills it, then centre-crop.
    scale = max(w / sw, h / sh)
    big = src.resize((max(w, round(sw * scale)), max(h, round(sh * scale))), Image.BICUBIC)
    bw, bh = big.size
    left, top = (bw - w) // 2, (bh - h) // 2
    img = np.asarray(big.crop((left, top, left + w, top + h)), dtype=np.float32)
    rng = np.random.RandomState(seed)
    # Mild luminance + chroma noise, a gentle vignette: camera-like texture.
    noise = rng.normal(0.0, 3.0, size=(h, w, 1)) + rng.normal(0.0, 1.5, size=(h, w, 3))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    r2 = ((xx - w / 2) / (w / 2)) ** 2 + ((yy - h / 2) / (h / 2)) ** 2
    vign = (1.0 - 0.12 * r2)[..., None]
    out = np.clip(img * vign + noise, 0, 255).round().astype(np.uint8)
    return Image.fromarray(out, "RGB")


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, ".bench", "photos")
    os.makedirs(out_dir, exist_ok=True)
    src_dir = shared_images()
    sources = {
        "rocket": Image.open(os.path.join(src_dir, "skimage-rocket.jpg")).convert("RGB"),
        "chelsea": Image.open(os.path.join(src_dir, "skimage-chelsea.png")).convert("RGB"),
    }
    for i, (name, src, w, h, q, sub, prog) in enumerate(PHOTOS):
        path = os.path.join(out_dir, name + ".jpg")
        img = make(sources[src], w, h, seed=1000 + i)
        img.save(path, "JPEG", quality=q, subsampling=sub, progressive=prog, optimize=False)
        with open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()[:16]
        print(f"{path}  {w}x{h}  q{q} sub{sub}{' progressive' if prog else ''}  sha256:{digest}")


if __name__ == "__main__":
    main()
