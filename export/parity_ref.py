#!/usr/bin/python3
"""Reference side of `clip parity`: CLIP in PyTorch on the ORIGINAL checkpoint.

Usage:
    parity_ref.py REQUEST.json OUTDIR

REQUEST.json (written by goclip) holds:
    checkpoint     the original checkpoint file (official release or state_dict)
    images         image file paths, in order
    texts          texts, in order
    tokens         an int64 [len(texts), context] .npy of goclip's token ids,
                   used only when the official package is not importable
    device         "cpu", "cuda" or "cuda:N"
    precision      "fp32" or "fp16"

The model comes from the official `clip` package (github.com/openai/CLIP)
when `import clip` works: clip.load(checkpoint, device, jit=False), its
preprocess and clip.tokenize. Otherwise the project's own export module
(clip_model.py, the same code export.py scripts) is built eagerly from the
checkpoint's weights, images go through the same Pillow + torchvision
transform as clip.clip._transform, and token ids cannot be checked (the
project has no Python tokenizer): the text encoder then runs on goclip's ids.

OUTDIR receives tokens.npy (official package only), pixels.npy,
encode_image.npy, encode_text.npy, logits_per_image.npy, probs.npy
(logits_per_image.softmax(dim=-1), the reference README's zero-shot
probabilities) and info.json (versions, and what each reference was).
All images run as one batch and all texts as another, as goclip runs them.

Exit status 0 on success; 3 when torch (or numpy, Pillow, torchvision) cannot
be imported; 1 on other errors, with one line on stderr.
"""

import json
import os
import platform
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
EXIT_MISSING = 3


def fail(msg, code=1):
    print("parity_ref: error: %s" % msg, file=sys.stderr)
    sys.exit(code)


try:
    import torch
    import numpy as np
except ImportError as e:
    fail("%s cannot import %s (%s); point GOCLIP_PYTHON at a Python with torch installed"
         % (sys.executable, e.name or "a module", e), EXIT_MISSING)

MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)


def transform(n_px):
    """clip.clip._transform(n_px), rebuilt from Pillow and torchvision."""
    try:
        from PIL import Image
        from torchvision.transforms import CenterCrop, Compose, InterpolationMode, Normalize, Resize, ToTensor
    except ImportError as e:
        fail("%s cannot import %s (%s); install Pillow and torchvision (Debian: python3-pil python3-torchvision)"
             % (sys.executable, e.name or "a module", e), EXIT_MISSING)
    return Compose([
        Resize(n_px, interpolation=InterpolationMode.BICUBIC),
        CenterCrop(n_px),
        lambda image: image.convert("RGB"),
        ToTensor(),
        Normalize(MEAN, STD),
    ])


def open_image(path):
    from PIL import Image
    try:
        return Image.open(path)
    except (OSError, ValueError) as e:
        fail("%s: %s" % (path, e))


def load_official(clip, req, device):
    how = "clip.load(checkpoint, jit=False) of the official package"
    try:
        model, preprocess = clip.load(req["checkpoint"], device=device, jit=False)
    except Exception:  # clip.load reads only TorchScript archives with some torch versions
        sys.path.insert(0, HERE)
        import export
        from clip.model import build_model
        try:
            sd, _ = export.read_state_dict(req["checkpoint"])
        except export.ExportError as e:
            fail(str(e))
        model = build_model(dict(sd)).to(device)
        if device == "cpu":
            model.float()
        preprocess = clip.clip._transform(model.visual.input_resolution)
        how = "clip.model.build_model of the official package on the checkpoint's state_dict (clip.load cannot read this file)"
    if req["precision"] == "fp32":
        model = model.float()
    model.eval()
    res = model.visual.input_resolution
    tokens = clip.tokenize(req["texts"], context_length=model.context_length, truncate=True)
    return model, preprocess, tokens, {
        "implementation": "official clip package (%s)" % os.path.dirname(clip.__file__),
        "model": how,
        "tokens": "clip.tokenize(truncate=True) of the official package",
        "pixels": "clip.clip._transform of the official package (Pillow + torchvision)",
        "resolution": res,
    }


def load_project(req, device):
    sys.path.insert(0, HERE)
    import export  # the project's export module: reads checkpoints like export.py
    try:
        sd, _ = export.read_state_dict(req["checkpoint"])
        model, arch = export.build_loaded_model(export.clean_state_dict(sd))
    except export.ExportError as e:
        fail(str(e))
    if req["precision"] == "fp16":
        export.clip_model.apply_half_layout(model)
    model = model.to(device).eval()
    tokens = torch.from_numpy(np.load(req["tokens"])).long()
    return model, transform(arch["image_resolution"]), tokens, {
        "implementation": "project export module (export/clip_model.py, eager); the official clip package is not importable",
        "model": "export/clip_model.py (eager, the code export.py scripts) with the checkpoint's weights",
        "tokens": None,
        "pixels": "Pillow + torchvision, the composition of clip.clip._transform",
        "resolution": arch["image_resolution"],
    }


def main(argv):
    if len(argv) != 2:
        fail("usage: parity_ref.py REQUEST.json OUTDIR", 2)
    with open(argv[0], "r", encoding="utf-8") as f:
        req = json.load(f)
    out = argv[1]
    device = req.get("device") or "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        fail("device %s requested but this torch (%s) sees no CUDA device" % (device, torch.__version__))
    torch.set_grad_enabled(False)
    try:
        import clip  # the official package, when installed
        if not hasattr(clip, "tokenize") or not hasattr(clip, "load"):
            clip = None
    except ImportError:
        clip = None
    if clip is not None:
        model, preprocess, tokens, info = load_official(clip, req, device)
    else:
        model, preprocess, tokens, info = load_project(req, device)
    if tokens.shape[0] != len(req["texts"]):
        fail("%d token rows for %d texts" % (tokens.shape[0], len(req["texts"])))

    pixels = torch.stack([preprocess(open_image(p)) for p in req["images"]])
    img = model.encode_image(pixels.to(device))
    txt = model.encode_text(tokens.to(device))
    logits_per_image, _ = model(pixels.to(device), tokens.to(device))
    probs = logits_per_image.softmax(dim=-1)

    def save(name, t):
        np.save(os.path.join(out, name + ".npy"), t.detach().float().cpu().numpy())

    if info["tokens"] is not None:
        np.save(os.path.join(out, "tokens.npy"), tokens.long().cpu().numpy())
    save("pixels", pixels)
    save("encode_image", img)
    save("encode_text", txt)
    save("logits_per_image", logits_per_image)
    save("probs", probs)

    info.update({
        "python": sys.version.split()[0],
        "python_executable": sys.executable,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "device": device,
        "device_name": torch.cuda.get_device_name(torch.device(device)) if device.startswith("cuda") else platform.processor() or platform.machine(),
        "precision": req["precision"],
        "torch_threads": torch.get_num_threads(),
    })
    try:
        import torchvision
        info["torchvision"] = torchvision.__version__
    except ImportError:
        pass
    try:
        import PIL
        info["pillow"] = PIL.__version__
    except ImportError:
        pass
    with open(os.path.join(out, "info.json"), "w", encoding="utf-8") as f:
        json.dump(info, f, indent=1)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except Exception as e:  # torch errors: one line, not a C++ trace
        s = str(e).strip()
        fail(s.splitlines()[0][:300] if s else type(e).__name__)
