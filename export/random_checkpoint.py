#!/usr/bin/python3
"""Write a random CLIP checkpoint with the official shapes and dtypes.

Usage:
    random_checkpoint.py --arch NAME --out FILE [--format state_dict|jit] [--seed S]

NAME is one of the nine official models of clip/models.json, or "tiny-vit" /
"tiny-rn" (small models of the official architecture with the real vocabulary
size 49408 and context 77, the shapes of the tiny golden models).

Weights: the official initialisation, then every LayerNorm/BatchNorm weight,
bias and running statistic and every linear/convolution/attention bias is
randomised (the official init leaves them trivial), logit_scale = ln(100),
and each convert_weights() parameter is rounded to float16 (so the float32
values that export.py loads are exact).

Stored dtypes follow the released files: the convert_weights() parameters
(half_param_names) are float16, everything else float32 (num_batches_tracked
int64). The "jit" format is a TorchScript archive traced like the releases
(methods forward, encode_image, encode_text) with the int64 scalar buffers
input_resolution, context_length and vocab_size; the "state_dict" format is
a torch.save of the plain state_dict. Both carry a mark that export.py turns
into "random_weights": true in the manifest (the state_dict an extra entry
export.RANDOM_WEIGHTS_KEY, the archive an extra file of that name).
"""

import argparse
import math
import os
import sys
import tempfile
import warnings
from typing import Any, Dict, List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
if __name__ == "__main__":
    import _reexec
    _reexec.reexec_with_fixed_hash_seed()
import export  # noqa: E402  (loads clip_model under a stable name)

clip_model = export.clip_model
import torch  # noqa: E402
from torch import nn  # noqa: E402

EOT = 49407
SOT = 49406

_TINY_TEXT = {"context_length": 77, "vocab_size": 49408, "transformer_width": 64,
              "transformer_heads": 1, "transformer_layers": 2}

#: Tiny architectures (not in models.json): the shapes of the golden tiny models.
TINY_ARCHS: Dict[str, Dict[str, Any]] = {
    "tiny-vit": dict(embed_dim=32, image_resolution=224, vision_layers=2, vision_width=64,
                     vision_patch_size=32, vision_heads=1, family="vit", **_TINY_TEXT),
    "tiny-rn": dict(embed_dim=32, image_resolution=224, vision_layers=[1, 1, 1, 1], vision_width=16,
                    vision_patch_size=None, vision_heads=8, family="resnet", **_TINY_TEXT),
}


def arch_names() -> List[str]:
    """All accepted --arch names: the nine official ones, then the tiny ones."""
    return export.model_names() + list(TINY_ARCHS)


def arch_for(name: str) -> Dict[str, Any]:
    """Hyperparameters for an --arch name; ValueError for an unknown one."""
    if name in TINY_ARCHS:
        return dict(TINY_ARCHS[name])
    entry = export.registry_entry(name)
    if entry is None:
        raise ValueError("unknown arch %r; known: %s" % (name, ", ".join(arch_names())))
    return export.arch_of_entry(entry)


def random_model(arch: Dict[str, Any], seed: int):
    """A float32 eval CLIP with randomised weights (see module doc)."""
    torch.manual_seed(seed)
    model = clip_model.build_model(arch)
    with torch.no_grad():
        for mod in model.modules():
            if isinstance(mod, nn.LayerNorm):
                mod.weight.copy_(1.0 + 0.1 * torch.randn_like(mod.weight))
                mod.bias.copy_(0.1 * torch.randn_like(mod.bias))
            elif isinstance(mod, nn.BatchNorm2d):
                mod.weight.copy_(1.0 + 0.1 * torch.randn_like(mod.weight))
                mod.bias.copy_(0.1 * torch.randn_like(mod.bias))
                mod.running_mean.copy_(0.1 * torch.randn_like(mod.running_mean))
                mod.running_var.copy_(0.5 + torch.rand_like(mod.running_var))
            elif isinstance(mod, nn.MultiheadAttention):
                mod.in_proj_bias.copy_(0.02 * torch.randn_like(mod.in_proj_bias))
            if isinstance(mod, (nn.Linear, nn.Conv2d)) and mod.bias is not None:
                mod.bias.copy_(0.02 * torch.randn_like(mod.bias))
        model.logit_scale.fill_(math.log(100.0))
        params = dict(model.named_parameters())
        for name in clip_model.half_param_names(model):
            params[name].copy_(params[name].half().float())
    return model


def release_state_dict(model) -> Dict[str, torch.Tensor]:
    """The state_dict with the released dtype layout (half params float16)."""
    half = set(clip_model.half_param_names(model))
    out = {}
    for k, v in model.state_dict().items():
        out[k] = v.detach().half() if k in half else v.detach().clone()
    return out


