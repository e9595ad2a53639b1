"""core.runs: strict, atomic JSON run files; reads that name the broken file."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch

from pgsuite.core import runs
from pgsuite.core.errors import DataError


@dataclass
class _Inner:
    sizes: tuple[str, ...] = ("6x6", "10x10")
    out: Path | None = Path("/tmp/run")


@dataclass
class _Config:
    rate: float = math.inf
    inner: _Inner = field(default_factory=_Inner)


def test_config_round_trips_as_strict_json(tmp_path: Path) -> None:
    path = runs.save_config(tmp_path / "run", _Config())
    text = path.read_text()
    assert "Infinity" not in text
    assert text.endswith("\n")
    assert runs.load_config(tmp_path / "run") == {
        "rate": None,
        "inner": {"sizes": ["6x6", "10x10"], "out": "/tmp/run"},
    }


def test_results_convert_numpy_torch_and_nan(tmp_path: Path) -> None:
    summary = {"cost": np.float32(1.5), "gap": float("nan"), "steps": torch.tensor(3)}
    runs.save_results(tmp_path, summary)
    assert runs.load_results(tmp_path) == {"cost": 1.5, "gap": None, "steps": 3}


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch) -> None:
    runs.save_results(tmp_path, {"version": 1})

    def crash(*args: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        runs.save_results(tmp_path, {"version": 2})
    assert runs.load_results(tmp_path) == {"version": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == [runs.RESULTS_NAME]


def test_files_written_before_with_nan_tokens_still_load(tmp_path: Path) -> None:
    (tmp_path / runs.CONFIG_NAME).write_text(json.dumps({"best": float("nan")}))
    assert math.isnan(runs.load_config(tmp_path)["best"])


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "has no config.json: not a test run"), ("{oops", "unreadable JSON"), ("[1]", "object")],
)
def test_bad_config_files_raise_data_errors(tmp_path: Path, content: str | None, message) -> None:
    if content is not None:
        (tmp_path / runs.CONFIG_NAME).write_text(content)
    with pytest.raises(DataError, match=message):
        runs.load_config(tmp_path, "a test run")
