"""``pgsuite iot simulate``: a task file and the generator end to end (strict JSON), and
one-line errors for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgsuite.apps.scheduling.iot.tasks import write_task_csv
from pgsuite.core.cli import loads_strict, main

from .conftest import TWO_NODES, three_tasks, write_cluster


def test_simulate_a_task_file_and_the_generator(tmp_path: Path, capsys) -> None:
    cluster = write_cluster(tmp_path / "two.yaml", TWO_NODES)
    tasks = write_task_csv(three_tasks(), tmp_path / "tasks.csv")
    argv = ["iot", "simulate", "--cluster", str(cluster), "--source", "tasks", "--tasks",
            str(tasks), "--scheduler", "mct", "--json"]  # fmt: skip
    assert main(argv) == 0
    summary = loads_strict(capsys.readouterr().out)["summary"]
    assert summary["mean_response_s"] == pytest.approx((1.3 + 3.3 + 1.0) / 3)
    assert summary["energy_kwh"] == pytest.approx(358.0 / 3.6e6)
    assert summary["sla_compliance"] == pytest.approx(2 / 3)
    assert summary["decisions_per_s"] > 0
    argv = ["iot", "simulate", "--cluster", "small", "--source", "generator", "--duration-s",
            "60", "--scheduler", "aco", "--batch-s", "2", "--json"]  # fmt: skip
    assert main(argv) == 0
    summary = loads_strict(capsys.readouterr().out)["summary"]
    assert summary["cluster"] == "small"
    assert 0 < summary["utilisation"] <= 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--scheduler", "fifo"], "unknown IoT scheduler 'fifo'"),
        (["--cluster", "medium"], "no cluster preset or file 'medium'"),
        (["--source", "tasks"], "--source tasks needs --tasks FILE"),
        (["--trace", "/nowhere.csv"], "no Alibaba trace at /nowhere.csv"),
        (["--sla", "gold:0.5:2"], "shares must sum to 1"),
    ],
)
def test_bad_input_is_one_line(capsys, argv, message) -> None:
    assert main(["iot", "simulate", *argv]) != 0
    err = capsys.readouterr().err.strip()
    assert message in err
    assert len(err.splitlines()) == 1


def test_train_then_simulate_with_the_policy(tmp_path: Path, capsys) -> None:
    run = tmp_path / "rl"
    argv = ["iot", "train", "--duration-s", "30", "--total-timesteps", "512", "--num-steps",
            "64", "--num-envs", "2", "--eval-every", "2", "--out", str(run), "--no-progress",
            "--json"]  # fmt: skip
    assert main(argv) == 0
    summary = loads_strict(capsys.readouterr().out)["summary"]
    assert summary["iterations"] == 4
    assert (run / "best.pt").is_file()
    argv = ["iot", "simulate", "--source", "generator", "--duration-s", "30", "--scheduler", "rl",
            "--policy", str(run), "--json"]  # fmt: skip
    assert main(argv) == 0
    assert loads_strict(capsys.readouterr().out)["summary"]["sla_compliance"] >= 0
    argv = ["iot", "simulate", "--source", "generator", "--duration-s", "30", "--scheduler",
            "hybrid", "--batch-s", "5", "--policy", str(run), "--json"]  # fmt: skip
    assert main(argv) == 0
    assert loads_strict(capsys.readouterr().out)["summary"]["scheduler"] == "hybrid"
    assert main(["iot", "simulate", "--scheduler", "rl", "--policy", str(tmp_path / "none")]) != 0
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_the_shipped_policy_is_the_default(capsys) -> None:
    argv = ["iot", "simulate", "--source", "generator", "--duration-s", "60", "--seed", "3",
            "--scheduler", "rl", "--json"]  # fmt: skip
    assert main(argv) == 0
    learned = loads_strict(capsys.readouterr().out)["summary"]
    assert main([*argv[:-2], "mct", "--json"]) == 0
    mct = loads_strict(capsys.readouterr().out)["summary"]
    assert learned["tasks"] == mct["tasks"]
    # the shipped policy learned MCT's rule on such light streams: within 5 % of it
    assert learned["mean_response_s"] <= 1.05 * mct["mean_response_s"]


def test_bench_json(tmp_path: Path, capsys) -> None:
    argv = ["iot", "bench", "--loads", "0.4", "--no-with-trace", "--duration-s", "30", "--seeds",
            "0", "--methods", "mct", "olb", "--results-dir", str(tmp_path), "--json"]  # fmt: skip
    assert main(argv) == 0
    summary = loads_strict(capsys.readouterr().out)["summary"]
    assert Path(summary["csv"]).is_file()
    assert summary["targets"] == []  # no hybrid in this grid


def test_demo_part_runs_the_hybrid_against_the_rules() -> None:
    from pgsuite.apps.scheduling.iot.cli import demo
    from pgsuite.core.demo import DemoConfig

    [(title, table)] = demo(DemoConfig(quick=True))
    if "skipped" in title:
        pytest.skip(table["reason"].iloc[0])
    assert list(table["scheduler"]) == ["hybrid", "rl", "mct", "min-min", "olb"]
    assert table["tasks"].nunique() == 1
    assert table["sla_compliance"].between(0, 1).all()


def test_eval_rows_are_the_means_of_the_simulate_runs(capsys) -> None:
    stream = ["--source", "generator", "--duration-s", "40"]
    argv = ["iot", "eval", *stream, "--schedulers", "mct", "min-min", "--seeds", "2",
            "--batch-s", "4", "--json"]  # fmt: skip
    assert main(argv) == 0
    rows = {r["scheduler"]: r for r in loads_strict(capsys.readouterr().out)["summary"]["rows"]}
    assert set(rows) == {"mct", "min-min"}
    for name, batch in (("mct", "0"), ("min-min", "4")):
        runs = []
        for seed in ("0", "1"):
            argv = ["iot", "simulate", *stream, "--scheduler", name, "--batch-s", batch,
                    "--seed", seed, "--json"]  # fmt: skip
            assert main(argv) == 0
            runs.append(loads_strict(capsys.readouterr().out)["summary"])
        for metric in ("mean_response_s", "energy_kwh", "sla_compliance"):
            assert rows[name][metric] == pytest.approx(sum(r[metric] for r in runs) / 2)
    assert main(["iot", "eval", "--seeds", "0"]) != 0
    assert "seeds must be >= 1" in capsys.readouterr().err
