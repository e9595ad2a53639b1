"""The job-shop commands end to end on tiny budgets: train, resume, solve, gantt, bench, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from pgsuite.apps.scheduling.jobshop.bench import simulator_throughput, size_class
from pgsuite.apps.scheduling.jobshop.instances import (
    load_benchmark,
    random_instance,
    write_instance,
)
from pgsuite.apps.scheduling.jobshop.solver import SHIPPED_POLICY, Solver
from pgsuite.core import cli

TINY_TRAIN = [
    "--sizes", "4x3", "5x4", "--num-envs", "4", "--dev-instances", "4", "--hidden", "16",
    "--layers", "2", "--num-steps", "20", "--total-timesteps", "320", "--eval-every", "2", "--checkpoint-every", "2",
    "--no-progress", "--json",
]  # fmt: skip


def _json(capsys: pytest.CaptureFixture) -> dict:
    return cli.loads_strict(capsys.readouterr().out)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    run = tmp_path_factory.mktemp("jobshop") / "run"
    assert cli.main(["jobshop", "train", "--out", str(run), *TINY_TRAIN]) == 0
    return run


def test_train_writes_a_loadable_run_and_resumes(trained: Path, capsys) -> None:
    for name in ("config.json", "checkpoint.pt", "best.pt", "metrics.csv", "results.json"):
        assert (trained / name).exists(), name
    results = json.loads((trained / "results.json").read_text())
    # 320 steps / (4 envs x 20 steps per rollout of the largest size, 5x4) = 4 iterations
    assert results["iterations"] == 4
    assert results["timesteps"] == 320
    argv = ["jobshop", "train", "--out", str(trained), "--resume", *TINY_TRAIN]
    argv[argv.index("320")] = "480"
    assert cli.main(argv) == 0
    assert _json(capsys)["summary"]["iterations"] == 6


@pytest.mark.parametrize("breakdowns", [[], ["--mtbf", "2", "--mttr", "1"]])
def test_every_method_gives_a_verified_schedule_no_better_than_cpsat(
    trained: Path, tmp_path: Path, capsys, breakdowns: list[str]
) -> None:
    """With breakdowns every method meets the same ones; CP-SAT knows them in advance, so its
    optimum bounds every dispatching method's makespan from below."""
    path = tmp_path / "tiny.txt"
    write_instance(random_instance(5, 4, seed=3), path, "taillard")
    makespans = {}
    methods = ["greedy", "sample:8", "mwkr", "spt", "random", "cpsat:5", "cpsat+policy:5"]
    for method in methods + ([] if breakdowns else ["bisample:8"]):
        argv = ["jobshop", "solve", "--instance-file", str(path), "--format", "taillard"]
        argv += ["--method", method, "--policy", str(trained), "--workers", "1", "--json"]
        argv += breakdowns
        assert cli.main(argv) == 0, method
        summary = _json(capsys)["summary"]
        assert summary["size"] == "5x4"
        makespans[method] = summary["makespan"]
    optimum = makespans["cpsat:5"]  # proven optimal within 5 s on a 5x4 instance
    assert makespans["cpsat+policy:5"] == optimum
    assert all(value >= optimum for value in makespans.values()), makespans


