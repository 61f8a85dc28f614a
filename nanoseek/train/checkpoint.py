"""Checkpoints that never lose work: atomic directories, the last K kept, and the trainer
state beside the weights.

Layout of a run's output directory:

    out/
      run.json                  what this run is (kind, model config, data): guards against
                                mixing two runs in one directory
      metrics.jsonl             one line per optimizer step
      checkpoints/step_000200/  an HF checkpoint (config.json, model.safetensors, tokenizer)
                                plus trainer_state.pt (optimizer, step, data position, RNG)
      config.json, model.safetensors, generation_config.json, tokenizer*.json
                                the final model: `Transformer.from_pretrained("out")`

A checkpoint is written into a hidden temporary directory, every file fsync'd, then renamed
into place in one step: a kill at any moment leaves either the old set of checkpoints or the
new one, never a half-written directory that `--resume` would trust. Router biases are
buffers of the model, so they travel with the weights.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import tempfile
from pathlib import Path
import warnings
from typing import Callable, Iterator, TypeVar

import numpy as np
import torch

CHECKPOINTS = "checkpoints"
RUN_FILE = "run.json"
METRICS_FILE = "metrics.jsonl"
STATE_FILE = "trainer_state.pt"
TMP_PREFIX = ".tmp-"
T = TypeVar("T")


# ---- atomic writes ----------------------------------------------------------------------


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    for p in root.rglob("*"):
        if p.is_file():
            _fsync_path(p)
    _fsync_path(root)


@contextlib.contextmanager
def atomic_dir(final: Path) -> Iterator[Path]:
    """Yield a temporary sibling directory to fill; on success it replaces `final` atomically."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f"{TMP_PREFIX}{final.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
        _fsync_tree(tmp)
        old = None
        if final.exists():  # rename() cannot replace a non-empty directory: move it aside first
            old = final.parent / f"{TMP_PREFIX}old-{final.name}-{os.getpid()}"
            os.rename(final, old)
        os.rename(tmp, final)
        _fsync_path(final.parent)
        if old is not None:
            shutil.rmtree(old)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_model_dir(path: Path, model: torch.nn.Module, tokenizer=None) -> None:
    """An HF checkpoint directory: the model's files and, when given, the tokenizer's."""
    model.save_pretrained(path)
    if tokenizer is not None:
        tokenizer.save(path)


def publish_model(out_dir: Path, model: torch.nn.Module, tokenizer=None) -> None:
    """Write the final model at the top of `out_dir`, each file replaced atomically (the
    directory itself also holds the run's other files, so it cannot be swapped whole)."""
    tmp = out_dir / CHECKPOINTS / f"{TMP_PREFIX}final-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        write_model_dir(tmp, model, tokenizer)
        _fsync_tree(tmp)
        for f in sorted(tmp.iterdir()):
            os.replace(f, out_dir / f.name)
        _fsync_path(out_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ---- training checkpoints ---------------------------------------------------------------


def checkpoint_dir(out_dir: Path, step: int) -> Path:
    return out_dir / CHECKPOINTS / f"step_{step:06d}"


def list_checkpoints(out_dir: Path) -> list[Path]:
    """Complete checkpoints, oldest first (temporary directories are never listed)."""
    root = out_dir / CHECKPOINTS
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.name.startswith("step_") and (p / STATE_FILE).is_file()]
    return sorted(found, key=lambda p: int(p.name.removeprefix("step_")))


def intact_checkpoints(out_dir: Path, read: Callable[[Path], T]) -> Iterator[tuple[Path, T]]:
    """(checkpoint, read(checkpoint)) for checkpoints that `read` opens without an error,
    newest first; each one that fails is skipped with a warning naming it and the error."""
    for path in reversed(list_checkpoints(out_dir)):
        try:
            yield path, read(path)
        except Exception as e:  # a torn or corrupted file: any error its reader raises
            warnings.warn(f"checkpoint {path} cannot be read ({type(e).__name__}: {e}); "
                          f"trying the one before it", RuntimeWarning, stacklevel=2)


def latest_checkpoint(out_dir: Path) -> Path | None:
    found = list_checkpoints(out_dir)
    return found[-1] if found else None


def remove_stale_temporaries(out_dir: Path) -> None:
    """Half-written checkpoints of a killed run: never complete, safe to delete."""
    root = out_dir / CHECKPOINTS
    if root.is_dir():
        for p in root.iterdir():
            if p.name.startswith(TMP_PREFIX):
                shutil.rmtree(p, ignore_errors=True)


def save_checkpoint(out_dir: Path, step: int, model: torch.nn.Module, state: dict,
                    tokenizer=None, keep_last: int = 3) -> Path:
    """Write checkpoints/step_{step} atomically, then delete all but the newest `keep_last`."""
    final = checkpoint_dir(out_dir, step)
    with atomic_dir(final) as tmp:
        write_model_dir(tmp, model, tokenizer)
        torch.save(state, tmp / STATE_FILE)
    if keep_last > 0:
        for old in list_checkpoints(out_dir)[:-keep_last]:
            shutil.rmtree(old)
    return final


def load_state(checkpoint: Path) -> dict:
    return torch.load(checkpoint / STATE_FILE, map_location="cpu", weights_only=True)


# ---- RNG state --------------------------------------------------------------------------


def rng_state() -> dict:
    """Every generator a training step might draw from (the model itself draws none today)."""
    np_state = np.random.get_state(legacy=False)
    state = {
        "python": list(random.getstate()[1]),
        "python_gauss": random.getstate()[2],
        "numpy_key": torch.from_numpy(np_state["state"]["key"].astype(np.int64)),
        "numpy_pos": np_state["state"]["pos"],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    random.setstate((3, tuple(state["python"]), state["python_gauss"]))
    np.random.set_state({"bit_generator": "MT19937",
                         "state": {"key": state["numpy_key"].numpy().astype(np.uint32), "pos": state["numpy_pos"]},
                         "has_gauss": 0, "gauss": 0.0})
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


# ---- run identity -----------------------------------------------------------------------


def read_run(out_dir: Path) -> dict | None:
    path = out_dir / RUN_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def write_run(out_dir: Path, run: dict) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out_dir / RUN_FILE, json.dumps(run, indent=2, sort_keys=True) + "\n")


class RunError(ValueError):
    """A run cannot start as asked (the CLI prints the message as one line and exits)."""


def check_out_dir(out_dir: Path, run: dict, resume: bool) -> None:
    """Refuse, before anything is written, to mix two runs in one directory or to resume
    nothing. `run` is the identity of the run being started (JSON-serialisable)."""
    run = json.loads(json.dumps(run))
    existing = read_run(out_dir)
    if resume:
        if existing is None or latest_checkpoint(out_dir) is None:
            raise RunError(f"--resume: nothing to resume in {out_dir} (no checkpoint there)")
        differ = sorted(k for k in run.keys() | existing.keys() if run.get(k) != existing.get(k))
        if differ:
            raise RunError(f"--resume: {out_dir} holds a different run ({', '.join(differ)} differ)")
        return
    if existing is not None:
        raise RunError(f"{out_dir} already holds a run: pass --resume to continue it, or choose another --out")
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise RunError(f"{out_dir} exists and is not an empty directory: choose another --out")
    check_writable(out_dir)


def check_writable(out_dir: Path) -> None:
    """Refuse a directory that checkpoints could not be written to, before any step is
    trained: by writing a file in it, or in its nearest existing parent (where it would be
    made), since permissions alone do not tell (root, read-only file systems)."""
    target = out_dir
    while not target.exists():
        target = target.parent
    try:
        if not target.is_dir():
            raise NotADirectoryError(f"{target} is not a directory")
        with tempfile.TemporaryFile(dir=target):
            pass
    except OSError as e:
        raise RunError(f"{out_dir} cannot be written ({e.strerror or e}): choose another --out") from None
