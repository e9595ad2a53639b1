"""core.distributed: the Ray backend of run_grid on a local Ray instance limited to 2 CPUs gives the
local backend's rows, saves each finished cell, retries a failed cell once and reports a second
failure as the local backend does."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pgsuite.core import cli
from pgsuite.core.bench import BenchmarkError, run_grid
from pgsuite.core.distributed import BackendConfig
from pgsuite.core.errors import ConfigError

ray = pytest.importorskip("ray", reason="the Ray backend needs the ray extra")
cloudpickle = pytest.importorskip("ray.cloudpickle")

RAY = BackendConfig(backend="ray", ray_num_cpus=2)


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    """One local Ray instance of 2 CPUs for the module; this test module travels to its workers
    by value (it is not importable there)."""
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    yield
    ray.shutdown()
    cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def noisy_sum(instance: list[float], seed: int) -> dict[str, float]:
    rng = np.random.default_rng(seed)
    return {"value": float(np.sum(instance) + rng.normal()), "seed_squared": seed**2}


def largest(instance: list[float], seed: int) -> dict[str, float]:
    return {"value": max(instance) + seed}


class FailsOnce:
    """Raises on its first call for ``instance`` (remembered by a marker file: the retry runs in
    another worker process)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def __call__(self, instance: list[float], seed: int) -> dict[str, float]:
        marker = self.folder / f"{len(instance)}-{seed}"
        if not marker.exists():
            marker.touch()
            raise RuntimeError("worker lost its data")
        return {"value": float(len(instance))}


def always_fails(instance: list[float], seed: int) -> dict[str, float]:
    raise ValueError(f"bad instance of length {len(instance)}")


INSTANCES = {"short": [1.0, 2.0], "long": [3.0, 1.0, 4.0, 1.0, 5.0]}
METHODS = {"noisy_sum": noisy_sum, "largest": largest}


def test_ray_rows_equal_the_local_rows_in_grid_order() -> None:
    saved: list[pd.DataFrame] = []
    local = run_grid(METHODS, INSTANCES, [0, 1, 2], progress=False)
    remote = run_grid(
        METHODS, INSTANCES, [0, 1, 2], progress=False, after_each=saved.append, backend=RAY
    )
    pd.testing.assert_frame_equal(local.drop(columns="time_s"), remote.drop(columns="time_s"))
    assert len(saved) == 12  # one save per finished cell
    assert [len(frame) for frame in saved] == list(range(1, 13))
    keys = ["method", "instance", "seed"]
    grid = list(local[keys].itertuples(index=False, name=None))
    for frame in saved:  # every save holds finished cells only, in grid order
        positions = [grid.index(cell) for cell in frame[keys].itertuples(index=False, name=None)]
        assert positions == sorted(positions)


def test_a_failed_cell_is_reported_and_retried_once(tmp_path: Path, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="pgsuite.core.distributed"):
        rows = run_grid({"flaky": FailsOnce(tmp_path)}, INSTANCES, [0], progress=False, backend=RAY)
    assert rows["value"].tolist() == [2.0, 5.0]
    warnings = [r.getMessage() for r in caplog.records if "retrying it once" in r.getMessage()]
    assert len(warnings) == 2
    assert "RuntimeError: worker lost its data" in warnings[0]


def test_a_cell_failing_twice_stops_the_grid_like_the_local_backend() -> None:
    message = r"method 'broken' failed on instance 'short' with seed 0: ValueError: bad instance"
    for backend in (None, RAY):
        with pytest.raises(BenchmarkError, match=message):
            run_grid(
                {"broken": always_fails}, {"short": [1.0]}, [0], progress=False, backend=backend
            )


def test_backend_options_are_checked() -> None:
    for bad in (
        {"backend": "spark"},
        {"ray_cpus_per_task": 0},
        {"ray_gpus_per_task": -1},
        {"ray_num_cpus": 0},
        {"ray_address": " "},
    ):
        with pytest.raises(ConfigError):
            BackendConfig(**bad)


def test_jobshop_bench_on_ray_writes_the_local_table(tmp_path: Path, capsys) -> None:
    argv = ["jobshop", "bench", "--instances", "ft06", "la01", "--methods", "spt", "mwkr"]
    argv += ["greedy", "sample:4", "--json"]
    assert cli.main([*argv, "--results-dir", str(tmp_path / "local")]) == 0
    assert cli.main([*argv, "--results-dir", str(tmp_path / "ray"), "--backend", "ray"]) == 0
    capsys.readouterr()
    # when a cell ran and with which backend differ by design; every measured value must not
    varying = ["time_s", "date", "config"]
    local = pd.read_csv(tmp_path / "local" / "jobshop_taillard.csv").drop(columns=varying)
    remote = pd.read_csv(tmp_path / "ray" / "jobshop_taillard.csv").drop(columns=varying)
    pd.testing.assert_frame_equal(local, remote)
    assert set(local["method"]) == {"spt", "mwkr", "greedy", "sample:4"}
