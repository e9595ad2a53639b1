"""Tests of core.bench on a toy grid whose metrics are known functions of instance and seed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pgsuite.core.bench import (
    BenchmarkError,
    format_mean_std,
    merge_rows,
    run_bench,
    run_grid,
    summarize,
    write_results,
    write_table,
)
from pgsuite.core.errors import ConfigError

INSTANCES = {"i1": 1.0, "i2": 2.0, "i3": 5.0}
GROUPS = {"i1": "small", "i2": "small", "i3": "large"}
SEEDS = (0, 1, 2)
METHODS = {
    "alpha": lambda inst, seed: {"score": inst + seed, "cost": 10.0 * inst},
    "beta": lambda inst, seed: {"score": 2.0 * inst - seed, "cost": inst * seed},
}


def _values(method: str, metric: str, instances: tuple[str, ...] = tuple(INSTANCES)) -> np.ndarray:
    return np.array(
        [METHODS[method](INSTANCES[i], s)[metric] for i in instances for s in SEEDS], dtype=float
    )


def _row(section: str, first: str) -> list[str]:
    """Cells of the Markdown table row of ``section`` whose first cell is ``first``."""
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if cells[0] == first:
            return cells
    raise AssertionError(f"no row {first!r} in {section!r}")


@pytest.fixture
def df() -> pd.DataFrame:
    return run_grid(METHODS, INSTANCES, SEEDS, groups=GROUPS, progress=False)


def test_run_grid_rows_and_columns(df: pd.DataFrame) -> None:
    assert len(df) == 2 * 3 * 3
    assert list(df.columns) == ["method", "instance", "group", "seed", "score", "cost", "time_s"]
    assert (df["time_s"] >= 0).all()
    for row in df.itertuples():
        expected = METHODS[row.method](INSTANCES[row.instance], row.seed)
        assert (row.score, row.cost, row.group) == (
            expected["score"],
            expected["cost"],
            GROUPS[row.instance],
        )


def test_run_grid_default_groups_are_instances() -> None:
    df = run_grid(METHODS, INSTANCES, SEEDS, progress=False)
    assert (df["group"] == df["instance"]).all()


def test_summarize_matches_numpy(df: pd.DataFrame) -> None:
    summary = summarize(df, ["score", "cost"]).set_index("method")
    assert list(summary.columns) == ["score_mean", "score_std", "cost_mean", "cost_std", "n"]
    for method in METHODS:
        for metric in ("score", "cost"):
            values = _values(method, metric)
            assert summary.loc[method, f"{metric}_mean"] == pytest.approx(values.mean())
            assert summary.loc[method, f"{metric}_std"] == pytest.approx(values.std(ddof=1))
        assert summary.loc[method, "n"] == 9

    per_group = summarize(df, ["score"], by=("method", "group")).set_index(["method", "group"])
    small = _values("beta", "score", ("i1", "i2"))
    assert per_group.loc[("beta", "small"), "score_mean"] == pytest.approx(small.mean())
    assert per_group.loc[("beta", "small"), "score_std"] == pytest.approx(small.std(ddof=1))
    assert per_group.loc[("beta", "small"), "n"] == 6


def test_summarize_single_row_std_is_nan(df: pd.DataFrame) -> None:
    summary = summarize(df, ["score"], by=("method", "instance", "seed"))
    assert len(summary) == 18
    assert summary["score_std"].isna().all()
    assert (summary["n"] == 1).all()
    with pytest.raises(ConfigError, match="no column"):
        summarize(df, ["accuracy"])


def test_write_results_csv_round_trips(df: pd.DataFrame, tmp_path: Path) -> None:
    paths = write_results(df, "toy", ["score", "cost"], results_dir=tmp_path / "new" / "dir")
    assert set(paths) == {"csv", "md"}
    assert paths["csv"] == tmp_path / "new" / "dir" / "toy.csv"
    pd.testing.assert_frame_equal(pd.read_csv(paths["csv"]), df)


def test_write_results_markdown_tables(df: pd.DataFrame, tmp_path: Path) -> None:
    path = write_results(df, "toy", ["score", "cost"], tmp_path, title="Toy bench")["md"]
    title, overall, *per_group = path.read_text(encoding="utf-8").split("\n## ")
    assert title.strip() == "# Toy bench"
    assert overall.startswith("Overall")
    for method in METHODS:
        cells = [
            format_mean_std(_values(method, m).mean(), _values(method, m).std(ddof=1))
            for m in ("score", "cost")
        ]
        row = _row(overall, method)
        assert row[1:] == [*cells, "9"]

    assert [section.splitlines()[0].split(" (")[0] for section in per_group] == [
        "Per group: score",
        "Per group: cost",
    ]
    assert _row(per_group[0], "method") == ["method", "small", "large"]
    for method in METHODS:
        small = _values(method, "score", ("i1", "i2"))
        large = _values(method, "score", ("i3",))
        assert _row(per_group[0], method)[1:] == [
            format_mean_std(small.mean(), small.std(ddof=1)),
            format_mean_std(large.mean(), large.std(ddof=1)),
        ]


def test_write_results_single_group_has_no_per_group_table(tmp_path: Path) -> None:
    groups = dict.fromkeys(INSTANCES, "all")
    df = run_grid(METHODS, INSTANCES, SEEDS, groups=groups, progress=False)
    md = write_results(df, "toy", ["score"], tmp_path)["md"].read_text(encoding="utf-8")
    assert md.startswith("# toy\n")
    assert "Per group" not in md


def test_write_results_plot(df: pd.DataFrame, tmp_path: Path) -> None:
    paths = write_results(df, "toy", ["score", "cost"], tmp_path, plot=True)
    assert paths["png"] == tmp_path / "toy.png"
    assert paths["png"].read_bytes().startswith(b"\x89PNG")


def test_benchmark_error_names_failing_cell() -> None:
    def flaky(inst: float, seed: int) -> dict[str, float]:
        if inst == 2.0 and seed == 1:
            raise RuntimeError("solver diverged")
        return {"score": inst}

    with pytest.raises(BenchmarkError, match=r"'flaky'.*'i2'.*seed 1.*solver diverged") as info:
        run_grid({"flaky": flaky}, INSTANCES, SEEDS, progress=False)
    assert isinstance(info.value.__cause__, RuntimeError)


def test_after_each_sees_every_finished_cell_even_when_a_later_one_fails() -> None:
    def flaky(inst: float, seed: int) -> dict[str, float]:
        if inst == 2.0 and seed == 1:
            raise RuntimeError("solver diverged")
        return {"score": inst}

    seen: list[pd.DataFrame] = []
    with pytest.raises(BenchmarkError):
        run_grid({"flaky": flaky}, INSTANCES, SEEDS, progress=False, after_each=seen.append)
    assert [len(frame) for frame in seen] == [1, 2, 3, 4]  # (i1, 0..2), (i2, 0)
    assert list(seen[-1]["instance"]) == ["i1", "i1", "i1", "i2"]
    assert list(seen[-1].columns) == ["method", "instance", "group", "seed", "score", "time_s"]


def test_run_grid_rejects_bad_grids() -> None:
    with pytest.raises(ConfigError, match="at least one"):
        run_grid(METHODS, INSTANCES, [], progress=False)
    with pytest.raises(ConfigError, match="i3"):
        run_grid(METHODS, INSTANCES, SEEDS, groups={"i1": "a", "i2": "a"}, progress=False)
    with pytest.raises(ConfigError, match="reserved"):
        run_grid({"bad": lambda inst, seed: {"seed": 1.0}}, INSTANCES, SEEDS, progress=False)


def test_merge_rows_replaces_measured_cells_and_keeps_the_rest(tmp_path: Path) -> None:
    old = pd.DataFrame(
        {"method": ["a", "a", "b"], "instance": ["x", "y", "x"], "seed": [0, 0, 0], "v": [1, 2, 3]}
    )
    path = tmp_path / "rows.csv"
    old.to_csv(path, index=False)
    new = pd.DataFrame({"method": ["a"], "instance": ["x"], "seed": [0], "v": [10]})
    merged = merge_rows(new, path)
    cells = {(r.method, r.instance): r.v for r in merged.itertuples()}
    assert cells == {("a", "x"): 10, ("a", "y"): 2, ("b", "x"): 3}
    assert merge_rows(new, tmp_path / "absent.csv").equals(new)
    with pytest.raises(ConfigError, match="lacks the column"):
        merge_rows(new, path, keys=("instance", "method", "size"))


def test_format_mean_std_shows_mean_std_or_a_dash_for_a_missing_metric() -> None:
    assert format_mean_std(0.41234, 0.0056) == "0.412 ± 0.006"
    assert format_mean_std(0.41234, float("nan")) == "0.412"
    assert format_mean_std(float("nan"), float("nan")) == "–"


def test_a_metric_some_methods_lack_shows_a_dash(tmp_path: Path) -> None:
    rows = pd.DataFrame(
        {
            "method": ["base", "trained", "trained"],
            "group": ["g", "g", "g"],
            "score": [0.5, 0.6, 0.8],
            "dev": [float("nan"), 0.4, 0.6],
        }
    )
    md = write_results(rows, "toy", ["score", "dev"], tmp_path)["md"].read_text(encoding="utf-8")
    assert _row(md, "base")[1:] == ["0.500", "–", "1"]
    assert _row(md, "trained")[1:] == ["0.700 ± 0.141", "0.500 ± 0.141", "2"]


def test_rows_record_commit_date_and_the_effective_config() -> None:
    import json

    from pgsuite.core.provenance import PROVENANCE_COLUMNS, code_version

    rows = run_grid(
        {"m": lambda instance, seed: {"x": instance + seed}},
        {"a": 1.0},
        [0, 1],
        progress=False,
        config={"budget": 3, "out": Path("runs/x")},
    )
    assert list(rows.columns[-3:]) == list(PROVENANCE_COLUMNS)
    assert set(rows["commit"]) == {code_version()}
    assert [json.loads(c) for c in rows["config"]] == [{"budget": 3, "out": "runs/x"}] * 2
    assert rows["x"].tolist() == [1.0, 2.0]
    assert "commit" not in run_grid({"m": lambda i, s: {"x": 0}}, {"a": 0}, [0], progress=False)


def test_run_bench_saves_each_cell_as_it_finishes_and_keeps_older_cells(tmp_path: Path) -> None:
    csv = tmp_path / "toy.csv"
    pd.DataFrame(
        [{"method": "old", "instance": "a", "group": "a", "seed": 0, "value": 9.0, "time_s": 0}]
    ).to_csv(csv, index=False)
    seen_rows = []

    def method(instance: float, seed: int) -> dict[str, float]:
        seen_rows.append(len(pd.read_csv(csv)))  # what an interrupted run would have kept
        return {"value": instance + seed}

    rows, paths = run_bench(
        {"m": method},
        {"a": 1.0, "b": 2.0},
        [0, 1],
        name="toy",
        metrics=["value"],
        results_dir=tmp_path,
        order=lambda df: df.sort_values(["method", "instance", "seed"], ignore_index=True),
        progress=False,
    )
    assert seen_rows == [1, 2, 3, 4]
    assert list(rows["method"]) == ["m", "m", "m", "m", "old"]
    assert list(rows["value"]) == [1.0, 2.0, 2.0, 3.0, 9.0]
    assert pd.read_csv(paths["csv"])["value"].tolist() == rows["value"].tolist()
    assert paths["md"].read_text().startswith("# toy")


def test_write_table_writes_markdown_csv_and_the_doc_block(tmp_path: Path) -> None:
    results = tmp_path / "benchmarks" / "results"
    page = tmp_path / "docs" / "page.md"
    page.parent.mkdir()
    page.write_text("text\n\n<!-- results:speed -->\nold\n<!-- /results:speed -->\n")
    table = pd.DataFrame({"case": ["x", "y"], "value": [1.23456, np.nan]})
    path = write_table(table, "speed", "Speed", results, note="One note.", docs=[page], csv=True)
    text = path.read_text()
    assert text.startswith("# Speed\n\nOne note.\n\n| case")
    assert "1.235" in text
    assert "| y      |   –     |" in text
    assert pd.read_csv(results / "speed.csv").shape == (2, 2)
    assert "One note." in page.read_text()
    assert "old" not in page.read_text()