def example_inputs(arch: Dict[str, Any], batch: int = 2, seed: int = 0):
    """(images float32 [B,3,R,R], tokens int64 [B,context]) with SOT/EOT like clip.tokenize."""
    g = torch.Generator().manual_seed(seed)
    r = arch["image_resolution"]
    n = arch["context_length"]
    images = torch.randn(batch, 3, r, r, generator=g)
    tokens = torch.zeros(batch, n, dtype=torch.long)
    for i in range(batch):
        length = 1 + int(torch.randint(0, n - 2, (1,), generator=g))
        tokens[i, 0] = SOT
        tokens[i, 1:length] = torch.randint(1, SOT, (length - 1,), generator=g)
        tokens[i, length] = EOT
    return images, tokens


class _ReleaseLayout(nn.Module):
    """Holds a CLIP's children plus the three int64 metadata buffers, as the releases do."""

    # plain wrappers: the CLIP methods carry @torch.jit.export marks, which
    # trace_module would try to script in addition to tracing them
    def encode_image(self, image):
        return clip_model.CLIP.encode_image(self, image)

    def encode_text(self, text):
        return clip_model.CLIP.encode_text(self, text)

    def forward(self, image, text):
        return clip_model.CLIP.forward(self, image, text)

    def __init__(self, model, arch: Dict[str, Any]):
        super().__init__()
        self.positional_embedding = model.positional_embedding
        self.text_projection = model.text_projection
        self.logit_scale = model.logit_scale
        self.visual = model.visual
        self.transformer = model.transformer
        self.token_embedding = model.token_embedding
        self.ln_final = model.ln_final
        self.register_buffer("input_resolution", torch.tensor(int(arch["image_resolution"])))
        self.register_buffer("context_length", torch.tensor(int(arch["context_length"])))
        self.register_buffer("vocab_size", torch.tensor(int(arch["vocab_size"])))


def traced_release(model, arch: Dict[str, Any]):
    """A traced TorchScript module in the release layout (half params float16)."""
    wrapper = _ReleaseLayout(model, arch).eval()
    images, tokens = example_inputs(arch, batch=1)
    with torch.no_grad(), warnings.catch_warnings():
        # the length check in encode_text compares with a buffer here
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        traced = torch.jit.trace_module(
            wrapper, {"forward": (images, tokens), "encode_image": (images,), "encode_text": (tokens,)},
            check_trace=False)
    half = clip_model.half_param_names(model)
    with torch.no_grad():
        for name in half:
            p = traced.get_parameter(name)
            p.data = p.data.half()
    return traced


def write_checkpoint(arch_name: str, out: str, fmt: str = "state_dict", seed: int = 1234) -> None:
    """Create the random model for arch_name and write it to out (atomically)."""
    if fmt not in ("state_dict", "jit"):
        raise ValueError("format must be state_dict or jit, not %r" % fmt)
    arch = arch_for(arch_name)
    model = random_model(arch, seed)
    d = os.path.dirname(os.path.abspath(out))
    os.makedirs(d, exist_ok=True)
    tmpdir = tempfile.mkdtemp(prefix=".randckpt-", dir=d)
    try:
        # the zip record prefix comes from the file name: use a fixed one
        tmp = os.path.join(tmpdir, "checkpoint.pt")
        if fmt == "state_dict":
            sd = release_state_dict(model)
            del model
            sd[export.RANDOM_WEIGHTS_KEY] = torch.tensor(1)
            torch.save(sd, tmp)
        else:
            torch.jit.save(traced_release(model, arch), tmp, _extra_files={export.RANDOM_WEIGHTS_KEY: b"1"})
        os.replace(tmp, out)
    finally:
        for f in os.listdir(tmpdir):
            os.remove(os.path.join(tmpdir, f))
        os.rmdir(tmpdir)


def main(argv: Optional[List[str]] = None) -> int:
    """CLI entry point; returns the exit status."""
    ap = argparse.ArgumentParser(description="Write a random CLIP checkpoint with the official layout.")
    ap.add_argument("--arch", required=True, help="one of: " + ", ".join(arch_names()))
    ap.add_argument("--out", required=True, help="output file")
    ap.add_argument("--format", default="state_dict", choices=["state_dict", "jit"])
    ap.add_argument("--seed", type=int, default=1234)
    args = ap.parse_args(argv)
    try:
        write_checkpoint(args.arch, args.out, args.format, args.seed)
    except (ValueError, OSError, RuntimeError) as e:
        print("random_checkpoint: error: %s" % export._first_line(e), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
