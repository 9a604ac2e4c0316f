#!/usr/bin/python3
"""Export an official CLIP checkpoint to a TorchScript artifact for goclip.

Usage:
    export.py --checkpoint SRC --out DIR [--name NAME] [--cache-dir D]

SRC is a file (a released TorchScript archive, or a torch.save'd state_dict,
possibly wrapped in {"state_dict": ...} or {"model": ...}) or one of the nine
official model names of clip/models.json, which is downloaded into the cache
($XDG_CACHE_HOME/goclip/checkpoints, else ~/.cache/goclip/checkpoints) with
sha256 verification and HTTP Range resumption.

DIR receives model.pt (torch.jit.script of clip_model.CLIP in float32, eval
mode) and manifest.json (see write_manifest). Errors exit 1 with one line on
stderr.
"""

import argparse
import datetime
import hashlib
import importlib.util
import json
import linecache
import os
import pickle
import shutil
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from typing import Any, Dict, List, Optional, Tuple

if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import _reexec
    _reexec.reexec_with_fixed_hash_seed()

HERE = os.path.dirname(os.path.abspath(__file__))
REGISTRY_PATH = os.path.join(os.path.dirname(HERE), "clip", "models.json")
FORMAT_VERSION = 1

# Stable file name under which clip_model.py is compiled: TorchScript stores
# the source file name in the archive's debug records, so using the real path
# would make the artifact bytes depend on where the checkout lives.
_STABLE_MODEL_FILENAME = "goclip/export/clip_model.py"


class ExportError(Exception):
    """A user-facing error: the CLI prints its message and exits 1."""


def _load_clip_model():
    """Import clip_model.py under a stable source file name (see above)."""
    mod = sys.modules.get("clip_model")
    if mod is not None:
        return mod
    path = os.path.join(HERE, "clip_model.py")
    with open(path, "r", encoding="utf-8") as f:
        src = f.read()
    linecache.cache[_STABLE_MODEL_FILENAME] = (len(src), None, src.splitlines(True), _STABLE_MODEL_FILENAME)
    spec = importlib.util.spec_from_loader("clip_model", loader=None, origin=_STABLE_MODEL_FILENAME)
    mod = importlib.util.module_from_spec(spec)
    mod.__file__ = _STABLE_MODEL_FILENAME
    sys.modules["clip_model"] = mod
    try:
        exec(compile(src, _STABLE_MODEL_FILENAME, "exec"), mod.__dict__)
    except BaseException:
        del sys.modules["clip_model"]
        raise
    return mod


clip_model = _load_clip_model()

import torch  # noqa: E402  (after clip_model so its import stays first)


# ---------------------------------------------------------------------------
# registry


def load_registry(path: str = REGISTRY_PATH) -> List[Dict[str, Any]]:
    """The list of official models from clip/models.json."""
    with open(path, "r", encoding="utf-8") as f:
        doc = json.load(f)
    return doc["models"]


def registry_entry(name: str, path: str = REGISTRY_PATH) -> Optional[Dict[str, Any]]:
    """The models.json entry called name, or None."""
    for m in load_registry(path):
        if m["name"] == name:
            return m
    return None


def model_names(path: str = REGISTRY_PATH) -> List[str]:
    """The nine official names in registry order."""
    return [m["name"] for m in load_registry(path)]


def arch_of_entry(entry: Dict[str, Any]) -> Dict[str, Any]:
    """Hyperparameters of a registry entry, in derive_architecture's form."""
    arch = {k: entry[k] for k in clip_model.ARCH_KEYS}
    arch["vision_heads"] = entry["vision_heads"]
    arch["family"] = entry["family"]
    return arch


# ---------------------------------------------------------------------------
# download


