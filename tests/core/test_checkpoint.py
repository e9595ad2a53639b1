"""Checkpoints are atomic: a failed write leaves the previous file intact and no debris."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pgsuite.core import checkpoint
from pgsuite.core.checkpoint import load_checkpoint, save_checkpoint
from pgsuite.core.errors import DataError


def test_round_trip(tmp_path: Path) -> None:
    payload = {"step": 3, "weights": torch.arange(5.0)}
    save_checkpoint(tmp_path / "run" / "checkpoint.pt", payload)
    loaded = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert loaded["step"] == 3
    assert torch.equal(loaded["weights"], payload["weights"])


def test_failed_write_keeps_previous_checkpoint(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "checkpoint.pt"
    save_checkpoint(path, {"step": 1})

    def crash(obj, handle):
        handle.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint.torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, {"step": 2})
    monkeypatch.undo()
    assert load_checkpoint(path)["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


def test_missing_and_corrupt_files_are_data_errors(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        load_checkpoint(tmp_path / "nope.pt")
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match="cannot read"):
        load_checkpoint(tmp_path / "bad.pt")
