"""Generates the small TorchScript fixtures used by the Go `torch` package tests.

Run from the repository root with Debian's torch (the runtime's libtorch):

    /usr/bin/python3 testdata/gen_torch_fixtures.py

It writes testdata/torch/ops.pt and testdata/torch/mlp.pt (a few kilobytes each).
"""
import os
from typing import List, Tuple

import torch
from torch import Tensor, nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch")


class Ops(nn.Module):
    """Methods that exercise every input/output shape of the shim."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(7)
        self.w = nn.Parameter(torch.randn(4, 3, generator=g))
        self.register_buffer("b", torch.arange(3, dtype=torch.float32))
        self.register_buffer("steps", torch.tensor(5, dtype=torch.int64))

    def forward(self, x: Tensor) -> Tensor:
        return x * 2 + 1

    @torch.jit.export
    def echo(self, x: Tensor) -> Tensor:
        return x

    @torch.jit.export
    def add(self, a: Tensor, b: Tensor) -> Tensor:
        return a + b

    @torch.jit.export
    def sum5(self, a: Tensor, b: Tensor, c: Tensor, d: Tensor, e: Tensor) -> Tensor:
        # Five inputs: more than the shim's pointer arguments, so the Go side
        # pins them instead.
        return a + 10 * b + 100 * c + 1000 * d + 10000 * e

    @torch.jit.export
    def pair(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        return x * 2, x.sum()

    @torch.jit.export
    def listed(self, x: Tensor) -> List[Tensor]:
        return [x, x + 1]

    @torch.jit.export
    def project(self, x: Tensor) -> Tensor:
        # [N,4] float32 @ [4,3] + [3]: a wrong shape or dtype fails inside libtorch.
        return x @ self.w + self.b

    @torch.jit.export
    def dtypes(self) -> Tensor:
        # 1 where the parameter/buffer is float16, per [w, b].
        return torch.tensor([int(self.w.dtype == torch.float16), int(self.b.dtype == torch.float16)])

    @torch.jit.export
    def fail(self, x: Tensor) -> Tensor:
        if bool(x.sum() > 0):
            raise RuntimeError("fixture failure on purpose")
        return x

    @torch.jit.export
    def to_half(self, x: Tensor) -> Tensor:
        return x.half()

    @torch.jit.export
    def nothing(self) -> int:
        return 42


class MLP(nn.Module):
    """A small model for concurrency tests and call-overhead benchmarks."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(11)
        self.l1 = nn.Linear(64, 256)
        self.l2 = nn.Linear(256, 64)

    def forward(self, x: Tensor) -> Tensor:
        return self.l2(torch.relu(self.l1(x)))

    @torch.jit.export
    def noop(self, x: Tensor) -> Tensor:
        return x


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, mod in (("ops.pt", Ops()), ("mlp.pt", MLP())):
        s = torch.jit.script(mod.eval())
        path = os.path.join(OUT, name)
        s.save(path)
        print(path, os.path.getsize(path), "bytes")
    # Reference outputs of the MLP for a fixed input, written by the Python
    # torch so the Go test compares against an independent computation.
    torch.manual_seed(3)
    x = torch.randn(5, 64)
    with torch.no_grad():
        y = MLP().eval()(x)
    import numpy as np
    np.save(os.path.join(OUT, "mlp_input.npy"), x.numpy())
    np.save(os.path.join(OUT, "mlp_output.npy"), y.numpy())


if __name__ == "__main__":
    main()
