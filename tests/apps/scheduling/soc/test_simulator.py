"""The SoC simulator on the hand-computed two-task job of test_check.py: EFT and MET latencies
by hand, every run passes the checker, random runs are feasible and seeded."""

from __future__ import annotations

import numpy as np
import pytest

from pgsuite.apps.scheduling.soc.ds3 import read_soc
from pgsuite.apps.scheduling.soc.platform import Platform
from pgsuite.apps.scheduling.soc.schedulers import EarliestFinish, MinimumExecution, RandomPE
from pgsuite.apps.scheduling.soc.simulator import SoCSimulator
from pgsuite.apps.scheduling.soc.workload import WorkloadConfig, generate_workload


@pytest.fixture
def platform_and_job(pair_files):
    soc_file, job_file = pair_files
    return Platform(read_soc(soc_file)), str(job_file)


def _jobs(platform, job, **options):
    return generate_workload(platform, WorkloadConfig(jobs=(job,), **options))


def test_one_job_by_hand(platform_and_job) -> None:
    platform, job = platform_and_job
    jobs = _jobs(platform, job, num_jobs=1)
    arrival = jobs[0].arrival_us
    # EFT: first on core.0 (10 us); second expected to end at 10 + 8 / 4 + 4 = 16 on the
    # accelerator, 10 + 20 = 30 on core.0, 10 + 8 + 20 = 38 on core.1: the accelerator
    eft = SoCSimulator(platform, jobs).run(EarliestFinish())
    assert eft.latency_us.tolist() == [16.0]
    assert eft.log.pe.tolist() == [0, 2]
    assert eft.log.start.tolist() == [arrival, arrival + 12]
    # MET: the same placements here (the accelerator is the fastest for 'second')
    assert SoCSimulator(platform, jobs).run(MinimumExecution()).latency_us.tolist() == [16.0]


def test_queued_jobs_wait_for_the_pe(platform_and_job) -> None:
    platform, job = platform_and_job
    jobs = _jobs(platform, job, num_jobs=2, scale_us=1e-6)  # both arrive at once, nearly
    result = SoCSimulator(platform, jobs).run(MinimumExecution())
    # MET sends both 'second' tasks to the one accelerator: the later one queues behind
    assert result.log.pe[[1, 3]].tolist() == [2, 2]
    assert result.latency_us[1] > result.latency_us[0]


@pytest.mark.parametrize("noise", [0.0, 0.3])
def test_random_and_heuristic_runs_pass_the_checker_and_repeat(platform_and_job, noise) -> None:
    platform, job = platform_and_job
    jobs = _jobs(platform, job, num_jobs=60, scale_us=8.0, noise_std=noise, seed=2)
    for scheduler in (EarliestFinish, MinimumExecution, lambda: RandomPE(3)):
        first = SoCSimulator(platform, jobs).run(scheduler())
        again = SoCSimulator(platform, jobs).run(scheduler())
        assert np.array_equal(first.latency_us, again.latency_us)
        assert (first.latency_us > 0).all()
