#!/usr/bin/python3
"""Packs a folder of images (with optional x.txt / x.json sidecars) into
WebDataset tar shards, for the collection tests and benchmarks.

Usage: make_shards.py SRC_DIR OUT_DIR [--per-shard 1000] [--captions]

Samples are the images in sorted order; the shards are OUT_DIR/00000.tar,
00001.tar, ... each holding KEY.EXT, KEY.txt and KEY.json members, where KEY
is the image's name without its extension. --captions writes a caption
"a photo number N" for images that have no .txt. Prints the brace spec.
"""
import argparse
import io
import os
import tarfile

EXTS = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff")


def add(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src")
    ap.add_argument("out")
    ap.add_argument("--per-shard", type=int, default=1000)
    ap.add_argument("--captions", action="store_true")
    a = ap.parse_args()
    files = sorted(f for f in os.listdir(a.src) if f.lower().endswith(EXTS))
    os.makedirs(a.out, exist_ok=True)
    shards = (len(files) + a.per_shard - 1) // a.per_shard
    width = max(5, len(str(shards - 1)))
    for s in range(shards):
        path = os.path.join(a.out, f"{s:0{width}d}.tar")
        with tarfile.open(path + ".tmp", "w", format=tarfile.USTAR_FORMAT) as tar:
            for n, f in enumerate(files[s * a.per_shard:(s + 1) * a.per_shard], s * a.per_shard):
                key, ext = os.path.splitext(f)
                with open(os.path.join(a.src, f), "rb") as fh:
                    add(tar, key + ext.lower(), fh.read())
                for side in (".txt", ".json"):
                    p = os.path.join(a.src, key + side)
                    if os.path.exists(p):
                        with open(p, "rb") as fh:
                            add(tar, key + side, fh.read())
                    elif side == ".txt" and a.captions:
                        add(tar, key + side, f"a photo number {n}".encode())
        os.replace(path + ".tmp", path)
    print(os.path.join(a.out, "{%0*d..%0*d}.tar" % (width, 0, width, shards - 1)))


if __name__ == "__main__":
    main()
