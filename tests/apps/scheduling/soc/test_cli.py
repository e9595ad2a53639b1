"""``pgsuite soc``: every command end to end on the canonical SoC and job (strict JSON), a tiny
PPO and REINFORCE training whose policy the other commands load, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgsuite.core.cli import loads_strict, main


@pytest.fixture
def files(canonical_files) -> list[str]:
    soc_file, job_file = canonical_files
    return ["--soc", str(soc_file), "--jobs", f"{job_file}:1"]


def _json(capsys, argv: list[str]) -> dict:
    assert main(argv) == 0
    return loads_strict(capsys.readouterr().out)["summary"]


WORKLOAD = ["--scale", "40", "--noise", "0.3", "--num-jobs", "12", "--warmup-jobs", "2"]


def test_simulate_reports_checked_metrics(files, capsys) -> None:
    summary = _json(capsys, ["soc", "simulate", *files, *WORKLOAD, "--scheduler", "etf", "--json"])
    assert summary["scheduler"] == "etf"
    assert summary["mean_latency"] >= 73.0  # at least the single-job optimum
    assert summary["p95_latency"] >= summary["mean_latency"] * 0.5
    assert 0 < summary["utilisation"] <= 1
    assert summary["jobs"] == 10
    again = _json(capsys, ["soc", "simulate", *files, *WORKLOAD, "--scheduler", "etf", "--json"])
    assert again == summary


@pytest.fixture(scope="module")
def trained(tmp_path_factory, canonical_files_module) -> Path:
    soc_file, job_file = canonical_files_module
    out = tmp_path_factory.mktemp("soc") / "run"
    argv = ["soc", "train", "--soc", str(soc_file), "--jobs", f"{job_file}:1", "--num-jobs", "6",
            "--scales-us", "20", "--noise-stds", "0.3", "--dev-scales-us", "20",
            "--dev-noise-stds", "0.3", "--dev-jobs", "8", "--max-ready", "8", "--hidden", "8",
            "--total-timesteps", "256", "--num-steps", "64", "--eval-every", "2", "--out",
            str(out), "--no-progress", "--json"]  # fmt: skip
    assert main(argv) == 0
    return out


def test_train_then_every_command_loads_the_policy(trained, files, capsys, tmp_path) -> None:
    assert (trained / "best.pt").is_file()
    assert (trained / "config.json").is_file()
    policy = ["--policy", str(trained)]
    summary = _json(capsys, ["soc", "simulate", *files, *WORKLOAD, "--scheduler", "policy",
                             *policy, "--json"])  # fmt: skip
    assert summary["scheduler"] == "policy"
    table = _json(capsys, ["soc", "eval", *files, *WORKLOAD, *policy, "--schedulers", "policy",
                           "heft", "eft", "--seeds", "2", "--json"])  # fmt: skip
    assert [row["scheduler"] for row in table["rows"]] == ["policy", "heft", "eft"]
    out = tmp_path / "g.png"
    assert main(["soc", "gantt", *files, *WORKLOAD, "--scheduler", "heft", "--out", str(out),
                 "--length", "300"]) == 0  # fmt: skip
    assert out.stat().st_size > 1000
    assert "checked SoC run" in capsys.readouterr().out
    results = tmp_path / "results"
    bench = _json(capsys, ["soc", "bench", "--suite", "latency", *files[:2], "--jobs",
                           files[3], "--scales", "40", "20", "--noises", "0", "0.3", "--seeds",
                           "0", "--methods", "policy", "heft", "eft", *policy, "--num-jobs", "12",
                           "--warmup-jobs", "2", "--results-dir", str(results), "--json"])  # fmt: skip
    assert len(bench["targets"]) == 4
    assert (results / "soc_latency.csv").is_file()
    assert (results / "soc_latency.png").is_file()


def test_reinforce_trains_with_the_time_indexed_baseline(files, capsys, tmp_path) -> None:
    argv = ["soc", "train", "--algo", "reinforce", *files, "--num-jobs", "5", "--scales-us", "20",
            "--dev-scales-us", "20", "--dev-noise-stds", "0", "--dev-jobs", "6", "--max-ready", "8",
            "--hidden", "8", "--workloads", "2", "--num-envs", "2", "--eval-every", "1", "--out",
            str(tmp_path / "rf"), "--no-progress", "--json"]  # fmt: skip
    summary = _json(capsys, argv)
    assert summary["algo"] == "reinforce"
    assert summary["iterations"] == 2


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--scheduler", "fifo"], "unknown scheduler 'fifo'"),
        (["--scale", "-1"], "scale"),
        (["--warmup-jobs", "12"], "leaves no job"),
        (["--soc", "NoSuchSoC"], "NoSuchSoC"),
    ],
)
def test_bad_input_is_one_line_and_nonzero(files, capsys, extra, message) -> None:
    assert main(["soc", "simulate", *files, *WORKLOAD, *extra]) != 0
    err = capsys.readouterr().err.strip()
    assert message in err
    assert len(err.splitlines()) == 1


def test_a_missing_or_foreign_policy_is_a_clear_error(trained, files, capsys, tmp_path, pair_files):
    argv = ["soc", "simulate", *files, *WORKLOAD, "--scheduler", "policy", "--policy"]
    assert main([*argv, str(tmp_path / "nothing")]) != 0
    assert "config.json" in capsys.readouterr().err
    soc_file, job_file = pair_files  # two clusters where the policy was trained on three
    other = ["soc", "simulate", "--soc", str(soc_file), "--jobs", f"{job_file}:1", *WORKLOAD]
    assert main([*other, "--scheduler", "policy", "--policy", str(trained)]) != 0
    assert "clusters" in capsys.readouterr().err
