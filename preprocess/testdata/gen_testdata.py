#!/usr/bin/python3
"""Regenerate preprocess/testdata: small synthetic images written by Pillow 9.4
and the reference outputs of the official pipeline for them and for a set of
byte-level mutations of the shared golden images.

Run from the repository root with Debian's /usr/bin/python3 (Pillow 9.4,
torchvision 0.14, numpy):  /usr/bin/python3 preprocess/testdata/gen_testdata.py
It rewrites preprocess/testdata/*.{png,gif,jpg,bmp,tif,webp} and
preprocess/testdata/expected.json. Nothing here is derived from the code
under test.

expected.json maps a case name to "OK:<sha256 of the uint8 [n,n,3] array
np.asarray(CenterCrop(n)(Resize(n, BICUBIC)(img)).convert('RGB'))>:<mode>"
or "ERR:<Python exception type>", with n = 64.
"""
import hashlib
import io
import json
import os
import warnings

import numpy as np
from PIL import Image
from torchvision.transforms import CenterCrop, InterpolationMode, Resize

warnings.simplefilter("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
N = 64
resize, crop = Resize(N, interpolation=InterpolationMode.BICUBIC), CenterCrop(N)


def expect(b):
    try:
        im = Image.open(io.BytesIO(b))
        mode = im.mode
        a = np.asarray(crop(resize(im)).convert("RGB"))
        return "OK:" + hashlib.sha256(a.tobytes()).hexdigest() + ":" + mode
    except Exception as e:  # noqa: BLE001 - the error class is the result
        return "ERR:" + type(e).__name__


def save(im, fmt, **kw):
    b = io.BytesIO()
    im.save(b, fmt, **kw)
    return b.getvalue()


def main():
    rng = np.random.RandomState(2024)
    w, h = 45, 29
    yy, xx = np.mgrid[0:h, 0:w]
    a = np.stack([xx * 255 // (w - 1), yy * 255 // (h - 1), (xx * 5 + yy * 11) % 256], -1).astype(float)
    a = np.clip(a + rng.normal(0, 10, a.shape), 0, 255).astype(np.uint8)
    rgb = Image.fromarray(a, "RGB")
    alpha = np.full((h, w), 255, np.uint8)
    alpha[:, :10] = 0            # fully transparent band
    alpha[:, 10:20] = 128        # half transparent band
    alpha[5:9, 30:40] = 7
    rgba = rgb.copy()
    rgba.putalpha(Image.fromarray(alpha, "L"))
    gray = rgb.convert("L")
    la = gray.copy()
    la.putalpha(Image.fromarray(alpha, "L"))
    pal = rgb.convert("P", palette=Image.ADAPTIVE, colors=23)
    i16 = Image.fromarray((a[..., 0].astype(np.uint16) * 3))  # mostly below 255
    files = {
        "rgba.png": save(rgba, "PNG"),
        "la.png": save(la, "PNG"),
        "p-trns.png": save(pal, "PNG", transparency=bytes(range(0, 230, 10))),
        "p-2bit.png": save(rgb.convert("P", palette=Image.ADAPTIVE, colors=4), "PNG", bits=2),
        "bilevel.png": save(gray.convert("1"), "PNG"),
        "i16.png": save(i16, "PNG"),
        "gray.gif": save(gray, "GIF"),
        "pal.gif": save(pal, "GIF", transparency=5),
        "rgb.bmp": save(rgb, "BMP"),
        "pal.bmp": save(pal, "BMP"),
        "rgba.tif": save(rgba, "TIFF"),
        "bilevel.tif": save(gray.convert("1"), "TIFF"),
        "lossy.webp": save(rgb, "WEBP", quality=70),
        "lossy-alpha.webp": save(rgba, "WEBP", quality=70),
        "lossless.webp": save(rgba, "WEBP", lossless=True),
        "q80-444.jpg": save(rgb, "JPEG", quality=80, subsampling=0),
        "cmyk.jpg": save(rgb.convert("CMYK"), "JPEG", quality=85),
        "progressive.jpg": save(rgb, "JPEG", quality=85, progressive=True),
        # Tall images: the streaming JPEG path skips rows above and below
        # the crop window, where Pillow still decodes (and checks) them.
        "portrait.jpg": save(rgb.transpose(Image.TRANSPOSE).resize((45, 200)), "JPEG", quality=90),
        "portrait-progressive.jpg": save(rgb.transpose(Image.TRANSPOSE).resize((45, 200)), "JPEG",
                                         quality=90, progressive=True),
    }
    out = {}
    for name, b in sorted(files.items()):
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(b)
        out[name] = expect(b)
    # Mutations of the shared golden images and of the files above (applied
    # again by the Go test).
    gdir = os.path.join(os.path.dirname(REPO), "shared", "golden", "preprocess", "images")
    muts = json.load(open(os.path.join(HERE, "mutations.json")))
    for m in muts:
        src = os.path.join(HERE, m["file"]) if m.get("testdata") else os.path.join(gdir, m["file"])
        d = bytearray(open(src, "rb").read())
        if "truncate" in m:
            d = d[: m["truncate"]]
        for pos, val in m.get("set", []):
            d[pos] = val
        out[m["name"]] = expect(bytes(d))
    with open(os.path.join(HERE, "expected.json"), "w") as f:
        json.dump(out, f, indent=1, sort_keys=True)
        f.write("\n")
    for k, v in sorted(out.items()):
        print(k, v[:40])


if __name__ == "__main__":
    main()
