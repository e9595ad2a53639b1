"""The job-shop app from Python: load an instance, schedule it, check a schedule.

>>> from pgsuite.apps.jobshop import load_instance, solve
>>> instance = load_instance("ft06")
>>> solve(instance, "greedy").makespan  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from pgsuite.apps.scheduling.jobshop.instances import (
    InstanceFormat,
    JobShopInstance,
    benchmark_names,
    load_benchmark,
    read_instance,
)
from pgsuite.apps.scheduling.jobshop.solver import Solution, Solver


def load_instance(source: str | Path, format: InstanceFormat = "standard") -> JobShopInstance:
    """A classic instance by name (``"ft06"``, ``"ta01"``, ...; see :func:`benchmark_names`) or an
    instance file by path, read in ``format`` (``"standard"`` or ``"taillard"``)."""
    if isinstance(source, str) and source in set(benchmark_names()):
        return load_benchmark(source)
    return read_instance(Path(source), format)


def solve(
    instance: JobShopInstance,
    method: str = "greedy",
    *,
    policy: str | Path | None = None,
    seed: int = 0,
    workers: int = 2,
) -> Solution:
    """Schedule ``instance`` with ``method`` and verify the schedule.

    Args:
        instance: from :func:`load_instance` or ``random_instance``.
        method: as ``pgsuite jobshop solve --method``: ``greedy``, ``sample:N[@T]``,
            ``bisample:N[@T]``, a rule (``spt``, ``mwkr``, ``fdd/mwkr``, ...), ``cpsat:SECONDS``
            or ``cpsat+policy:SECONDS``.
        policy: a trained run folder or ``.pt`` file (default: the shipped policy).
        seed: seed of sampling, the random rule and CP-SAT.
        workers: CP-SAT search workers.

    Returns:
        The verified schedule (``start`` / ``end`` int ``[n, m]``), makespan and gap to the best
        known makespan in percent (NaN where none is known).
    """
    solver = Solver(Path(policy) if policy is not None else None, workers, seed)
    return solver.solve(instance, method)
