"""Atomic checkpoint files.

A checkpoint is written to a temporary file in the same folder, flushed to disk, then renamed over the
old one (``os.replace`` is atomic on POSIX), so a crash or Ctrl-C mid-write never leaves a truncated
checkpoint behind: the previous one stays intact.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import torch

from pgsuite.core.errors import DataError


def atomic_write(path: str | Path, write: Callable[[BinaryIO], Any]) -> Path:
    """Create or replace ``path`` with what ``write(handle)`` writes to a binary handle, atomically:
    a failure (or a kill) mid-write leaves the old file intact and no temporary behind. Parent
    folders are created; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Write ``payload`` (any ``torch.save``-able dict) to ``path`` atomically; returns the path."""
    return atomic_write(path, lambda handle: torch.save(payload, handle))


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Checkpoints hold RNG states (NumPy tuples), so they are unpickled in full: load only files you
    trust, i.e. your own runs.

    Raises:
        DataError: the file is missing or is not a readable checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as error:  # torch raises several unrelated types for corrupt files
        raise DataError(f"cannot read checkpoint {path}: {error}") from error
    if not isinstance(payload, dict):
        raise DataError(f"{path} is not a pgsuite checkpoint (expected a dict)")
    return payload