def default_cache_dir() -> str:
    """$XDG_CACHE_HOME/goclip/checkpoints, else ~/.cache/goclip/checkpoints."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "goclip", "checkpoints")


def sha256_file(path: str) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


class _Progress:
    """A one-line progress display on stderr, only when stderr is a TTY."""

    def __init__(self, label: str, total: Optional[int], done: int):
        self.label, self.total, self.done = label, total, done
        self.enabled = sys.stderr.isatty()
        self.last = 0.0

    def update(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if self.enabled and now - self.last >= 0.2:
            self.last = now
            self._draw()

    def _draw(self) -> None:
        mib = self.done / (1 << 20)
        if self.total:
            sys.stderr.write("\r%s: %.1f/%.1f MiB (%3.0f%%)" % (
                self.label, mib, self.total / (1 << 20), 100.0 * self.done / self.total))
        else:
            sys.stderr.write("\r%s: %.1f MiB" % (self.label, mib))
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            self._draw()
            sys.stderr.write("\n")
            sys.stderr.flush()


def download(url: str, sha256: str, dest: str, timeout: float = 60.0) -> str:
    """Download url to dest unless dest already has the given sha256.

    The data goes to dest + ".part" first; an existing .part is resumed with
    an HTTP Range request (a server that ignores Range restarts it). A cached
    file whose hash does not match is downloaded again. The finished file is
    hashed and moved into place atomically; a mismatch raises ExportError.
    """
    sha256 = sha256.lower()
    if os.path.exists(dest) and not os.path.isfile(dest):
        raise ExportError("%s exists and is not a regular file" % dest)
    if os.path.isfile(dest):
        if sha256_file(dest) == sha256:
            return dest
        print("warning: %s has the wrong sha256; downloading it again" % dest, file=sys.stderr)
        os.remove(dest)
    os.makedirs(os.path.dirname(os.path.abspath(dest)), exist_ok=True)
    part = dest + ".part"
    for attempt in range(2):
        have = os.path.getsize(part) if os.path.isfile(part) else 0
        req = urllib.request.Request(url, headers={"User-Agent": "goclip-export/1"})
        if have:
            req.add_header("Range", "bytes=%d-" % have)
        try:
            resp = urllib.request.urlopen(req, timeout=timeout)
        except urllib.error.HTTPError as e:
            if e.code == 416 and have:
                # nothing left to fetch: the .part may already be complete
                resp = None
            else:
                raise ExportError("download of %s failed: HTTP %d %s" % (url, e.code, e.reason)) from None
        except (urllib.error.URLError, OSError) as e:
            raise ExportError("download of %s failed: %s" % (url, getattr(e, "reason", e))) from None
        if resp is not None:
            with resp:
                if have and resp.status == 206:
                    mode = "ab"
                else:
                    mode, have = "wb", 0
                length = resp.headers.get("Content-Length")
                total = have + int(length) if length and length.isdigit() else None
                prog = _Progress(os.path.basename(dest), total, have)
                try:
                    with open(part, mode) as out:
                        while True:
                            try:
                                buf = resp.read(1 << 20)
                            except OSError as e:
                                raise ExportError("download of %s interrupted: %s (run again to resume)" % (url, e)) from None
                            if not buf:
                                break
                            out.write(buf)
                            prog.update(len(buf))
                finally:
                    prog.close()
        got = sha256_file(part)
        if got == sha256:
            os.replace(part, dest)
            return dest
        os.remove(part)
        if not have:
            break
        # a resumed download went wrong: retry once from the start
    raise ExportError("sha256 mismatch for %s: expected %s, got %s" % (url, sha256, got))


def resolve_source(src: str, cache_dir: Optional[str] = None) -> Tuple[str, Optional[Dict[str, Any]]]:
    """(path, registry entry or None) for a file path or an official name."""
    if os.path.isfile(src):
        return src, None
    entry = registry_entry(src)
    if entry is None:
        if os.path.exists(src):
            raise ExportError("%s is not a regular file" % src)
        raise ExportError("unknown model %r (not a file either); known models: %s" % (src, ", ".join(model_names())))
    cache = cache_dir or default_cache_dir()
    path = download(entry["url"], entry["sha256"], os.path.join(cache, entry["file"]))
    return path, entry


# ---------------------------------------------------------------------------
# checkpoint reading


#: Marks a checkpoint made by random_checkpoint.py: a state_dict entry, or an
#: extra file of a TorchScript archive. The manifest then says
#: "random_weights": true, and goclip says so with every result.
RANDOM_WEIGHTS_KEY = "goclip_random_weights"


def _unwrap(obj: Any) -> Dict[str, Any]:
    """The state_dict inside a torch.load result."""
    if isinstance(obj, torch.nn.Module):
        return obj.state_dict()
    for _ in range(3):
        if isinstance(obj, dict) and not any(isinstance(v, torch.Tensor) for v in obj.values()):
            for key in ("state_dict", "model", "model_state_dict"):
                if isinstance(obj.get(key), dict):
                    obj = obj[key]
                    break
            else:
                break
    if not isinstance(obj, dict):
        raise ExportError("checkpoint holds a %s, not a state_dict" % type(obj).__name__)
    return obj


def read_state_dict(path: str, trust_pickle: bool = False) -> Tuple[Dict[str, torch.Tensor], str]:
    """(state_dict, kind) of a checkpoint file; kind is "torchscript" or "state_dict".

    A TorchScript archive (the official releases: fp16 weights traced on
    CUDA) is read with torch.jit.load on the CPU; anything else with
    torch.load (weights_only unless trust_pickle). Metadata buffers and a
    "module." prefix are kept here; see clean_state_dict.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError as e:
        raise ExportError("cannot read %s: %s" % (path, e.strerror or e)) from None
    if len(head) == 0:
        raise ExportError("%s is empty, not a checkpoint" % path)
    if head[:2] == b"PK":
        try:
            with zipfile.ZipFile(path) as z:
                bad = z.testzip() if os.path.getsize(path) < (64 << 20) else None
                names = z.namelist()
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise ExportError("%s is truncated or corrupt (bad zip archive: %s)" % (path, e)) from None
        if bad is not None:
            raise ExportError("%s is corrupt (bad CRC in %s)" % (path, bad))
        is_jit = any(n.split("/", 1)[-1].startswith("code/") for n in names)
    elif head[:1] == b"\x80":  # a pickle (legacy torch.save format)
        is_jit = False
    else:
        raise ExportError("%s is not a checkpoint (neither a zip archive nor a pickle)" % path)
    if is_jit:
        extra = {RANDOM_WEIGHTS_KEY: ""}
        try:
            m = torch.jit.load(path, map_location="cpu", _extra_files=extra)
        except Exception as e:  # torch raises RuntimeError with long C++ traces
            raise ExportError("%s: cannot load TorchScript archive: %s" % (path, _first_line(e))) from None
        sd = dict(m.state_dict())
        if extra[RANDOM_WEIGHTS_KEY]:
            sd[RANDOM_WEIGHTS_KEY] = torch.tensor(1)
        return sd, "torchscript"
    try:
        obj = torch.load(path, map_location="cpu", weights_only=not trust_pickle)
    except pickle.UnpicklingError as e:
        msg = str(e)
        if not trust_pickle and "Unsupported operand" not in msg and "weights only" in msg.lower().replace("_", " "):
            raise ExportError("%s holds pickled objects beyond tensors; rerun with --trust-pickle "
                              "if you trust its source (%s)" % (path, _first_line(e))) from None
        raise ExportError("%s is not a checkpoint (%s)" % (path, _first_line(e))) from None
    except TypeError:  # torch without weights_only
        try:
            obj = torch.load(path, map_location="cpu")
        except Exception as e:
            raise ExportError("%s is not a checkpoint (%s)" % (path, _first_line(e))) from None
    except Exception as e:
        raise ExportError("%s is not a readable checkpoint (%s)" % (path, _first_line(e))) from None
    return _unwrap(obj), "state_dict"


