#!/usr/bin/python3
"""The reference Python server for scripts/bench_serve.sh, as people deploy
one: FastAPI + uvicorn around the project's module code (the official model
definition, random weights at the official shapes), Pillow + torchvision's
reference transform, the official tokenizer, one model call per request.

It answers POST /v1/embeddings with {"input": [text]} or
{"input": [{"type": "image", "image": "data:image/...;base64,..."}]} in the
OpenAI shape.

Usage: bench_serve_ref.py --arch tiny-vit --port 8181 [--clip-src .bench/clip]
(--clip-src: a folder holding the official clip/simple_tokenizer.py; without
it text requests are refused.)
"""
import argparse
import base64
import importlib.util
import io
import os
import sys

import torch
import uvicorn
from fastapi import FastAPI, HTTPException, Request
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "export"))
import random_checkpoint  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_pipeline import transform  # noqa: E402  the reference's _transform

def load_tokenizer(src, vocab):
    if not src:
        return None
    try:
        import ftfy  # noqa: F401
    except ImportError:  # as scripts/bench_tokenizer.py: a stub, so Python's text figure is if anything too fast
        import types
        stub = types.ModuleType("ftfy")
        stub.fix_text = lambda s: s
        sys.modules["ftfy"] = stub
        print("bench_serve_ref: ftfy is not installed; using a stub (fix_text returns its input)", file=sys.stderr)
    spec = importlib.util.spec_from_file_location("simple_tokenizer", os.path.join(src, "simple_tokenizer.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.SimpleTokenizer(vocab) if vocab else mod.SimpleTokenizer()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="ViT-B/32")
    ap.add_argument("--port", type=int, default=8181)
    ap.add_argument("--clip-src", default="")
    ap.add_argument("--vocab", default="")
    ap.add_argument("--device", default="cpu")
    a = ap.parse_args()
    arch = random_checkpoint.arch_for(a.arch)
    model = random_checkpoint.random_model(arch, 0).to(a.device).eval()
    if a.device.startswith("cuda"):  # the official clip.load's fp16 layout
        import export
        export.clip_model.apply_half_layout(model)
    tf = transform(arch["image_resolution"])
    tok = load_tokenizer(a.clip_src, a.vocab)
    ctx_len = arch["context_length"]

    def tokenize(text):
        ids = [tok.encoder["<|startoftext|>"]] + tok.encode(text) + [tok.encoder["<|endoftext|>"]]
        if len(ids) > ctx_len:
            raise HTTPException(400, "text too long")
        out = torch.zeros(1, ctx_len, dtype=torch.long)
        out[0, :len(ids)] = torch.tensor(ids)
        return out

    app = FastAPI()

    @app.post("/v1/embeddings")
    async def embeddings(request: Request):
        body = await request.json()
        inp = body["input"]
        if isinstance(inp, (str, dict)):
            inp = [inp]
        data = []
        for i, x in enumerate(inp):
            if isinstance(x, dict) and x.get("type") == "image":
                raw = base64.b64decode(x["image"].split(",", 1)[1])
                pixels = tf(Image.open(io.BytesIO(raw))).unsqueeze(0)
                with torch.no_grad():
                    f = model.encode_image(pixels.to(a.device)).float()
            else:
                if tok is None:
                    raise HTTPException(400, "no tokenizer (--clip-src)")
                text = x["text"] if isinstance(x, dict) else x
                with torch.no_grad():
                    f = model.encode_text(tokenize(text).to(a.device)).float()
            f = f / f.norm(dim=-1, keepdim=True)
            data.append({"object": "embedding", "index": i, "embedding": f[0].cpu().tolist()})
        return {"object": "list", "data": data, "model": a.arch}

    uvicorn.run(app, host="127.0.0.1", port=a.port, log_level="warning")


if __name__ == "__main__":
    main()
