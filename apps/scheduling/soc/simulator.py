"""An exact discrete-event simulator of DAG jobs on a SoC's PEs.

Events are job arrivals and task completions. At each event time (a *decision epoch*) the
scheduler is shown the ready tasks (every predecessor finished, so the time their data reaches
any PE is known) and dispatches some of them, in order, to PEs. A PE runs its dispatched tasks one
at a time in dispatch order, each starting at the latest of: its dispatch time, the end of the
PE's previous task, the arrival of its data on that PE (:meth:`Platform.transfer_time`) and its
job's arrival plus its earliest start. A task takes its *realised* time
(:class:`~pgsuite.apps.scheduling.soc.workload.JobInstance`), which schedulers never see: they
plan with the mean times and with :attr:`SoCSimulator.expected_free`, when each PE is expected to
finish its queue (running tasks counted at their start plus their mean time). A ready task left
undispatched waits for the next epoch. Every schedule goes through the independent checker
(:mod:`~pgsuite.apps.scheduling.soc.check`) before a latency is reported.
"""

from __future__ import annotations

import bisect
import functools
import heapq
import itertools
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from pgsuite.apps.scheduling.soc.check import ScheduleLog, check_schedule
from pgsuite.apps.scheduling.soc.platform import Platform
from pgsuite.apps.scheduling.soc.workload import JobInstance
from pgsuite.core.errors import ConfigError

_ARRIVAL, _COMPLETION = 1, 0  # at equal times completions come first (they free PEs)


class Scheduler(Protocol):
    """Picks the next dispatch of an epoch: ``choose(sim, ready) -> (task, pe)`` with ``task`` a
    global task id from ``ready`` and ``pe`` a PE that runs it, or ``None`` to leave the remaining
    ready tasks for the next epoch. The simulator dispatches each choice at once (so the next
    choice sees the PE's queue grown) and asks again while tasks are ready. ``reset(sim)`` is
    called once before a run."""

    def reset(self, sim: SoCSimulator) -> None: ...

    def choose(self, sim: SoCSimulator, ready: np.ndarray) -> tuple[int, int] | None: ...


@dataclass(frozen=True)
class RunResult:
    """A finished, checked run: latencies ``[J]`` (µs, every job) and the schedule."""

    latency_us: np.ndarray
    log: ScheduleLog
    makespan_us: float


