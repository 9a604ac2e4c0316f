#!/usr/bin/python3
"""The PyTorch side of `clip parity`: run the reference CLIP on the inputs.

Usage:
    parity_ref.py --checkpoint F --images-list L --texts-file T --device D
                  --precision P --out DIR [--tokens-npy X] [--threads N]

F is the ORIGINAL checkpoint (an official TorchScript release or a state_dict),
L a file of image paths and T a file of texts, one a line. The reference is the
official `clip` package (github.com/openai/CLIP) when it is importable:
clip.load(F, device=D, jit=False), clip.tokenize(texts, truncate=True) and its
preprocess transform. Otherwise it is this project's export module
(export.py's read_state_dict and build_loaded_model, the official module tree)
with the official _transform rebuilt from torchvision and PIL; there is then
no Python tokenizer, so the texts are encoded from goclip's token ids
(--tokens-npy) and tokens.npy is not written.

All images go through the model in ONE batch and all texts in ONE batch.
DIR receives tokens.npy (official package only), pixels.npy,
image_features.npy, text_features.npy, logits_per_image.npy, probs.npy
(float32; probs = logits_per_image.softmax(dim=-1)) and meta.json (versions).

Exit status: 0 done; 3 a dependency is missing (torch, torchvision, PIL,
numpy); 1 any other error. Errors are one line on stderr.
"""

import argparse
import json
import os
import platform
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)


class RefError(Exception):
    """A user-facing error: one line on stderr, exit 1 (or its code)."""

    def __init__(self, msg, code=1):
        super().__init__(msg)
        self.code = code


def need(module, package):
    """Import module or raise RefError with exit status 3 naming package."""
    try:
        return __import__(module)
    except ImportError as e:
        raise RefError("%s is not importable by %s (%s); install %s" % (module, sys.executable, e, package), 3) from None


def official_clip():
    """The official clip package, or None when it is not importable."""
    try:
        import clip  # noqa: F401
    except ImportError:
        return None
    if not (hasattr(clip, "load") and hasattr(clip, "tokenize")):
        return None  # some other package or folder called clip
    return clip


def cpu_name():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def read_lines(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f if line.rstrip("\n") != ""]


def official_transform(n_px):
    """The official clip._transform, built from torchvision and PIL."""
    need("PIL", "Pillow (Debian: python3-pil)")
    need("torchvision", "torchvision (Debian: python3-torchvision)")
    from torchvision.transforms import CenterCrop, Compose, InterpolationMode, Normalize, Resize, ToTensor
    return Compose([
        Resize(n_px, interpolation=InterpolationMode.BICUBIC),
        CenterCrop(n_px),
        lambda image: image.convert("RGB"),
        ToTensor(),
        Normalize(MEAN, STD),
    ])


def load_reference(args, torch):
    """(model, preprocess, tokenize or None, reference description)."""
    clip = official_clip()
    device = args.device
    if clip is not None:
        model, preprocess = clip.load(args.checkpoint, device=device, jit=False)
        if args.precision == "fp32":
            model = model.float()
        model.eval()
        version = "unknown"
        try:
            from importlib import metadata
            version = metadata.version("clip")
        except Exception:  # not installed as a distribution
            pass
        ctx = int(getattr(model, "context_length", 77))
        return model, preprocess, lambda texts: clip.tokenize(texts, context_length=ctx, truncate=True), "openai clip " + version
    sys.path.insert(0, HERE)
    import export  # the project's export module (official module tree)
    try:
        sd, _kind = export.read_state_dict(args.checkpoint)
        model, arch = export.build_loaded_model(export.clean_state_dict(sd))
    except export.ExportError as e:
        raise RefError(str(e)) from None
    if args.precision == "fp16":
        export.clip_model.apply_half_layout(model)  # the official CUDA layout
    model = model.to(device).eval()
    return model, official_transform(arch["image_resolution"]), None, "goclip export module"


def main(argv=None):
    ap = argparse.ArgumentParser(description="Reference side of `clip parity`.")
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--images-list", required=True)
    ap.add_argument("--texts-file", required=True)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", choices=("fp32", "fp16"), default="fp32")
    ap.add_argument("--out", required=True)
    ap.add_argument("--tokens-npy", help="token ids to encode when the official tokenizer is absent")
    ap.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    torch = need("torch", "PyTorch (Debian: python3-torch; or pip install torch)")
    np = need("numpy", "numpy (Debian: python3-numpy)")
    args = ap.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise RefError("device %s: this torch (%s) sees no CUDA device" % (args.device, torch.__version__))
    if args.precision == "fp16" and not args.device.startswith("cuda"):
        raise RefError("fp16 needs a CUDA device, as in the reference's clip.load")
    images = read_lines(args.images_list)
    texts = read_lines(args.texts_file)
    if not images or not texts:
        raise RefError("no images or no texts given")

    model, preprocess, tokenize, reference = load_reference(args, torch)
    from PIL import Image
    pix = []
    for p in images:
        try:
            with Image.open(p) as im:
                pix.append(preprocess(im))
        except OSError as e:
            raise RefError("%s: %s" % (p, e)) from None
    pixels = torch.stack(pix)
    if tokenize is not None:
        tokens = tokenize(texts)
    elif args.tokens_npy:
        tokens = torch.from_numpy(np.load(args.tokens_npy).astype(np.int64))
    else:
        raise RefError("the official clip package is not importable and no --tokens-npy was given")

    dev = torch.device(args.device)
    with torch.no_grad():
        px, tk = pixels.to(dev), tokens.to(dev)
        image_features = model.encode_image(px)
        text_features = model.encode_text(tk)
        logits_per_image, _ = model(px, tk)
        probs = logits_per_image.softmax(dim=-1)

    os.makedirs(args.out, exist_ok=True)

    def save(name, t):
        np.save(os.path.join(args.out, name + ".npy"), t.detach().cpu().float().numpy())

    if tokenize is not None:
        np.save(os.path.join(args.out, "tokens.npy"), tokens.cpu().numpy().astype(np.int64))
    save("pixels", pixels)
    save("image_features", image_features)
    save("text_features", text_features)
    save("logits_per_image", logits_per_image)
    save("probs", probs)

    tv = None
    try:
        import torchvision
        tv = torchvision.__version__
    except ImportError:
        pass
    meta = {
        "reference": reference,
        "official_tokenizer": tokenize is not None,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": tv,
        "cuda": torch.version.cuda,
        "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else cpu_name(),
        "threads": torch.get_num_threads(),
    }
    with open(os.path.join(args.out, "meta.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except RefError as e:
        print("parity_ref: error: %s" % e, file=sys.stderr)
        sys.exit(e.code)
    except KeyboardInterrupt:
        sys.exit(130)
    except (OSError, RuntimeError, ValueError) as e:
        s = str(e).strip()
        print("parity_ref: error: %s" % ((s.splitlines()[0] if s else type(e).__name__)[:300]), file=sys.stderr)
        sys.exit(1)