def test_solve_writes_the_schedule_and_gantt_draws_it(trained: Path, tmp_path: Path) -> None:
    csv, png = tmp_path / "s.csv", tmp_path / "g.png"
    argv = ["--instance", "ft06", "--method", "mwkr", "--policy", str(trained)]
    assert cli.main(["jobshop", "solve", *argv, "--schedule-out", str(csv)]) == 0
    schedule = pd.read_csv(csv)
    assert len(schedule) == 36
    assert (schedule["end"] - schedule["start"] == load_benchmark("ft06").durations.ravel()).all()
    assert cli.main(["jobshop", "gantt", *argv, "--out", str(png)]) == 0
    assert png.stat().st_size > 10_000


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["solve", "--instance", "ft06", "--method", "cpsat"], "needs ':<number>'"),
        (["solve", "--instance", "ft06", "--method", "best"], "unknown method"),
        (["solve", "--instance", "ft06", "--method", "sample:8@0"], "positive number"),
        (["solve", "--instance", "ft06", "--method", "sample:8@hot"], "not a number"),
        (["solve", "--instance", "ft06", "--method", "mwkr@0.5"], "only sample:N"),
        (["solve", "--instance", "ft06", "--method", "sample:2.5"], "positive integer"),
        (["solve", "--instance", "ft06", "--method", "bisample:4", "--mtbf", "3"], "breakdowns"),
        (["solve", "--instance", "nope"], "unknown benchmark instance"),
        (["solve"], "exactly one of --instance"),
        (["solve", "--instance-file", "missing.txt"], "missing.txt"),
        (["solve", "--instance", "ft06", "--policy", "/nonexistent"], "config.json"),
        (["train", "--sizes", "10by10"], "JOBSxMACHINES"),
        (["bench", "--instances", "ta99"], "unknown instance"),
    ],
)
def test_bad_input_is_one_line_exit_2(capsys, argv: list[str], message: str) -> None:
    assert cli.main(["jobshop", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err
    assert "\n" not in err


def test_bench_accumulates_rows_and_reports_per_class(
    trained: Path, tmp_path: Path, capsys
) -> None:
    base = ["jobshop", "bench", "--results-dir", str(tmp_path), "--policy", str(trained)]
    base += ["--instances", "ft06", "la01", "--workers", "1", "--json"]
    assert cli.main([*base, "--methods", "mwkr", "greedy"]) == 0
    capsys.readouterr()
    assert cli.main([*base, "--methods", "cpsat:5", "mwkr"]) == 0
    summary = _json(capsys)["summary"]
    rows = pd.read_csv(tmp_path / "jobshop_taillard.csv")
    assert sorted(rows["method"].value_counts().items()) == [
        ("cpsat:5", 2),
        ("greedy", 2),
        ("mwkr", 2),
    ]
    assert (rows["makespan"] >= rows["best_known"]).all()
    # both instances have proven optima CP-SAT reaches in 5 s
    assert summary["mean_gap_pct"]["cpsat:5"] == pytest.approx(0.0)
    assert summary["mean_gap_pct"]["mwkr"] > 0
    wide = (tmp_path / "jobshop_taillard_wide.md").read_text()
    assert "| ft" in wide
    assert "| la" in wide


def test_interrupted_bench_keeps_its_finished_cells(
    trained: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    solve = Solver.solve

    def fails_on_la01(self, instance, method):
        if instance.name == "la01":
            raise KeyboardInterrupt  # the user stops a long run
        return solve(self, instance, method)

    monkeypatch.setattr(Solver, "solve", fails_on_la01)
    argv = ["jobshop", "bench", "--results-dir", str(tmp_path), "--policy", str(trained)]
    assert cli.main([*argv, "--instances", "ft06", "la01", "--methods", "mwkr"]) == 130
    assert "interrupted" in capsys.readouterr().err
    rows = pd.read_csv(tmp_path / "jobshop_taillard.csv")
    assert list(rows["instance"]) == ["ft06"]
    assert rows["makespan"].iloc[0] >= 55  # ft06's optimum


def test_size_classes_and_simulator_throughput() -> None:
    assert size_class(load_benchmark("ta07")) == "ta01-10 (15x15)"
    assert size_class(load_benchmark("ta80")) == "ta71-80 (100x20)"
    assert size_class(load_benchmark("abz5")) == "abz"
    assert simulator_throughput("ft06", batch=4) > 0


@pytest.mark.skipif(
    not (SHIPPED_POLICY / "best.pt").exists(), reason="no policy shipped in this checkout"
)
def test_shipped_policy_reproduces_the_benchmark_table() -> None:
    """The README's greedy figures come from the shipped checkpoint: greedy is deterministic, so
    rerunning it must give the recorded makespans exactly."""
    rows = pd.read_csv(Path(__file__).parents[4] / "benchmarks/results/jobshop_taillard.csv")
    greedy = rows[rows["method"] == "greedy"].set_index("instance")["makespan"]
    solver = Solver()
    for name in ("ta01", "ta11"):
        assert solver.solve(load_benchmark(name), "greedy").makespan == greedy[name]