class SoCSimulator:
    """One run of ``jobs`` (a workload, arrival order) on ``platform``.

    Global task ids number the tasks of all jobs, job after job. Read by schedulers:
    ``now``; ``mean_time`` ``[N, P]`` (``inf``: unsupported); ``expected_free`` ``[P]``;
    :meth:`data_ready` ``[P]`` of a ready task; ``job_of`` / ``task_of`` / ``release`` ``[N]``.
    """

    def __init__(self, platform: Platform, jobs: Sequence[JobInstance]) -> None:
        if not jobs:
            raise ConfigError("a run needs at least one job")
        if any(b.arrival_us < a.arrival_us for a, b in itertools.pairwise(jobs)):
            raise ConfigError("jobs must be in arrival order")
        self.platform, self.jobs = platform, list(jobs)
        sizes = np.asarray([j.job.num_tasks for j in jobs])
        self.offsets = np.concatenate([[0], np.cumsum(sizes)])
        count = int(self.offsets[-1])
        self.job_of = np.repeat(np.arange(len(jobs)), sizes)
        self.task_of = np.arange(count) - self.offsets[self.job_of]
        self.mean_time = np.concatenate([j.mean_time for j in jobs])
        self.realised_time = np.concatenate([j.realised_time for j in jobs])
        self.arrival_us = np.asarray([j.arrival_us for j in jobs])
        """``[J]`` arrival time of each job."""
        self.release = np.concatenate([j.arrival_us + j.job.earliest_start for j in jobs])
        edges = np.concatenate([j.job.edges + self.offsets[i] for i, j in enumerate(jobs)])
        self.edges = edges
        """int ``[E, 2]`` every edge (global ids), job after job."""
        self.edge_offsets = np.concatenate([[0], np.cumsum([len(j.job.edges) for j in jobs])])
        """``[J + 1]``: the edges of job ``j`` are ``edges[edge_offsets[j]:edge_offsets[j + 1]]``."""
        volumes = np.concatenate([j.job.volumes for j in jobs])
        order = np.argsort(edges[:, 1], kind="stable")
        self._pred_edges, self._pred_volumes = edges[order], volumes[order]
        self._pred_start = np.searchsorted(self._pred_edges[:, 1], np.arange(count + 1))
        by_source = np.argsort(edges[:, 0], kind="stable")
        self._succ = edges[by_source, 1]
        self._succ_start = np.searchsorted(edges[by_source, 0], np.arange(count + 1))
        self.now = 0.0
        self.jobs_in_system = 0
        """Jobs arrived and not finished."""
        self.latency_integral_us = 0.0
        """Integral of :attr:`jobs_in_system` over time so far (µs): at the end, the sum of the
        latencies (Little's law); its growth between decisions is the learned scheduler's cost."""
        self.tasks_left = sizes.copy()
        """``[J]`` unfinished tasks of each job."""
        self._held = False
        self._dispatched = False
        self._data_ready: dict[int, np.ndarray] = {}
        pes = platform.num_pes
        self._per_volume = platform.transfer_per_volume  # row q: from PE q to every PE
        self._delay = platform.switching_delay_us * (1.0 - np.eye(pes))
        self._has_delay = platform.switching_delay_us > 0
        self.expected_end = np.full(count, np.nan)
        """``[N]`` when each dispatched task is expected to end (its actual end once it has)."""
        self.pe = np.full(count, -1, dtype=np.int64)
        self.start = np.full(count, np.nan)
        self.end = np.full(count, np.nan)
        self._arrival = np.full(count, np.nan)  # when each dispatched task's data is on its PE
        self.finished = np.zeros(count, dtype=bool)
        self.free_at = np.zeros(platform.num_pes)  # actual end of each PE's queue
        self.expected_free = np.zeros(platform.num_pes)
        self._available = np.zeros(platform.num_pes)  # max(expected_free, now)
        self._queues: list[deque[int]] = [deque() for _ in range(platform.num_pes)]
        self._ready: list[int] = []  # sorted global ids
        self._events: list[tuple[float, int, int]] = [
            (j.arrival_us, _ARRIVAL, i) for i, j in enumerate(jobs)
        ]
        heapq.heapify(self._events)

    # -- Python lists of the step-by-step loop (built on first use; the compiled loop needs none)
    @functools.cached_property
    def _waiting(self) -> list[int]:
        """Unfinished predecessors of each task."""
        return np.diff(self._pred_start).tolist()

    @functools.cached_property
    def _successors(self) -> list[list[int]]:
        successors = self._succ.tolist()
        return [successors[lo:hi] for lo, hi in itertools.pairwise(self._succ_start.tolist())]

    @functools.cached_property
    def _job_list(self) -> list[int]:
        return self.job_of.tolist()

    @functools.cached_property
    def _pred_list(self) -> list[int]:
        return self._pred_start.tolist()

    @functools.cached_property
    def _release_list(self) -> list[float]:
        return self.release.tolist()

    # -- what schedulers read -------------------------------------------------------------------
    @property
    def ready_tasks(self) -> list[int]:
        """The ready, undispatched tasks (global ids, ascending; do not modify)."""
        return self._ready

    def predecessors(self, task: int) -> tuple[np.ndarray, np.ndarray]:
        """The edges into ``task``: source tasks ``[k]`` (global ids) and data volumes ``[k]``."""
        lo, hi = self._pred_start[task], self._pred_start[task + 1]
        return self._pred_edges[lo:hi, 0], self._pred_volumes[lo:hi]

    def data_ready(self, task: int) -> np.ndarray:
        """``[P]``: when the data of every predecessor of ready ``task`` is on each PE (known once
        the task is ready: its predecessors have ended)."""
        cached = self._data_ready.get(task)
        if cached is not None:
            return cached
        lo, hi = self._pred_list[task], self._pred_list[task + 1]
        release = self._release_list[task]
        if lo == hi:
            ready = np.full(self.platform.num_pes, release)
        elif hi - lo == 1:  # a chain: one row of the transfer table
            source = self._pred_edges[lo, 0]
            q = self.pe[source]
            ready = self._per_volume[q] * self._pred_volumes[lo]
            if self._has_delay:
                ready += self._delay[q]
            end = float(self.end[source])
            ready += end
            if release > end:  # transfers are >= 0: the release matters only after the end
                np.maximum(ready, release, out=ready)
        else:
            sources = self._pred_edges[lo:hi, 0]
            q = self.pe[sources]
            arrival = self._per_volume[q] * self._pred_volumes[lo:hi, None]
            arrival += self._delay[q]
            arrival += self.end[sources, None]
            ready = arrival.max(axis=0)
            np.maximum(ready, self.release[task], out=ready)
        self._data_ready[task] = ready
        return ready

    def expected_finish(self, task: int) -> np.ndarray:
        """``[P]``: when ``task`` would be expected to end if dispatched to each PE now (``inf``
        where the PE does not run it)."""
        begin = np.maximum(self._available, self.data_ready(task))
        begin += self.mean_time[task]
        return begin

    def earliest_finish_pe(self, task: int) -> int:
        """The PE where ready ``task`` is expected to finish first (ties: the lowest index)."""
        return int(self.expected_finish(task).argmin())

    def jobs_present(self) -> np.ndarray:
        """int ``[K]``: the jobs that have arrived and not finished, in arrival order."""
        arrived = int(np.searchsorted(self.arrival_us, self.now, side="right"))
        return np.flatnonzero(self.tasks_left[:arrived] > 0)

    def tasks_of_jobs(self, jobs: np.ndarray) -> np.ndarray:
        """int: the global ids of every task of ``jobs``, job after job."""
        if len(jobs) == 0:
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([np.arange(self.offsets[j], self.offsets[j + 1]) for j in jobs])

    # -- the run ---------------------------------------------------------------------------------
    def dispatch(self, task: int, pe: int) -> None:
        """Put ready ``task`` in ``pe``'s queue now (it starts once the PE and its data are there)."""
        position = bisect.bisect_left(self._ready, task)
        if position == len(self._ready) or self._ready[position] != task:
            raise ConfigError(f"the scheduler dispatched task {task}, which is not ready")
        mean = float(self.mean_time[task, pe])
        if not math.isfinite(mean):
            raise ConfigError(
                f"the scheduler put task {task} on {self.platform.names[pe]}, which cannot run it"
            )
        del self._ready[position]
        self._dispatched = True
        arrival = float(self.data_ready(task)[pe])
        del self._data_ready[task]
        start = max(self.now, float(self.free_at[pe]), arrival)
        end = start + float(self.realised_time[task, pe])
        self.pe[task], self.start[task], self.end[task] = pe, start, end
        self._arrival[task] = arrival
        self.free_at[pe] = end
        self._queues[pe].append(task)
        expected = max(float(self.expected_free[pe]), self.now, arrival) + mean
        self.expected_free[pe] = self.expected_end[task] = self._available[pe] = expected
        heapq.heappush(self._events, (end, _COMPLETION, task))

    def _complete(self, task: int) -> None:
        self.finished[task] = True
        self.expected_end[task] = self.end[task]
        job = self._job_list[task]
        self.tasks_left[job] -= 1
        if self.tasks_left[job] == 0:
            self.jobs_in_system -= 1
        pe = int(self.pe[task])
        queue = self._queues[pe]
        if queue[0] == task:  # a PE runs its queue in order: normally the head ended
            queue.popleft()
        else:  # zero-length tasks ending at one instant pop in id order
            queue.remove(task)
        self.expected_free[pe] = self._expected_queue_end(pe)
        waiting = self._waiting
        for successor in self._successors[task]:
            waiting[successor] -= 1
            if waiting[successor] == 0:
                bisect.insort(self._ready, successor)

    def _expected_queue_end(self, pe: int) -> float:
        """When a scheduler, knowing mean times only, expects ``pe`` to finish its queue: a task
        that started ends at its start plus its mean time (or now, if it is running longer); a
        waiting one starts after the one before and its data's arrival. Updates the queued
        tasks' :attr:`expected_end` on the way."""
        now = expected = self.now
        for queued in self._queues[pe]:
            started = float(self.start[queued])
            if started <= now:
                expected = max(expected, started + float(self.mean_time[queued, pe]))
            else:
                begin = max(expected, float(self._arrival[queued]))
                expected = begin + float(self.mean_time[queued, pe])
            self.expected_end[queued] = expected
        return expected

    def _arrive(self, job: int) -> None:
        self.jobs_in_system += 1
        for task in range(int(self.offsets[job]), int(self.offsets[job + 1])):
            if self._waiting[task] == 0:
                bisect.insort(self._ready, task)

    def next_epoch(self) -> np.ndarray | None:
        """Advance to the next decision: the ready tasks ``[R]`` (global ids, ascending), or
        ``None`` once no event is left (the run is over, or tasks were held with nothing to come).
        """
        while not self._ready or self._held:
            if not self._events:
                return None
            self._held = False
            time = self._events[0][0]
            self.latency_integral_us += self.jobs_in_system * (time - self.now)
            self.now = time
            while self._events and self._events[0][0] == time:
                _, kind, item = heapq.heappop(self._events)
                (self._complete if kind == _COMPLETION else self._arrive)(item)
            np.maximum(self.expected_free, time, out=self._available)
        return np.asarray(self._ready, dtype=np.int64)

    def hold(self) -> None:
        """Leave the remaining ready tasks for the next epoch."""
        self._held = True

    def result(self) -> RunResult:
        """The checked run, once :meth:`next_epoch` returned ``None``.

        Raises:
            ConfigError: tasks were left undispatched with no event to come.
        """
        if not self.finished.all():
            left = int((~self.finished).sum())
            raise ConfigError(f"the scheduler left {left} tasks undispatched")
        log = ScheduleLog(self.job_of, self.task_of, self.pe, self.start, self.end)
        latency = check_schedule(self.platform, self.jobs, log)
        return RunResult(latency, log, float(self.end.max()))

    def run(self, scheduler: Scheduler, compiled: bool = True) -> RunResult:
        """Simulate to the end with ``scheduler``; the schedule is checked before it returns.

        A fresh simulator given one of the list heuristics MET, EFT, ETF, STF or HEFT-RT (their
        exact classes: a subclass may change the rule) runs the compiled loop of
        :mod:`~pgsuite.apps.scheduling.soc.kernel`, the same schedule at a fraction of the cost;
        ``compiled=False`` keeps the Python loop.

        Raises:
            ConfigError: the scheduler dispatched a task that is not ready or to a PE that cannot
                run it, or left tasks undispatched with no event to come.
        """
        scheduler.reset(self)
        rule = type(scheduler).__dict__.get("compiled_rule")
        if compiled and rule is not None and self.now == 0 and not self._dispatched:
            return self._run_compiled(rule, getattr(scheduler, "rank", None))
        while (ready := self.next_epoch()) is not None:
            choice = scheduler.choose(self, ready)
            if choice is None:
                self.hold()
            else:
                self.dispatch(int(choice[0]), int(choice[1]))
        return self.result()

    def _run_compiled(self, rule: str, rank: np.ndarray | None) -> RunResult:
        from pgsuite.apps.scheduling.soc.kernel import RULES, run_rule

        count = len(self.job_of)
        pe, start, end, integral, now = run_rule(
            RULES[rule], len(self.jobs), self.offsets.astype(np.int64), self.job_of.astype(np.int64),
            self.arrival_us.astype(np.float64), np.ascontiguousarray(self.mean_time, np.float64),
            np.ascontiguousarray(self.realised_time, np.float64), self.release.astype(np.float64),
            self._pred_start.astype(np.int64), np.ascontiguousarray(self._pred_edges[:, 0], np.int64),
            self._pred_volumes.astype(np.float64), self._succ_start.astype(np.int64),
            self._succ.astype(np.int64), np.ascontiguousarray(self._per_volume, np.float64),
            np.ascontiguousarray(self._delay, np.float64),
            np.zeros(count) if rank is None else rank.astype(np.float64),
        )  # fmt: skip
        self.pe, self.start, self.end = pe, start, end
        self.expected_end = end.copy()
        self.finished[:] = pe >= 0
        self.now, self.latency_integral_us = float(now), float(integral)
        self.tasks_left[:] = 0
        self.jobs_in_system = 0
        self._ready, self._events = [], []
        return self.result()
