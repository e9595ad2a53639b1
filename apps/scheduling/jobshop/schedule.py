"""Job-shop schedules as flat operation arrays for the shared feasibility checker."""

from __future__ import annotations

import numpy as np

from pgsuite.apps.scheduling.common.feasibility import Violation, check_schedule, find_violations
from pgsuite.apps.scheduling.jobshop.breakdowns import real_downtimes
from pgsuite.apps.scheduling.jobshop.instances import JobShopInstance


def job_precedences(num_jobs: int, num_machines: int) -> np.ndarray:
    """int ``[n (m - 1), 2]``: ``(op k, op k + 1)`` of every job, operations numbered ``j m + k``."""
    ops = np.arange(num_jobs * num_machines).reshape(num_jobs, num_machines)
    return np.stack([ops[:, :-1].ravel(), ops[:, 1:].ravel()], axis=1)


def unmirror(start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A schedule of :meth:`JobShopInstance.mirrored` read backwards in time: ``(start, end)``
    int ``[n, m]`` of the original instance, with the same makespan ``C = end.max()``
    (operation ``k`` starts at ``C`` minus the end of the mirror's operation ``m - 1 - k``)."""
    makespan = end.max()
    return makespan - end[:, ::-1], makespan - start[:, ::-1]


def _flat(
    instance: JobShopInstance,
    start: np.ndarray,
    end: np.ndarray,
    downtimes: np.ndarray | None,
) -> tuple[np.ndarray, ...]:
    """Operations, then downtimes as fixed extra operations on their machines (they must not
    overlap any operation; they have no precedences)."""
    starts, ends = np.ravel(start), np.ravel(end)
    machines, durations = instance.machines.ravel(), instance.durations.ravel()
    if downtimes is not None:
        machine, down_start, down_end = real_downtimes(np.asarray(downtimes))
        starts, ends = np.concatenate([starts, down_start]), np.concatenate([ends, down_end])
        machines = np.concatenate([machines, machine])
        durations = np.concatenate([durations, down_end - down_start])
    precedences = job_precedences(instance.num_jobs, instance.num_machines)
    return starts, ends, machines, durations, precedences


def violations(
    instance: JobShopInstance,
    start: np.ndarray,
    end: np.ndarray,
    downtimes: np.ndarray | None = None,
) -> list[Violation]:
    """Broken constraints of a schedule (``start``, ``end``: ``[n, m]`` per job and operation;
    ``downtimes``: optional int ``[m, D, 2]`` machine breakdowns no operation may overlap)."""
    return find_violations(*_flat(instance, start, end, downtimes))


def verified_makespan(
    instance: JobShopInstance,
    start: np.ndarray,
    end: np.ndarray,
    downtimes: np.ndarray | None = None,
) -> int:
    """The makespan of a schedule after the independent feasibility check.

    Raises:
        InfeasibleScheduleError: when any constraint is broken.
    """
    check_schedule(*_flat(instance, start, end, downtimes))
    return int(np.max(end))
