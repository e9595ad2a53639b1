"""``pgsuite inventory sweep`` and ``pgsuite jobshop sweep``: a 2-trial Ray Tune sweep on a local
Ray instance of 2 CPUs writes a normal run folder per trial, a trials table and a best config that
``train --config`` trains again to the same dev metric."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pandas as pd
import pytest

from pgsuite.core import cli

ray = pytest.importorskip("ray", reason="sweeps need the ray extra")


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    yield
    ray.shutdown()


def _run(argv: list[str], capsys) -> dict:
    capsys.readouterr()
    assert cli.main([*argv, "--json"]) == 0
    return cli.loads_strict(capsys.readouterr().out)["summary"]


def _check_sweep(app: str, space: str, train: list[str], metric: str, tmp_path, capsys) -> None:
    space_file = tmp_path / "space.yaml"
    space_file.write_text(space)
    out = tmp_path / "sweep"
    argv = [app, "sweep", "--space", str(space_file), "--trials", "2", "--grace-period", "1"]
    summary = _run([*argv, *train, "--out", str(out)], capsys)
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == summary["trials"] == 2
    assert set(trials["status"]) <= {"completed", "stopped early"}
    for folder in trials["folder"]:
        assert {"options.json", "config.json", "metrics.csv"} <= {
            p.name for p in Path(folder).iterdir()
        }
    best_value = summary[f"best_{metric}"]
    column = trials[f"best_{metric}"]
    assert best_value == (column.min() if summary["mode"] == "min" else column.max())
    best_config = json.loads((out / "best_config.json").read_text())
    assert "out" not in best_config
    assert "resume" not in best_config
    for name, value in summary["best_params"].items():
        assert best_config[name] == value
    again = _run([app, "train", "--config", str(out / "best_config.json"), "--no-progress"], capsys)
    assert again[f"best_dev_{metric.removeprefix('dev_')}"] == best_value


def test_inventory_sweep_and_its_best_config(tmp_path, capsys) -> None:
    space = "learning_rate: {loguniform: [1.0e-3, 3.0e-2]}\nhidden: {choice: [[8], [16, 16]]}\n"
    train = ["--quick", "--lead-time", "2", "--max-steps", "6", "--eval-every", "2"]
    train += ["--train-samples", "256", "--dev-samples", "256", "--test-samples", "256"]
    _check_sweep("inventory", space, train, "cost", tmp_path, capsys)


def test_jobshop_sweep_and_its_best_config(tmp_path, capsys) -> None:
    space = "learning_rate: {loguniform: [1.0e-4, 1.0e-3]}\nent_coef: {uniform: [0.0, 0.02]}\n"
    train = ["--sizes", "4x4", "--num-envs", "2", "--num-steps", "16", "--total-timesteps", "128"]
    train += ["--num-minibatches", "2", "--dev-instances", "4", "--eval-every", "2"]
    _check_sweep("jobshop", space, train, "dev_gap_to_mwkr_pct", tmp_path, capsys)
