"""Undefined figures (the std of one seed, a method missing from a group, a gap without a best
known makespan) print as "–" in every table people read, never as "nan"."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from pgsuite.core import cli
from pgsuite.core.bench import summarize, write_results
from pgsuite.core.cli import MISSING, CommandOutput, emit, markdown_table


@dataclass
class NoOptions:
    """A command without options."""


def _single_seed_rows() -> pd.DataFrame:
    """Method b ran on one group only, each cell with one seed: stds NaN, a group cell absent."""
    return pd.DataFrame(
        {
            "method": ["a", "a", "b"],
            "instance": ["i1", "i2", "i1"],
            "group": ["g1", "g2", "g1"],
            "seed": [0, 0, 0],
            "cost": [1.25, 2.5, 3.0],
        }
    )


def test_markdown_table_shows_missing_cells_as_a_dash_and_keeps_the_number_format() -> None:
    table = pd.DataFrame(
        {
            "method": ["a", "b"],
            "cost": [1.234567, math.nan],
            "std": [np.nan, 0.5],
            "note": ["x", None],
            "n": pd.array([1, None], dtype="Int64"),
        }
    )
    text = markdown_table(table, floatfmt=".4g")
    assert "nan" not in text.lower()
    assert "None" not in text
    assert "<NA>" not in text
    assert "1.235" in text
    assert text.count(MISSING) == 4


def test_emit_prints_a_single_seed_summary_without_nan(capsys: pytest.CaptureFixture) -> None:
    summary = summarize(_single_seed_rows(), ["cost"])
    assert summary["cost_std"].isna().tolist() == [False, True]  # b: a single row
    emit(CommandOutput([("summary", summary)], {"gap_pct": math.nan, "best_known": None}), False)
    out = capsys.readouterr().out
    assert "nan" not in out.lower()
    assert f"gap_pct: {MISSING}" in out
    assert f"best_known: {MISSING}" in out
    rows = [line for line in out.splitlines() if line.startswith("| b ")]
    assert rows
    cells = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert cells == ["b", "3", MISSING, "1"]  # method, cost_mean, cost_std, n


def test_emit_json_keeps_missing_figures_null(capsys: pytest.CaptureFixture) -> None:
    emit(CommandOutput([], {"gap_pct": math.nan}), True)
    assert '"gap_pct": null' in capsys.readouterr().out


def test_results_markdown_has_no_nan(tmp_path) -> None:
    paths = write_results(_single_seed_rows(), "toy", ["cost"], tmp_path)
    text = paths["md"].read_text()
    assert "nan" not in text.lower()
    assert MISSING in text  # method b has no g2 cell


def test_the_cli_prints_no_nan_for_a_single_seed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """The whole output path: a command whose table has an undefined std."""

    def run(_: object) -> CommandOutput:
        return CommandOutput([("one seed", summarize(_single_seed_rows(), ["cost"]))], {})

    command = cli.Command("toy", "a toy", NoOptions, run)
    monkeypatch.setattr(cli, "discover_apps", lambda: [cli.App("toy", "a toy", [command])])
    assert cli.main(["toy", "toy"]) == 0
    out = capsys.readouterr().out
    assert "nan" not in out.lower()
    assert MISSING in out
