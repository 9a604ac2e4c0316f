"""Re-run a CLI script with PYTHONHASHSEED=0 (called first by the CLIs).

TorchScript serialises module constants in set-iteration order, which
depends on Python's string hash seed; a fixed seed makes saved archive bytes
reproducible. Importing this module does nothing; the CLIs call
reexec_with_fixed_hash_seed() under ``if __name__ == "__main__"``.
"""

import os
import sys


def reexec_with_fixed_hash_seed() -> None:
    """execve this interpreter again with PYTHONHASHSEED=0 unless already set."""
    if os.environ.get("PYTHONHASHSEED") == "0" or os.environ.get("GOCLIP_NO_REEXEC") == "1":
        return
    if not sys.argv or not sys.argv[0] or not os.path.isfile(sys.argv[0]):
        return
    env = dict(os.environ, PYTHONHASHSEED="0")
    argv = list(getattr(sys, "orig_argv", None) or [sys.executable] + sys.argv)
    os.execve(sys.executable, argv, env)

