"""Reads a clip-retrieval layout folder's embeddings as embedding-reader's
numpy reader does: the img_emb (or text_emb) .npy files sorted by name, each
header's first line parsed for shape and dtype and the data read from the
end of that line, checked against numpy.load. Prints JSON:
[{"file", "shape", "dtype", "rows": [[...], ...]}].
Usage: read_npy.py LAYOUT_DIR img_emb|text_emb
"""
import json
import os
import re
import sys

import numpy as np


def header(path):
    with open(path, "rb") as f:
        first = f.read(300).split(b"\n")[0]
    shape = re.search(r"'shape': \(([0-9]+), ([0-9]+)\)", str(first))
    dtype = re.search(r"'descr': '([<f0-9]+)'", str(first)).group(1)
    return (int(shape.group(1)), int(shape.group(2))), dtype, len(first) + 1


def main():
    layout, kind = sys.argv[1], sys.argv[2]
    folder = os.path.join(layout, kind)
    out = []
    for name in sorted(f for f in os.listdir(folder) if f.endswith(".npy")):
        path = os.path.join(folder, name)
        shape, dtype, offset = header(path)
        with open(path, "rb") as f:
            f.seek(offset)
            raw = np.frombuffer(f.read(), dtype=dtype).reshape(shape)
        ref = np.load(path)
        assert ref.shape == shape and ref.dtype == np.dtype(dtype), (path, ref.shape, ref.dtype)
        assert np.array_equal(ref, raw), path
        out.append({"file": name, "shape": list(shape), "dtype": dtype,
                    "rows": raw.astype(np.float64).tolist()})
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
