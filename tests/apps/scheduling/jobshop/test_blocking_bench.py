"""``pgsuite jobshop bench --suite blocking`` on a tiny grid: every method on the same shutdowns,
CP-SAT's proven optimum without shutdowns below every rule, the targets table's arithmetic."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pgsuite.apps.scheduling.jobshop.blocking_bench import BlockingBenchOptions, target_table
from pgsuite.core.cli import loads_strict, main
from pgsuite.core.errors import ConfigError


def test_a_tiny_blocking_grid(tmp_path: Path, capsys) -> None:
    run = tmp_path / "policy"
    argv = ["jobshop", "train-blocking", "--jobs", "4", "--machines", "3", "--total-timesteps",
            "128", "--num-envs", "2", "--num-steps", "64", "--dev-instances", "2", "--hidden",
            "16", "--out", str(run), "--no-progress"]  # fmt: skip
    assert main(argv) == 0
    capsys.readouterr()
    results = tmp_path / "results"
    argv = ["jobshop", "bench", "--suite", "blocking", "--blocking-sizes", "4x3", "5x3",
            "--lawrence", "--blocking-seeds", "0", "1", "--shutdown-probabilities", "0", "0.05",
            "--blocking-policy", str(run), "--cpsat-time-s", "10", "--results-dir", str(results),
            "--json"]  # fmt: skip
    assert main(argv) == 0
    summary = loads_strict(capsys.readouterr().out)["summary"]
    rows = pd.read_csv(results / "jobshop_blocking.csv")
    assert len(rows) == 7 * 2 * 2 * 2  # methods x sizes x probabilities x seeds
    calm = rows[rows["instance"].str.endswith("@p=0")]
    exact = calm[calm.method == "cpsat"].set_index(["instance", "seed"])
    assert (exact["cpsat_optimal"] == 1).all()
    others = calm[calm.method != "cpsat"].groupby(["instance", "seed"])["makespan"].min()
    assert (exact["makespan"] <= others.loc[exact.index]).all()
    stormy = rows[rows["instance"].str.endswith("@p=0.05")]
    assert stormy[stormy.method == "cpsat"]["makespan"].isna().all()
    assert (stormy["interrupted_share"] > 0).all()
    targets = pd.DataFrame(summary["targets"]).set_index("p")
    for level in (0.0, 0.05):
        part = rows[rows["instance"].str.endswith(f"@p={level:g}")]
        means = part.groupby("method")["makespan"].mean()
        best = means[["fifo", "spt", "lpt", "mor", "mwkr"]].min()
        assert targets.loc[level, "policy_vs_best_rule_pct"] == pytest.approx(
            100 * (means["policy"] / best - 1)
        )
    assert (results / "jobshop_blocking_targets.md").is_file()


def test_bad_blocking_options() -> None:
    with pytest.raises(ConfigError, match="unknown blocking method"):
        BlockingBenchOptions(blocking_methods=("edd",))
    with pytest.raises(ConfigError, match="unknown Lawrence instance"):
        BlockingBenchOptions(lawrence=("la41",))
    with pytest.raises(ConfigError, match="JOBSxMACHINES"):
        BlockingBenchOptions(blocking_sizes=("ten",))
    assert list(target_table(pd.DataFrame({"instance": ["a@p=0"], "method": ["spt"],
                                           "makespan": [3.0]})).columns) == ["p", "spt"]  # fmt: skip