def _first_line(e: BaseException) -> str:
    s = str(e).strip()
    return (s.splitlines()[0] if s else type(e).__name__)[:300]


def clean_state_dict(sd: Dict[str, Any]) -> Dict[str, torch.Tensor]:
    """Drop metadata buffers and a DataParallel "module." prefix; check types."""
    keys = list(sd.keys())
    if keys and all(isinstance(k, str) and k.startswith("module.") for k in keys):
        sd = {k[len("module."):]: v for k, v in sd.items()}
    out = {}
    for k, v in sd.items():
        if k in clip_model.METADATA_KEYS or k == RANDOM_WEIGHTS_KEY:
            continue
        if not isinstance(k, str) or not isinstance(v, torch.Tensor):
            raise ExportError("not a CLIP state_dict: entry %r is a %s" % (k, type(v).__name__))
        out[k] = v
    return out


# ---------------------------------------------------------------------------
# export


def build_loaded_model(sd: Dict[str, torch.Tensor]):
    """(float32 eval CLIP with the weights of sd, arch dict)."""
    try:
        arch = clip_model.derive_architecture(sd)
    except ValueError as e:
        raise ExportError(str(e)) from None
    model = clip_model.build_model(arch)
    want = set(model.state_dict().keys())
    have = set(sd.keys())
    missing, extra = sorted(want - have), sorted(have - want)
    if missing or extra:
        raise ExportError("state_dict does not match the derived architecture: missing %s; unexpected %s"
                          % (missing[:5] or "none", extra[:5] or "none"))
    for k, v in model.state_dict().items():
        if tuple(v.shape) != tuple(sd[k].shape):
            raise ExportError("state_dict does not match the derived architecture: %s has shape %s, expected %s"
                              % (k, list(sd[k].shape), list(v.shape)))
    with torch.no_grad():
        model.load_state_dict(sd, strict=True)
    return model.float().eval(), arch


def _check_against_registry(arch: Dict[str, Any], entry: Dict[str, Any]) -> None:
    want = arch_of_entry(entry)
    diff = [k for k in want if want[k] != arch[k]]
    if diff:
        raise ExportError("checkpoint architecture differs from registry entry %s in %s" % (entry["name"], ", ".join(diff)))


