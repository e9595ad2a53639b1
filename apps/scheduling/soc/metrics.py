"""What a SoC run is judged by: latency, throughput, utilisation and energy.

The first ``warmup_jobs`` jobs are left out. The *window* runs from the arrival of the first
measured job to the end of the last one; utilisation and energy count what happens inside it.
Energy uses each cluster's power profile at its highest operating frequency (DS3's DVFS
``performance`` mode): ``power_w[f_max][k - 1]`` watts while ``k`` of its cores are busy, 0 W while
none is (a power-gated idle cluster); a cluster without a profile counts 0 W. W x µs = µJ.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from pgsuite.apps.scheduling.soc.platform import Platform
from pgsuite.apps.scheduling.soc.simulator import RunResult
from pgsuite.apps.scheduling.soc.workload import JobInstance
from pgsuite.core.errors import ConfigError


@dataclass(frozen=True)
class RunMetrics:
    """Summary of a run (the measured jobs only)."""

    mean_latency_us: float
    p95_latency_us: float
    throughput_jobs_per_ms: float
    utilisation: float
    """Busy PE time / (PEs x window), in [0, 1]."""
    energy_per_job_uj: float
    jobs: int
    window_us: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def _busy_power(platform: Platform) -> list[tuple[float, ...]]:
    """Per resource id: watts with 1, 2, ... cores busy, at its highest frequency."""
    table: list[tuple[float, ...]] = []
    for resource in platform.soc.resources:
        profile = resource.power_w
        table.append(profile[max(profile)] if profile else ())
    return table


def cluster_energy_uj(platform: Platform, result: RunResult, begin: float, end: float) -> float:
    """Energy of all clusters between ``begin`` and ``end`` (µJ), from the busy-core counts."""
    power = _busy_power(platform)
    log = result.log
    total = 0.0
    for resource in np.unique(platform.cluster):
        watts = power[int(resource)]
        if not watts:
            continue
        rows = platform.cluster[log.pe] == resource
        starts = np.clip(log.start[rows], begin, end)
        ends = np.clip(log.end[rows], begin, end)
        inside = ends > starts  # runs outside the window would count as negative busy cores
        starts, ends = starts[inside], ends[inside]
        times = np.concatenate([starts, ends])
        steps = np.concatenate([np.ones(len(starts)), -np.ones(len(ends))])
        order = np.lexsort((steps, times))  # at one instant ends (-1) before starts
        busy = np.cumsum(steps[order])[:-1].astype(np.int64)
        spans = np.diff(times[order])
        levels = np.asarray((0.0, *watts))[np.minimum(busy, len(watts))]
        total += float((levels * spans).sum())
    return total


def run_metrics(
    platform: Platform, jobs: Sequence[JobInstance], result: RunResult, warmup_jobs: int = 0
) -> RunMetrics:
    """The metrics of a checked ``result`` of ``jobs``, without the first ``warmup_jobs``."""
    if not 0 <= warmup_jobs < len(jobs):
        raise ConfigError(f"warmup_jobs must be in [0, {len(jobs) - 1}], got {warmup_jobs}")
    latency = result.latency_us[warmup_jobs:]
    arrivals = np.asarray([j.arrival_us for j in jobs[warmup_jobs:]])
    begin, end = float(arrivals.min()), float((arrivals + latency).max())
    window = max(end - begin, 1e-12)
    log = result.log
    busy = (np.clip(log.end, begin, end) - np.clip(log.start, begin, end)).sum()
    return RunMetrics(
        mean_latency_us=float(latency.mean()),
        p95_latency_us=float(np.percentile(latency, 95)),
        throughput_jobs_per_ms=1000.0 * len(latency) / window,
        utilisation=float(busy / (platform.num_pes * window)),
        energy_per_job_uj=cluster_energy_uj(platform, result, begin, end) / len(latency),
        jobs=len(latency),
        window_us=window,
    )
