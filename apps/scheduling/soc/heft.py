"""HEFT (Topcuoglu, Hariri & Wu, IEEE TPDS 2002): upward ranks and the insertion-based plan.

``rank_u(t) = mean_w(t) + max over successors s of (mean_c(t, s) + rank_u(s))`` with ``mean_w`` the
mean execution time over the PEs that run ``t`` and ``mean_c`` the edge's volume times the mean
transfer time per unit of volume between two different PEs (plus the switching delay). Tasks are
planned in decreasing rank (among those whose predecessors are planned; ties by lower id), each
on the PE where it is expected to finish first, allowed into an idle gap between tasks planned
before it (*insertion*). :func:`heft_schedule` plans one job from time 0; the online HEFT
scheduler (:class:`~pgsuite.apps.scheduling.soc.schedulers.Heft`) re-plans every undispatched
task of the jobs in the system with :func:`plan_heft` whenever a job arrives.
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from pgsuite.apps.scheduling.common.dag import TaskGraph
from pgsuite.apps.scheduling.soc.platform import Platform

Predecessors = Callable[[int], tuple[np.ndarray, np.ndarray]]
"""``predecessors(task) -> (sources [k], volumes [k])`` in the plan's task numbering."""


def mean_transfer_cost(platform: Platform, volumes: np.ndarray) -> np.ndarray:
    """HEFT's mean communication cost of edges of ``volumes`` (µs): volume times the mean
    transfer time per unit between two different PEs, plus the switching delay (0 with one PE)."""
    pes = platform.num_pes
    if pes == 1:
        return np.zeros_like(np.asarray(volumes, dtype=float))
    per_volume = platform.transfer_per_volume.sum() / (pes * (pes - 1))
    return np.asarray(volumes, dtype=float) * per_volume + platform.switching_delay_us


def upward_rank(job: TaskGraph, mean_time: np.ndarray, platform: Platform) -> np.ndarray:
    """``[T]`` upward rank of every task of ``job`` (µs), with ``mean_time`` ``[T, P]`` its
    execution times (``inf``: the PE does not run the task)."""
    finite = np.isfinite(mean_time)
    mean_w = np.where(finite, mean_time, 0.0).sum(axis=1) / finite.sum(axis=1)
    cost = mean_transfer_cost(platform, job.volumes)
    rank = np.zeros(job.num_tasks)
    for task in job.topological_order()[::-1]:
        out = np.flatnonzero(job.edges[:, 0] == task)
        tail = (cost[out] + rank[job.edges[out, 1]]).max() if len(out) else 0.0
        rank[task] = mean_w[task] + tail
    return rank


def run_ranks(jobs: Sequence, platform: Platform) -> np.ndarray:
    """``[N]`` the upward rank of every task of a workload (its
    :class:`~pgsuite.apps.scheduling.soc.workload.JobInstance` s, in order), computed once per
    distinct task graph."""
    ranks, cache = [], {}
    for instance in jobs:
        key = id(instance.job)
        if key not in cache:
            cache[key] = upward_rank(instance.job, instance.mean_time, platform)
        ranks.append(cache[key])
    return np.concatenate(ranks)


def insertion_start(
    busy: Sequence[tuple[float, float]], earliest: float, duration: float
) -> tuple[float, int]:
    """The earliest start ``>= earliest`` of a run of ``duration`` that overlaps none of the
    sorted, disjoint ``busy`` intervals, and the position to insert it at."""
    position = bisect.bisect_left(busy, (earliest, earliest))
    if position > 0 and busy[position - 1][1] > earliest:
        position -= 1  # the interval before may still run at ``earliest``
    start = earliest
    while position < len(busy):
        begin, end = busy[position]
        if start + duration <= begin:
            break
        start = max(start, end)
        position += 1
    return start, position


