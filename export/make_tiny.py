#!/usr/bin/python3
"""Make a tiny random CLIP and export it for goclip's tests and demos.

Usage:
    make_tiny.py --out DIR [--arch tiny-vit|tiny-rn] [--seed S]

Writes DIR/model.pt and DIR/manifest.json exactly as export.py does, from a
random checkpoint (kept as DIR/checkpoint.pt) made by random_checkpoint.py (a state_dict in the released
dtype layout, so the export reads float16 weights like a real checkpoint).
The same arch and seed give the same model.pt bytes with the same torch.
"""

import argparse
import hashlib
import os
import sys
import tempfile
from typing import List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
if __name__ == "__main__":
    import _reexec
    _reexec.reexec_with_fixed_hash_seed()
import export  # noqa: E402
import random_checkpoint  # noqa: E402

DEFAULT_SEED = 1234


def make_tiny(out_dir: str, arch: str = "tiny-vit", seed: int = DEFAULT_SEED) -> dict:
    """Create and export the tiny model; returns the manifest."""
    if arch not in random_checkpoint.TINY_ARCHS:
        raise export.ExportError("unknown tiny arch %r; known: %s" % (arch, ", ".join(random_checkpoint.TINY_ARCHS)))
    # The random checkpoint is kept beside the export (DIR/checkpoint.pt) and
    # recorded as the manifest's source_path, so that `clip parity --model DIR`
    # can run the reference on the very checkpoint the artifact came from.
    os.makedirs(out_dir, exist_ok=True)
    ckpt = os.path.abspath(os.path.join(out_dir, "checkpoint.pt"))
    fd, tmp = tempfile.mkstemp(prefix=".checkpoint-", suffix=".pt", dir=out_dir)
    os.close(fd)
    try:
        random_checkpoint.write_checkpoint(arch, tmp, "state_dict", seed)
        os.replace(tmp, ckpt)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    with open(ckpt, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    sd, _ = export.read_state_dict(ckpt)
    return export.export_state_dict(sd, out_dir, name=arch, source="random_checkpoint:%s:seed=%d" % (arch, seed),
                                    source_sha256=sha, source_path=ckpt)


def main(argv: Optional[List[str]] = None) -> int:
    """CLI entry point; returns the exit status."""
    ap = argparse.ArgumentParser(description="Make and export a tiny random CLIP model.")
    ap.add_argument("--out", required=True, help="output directory (model.pt, manifest.json)")
    ap.add_argument("--arch", default="tiny-vit", choices=sorted(random_checkpoint.TINY_ARCHS))
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = ap.parse_args(argv)
    try:
        m = make_tiny(args.out, args.arch, args.seed)
    except export.ExportError as e:
        print("make_tiny: error: %s" % e, file=sys.stderr)
        return 1
    except (OSError, RuntimeError, ValueError) as e:
        print("make_tiny: error: %s" % export._first_line(e), file=sys.stderr)
        return 1
    print("made %s in %s (model.pt sha256 %s)" % (m["name"], args.out, m["artifact_sha256"]), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
