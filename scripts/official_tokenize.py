#!/usr/bin/python3
"""The official CLIP tokenizer as a whole process, the way `clip tokenize
--encode` runs: JSON lines of strings on stdin, one JSON list of ids a line
on stdout (SimpleTokenizer.encode). The module is loaded from CLIP_SRC as
scripts/bench_tokenizer.py does (ftfy stubbed when not installed).

Usage: official_tokenize.py CLIP_SRC VOCAB < texts.jsonl > ids.jsonl
       official_tokenize.py --corpus GOLDEN_JSONL TIMES DEST
The second form writes the benchmark input: the "text" field of every line
of GOLDEN_JSONL, TIMES over, one JSON string a line.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def main():
    if len(sys.argv) == 5 and sys.argv[1] == "--corpus":
        src, times, dest = sys.argv[2], int(sys.argv[3]), sys.argv[4]
        texts = [json.loads(l)["text"] for l in open(src, encoding="utf-8") if l.strip()]
        with open(dest, "w", encoding="utf-8") as f:
            for _ in range(times):
                for t in texts:
                    f.write(json.dumps(t) + "\n")
        return
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    from bench_tokenizer import load_official
    mod, _ = load_official(sys.argv[1])
    tok = mod.SimpleTokenizer(sys.argv[2])
    out = sys.stdout
    for line in sys.stdin:
        out.write(json.dumps(tok.encode(json.loads(line))) + "\n")


if __name__ == "__main__":
    main()
