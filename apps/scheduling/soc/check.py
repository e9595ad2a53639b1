"""The independent checker of SoC schedules: every latency is reported only after it passed.

A schedule is a log of task runs (job, task, PE, start, end). The checker recomputes every
constraint from the jobs and the platform alone and trusts nothing the simulator or a scheduler
reports: each task of each job runs exactly once, on a PE that supports its type, for exactly its
realised time there, not before its job's arrival plus its earliest start, after each predecessor
ended and its data arrived (:meth:`Platform.transfer_time` of the edge's volume between the two
PEs), and one task at a time on every PE (:func:`~pgsuite.apps.scheduling.common.feasibility.
find_violations` does the timing part).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pgsuite.apps.scheduling.common.feasibility import (
    Violation,
    find_violations,
    raise_violations,
)
from pgsuite.apps.scheduling.soc.platform import Platform
from pgsuite.apps.scheduling.soc.workload import JobInstance


@dataclass(frozen=True)
class ScheduleLog:
    """Task runs of a schedule: int ``job``, ``task``, ``pe`` and float ``start``, ``end`` (µs),
    all ``[N]``; ``job`` indexes the workload's :class:`JobInstance` list."""

    job: np.ndarray
    task: np.ndarray
    pe: np.ndarray
    start: np.ndarray
    end: np.ndarray


def find_schedule_violations(
    platform: Platform, jobs: Sequence[JobInstance], log: ScheduleLog
) -> list[Violation]:
    """Every broken constraint of ``log`` for ``jobs`` on ``platform`` (empty: feasible)."""
    job, task, pe = (np.asarray(a, dtype=np.int64) for a in (log.job, log.task, log.pe))
    start, end = np.asarray(log.start, dtype=float), np.asarray(log.end, dtype=float)
    violations: list[Violation] = []
    offsets = np.cumsum([0] + [j.job.num_tasks for j in jobs])
    if ((job < 0) | (job >= len(jobs))).any():
        return [Violation("missing", "the log names a job outside the workload")]
    sizes = offsets[job + 1] - offsets[job]
    if ((task < 0) | (task >= sizes) | (pe < 0) | (pe >= platform.num_pes)).any():
        return [Violation("missing", "the log names a task or PE that does not exist")]
    flat = offsets[job] + task
    counts = np.bincount(flat, minlength=offsets[-1])
    for index in np.flatnonzero(counts != 1):
        j = int(np.searchsorted(offsets, index, side="right") - 1)
        violations.append(
            Violation(
                "missing",
                f"task {index - offsets[j]} of job {j} runs {counts[index]} times, not once",
            )
        )
    if violations:
        return violations
    order = np.argsort(flat)  # one row per task, in workload order
    job, task, pe, start, end = job[order], task[order], pe[order], start[order], end[order]
    realised = np.asarray(
        [jobs[j].realised_time[t, p] for j, t, p in zip(job, task, pe, strict=True)], dtype=float
    )
    for row in np.flatnonzero(~np.isfinite(realised)):
        instance = jobs[int(job[row])]
        violations.append(
            Violation(
                "unsupported",
                f"task {task[row]} ({instance.job.task_types[task[row]]!r}) of job {job[row]} runs "
                f"on {platform.names[pe[row]]}, which cannot run it",
            )
        )
    if violations:
        return violations
    release = np.concatenate([j.arrival_us + j.job.earliest_start for j in jobs])
    edges = np.concatenate([j.job.edges + offsets[i] for i, j in enumerate(jobs)])
    volumes = np.concatenate([j.job.volumes for j in jobs])
    lags = platform.transfer_time(volumes, pe[edges[:, 0]], pe[edges[:, 1]])
    return find_violations(start, end, pe, realised, edges, lags, release=release)


def check_schedule(platform: Platform, jobs: Sequence[JobInstance], log: ScheduleLog) -> np.ndarray:
    """Each job's latency (its last task's end minus its arrival, µs) after the checks.

    Raises:
        InfeasibleScheduleError: listing the first five violations.
    """
    raise_violations(find_schedule_violations(platform, jobs, log), "SoC schedule")
    finish = np.full(len(jobs), -np.inf)
    np.maximum.at(finish, np.asarray(log.job, dtype=np.int64), np.asarray(log.end, dtype=float))
    return finish - np.asarray([j.arrival_us for j in jobs])
