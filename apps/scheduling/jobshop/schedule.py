"""Job-shop schedules as flat operation arrays for the shared feasibility checker."""

from __future__ import annotations

import numpy as np

from apps.scheduling.common.feasibility import Violation, check_schedule, find_violations
from apps.scheduling.jobshop.instances import JobShopInstance


def job_precedences(num_jobs: int, num_machines: int) -> np.ndarray:
    """int ``[n (m - 1), 2]``: ``(op k, op k + 1)`` of every job, operations numbered ``j m + k``."""
    ops = np.arange(num_jobs * num_machines).reshape(num_jobs, num_machines)
    return np.stack([ops[:, :-1].ravel(), ops[:, 1:].ravel()], axis=1)


def violations(instance: JobShopInstance, start: np.ndarray, end: np.ndarray) -> list[Violation]:
    """Broken constraints of a schedule (``start``, ``end``: ``[n, m]`` per job and operation)."""
    return find_violations(
        np.ravel(start),
        np.ravel(end),
        instance.machines.ravel(),
        instance.durations.ravel(),
        job_precedences(instance.num_jobs, instance.num_machines),
    )


def verified_makespan(instance: JobShopInstance, start: np.ndarray, end: np.ndarray) -> int:
    """The makespan of a schedule after the independent feasibility check.

    Raises:
        InfeasibleScheduleError: when any constraint is broken.
    """
    return int(
        check_schedule(
            np.ravel(start),
            np.ravel(end),
            instance.machines.ravel(),
            instance.durations.ravel(),
            job_precedences(instance.num_jobs, instance.num_machines),
        )
    )
