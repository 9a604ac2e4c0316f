#!/usr/bin/python3
"""The official Python way to embed a folder of images, as a baseline for
`clip embed --images-dir`: a torch DataLoader whose workers open each file
with Pillow and apply the reference's transform (Resize(n, BICUBIC),
CenterCrop(n), convert("RGB"), ToTensor, Normalize(CLIP mean, std)), batches
sent to the model (the project's module code with random weights at the
official shapes; on CUDA the official fp16 layout).

Usage: bench_pipeline.py DIR --arch ViT-B/32 [--device cuda] [--batch 256]
                         [--workers 16] [--model-off]

Prints one JSON object: files, seconds, images_per_s. --model-off times the
data loading alone.
"""
import argparse
import glob
import json
import os
import sys
import time

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "export"))
import random_checkpoint  # noqa: E402
import export  # noqa: E402
from parity_ref import transform  # noqa: E402  (the reference's clip._transform)

clip_model = export.clip_model


class Files(Dataset):
    def __init__(self, files, n_px):
        self.files, self.tf = files, transform(n_px)

    def __len__(self):
        return len(self.files)

    def __getitem__(self, i):
        return self.tf(Image.open(self.files[i]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--arch", default="ViT-B/32")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--workers", type=int, default=os.cpu_count())
    ap.add_argument("--model-off", action="store_true")
    a = ap.parse_args()
    files = sorted(glob.glob(os.path.join(a.dir, "*.jpg")))
    arch = random_checkpoint.arch_for(a.arch)
    model = random_checkpoint.random_model(arch, 0).to(a.device).eval()
    if a.device.startswith("cuda"):
        clip_model.apply_half_layout(model)
    loader = DataLoader(Files(files, arch["image_resolution"]), batch_size=a.batch,
                        num_workers=a.workers, pin_memory=a.device.startswith("cuda"))
    t0 = time.perf_counter()
    n = 0
    with torch.no_grad():
        for x in loader:
            if not a.model_off:
                f = model.encode_image(x.to(a.device, non_blocking=True))
                f.float().cpu()
            n += x.shape[0]
    dt = time.perf_counter() - t0
    print(json.dumps({"baseline": "python DataLoader + Pillow + official transform", "arch": a.arch,
                      "device": a.device, "workers": a.workers, "batch": a.batch, "files": n,
                      "seconds": round(dt, 3), "images_per_s": round(n / dt, 1)}))


if __name__ == "__main__":
    main()