def plan_heft(
    tasks: np.ndarray,
    rank: np.ndarray,
    mean_time: np.ndarray,
    predecessors: Predecessors,
    platform: Platform,
    release: np.ndarray,
    pe: np.ndarray,
    end: np.ndarray,
    available: np.ndarray,
) -> np.ndarray:
    """Plan ``tasks`` with HEFT; fills ``pe`` and ``end`` for them in place.

    Args:
        tasks: int ``[K]`` the tasks to plan (every predecessor outside them is already placed:
            ``pe`` and ``end`` hold where and when it ends).
        rank: ``[N]`` upward ranks; ``mean_time``: ``[N, P]``; ``release``: ``[N]`` earliest starts.
        predecessors: the edges into a task.
        pe: int ``[N]`` PE of each task (read for placed ones, written for ``tasks``).
        end: ``[N]`` expected end of each task (µs; read and written likewise).
        available: ``[P]`` when each PE is free for newly planned tasks.

    Returns:
        ``[K]`` the planned start of each task of ``tasks``.
    """
    position = {int(t): i for i, t in enumerate(tasks)}
    inputs = [predecessors(int(t)) for t in tasks]
    waiting = np.zeros(len(tasks), dtype=np.int64)
    successors: list[list[int]] = [[] for _ in tasks]
    for i, (sources, _) in enumerate(inputs):
        for source in sources:
            j = position.get(int(source))
            if j is not None:
                waiting[i] += 1
                successors[j].append(i)
    heap = [(-rank[tasks[i]], int(tasks[i]), i) for i in np.flatnonzero(waiting == 0)]
    heapq.heapify(heap)
    busy: list[list[tuple[float, float]]] = [[] for _ in range(platform.num_pes)]
    start = np.zeros(len(tasks))
    pes = np.arange(platform.num_pes)
    while heap:
        _, task, i = heapq.heappop(heap)
        sources, volumes = inputs[i]
        ready = np.full(platform.num_pes, release[task], dtype=float)
        if len(sources):
            arrival = end[sources, None] + platform.transfer_time(
                np.broadcast_to(volumes[:, None], (len(sources), platform.num_pes)),
                pe[sources, None],
                pes[None, :],
            )
            ready = np.maximum(ready, arrival.max(axis=0))
        best = (np.inf, -1, 0.0, 0)
        for p in np.flatnonzero(np.isfinite(mean_time[task])):
            duration = float(mean_time[task, p])
            begin, slot = insertion_start(busy[p], max(ready[p], available[p]), duration)
            if begin + duration < best[0]:
                best = (begin + duration, int(p), begin, slot)
        finish, chosen, begin, slot = best
        busy[chosen].insert(slot, (begin, finish))
        pe[task], end[task], start[i] = chosen, finish, begin
        for k in successors[i]:
            waiting[k] -= 1
            if waiting[k] == 0:
                heapq.heappush(heap, (-rank[tasks[k]], int(tasks[k]), k))
    return start


@dataclass(frozen=True)
class StaticSchedule:
    """A plan of one job from time 0: ``pe``, ``start``, ``end`` ``[T]`` (µs) and its makespan."""

    pe: np.ndarray
    start: np.ndarray
    end: np.ndarray
    rank: np.ndarray

    @property
    def makespan(self) -> float:
        return float(self.end.max())


def heft_schedule(platform: Platform, job: TaskGraph) -> StaticSchedule:
    """HEFT's plan of ``job`` alone on an idle ``platform`` with its mean execution times."""
    mean_time = platform.execution_times(job)
    rank = upward_rank(job, mean_time, platform)
    incoming = [np.flatnonzero(job.edges[:, 1] == t) for t in range(job.num_tasks)]

    def predecessors(task: int) -> tuple[np.ndarray, np.ndarray]:
        return job.edges[incoming[task], 0], job.volumes[incoming[task]]

    pe = np.full(job.num_tasks, -1, dtype=np.int64)
    end = np.zeros(job.num_tasks)
    tasks = np.arange(job.num_tasks)
    start = plan_heft(
        tasks,
        rank,
        mean_time,
        predecessors,
        platform,
        job.earliest_start,
        pe,
        end,
        np.zeros(platform.num_pes),
    )
    return StaticSchedule(pe, start, end, rank)
