"""Seeded random DAG jobs for a SoC: layered task graphs with a settable width, depth, task types
and communication-to-computation ratio (CCR).

A layered job has ``depth`` layers of 1 .. ``width`` tasks; every task after the first layer
gets 1 .. ``max_predecessors`` predecessors among the earlier layers, at least one of them in the
layer just before (so the longest chain has exactly ``depth`` tasks); tasks without successors
are the job's tails. Task types are drawn from ``task_types`` (default: every type some processing
element of the SoC runs). Data volumes are set so that the mean transfer time over the SoC's
finite cross-resource bandwidths is ``ccr`` times the mean execution time of the tasks (CCR as in
the HEFT paper; 0 gives jobs without data).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pgsuite.apps.scheduling.common.dag import TaskGraph
from pgsuite.apps.scheduling.soc.ds3 import SoC
from pgsuite.core.errors import ConfigError


@dataclass(frozen=True)
class LayeredDAGConfig:
    """Shape of random layered jobs."""

    depth: int = 4
    """Layers of tasks (the longest chain has this many tasks)."""
    width: int = 3
    """Most tasks per layer (each layer has 1 .. width, uniformly)."""
    max_predecessors: int = 2
    """Most predecessors of a task (at least one, in the layer before)."""
    ccr: float = 0.5
    """Communication-to-computation ratio: mean transfer time / mean execution time."""
    task_types: tuple[str, ...] = ()
    """Task types to draw from (default: every type the SoC runs)."""

    def __post_init__(self) -> None:
        for name in ("depth", "width", "max_predecessors"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not (np.isfinite(self.ccr) and self.ccr >= 0):
            raise ConfigError(f"ccr must be finite and >= 0, got {self.ccr}")


def _types(soc: SoC, wanted: Sequence[str]) -> list[str]:
    runnable = sorted({t for r in soc.processing for t in r.execution_time_us})
    if not wanted:
        return runnable
    unknown = [t for t in wanted if t not in runnable]
    if unknown:
        raise ConfigError(f"task types {unknown} run on no processing element of {soc.name}")
    return list(wanted)


def _mean_time(soc: SoC, task_type: str) -> float:
    return float(np.mean([r.execution_time_us[task_type] for r in soc.processing
                          if task_type in r.execution_time_us]))  # fmt: skip


def _mean_inverse_bandwidth(soc: SoC) -> float:
    """Mean of ``1 / bandwidth`` over the finite, positive bandwidths between distinct
    processing resources (1 when there are none: volumes are then transfer times)."""
    ids = [r.id for r in soc.processing]
    values = [soc.bandwidth[a, b] for a in ids for b in ids if a != b]
    usable = [v for v in values if np.isfinite(v) and v > 0]
    return float(np.mean([1.0 / v for v in usable])) if usable else 1.0


def layered_dag(soc: SoC, config: LayeredDAGConfig, seed: int) -> TaskGraph:
    """A random layered job for ``soc``, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    types = _types(soc, config.task_types)
    layers: list[list[int]] = []
    task_types: list[str] = []
    edges: list[tuple[int, int]] = []
    for depth in range(config.depth):
        layer = []
        for _ in range(int(rng.integers(1, config.width + 1))):
            task = len(task_types)
            task_types.append(types[int(rng.integers(len(types)))])
            if depth > 0:
                earlier = [t for previous in layers[:-1] for t in previous]
                parents = {int(rng.choice(layers[-1]))}
                extra = int(rng.integers(0, config.max_predecessors))
                pool = [t for t in (*layers[-1], *earlier) if t not in parents]
                if pool and extra:
                    picked = rng.choice(pool, size=min(extra, len(pool)), replace=False)
                    parents.update(int(p) for p in picked)
                edges += [(parent, task) for parent in sorted(parents)]
            layer.append(task)
        layers.append(layer)
    mean_compute = float(np.mean([_mean_time(soc, t) for t in task_types]))
    # volume v takes v * E[1 / bandwidth] on average; scale volumes to reach the CCR
    target = config.ccr * mean_compute / _mean_inverse_bandwidth(soc)
    volumes = rng.uniform(0.5, 1.5, size=len(edges)) * target
    names = tuple(f"{t}#{i}" for i, t in enumerate(task_types))
    return TaskGraph(
        f"layered-{seed}",
        tuple(task_types),
        np.asarray(edges, dtype=np.int64).reshape(-1, 2),
        volumes,
        task_names=names,
    )


def measured_ccr(job: TaskGraph, soc: SoC) -> float:
    """The job's communication-to-computation ratio on ``soc``: mean edge transfer time (volume
    times the mean inverse bandwidth) over the mean execution time of its tasks."""
    if len(job.edges) == 0:
        return 0.0
    compute = np.mean([_mean_time(soc, t) for t in job.task_types])
    return float(np.mean(job.volumes) * _mean_inverse_bandwidth(soc) / compute)
