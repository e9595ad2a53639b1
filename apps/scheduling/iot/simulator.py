"""An exact event-driven simulator of IoT tasks on cluster nodes.

Decisions: with ``batch_s = 0`` each task is assigned when it arrives; with ``batch_s > 0`` the
tasks that arrived in ``((k - 1) batch_s, k batch_s]`` wait at the gateway and are assigned at
``k batch_s``, one at a time in the order the scheduler picks (it sees the cluster as the earlier
picks of the batch left it). Assigning task ``i`` to node ``m`` at time ``t``:

- its input travels from the gateway (``latency + 8 input_mb / bandwidth`` s) and is on the node
  at ``t + upload``;
- the node gives its cores to tasks in assignment order: the task takes the core that frees first
  and starts at ``max(its data on the node, that core free)`` (the core waits for the data);
- it runs ``length_mi / mips`` s, then its output travels back: the response time is
  ``end + download - arrival``; the task meets its SLA if that is back by its deadline;
- memory: a node holds a task only if the task's memory is at most the node's memory per core
  (so that every core can run a task at once): assigning one elsewhere is refused.

Times are deterministic, so schedulers know every node's queue exactly (``core_free``). Task starts
and ends are events too: the simulator integrates every node's power over time from them (busy
cores / cores is the utilisation of the power model), from 0 to the last completion. Every run
goes through the independent checker (:mod:`~pgsuite.apps.scheduling.iot.check`) before figures
are reported.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from pgsuite.apps.scheduling.iot.check import AssignmentLog, check_run
from pgsuite.apps.scheduling.iot.cluster import Cluster
from pgsuite.apps.scheduling.iot.tasks import TaskSet, fits
from pgsuite.core.errors import ConfigError

_END, _START = 0, 1  # at one instant: ends free cores before starts take them


class Scheduler(Protocol):
    """``choose(sim, pending) -> (task, node)``: which of the ``pending`` tasks (ids, arrival
    order) to assign next and where; asked again while tasks are pending. ``reset(sim)`` runs
    once before a run."""

    def reset(self, sim: IoTSimulator) -> None: ...

    def choose(self, sim: IoTSimulator, pending: np.ndarray) -> tuple[int, int]: ...


@dataclass(frozen=True)
class RunResult:
    """A finished, checked run: per task ``[N]`` node, decision, start, end and response time
    (s), whether it met its deadline; per node ``[M]`` energy (J) and busy core-seconds; the
    horizon (s, the last response)."""

    log: AssignmentLog
    response_s: np.ndarray
    met_deadline: np.ndarray
    energy_j: np.ndarray
    busy_core_s: np.ndarray
    horizon_s: float


class IoTSimulator:
    """One run of ``tasks`` on ``cluster``.

    Read by schedulers: ``now``; ``tasks``; ``cluster``; ``core_free`` (per node, the sorted
    times its cores free up: its queue); ``earliest_free`` ``[M]`` (the first of them);
    ``assigned`` ``[M]`` tasks given to each node so far; ``feasible(task)`` ``[M]``;
    :meth:`completion` (when a task would be back from each node).
    """

    def __init__(self, cluster: Cluster, tasks: TaskSet, batch_s: float = 0.0) -> None:
        if not batch_s >= 0:
            raise ConfigError(f"batch_s must be >= 0, got {batch_s}")
        self.cluster, self.tasks, self.batch_s = cluster, tasks, float(batch_s)
        count, nodes = len(tasks), cluster.size
        self.mips = cluster.column("mips")
        self.latency_s = cluster.column("latency_ms") / 1000.0
        self.seconds_per_mb = 8.0 / cluster.column("bandwidth_mbps")
        self.cores = cluster.column("cores").astype(np.int64)
        self._fits = fits(cluster, tasks.memory_gb)
        orphan = np.flatnonzero(~self._fits.any(axis=1))
        if len(orphan):
            raise ConfigError(f"task {orphan[0]} needs {tasks.memory_gb[orphan[0]]:g} GB, more "
                              f"than any node of {cluster.name!r} holds per core")  # fmt: skip
        self._power = [
            np.asarray(n.power_w(np.arange(n.cores + 1) / n.cores)) for n in cluster.nodes
        ]
        self.now = 0.0
        self.core_free = [[0.0] * int(c) for c in self.cores]  # heaps
        self.earliest_free = np.zeros(nodes)
        self.assigned = np.zeros(nodes, dtype=np.int64)
        self.completed = np.zeros(nodes, dtype=np.int64)
        """``[M]`` tasks each node has finished running by ``now``."""
        self.node = np.full(count, -1, dtype=np.int64)
        self.order = np.full(count, -1, dtype=np.int64)
        self.decided = np.full(count, np.nan)
        self.start = np.full(count, np.nan)
        self.end = np.full(count, np.nan)
        self.back = np.full(count, np.nan)
        self._busy = np.zeros(nodes, dtype=np.int64)
        self._since = np.zeros(nodes)
        self.energy_j = np.zeros(nodes)
        self.busy_core_s = np.zeros(nodes)
        self._events: list[tuple[float, int, int]] = []
        self._first = self._last = 0  # the current decision's tasks: [_first, _last)

    # -- what schedulers read ----------------------------------------------------------------------
    def feasible(self, task: int) -> np.ndarray:
        """bool ``[M]``: the nodes that can hold ``task``."""
        return self._fits[task]

    def upload_s(self, task: int) -> np.ndarray:
        """``[M]`` time to move the task's input to each node."""
        return self.latency_s + self.tasks.input_mb[task] * self.seconds_per_mb

    def download_s(self, task: int) -> np.ndarray:
        """``[M]`` time to move the task's output back from each node."""
        return self.latency_s + self.tasks.output_mb[task] * self.seconds_per_mb

    def execution_s(self, task: int) -> np.ndarray:
        """``[M]`` the task's run time on one core of each node."""
        return self.tasks.length_mi[task] / self.mips

    def completion(self, task: int, earliest_free: np.ndarray | None = None) -> np.ndarray:
        """``[M]`` when ``task`` would be back at the gateway if assigned to each node now
        (``inf`` where it does not fit); ``earliest_free`` replaces the nodes' first free core
        times (a batch's tentative picks)."""
        return self.completion_matrix(np.asarray([task]), earliest_free)[0]

    def completion_matrix(
        self, tasks: np.ndarray, earliest_free: np.ndarray | None = None
    ) -> np.ndarray:
        """``[K, M]`` :meth:`completion` of each of ``tasks``."""
        tasks = np.asarray(tasks)
        earliest = self.earliest_free if earliest_free is None else earliest_free
        upload = self.latency_s + self.tasks.input_mb[tasks, None] * self.seconds_per_mb
        download = self.latency_s + self.tasks.output_mb[tasks, None] * self.seconds_per_mb
        begin = np.maximum(self.now + upload, earliest)
        done = begin + self.tasks.length_mi[tasks, None] / self.mips + download
        return np.where(self._fits[tasks], done, np.inf)

    # -- the run -----------------------------------------------------------------------------------
    def assign(self, task: int, node: int) -> None:
        """Give pending ``task`` to ``node`` now."""
        if not (self._first <= task < self._last) or self.node[task] >= 0:
            raise ConfigError(f"task {task} is not pending")
        if not self._fits[task, node]:
            raise ConfigError(f"task {task} needs {self.tasks.memory_gb[task]:g} GB; node "
                              f"{self.cluster.nodes[node].name} holds less per core")  # fmt: skip
        heap = self.core_free[node]
        data_on_node = (
            self.now + self.latency_s[node] + self.tasks.input_mb[task] * self.seconds_per_mb[node]
        )
        start = max(data_on_node, heap[0])
        end = start + self.tasks.length_mi[task] / self.mips[node]
        heapq.heapreplace(heap, end)
        self.earliest_free[node] = heap[0]
        self.order[task] = self.assigned.sum()
        self.assigned[node] += 1
        self.node[task], self.decided[task], self.start[task], self.end[task] = (
            node,
            self.now,
            start,
            end,
        )
        self.back[task] = (
            end + self.latency_s[node] + self.tasks.output_mb[task] * self.seconds_per_mb[node]
        )
        heapq.heappush(self._events, (start, _START, task))
        heapq.heappush(self._events, (end, _END, task))

    def _advance(self, time: float) -> None:
        """Process the starts and ends up to ``time`` (energy and busy cores)."""
        events = self._events
        while events and events[0][0] <= time:
            at, kind, task = heapq.heappop(events)
            node = self.node[task]
            self.energy_j[node] += self._power[node][self._busy[node]] * (at - self._since[node])
            self.busy_core_s[node] += self._busy[node] * (at - self._since[node])
            self._since[node] = at
            if kind == _START:
                self._busy[node] += 1
            else:
                self._busy[node] -= 1
                self.completed[node] += 1

    def next_decision(self) -> np.ndarray | None:
        """Advance to the next decision time and return its pending tasks (ids, arrival order),
        or ``None`` once every task is assigned. Every pending task must be assigned before the
        next call."""
        left = np.flatnonzero(self.node[self._first : self._last] < 0)
        if len(left):
            raise ConfigError(f"task {self._first + left[0]} is still pending")
        arrival = self.tasks.arrival_s
        if self._last >= len(arrival):
            return None
        self._first = self._last
        if self.batch_s > 0:
            self.now = float(np.ceil(arrival[self._first] / self.batch_s) * self.batch_s)
            self._last = int(np.searchsorted(arrival, self.now, side="right"))
        else:
            self.now = float(arrival[self._first])
            self._last = self._first + 1
        self._advance(self.now)
        return np.arange(self._first, self._last)

    def result(self) -> RunResult:
        """The checked run, once :meth:`next_decision` returned ``None``."""
        if (self.node < 0).any():
            raise ConfigError(f"{int((self.node < 0).sum())} tasks are not assigned")
        horizon = float(self.back.max())
        self._advance(np.inf)
        idle_tail = horizon - self._since
        self._since[:] = horizon
        self.energy_j += np.asarray([p[0] for p in self._power]) * idle_tail
        log = AssignmentLog(self.node, self.order, self.decided, self.start, self.end, self.back)
        check_run(self.cluster, self.tasks, log, self.batch_s, self.energy_j)
        response = self.back - self.tasks.arrival_s
        return RunResult(log, response, self.back <= self.tasks.deadline_s, self.energy_j.copy(),
                         self.busy_core_s.copy(), horizon)  # fmt: skip

    def run(self, scheduler: Scheduler, compiled: bool = True) -> RunResult:
        """Simulate every task with ``scheduler``; the run is checked before it returns.

        A fresh simulator with ``batch_s = 0`` given round-robin, least-loaded, OLB, MET or MCT
        (their exact classes) runs the compiled loop of :mod:`~pgsuite.apps.scheduling.iot.
        kernel`, the same run at a fraction of the cost; ``compiled=False`` keeps this loop.

        Raises:
            ConfigError: the scheduler picked a task that is not pending or a node that cannot
                hold it.
        """
        scheduler.reset(self)
        rule = type(scheduler).__dict__.get("compiled_rule")
        if compiled and rule is not None and self.batch_s == 0 and self._last == 0:
            return self._run_compiled(rule)
        while (batch := self.next_decision()) is not None:
            pending = batch.tolist()
            while pending:
                task, node = scheduler.choose(self, np.asarray(pending))
                if task not in pending:
                    raise ConfigError(f"the scheduler picked task {task}, which is not pending")
                pending.remove(task)
                self.assign(int(task), int(node))
        return self.result()

    def _run_compiled(self, rule: str) -> RunResult:
        from pgsuite.apps.scheduling.iot.kernel import RULES, run_immediate

        tasks, most = self.tasks, int(self.cores.max())
        power = np.asarray([np.pad(p, (0, most + 1 - len(p)), constant_values=np.inf)
                            for p in self._power])  # fmt: skip
        node, start, end, back, energy, busy_core_s, since = run_immediate(
            RULES[rule], tasks.arrival_s.astype(float), tasks.length_mi.astype(float),
            tasks.input_mb.astype(float), tasks.output_mb.astype(float), self._fits, self.mips,
            self.latency_s, self.seconds_per_mb, self.cores, power,
        )  # fmt: skip
        count = len(tasks)
        self.node, self.start, self.end, self.back = node, start, end, back
        self.decided, self.order = tasks.arrival_s.astype(float), np.arange(count)
        self.energy_j, self.busy_core_s, self._since = energy, busy_core_s, since
        self.assigned = np.bincount(node, minlength=self.cluster.size)
        self.completed = self.assigned.copy()  # every task has ended
        self.now = float(tasks.arrival_s[-1])
        self._first = self._last = count
        return self.result()


def simulate(cluster: Cluster, tasks: TaskSet, scheduler: Scheduler,
             batch_s: float = 0.0) -> RunResult:  # fmt: skip
    """Run ``scheduler`` on ``tasks`` (checked)."""
    return IoTSimulator(cluster, tasks, batch_s).run(scheduler)
