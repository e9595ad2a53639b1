"""HEFT: the canonical example's published ranks, schedule and makespan 80; the insertion plan
equals a naive independent implementation on random layered DAGs and passes the checker."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from pgsuite.apps.scheduling.soc.check import ScheduleLog, check_schedule
from pgsuite.apps.scheduling.soc.ds3 import read_compact_job, read_compact_soc
from pgsuite.apps.scheduling.soc.generators import LayeredDAGConfig, layered_dag
from pgsuite.apps.scheduling.soc.heft import heft_schedule, insertion_start
from pgsuite.apps.scheduling.soc.platform import Platform
from pgsuite.apps.scheduling.soc.workload import JobInstance


def test_canonical_example_ranks_schedule_and_makespan(canonical_files) -> None:
    soc_file, job_file = canonical_files
    plan = heft_schedule(Platform(read_compact_soc(soc_file)), read_compact_job(job_file))
    published = [108, 77, 80, 80, 69, 63.33, 42.67, 35.67, 44.33, 14.67]
    assert plan.rank.round(2).tolist() == published
    assert plan.makespan == 80
    # Topcuoglu et al. (2002), Fig. 5(a): PE (0-based) and start of T1 .. T10
    assert plan.pe.tolist() == [2, 0, 2, 1, 2, 1, 2, 0, 1, 1]
    assert plan.start.tolist() == [0, 27, 9, 18, 28, 26, 38, 57, 56, 73]


def test_insertion_uses_the_first_gap_that_fits() -> None:
    busy = [(0.0, 4.0), (6.0, 10.0), (20.0, 25.0)]
    assert insertion_start(busy, 0.0, 2.0) == (4.0, 1)
    assert insertion_start(busy, 0.0, 3.0) == (10.0, 2)
    assert insertion_start(busy, 7.0, 10.0) == (10.0, 2)
    assert insertion_start(busy, 7.0, 11.0) == (25.0, 3)
    assert insertion_start([], 3.0, 1.0) == (3.0, 0)


def _naive_heft(mean: np.ndarray, edges: np.ndarray, volumes: np.ndarray, per_volume: np.ndarray):
    """HEFT written from the paper, without the plan's data structures: recursive ranks, tasks by
    decreasing rank, every candidate start (ready time or the end of a busy run) tried in order."""
    tasks, pes = mean.shape
    finite = np.isfinite(mean)
    mean_w = [float(mean[t][finite[t]].mean()) for t in range(tasks)]
    mean_c = float(per_volume.sum() / (pes * (pes - 1)))
    successors = {t: [(int(b), float(v)) for (a, b), v in zip(edges, volumes, strict=True) if a == t]
                  for t in range(tasks)}  # fmt: skip
    predecessors = {t: [(int(a), float(v)) for (a, b), v in zip(edges, volumes, strict=True) if b == t]
                    for t in range(tasks)}  # fmt: skip

    @functools.cache
    def rank(t: int) -> float:
        return mean_w[t] + max((v * mean_c + rank(s) for s, v in successors[t]), default=0.0)

    busy: dict[int, list[tuple[float, float]]] = {p: [] for p in range(pes)}
    pe, end = {}, {}
    for t in sorted(range(tasks), key=lambda t: (-rank(t), t)):
        best = None
        for p in range(pes):
            if not finite[t, p]:
                continue
            w = float(mean[t, p])
            ready = max([end[a] + v * per_volume[pe[a], p] for a, v in predecessors[t]] + [0.0])
            for start in sorted({ready} | {e for _, e in busy[p] if e >= ready}):
                if all(start + w <= b or start >= e for b, e in busy[p]):
                    break
            if best is None or start + w < best[0]:
                best = (start + w, p, start)
        pe[t], end[t] = best[1], best[0]
        busy[best[1]].append((best[2], best[0]))
    return [pe[t] for t in range(tasks)], [end[t] for t in range(tasks)]


@pytest.mark.parametrize("seed", range(6))
def test_plan_equals_a_naive_heft_and_passes_the_checker(canonical_files, seed) -> None:
    soc = read_compact_soc(canonical_files[0])
    platform = Platform(soc)
    job = layered_dag(soc, LayeredDAGConfig(depth=4, width=4, max_predecessors=3, ccr=1.0), seed)
    plan = heft_schedule(platform, job)
    mean = platform.execution_times(job)
    pe, end = _naive_heft(mean, job.edges, job.volumes, platform.transfer_per_volume)
    assert plan.pe.tolist() == pe
    assert np.allclose(plan.end, end)
    instance = JobInstance(0, job, 0.0, mean, mean)
    log = ScheduleLog(np.zeros(job.num_tasks, int), np.arange(job.num_tasks), plan.pe,
                      plan.start, plan.end)  # fmt: skip
    assert check_schedule(platform, [instance], log).tolist() == [plan.makespan]