def _created() -> str:
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    t = datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc) if epoch and epoch.isdigit() \
        else datetime.datetime.now(datetime.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def save_scripted(model, out_dir: str) -> Tuple[str, str]:
    """torch.jit.script(model) saved atomically as out_dir/model.pt; (path, sha256)."""
    scripted = torch.jit.script(model)
    os.makedirs(out_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".export-", dir=out_dir)
    try:
        # the archive's record prefix comes from the file name: keep it "model"
        tmp_path = os.path.join(tmp, "model.pt")
        torch.jit.save(scripted, tmp_path)
        final = os.path.join(out_dir, "model.pt")
        os.replace(tmp_path, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final, sha256_file(final)


def export_state_dict(sd: Dict[str, Any], out_dir: str, name: Optional[str] = None,
                      source: str = "", source_sha256: Optional[str] = None,
                      entry: Optional[Dict[str, Any]] = None, source_path: Optional[str] = None) -> Dict[str, Any]:
    """Export an in-memory state_dict; returns the manifest written to out_dir.

    The manifest's "random_weights" is true when sd carries the mark of
    random_checkpoint.py (RANDOM_WEIGHTS_KEY).
    """
    random_weights = RANDOM_WEIGHTS_KEY in sd or ("module." + RANDOM_WEIGHTS_KEY) in sd
    sd = clean_state_dict(sd)
    model, arch = build_loaded_model(sd)
    if entry is None and name is not None:
        entry = registry_entry(name)
    if entry is not None:
        _check_against_registry(arch, entry)
    half = clip_model.half_param_names(model)
    _, art_sha = save_scripted(model, out_dir)
    manifest = {
        "format_version": FORMAT_VERSION,
        "name": name or (entry["name"] if entry else os.path.basename(source).split(".")[0] or "clip"),
        "family": arch["family"],
        "image_resolution": arch["image_resolution"],
        "context_length": arch["context_length"],
        "embed_dim": arch["embed_dim"],
        "vocab_size": arch["vocab_size"],
        "architecture": {k: arch[k] for k in list(clip_model.ARCH_KEYS) + ["vision_heads"]},
        "dtype": "float32",
        "half_params": half,
        "methods": list(clip_model.METHODS),
        "torch_version": torch.__version__,
        "source": source,
        "source_sha256": source_sha256,
        "source_path": source_path,
        "artifact": "model.pt",
        "artifact_sha256": art_sha,
        "random_weights": random_weights,
        "created": _created(),
    }
    write_json_atomic(os.path.join(out_dir, "manifest.json"), manifest)
    return manifest


def write_json_atomic(path: str, obj: Any) -> None:
    """Write obj as indented JSON through a temp file and rename."""
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".manifest-", dir=d)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def export_checkpoint(src: str, out_dir: str, name: Optional[str] = None, cache_dir: Optional[str] = None,
                      trust_pickle: bool = False) -> Dict[str, Any]:
    """Export SRC (a file or an official name) into out_dir; returns the manifest."""
    path, entry = resolve_source(src, cache_dir)
    sd, _kind = read_state_dict(path, trust_pickle=trust_pickle)
    src_sha = entry["sha256"] if entry else sha256_file(path)
    if entry is not None and name is None:
        name = entry["name"]
    return export_state_dict(sd, out_dir, name=name, source=src, source_sha256=src_sha, entry=entry,
                             source_path=os.path.abspath(path))


def main(argv: Optional[List[str]] = None) -> int:
    """CLI entry point; returns the exit status."""
    ap = argparse.ArgumentParser(description="Export an OpenAI CLIP checkpoint to TorchScript for goclip.")
    ap.add_argument("--checkpoint", required=True, help="checkpoint file, or one of: " + ", ".join(model_names()))
    ap.add_argument("--out", required=True, help="output directory (model.pt, manifest.json)")
    ap.add_argument("--name", help="model name recorded in the manifest")
    ap.add_argument("--cache-dir", help="download cache (default %s)" % default_cache_dir())
    ap.add_argument("--trust-pickle", action="store_true",
                    help="allow torch.load to unpickle arbitrary objects (only for trusted files)")
    args = ap.parse_args(argv)
    try:
        m = export_checkpoint(args.checkpoint, args.out, name=args.name, cache_dir=args.cache_dir,
                              trust_pickle=args.trust_pickle)
    except ExportError as e:
        print("export: error: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("export: interrupted", file=sys.stderr)
        return 130
    except (OSError, RuntimeError, ValueError) as e:
        print("export: error: %s" % _first_line(e), file=sys.stderr)
        return 1
    print("exported %s (%s, %d px) to %s" % (m["name"], m["family"], m["image_resolution"],
                                            os.path.join(args.out, "model.pt")), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
