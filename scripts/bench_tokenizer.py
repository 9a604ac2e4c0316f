#!/usr/bin/python3
"""Benchmark the OFFICIAL CLIP tokenizer (SimpleTokenizer.encode) on one core.

The official code is not part of this repository. Put openai/CLIP's
clip/simple_tokenizer.py somewhere outside the commit (the git-ignored .bench/
folder is meant for it, e.g. .bench/clip/simple_tokenizer.py) and pass that
file, or the folder holding it, with --clip-src. The module is loaded from
that file alone (not as the `clip` package, so torch is not needed).

It imports `ftfy` and the `regex` module. When ftfy cannot be imported, a
stub whose fix_text returns its input is used instead, and the output says
so: the official figure then leaves out ftfy's cost (so it is, if anything,
too fast).

Corpus: the `text` field of every line of the golden tokenize.jsonl, encoded
once to warm the BPE cache, then over and over (the whole corpus per round)
for at least --min-time seconds. Prints texts/s by wall clock and by process
CPU time, and tokens/s.

Usage: /usr/bin/python3 scripts/bench_tokenizer.py --clip-src .bench/clip
           [--vocab PATH] [--corpus PATH] [--min-time S] [--json]
"""
import argparse
import importlib.util
import json
import os
import sys
import time
import types


def repo_root():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def shared_dir():
    env = os.environ.get("GOCLIP_SHARED")
    if env:
        return env
    return os.path.join(os.path.dirname(repo_root()), "shared")


def load_official(clip_src):
    """Import simple_tokenizer.py from clip_src (a file or its folder)."""
    path = clip_src
    if os.path.isdir(path):
        path = os.path.join(path, "simple_tokenizer.py")
    if not os.path.isfile(path):
        sys.exit("bench_tokenizer: %s not found; fetch openai/CLIP's "
                 "clip/simple_tokenizer.py into .bench/clip/ and pass --clip-src" % path)
    ftfy_note = None
    try:
        import ftfy  # noqa: F401
        ftfy_note = "ftfy %s" % getattr(ftfy, "__version__", "?")
    except ImportError:
        stub = types.ModuleType("ftfy")
        stub.fix_text = lambda text: text
        sys.modules["ftfy"] = stub
        ftfy_note = "STUB (ftfy is not installed: fix_text returns its input; official figure excludes ftfy)"
    spec = importlib.util.spec_from_file_location("official_simple_tokenizer", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod, ftfy_note


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clip-src", required=True,
                    help="openai/CLIP's clip/simple_tokenizer.py, or the folder holding it")
    ap.add_argument("--vocab", default=os.path.join(shared_dir(), "clip", "bpe_simple_vocab_16e6.txt.gz"))
    ap.add_argument("--corpus", default=os.path.join(shared_dir(), "golden", "tokenizer", "tokenize.jsonl"))
    ap.add_argument("--min-time", type=float, default=3.0, help="seconds to run (default 3)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    args = ap.parse_args()

    # One core.
    if hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        except OSError:
            pass

    mod, ftfy_note = load_official(args.clip_src)
    tok = mod.SimpleTokenizer(args.vocab)
    with open(args.corpus, encoding="utf-8") as f:
        texts = [json.loads(line)["text"] for line in f if line.strip()]

    tokens_per_round = sum(len(tok.encode(t)) for t in texts)  # warms the cache
    rounds = 0
    w0, c0 = time.perf_counter(), time.process_time()
    while True:
        for t in texts:
            tok.encode(t)
        rounds += 1
        wall = time.perf_counter() - w0
        if wall >= args.min_time:
            break
    cpu = time.process_time() - c0
    n = rounds * len(texts)
    res = {
        "impl": "official SimpleTokenizer.encode (Python %s)" % sys.version.split()[0],
        "ftfy": ftfy_note,
        "texts": len(texts),
        "rounds": rounds,
        "texts_per_s_wall": n / wall,
        "texts_per_s_cpu": n / cpu,
        "tokens_per_s_wall": rounds * tokens_per_round / wall,
    }
    if args.json:
        print(json.dumps(res))
        return
    print("%s, ftfy: %s" % (res["impl"], res["ftfy"]))
    print("corpus %d texts x %d rounds: %.0f texts/s (wall), %.0f texts/s (CPU), %.0f tokens/s"
          % (len(texts), rounds, res["texts_per_s_wall"], res["texts_per_s_cpu"], res["tokens_per_s_wall"]))


if __name__ == "__main__":
    main()
