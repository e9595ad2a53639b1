"""The list heuristics: hand-computed placements on the two-task pair, online HEFT reproduces the
canonical makespan, and ETF / STF / HEFT-RT equal a naive event loop written from their
definitions on random layered DAGs (noise-free, so expected and actual times agree)."""

from __future__ import annotations

import numpy as np
import pytest

from pgsuite.apps.scheduling.soc.ds3 import read_compact_job, read_compact_soc, read_soc
from pgsuite.apps.scheduling.soc.generators import LayeredDAGConfig, layered_dag
from pgsuite.apps.scheduling.soc.heft import upward_rank
from pgsuite.apps.scheduling.soc.platform import Platform
from pgsuite.apps.scheduling.soc.schedulers import HEURISTICS, make_heuristic
from pgsuite.apps.scheduling.soc.simulator import SoCSimulator
from pgsuite.apps.scheduling.soc.workload import JobInstance, WorkloadConfig, generate_workload
from pgsuite.core.errors import ConfigError


@pytest.mark.parametrize("name", ["eft", "etf", "stf", "heft", "heft-rt", "met"])
def test_every_rule_puts_the_pair_on_core_then_accelerator(pair_files, name) -> None:
    soc_file, job_file = pair_files
    platform = Platform(read_soc(soc_file))
    jobs = generate_workload(platform, WorkloadConfig(jobs=(str(job_file),), num_jobs=1))
    result = SoCSimulator(platform, jobs).run(make_heuristic(name))
    # first: 10 on a core; second: 10 + 8 / 4 + 4 = 16 on the accelerator beats 30 on a core
    assert result.latency_us.tolist() == [16.0]
    assert result.log.pe.tolist() == [0, 2]


def test_online_heft_runs_the_canonical_plan(canonical_files) -> None:
    platform = Platform(read_compact_soc(canonical_files[0]))
    job = read_compact_job(canonical_files[1])
    mean = platform.execution_times(job)
    result = SoCSimulator(platform, [JobInstance(0, job, 5.0, mean, mean)]).run(
        make_heuristic("heft")
    )
    assert result.latency_us.tolist() == [80.0]


def _naive_event_loop(job, mean, per_volume, pick):
    """One job from time 0 with exact times: at each completion instant, while tasks are ready,
    ``pick(ready, finish)`` (``finish[i][p]``: expected end of ready task ``i`` on PE ``p``) gives
    ``(i, p)``; returns every task's (PE, end)."""
    tasks, pes = mean.shape
    preds = {t: [(int(a), float(v)) for (a, b), v in zip(job.edges, job.volumes, strict=True) if b == t]
             for t in range(tasks)}  # fmt: skip
    pe, end, free = {}, {}, [0.0] * pes
    now, done = 0.0, set()
    while len(done) < tasks:
        ready = [t for t in range(tasks) if t not in pe and all(a in done for a, _ in preds[t])]
        while ready:
            finish = [[max([free[p], now] + [end[a] + v * per_volume[pe[a]][p] for a, v in preds[t]])
                       + mean[t][p] for p in range(pes)] for t in ready]  # fmt: skip
            i, p = pick(ready, finish)
            t = ready.pop(i)
            start = finish[i][p] - mean[t][p]
            pe[t], end[t], free[p] = p, start + mean[t][p], start + mean[t][p]
        now = min(end[t] for t in pe if t not in done)
        done |= {t for t in pe if end[t] == now}
    return [pe[t] for t in range(tasks)], [end[t] for t in range(tasks)]


def _argmin(row):
    return min(range(len(row)), key=lambda p: (row[p], p))


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("name", ["etf", "stf", "heft-rt"])
def test_rules_equal_a_naive_event_loop(canonical_files, name, seed) -> None:
    soc = read_compact_soc(canonical_files[0])
    platform = Platform(soc)
    job = layered_dag(soc, LayeredDAGConfig(depth=5, width=4, max_predecessors=3, ccr=0.8), seed)
    mean = platform.execution_times(job)
    rank = upward_rank(job, mean, platform)
    picks = {
        "etf": lambda ready, f: min(((i, p) for i in range(len(ready)) for p in range(len(f[i]))),
                                    key=lambda ip: (f[ip[0]][ip[1]], ready[ip[0]], ip[1])),
        "stf": lambda ready, f: (i := min(range(len(ready)),
                                          key=lambda i: (mean[ready[i]].min(), ready[i])),
                                 _argmin(f[i])),
        "heft-rt": lambda ready, f: (i := min(range(len(ready)),
                                              key=lambda i: (-rank[ready[i]], ready[i])),
                                     _argmin(f[i])),
    }  # fmt: skip
    pe, end = _naive_event_loop(job, mean, platform.transfer_per_volume, picks[name])
    result = SoCSimulator(platform, [JobInstance(0, job, 0.0, mean, mean)]).run(
        make_heuristic(name)
    )
    assert result.log.pe.tolist() == pe
    assert np.allclose(result.log.end, end)


@pytest.mark.parametrize("name", sorted(HEURISTICS))
def test_noisy_loaded_runs_are_feasible_and_repeat(canonical_files, name) -> None:
    soc = read_compact_soc(canonical_files[0])
    platform = Platform(soc, switching_delay_us=1.0)
    rng = np.random.default_rng(0)
    jobs = []
    for index in range(25):
        job = layered_dag(soc, LayeredDAGConfig(depth=3, width=3), index)
        mean = platform.execution_times(job)
        noisy = np.maximum(np.round(rng.normal(mean, 0.3 * mean)), 1.0)
        jobs.append(JobInstance(index, job, 15.0 * index, mean, noisy))
    first = SoCSimulator(platform, jobs).run(make_heuristic(name, seed=1))
    again = SoCSimulator(platform, jobs).run(make_heuristic(name, seed=1))
    assert np.array_equal(first.latency_us, again.latency_us)  # checked inside run()


def test_unknown_scheduler_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown SoC scheduler 'fifo'"):
        make_heuristic("fifo")
