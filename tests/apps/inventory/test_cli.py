"""The inventory commands end to end on tiny budgets: train, resume, eval, optimal, errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pgsuite.apps.inventory import bench, optimal
from pgsuite.apps.inventory.settings import SettingConfig, build_setting
from pgsuite.core import cli

TINY = [
    "--train-samples", "256", "--dev-samples", "256", "--test-samples", "256",
    "--test-periods", "200", "--test-warmup", "100", "--batch-size", "64",
    "--eval-every", "5", "--no-progress",
]  # fmt: skip


_ONE_STORE = build_setting(SettingConfig(setting="transshipment", stores=1))
STORE_1 = (float(_ONE_STORE.demand_mean[0]), float(_ONE_STORE.demand_std[0]))


def _json(capsys: pytest.CaptureFixture) -> dict:
    return cli.loads_strict(capsys.readouterr().out)


def test_train_eval_and_resume(tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    argv = ["inventory", "train", "--setting", "one_store_lost", "--lead-time", "2"]
    argv += ["--penalty", "4", "--max-steps", "10", "--out", str(run), "--json", *TINY]
    assert cli.main(argv) == 0
    trained = _json(capsys)["summary"]
    assert trained["steps"] == 10
    assert trained["optimal_cost"] == pytest.approx(4.40, abs=0.005)
    assert trained["test_cost"] > trained["optimal_cost"] * 0.97
    for name in ("config.json", "checkpoint.pt", "best.pt", "metrics.csv", "learning_curves.png"):
        assert (run / name).exists(), name

    assert (
        cli.main([*argv[: -len(TINY) - 1], "--max-steps", "15", "--resume", "--json", *TINY]) == 0
    )
    assert _json(capsys)["summary"]["steps"] == 15

    assert (
        cli.main(["inventory", "eval", "--run", str(run), "--test-periods", "200", "--json"]) == 0
    )
    evaluated = _json(capsys)["summary"]
    assert {"test_cost", "optimal_cost", "gap_pct"} <= set(evaluated)


def test_optimal_command(capsys) -> None:
    argv = ["inventory", "optimal", "--setting", "one_store_lost", "--lead-time", "2"]
    assert cli.main([*argv, "--penalty", "19", "--json"]) == 0
    assert _json(capsys)["summary"]["optimal_cost"] == pytest.approx(7.66, abs=0.005)
    assert cli.main(["inventory", "optimal", "--setting", "one_warehouse_lost"]) == 2
    assert "no exact optimum or bound" in capsys.readouterr().err
    argv = ["inventory", "optimal", "--setting", "transshipment", "--stores", "1"]
    assert cli.main([*argv, "--lead-time", "2", "--penalty", "9", "--json"]) == 0
    bound = _json(capsys)["summary"]["lower_bound"]  # one store: exact, lead time 3 + 2
    assert bound == pytest.approx(optimal.backlog_base_stock_optimum(*STORE_1, 5, 1.0, 9.0)[1])


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["inventory", "train", "--lead-time", "-1"], "lead time must be >= 1"),
        (["inventory", "train", "--penalty", "0"], "penalty must be > 0"),
        (["inventory", "train", "--train-warmup", "60"], "train_warmup must be in"),
        (["inventory", "eval", "--run", "/no/such/run"], "not an inventory run folder"),
    ],
)
def test_bad_input_is_one_line_exit_2(capsys, argv: list[str], message: str) -> None:
    assert cli.main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert message in err[0]


TINY_WAREHOUSE_PROTOCOL = {
    "dev_samples": 64, "test_samples": 64, "test_periods": 60, "test_warmup": 30, "batch_size": 16,
}  # fmt: skip


@pytest.mark.parametrize("suite", ["zipkin", "backlog", "serial", "estimators", "transshipment"])
def test_bench_suites_write_their_tables(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch, suite: str
) -> None:
    monkeypatch.setattr(bench, "WAREHOUSE_PROTOCOL", TINY_WAREHOUSE_PROTOCOL)
    argv = ["inventory", "bench", "--suite", suite, "--lead-times", "1", "--penalties", "4"]
    argv += ["--store-counts", "2", "--max-steps", "3"]
    argv += ["--time-limit-s", "1", "--quick", "--results-dir", str(tmp_path), "--json", *TINY[:-3]]
    assert cli.main(argv) == 0
    summary = _json(capsys)["summary"]
    assert summary["mean_gap_pct"] > -5.0  # a policy cannot beat the optimum beyond noise
    assert (tmp_path / f"inventory_{suite}.csv").exists()
    assert (tmp_path / f"inventory_{suite}.md").exists()


def test_warehouse_bench_compares_gnn_with_vanilla(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench, "WAREHOUSE_PROTOCOL", TINY_WAREHOUSE_PROTOCOL)
    argv = ["inventory", "bench", "--suite", "warehouse", "--store-counts", "2", "3"]
    argv += ["--train-sizes", "8", "--max-steps", "3", "--results-dir", str(tmp_path), "--json"]
    assert cli.main(argv) == 0
    summary = _json(capsys)["summary"]
    keys = {"gnn_no_worse_everywhere", "gnn_better_with_small_data", "max_gnn_vs_vanilla_pct"}
    assert set(summary) == keys
    rows = pd.read_csv(tmp_path / "inventory_warehouse.csv")
    assert len(rows) == 3 * 2  # three methods x two instances
    assert (rows["train_steps"] == 3).all()
    assert (tmp_path / "inventory_warehouse_wide.md").exists()


def test_bench_runs_only_the_methods_asked_for(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bench, "WAREHOUSE_PROTOCOL", TINY_WAREHOUSE_PROTOCOL)
    argv = ["inventory", "bench", "--suite", "warehouse", "--store-counts", "2"]
    argv += ["--train-sizes", "8", "--max-steps", "2", "--results-dir", str(tmp_path)]
    assert cli.main([*argv, "--methods", "HDPO base-stock", "--json"]) == 0
    summary = _json(capsys)["summary"]
    assert not summary["gnn_better_with_small_data"]  # no GNN and vanilla rows to compare
    rows = pd.read_csv(tmp_path / "inventory_warehouse.csv")
    assert rows["method"].tolist() == ["HDPO base-stock"]

    assert cli.main([*argv, "--methods", "HDPO vanila"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "warehouse suite has no method(s) ['HDPO vanila']" in err[0]


def test_speed_bench(tmp_path: Path, capsys) -> None:
    assert (
        cli.main(
            ["inventory", "bench", "--suite", "speed", "--results-dir", str(tmp_path), "--json"]
        )
        == 0
    )
    speeds = _json(capsys)["summary"]
    assert set(speeds) == {"one store, L=4, B=8192", "one warehouse, 10 stores, B=8192"}
    assert (tmp_path / "inventory_speed.md").exists()
