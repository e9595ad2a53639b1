"""Tiny MedMNIST-style npz files for the imaging tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_npz(path: Path, classes: int, n: int = 16, size: int = 12, cue: bool = False) -> None:
    """``n`` grayscale ``size`` x ``size`` images per split, labels cycling over ``classes``;
    with ``cue`` the top-left corner brightens with the label (something to learn)."""
    rng = np.random.default_rng(classes)
    arrays = {}
    for split in ("train", "val", "test"):
        labels = np.arange(n) % classes
        if cue:
            images = rng.integers(0, 60, (n, size, size), dtype=np.uint8)
            images[:, :4, :4] += (labels * 60).astype(np.uint8)[:, None, None]
        else:
            images = rng.integers(0, 256, (n, size, size), dtype=np.uint8)
        arrays[f"{split}_images"], arrays[f"{split}_labels"] = images, labels[:, None]
    np.savez(path, **arrays)
