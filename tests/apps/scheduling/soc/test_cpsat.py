"""The CP-SAT optimum of one job equals brute force (every PE assignment x every topological
order, each task appended at its earliest start) on tiny DAGs, is never above HEFT, and passes
the checker."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from pgsuite.apps.scheduling.soc.check import ScheduleLog, check_schedule
from pgsuite.apps.scheduling.soc.cpsat import optimal_schedule
from pgsuite.apps.scheduling.soc.ds3 import read_compact_job, read_compact_soc
from pgsuite.apps.scheduling.soc.generators import LayeredDAGConfig, layered_dag
from pgsuite.apps.scheduling.soc.heft import heft_schedule
from pgsuite.apps.scheduling.soc.platform import Platform
from pgsuite.apps.scheduling.soc.workload import JobInstance
from pgsuite.core.errors import ConfigError


def _brute_force(platform: Platform, job) -> float:
    """An optimal schedule appends tasks, in the order of their optimal starts, each at its
    earliest start: so the best over all (order, assignment) pairs is the optimum."""
    mean = platform.execution_times(job)
    tasks = job.num_tasks
    preds = [[(int(a), float(v)) for (a, b), v in zip(job.edges, job.volumes, strict=True)
              if b == t] for t in range(tasks)]  # fmt: skip
    choices = [np.flatnonzero(np.isfinite(mean[t])).tolist() for t in range(tasks)]
    best = np.inf
    for order in itertools.permutations(range(tasks)):
        position = {t: i for i, t in enumerate(order)}
        if any(position[a] > position[t] for t in range(tasks) for a, _ in preds[t]):
            continue
        for assignment in itertools.product(*choices):
            free, end = [0.0] * platform.num_pes, {}
            for t in order:
                p = assignment[t]
                ready = max([float(job.earliest_start[t])] + [
                    end[a] + float(platform.transfer_time(v, assignment[a], p))
                    for a, v in preds[t]])  # fmt: skip
                end[t] = max(free[p], ready) + mean[t, p]
                free[p] = end[t]
            best = min(best, max(end.values()))
    return best


@pytest.mark.parametrize("seed", range(5))
def test_optimum_equals_brute_force_on_tiny_dags(canonical_files, seed) -> None:
    soc = read_compact_soc(canonical_files[0])
    platform = Platform(soc, switching_delay_us=seed % 2)
    job = layered_dag(soc, LayeredDAGConfig(depth=3, width=2, max_predecessors=2, ccr=1.5), seed)
    assert job.num_tasks <= 6
    result = optimal_schedule(platform, job, time_limit_s=20)
    assert result.optimal
    assert result.makespan == pytest.approx(_brute_force(platform, job))
    assert result.makespan <= heft_schedule(platform, job).makespan + 1e-9
    mean = platform.execution_times(job)
    log = ScheduleLog(np.zeros(job.num_tasks, int), np.arange(job.num_tasks), result.pe,
                      result.start, result.end)  # fmt: skip
    latency = check_schedule(platform, [JobInstance(0, job, 0.0, mean, mean)], log)
    assert latency[0] == pytest.approx(result.makespan)


def test_canonical_optimum_beats_heft(canonical_files) -> None:
    platform = Platform(read_compact_soc(canonical_files[0]))
    result = optimal_schedule(platform, read_compact_job(canonical_files[1]))
    assert result.optimal
    assert result.makespan == 73.0  # HEFT: 80


def test_bad_limits_are_refused(canonical_files) -> None:
    platform = Platform(read_compact_soc(canonical_files[0]))
    with pytest.raises(ConfigError, match="time_limit_s > 0"):
        optimal_schedule(platform, read_compact_job(canonical_files[1]), time_limit_s=0)
