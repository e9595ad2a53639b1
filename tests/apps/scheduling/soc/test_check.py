"""The SoC platform's time model and the independent schedule checker, on a hand-computed two-task
job, and the workload generator's seeding, noise and mix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pgsuite.apps.scheduling.common.feasibility import InfeasibleScheduleError
from pgsuite.apps.scheduling.soc.check import ScheduleLog, check_schedule, find_schedule_violations
from pgsuite.apps.scheduling.soc.ds3 import DS3_FOLDER, load_soc, read_job, read_soc
from pgsuite.apps.scheduling.soc.platform import Platform
from pgsuite.apps.scheduling.soc.workload import (
    JobInstance,
    WorkloadConfig,
    generate_workload,
    realised_times,
)
from pgsuite.core.errors import ConfigError


@pytest.fixture
def pair(pair_files: tuple[Path, Path]) -> tuple[Platform, Path]:
    soc_file, job_file = pair_files
    return Platform(read_soc(soc_file)), job_file


def _instance(platform: Platform, job_file: Path, index: int = 0, arrival: float = 5.0):
    job = read_job(job_file)
    table = platform.execution_times(job)
    return JobInstance(index, job, arrival, table, table.copy())


def _log(*rows: tuple[int, int, int, float, float]) -> ScheduleLog:
    job, task, pe, start, end = (np.asarray(column) for column in zip(*rows, strict=True))
    return ScheduleLog(job, task, pe, start, end)


def test_the_platform_expands_clusters_and_models_transfers(pair) -> None:
    platform, _ = pair
    assert platform.names == ("core.0", "core.1", "fast.0")
    assert platform.cluster.tolist() == [0, 0, 1]
    assert platform.transfer_per_volume.tolist() == [
        [0.0, 1.0, 0.25],  # core.0 -> core.1 through the memory: 1/2 + 1/2
        [1.0, 0.0, 0.25],
        [0.25, 0.25, 0.0],
    ]
    delayed = Platform(platform.soc, switching_delay_us=3.0)
    assert delayed.transfer_time(np.array([8.0, 8.0]), [0, 0], [2, 0]).tolist() == [5.0, 0.0]


def test_hand_computed_latencies_pass_the_checker(pair) -> None:
    platform, job_file = pair
    jobs = [_instance(platform, job_file)]
    # first on core.0 at the arrival: 5..15; second on fast.0 once its 8 units arrived at
    # 15 + 8 / 4 = 17: 17..21; latency 21 - 5 = 16
    assert check_schedule(platform, jobs, _log((0, 0, 0, 5, 15), (0, 1, 2, 17, 21))) == [16]
    # on the other core the data goes through the memory: 15 + 8 = 23, then 20 us: 43 - 5 = 38
    assert check_schedule(platform, jobs, _log((0, 0, 0, 5, 15), (0, 1, 1, 23, 43))) == [38]
    # on the same core the data is there at once: 15..35
    assert check_schedule(platform, jobs, _log((0, 0, 0, 5, 15), (0, 1, 0, 15, 35))) == [30]


@pytest.mark.parametrize(
    ("rows", "kind"),
    [
        ([(0, 0, 0, 5, 15), (0, 1, 2, 16, 20)], "precedence"),  # before its data arrived
        ([(0, 0, 0, 5, 15), (0, 1, 2, 17, 22)], "duration"),
        ([(0, 0, 0, 4, 14), (0, 1, 2, 17, 21)], "release"),  # before the job arrived
        ([(0, 0, 2, 5, 15), (0, 1, 2, 17, 21)], "unsupported"),  # 'first' on the accelerator
        ([(0, 0, 0, 5, 15)], "missing"),
        ([(0, 0, 0, 5, 15), (0, 0, 0, 5, 15), (0, 1, 2, 17, 21)], "missing"),
        ([(0, 0, 0, 5, 15), (0, 1, 2, 17, 21), (1, 0, 0, 10, 20), (1, 1, 0, 20, 40)], "overlap"),
    ],
)
def test_each_violation_is_found(pair, rows, kind) -> None:
    platform, job_file = pair
    jobs = [_instance(platform, job_file), _instance(platform, job_file, 1, 6.0)]
    if not any(row[0] == 1 for row in rows):
        jobs = jobs[:1]
    found = {v.kind for v in find_schedule_violations(platform, jobs, _log(*rows))}
    assert kind in found
    with pytest.raises(InfeasibleScheduleError, match="infeasible SoC schedule"):
        check_schedule(platform, jobs, _log(*rows))


def test_realised_times_follow_the_noise_model() -> None:
    mean = np.array([[10.0, 10.0, np.inf], [200.0, 200.0, 4.0]])
    cluster = np.array([0, 0, 1])
    assert np.array_equal(realised_times(mean, cluster, 0.0, None), mean)
    rng = np.random.default_rng(0)
    draws = np.stack([realised_times(mean, cluster, 0.3, rng) for _ in range(4000)])
    assert np.isinf(draws[:, 0, 2]).all()
    assert (draws[:, :, :2] == draws[:, :, :1]).all()  # one draw per cluster: its cores agree
    finite = draws[:, 1, :]
    assert (finite >= 1).all()
    assert np.array_equal(finite, np.round(finite))
    assert finite[:, 0].mean() == pytest.approx(200.0, rel=0.02)
    assert finite[:, 0].std() == pytest.approx(60.0, rel=0.05)


def test_workloads_are_seeded_and_follow_the_mix_and_rate(pair, tmp_path) -> None:
    platform, job_file = pair
    other = tmp_path / "job_solo.json"
    other.write_text('{"job": "solo", "tasks": {"first": {}}}')
    config = WorkloadConfig(jobs=(f"{job_file}:3", f"{other}:1"), scale_us=50.0, num_jobs=2000,
                            noise_std=0.2, seed=4)  # fmt: skip
    jobs = generate_workload(platform, config)
    again = generate_workload(platform, config)
    assert [j.arrival_us for j in jobs] == [j.arrival_us for j in again]
    assert all(
        np.array_equal(a.realised_time, b.realised_time) for a, b in zip(jobs, again, strict=True)
    )
    assert len(jobs) == 2000
    assert np.diff([0.0] + [j.arrival_us for j in jobs]).mean() == pytest.approx(50.0, rel=0.06)
    assert np.mean([j.job.name == "pair" for j in jobs]) == pytest.approx(0.75, abs=0.03)
    cut = generate_workload(platform, WorkloadConfig(jobs=(str(job_file),), scale_us=50.0,
                                                     num_jobs=None, duration_us=1000.0))  # fmt: skip
    assert all(j.arrival_us < 1000.0 for j in cut)
    assert 10 < len(cut) < 35
    for bad in ({"jobs": ()}, {"scale_us": 0.0}, {"num_jobs": None}, {"noise_std": -1.0},
                {"jobs": ("x:y",)}):  # fmt: skip
        with pytest.raises(ConfigError):
            WorkloadConfig(**bad).mix()


@pytest.mark.skipif(
    not (DS3_FOLDER / "config_SoC").is_dir(), reason=f"no DS3 files at {DS3_FOLDER}"
)
def test_the_heft_socs_transfer_time_is_the_data_volume() -> None:
    platform = Platform(load_soc("Top"))
    assert platform.num_pes == 3
    off_diagonal = platform.transfer_per_volume[~np.eye(3, dtype=bool)]
    assert np.allclose(off_diagonal, 1.0)  # 1/2 to the memory + 1/2 from it
    assert Platform(load_soc("MULTIPLE_BAL")).num_pes == 16
