"""The independent checker of IoT runs: figures are reported only after it passed.

From the assignment log (node, decision time, assignment order, start, end, back of every task),
the tasks and the cluster alone it recomputes: every task assigned once to a node that holds its
memory, at its arrival (or at the end of its batch window); its data on the node before it starts;
its run time ``length / mips``; its response ``end + download``; at most ``cores`` tasks and at
most the node's memory running on a node at any instant (the common checker,
:func:`~pgsuite.apps.scheduling.common.feasibility.find_violations`); each start as the node's
queue gives it (cores handed out in assignment order, a plain loop); and every node's energy by a
sweep over its busy cores, against the simulator's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pgsuite.apps.scheduling.common.feasibility import (
    Violation,
    find_violations,
    raise_violations,
)
from pgsuite.apps.scheduling.iot.cluster import Cluster
from pgsuite.apps.scheduling.iot.tasks import TaskSet

_TOLERANCE = 1e-9


@dataclass(frozen=True)
class AssignmentLog:
    """Per task ``[N]``: int ``node`` and ``order`` (its place in the sequence of assignments),
    and the times (s) it was ``decided``, started, ended and was ``back`` at the gateway."""

    node: np.ndarray
    order: np.ndarray
    decided: np.ndarray
    start: np.ndarray
    end: np.ndarray
    back: np.ndarray


def _close(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.isclose(a, b, rtol=1e-12, atol=_TOLERANCE)


def node_energy_j(cluster: Cluster, node: np.ndarray, start: np.ndarray, end: np.ndarray,
                  horizon_s: float) -> np.ndarray:  # fmt: skip
    """``[M]`` energy (J) of each node over ``[0, horizon_s]``: its power at each number of busy
    cores, times how long that many were busy (idle power when none)."""
    energy = np.zeros(cluster.size)
    for m, spec in enumerate(cluster.nodes):
        mine = node == m
        times = np.concatenate([start[mine], end[mine], [0.0, horizon_s]])
        change = np.concatenate([np.ones(mine.sum()), -np.ones(mine.sum()), [0, 0]])
        order = np.lexsort((change, times))  # ends before starts at one instant
        busy = np.cumsum(change[order])[:-1]
        spans = np.diff(times[order])
        energy[m] = float(np.sum(spec.power_w(busy / spec.cores) * spans))
    return energy


def find_run_violations(cluster: Cluster, tasks: TaskSet, log: AssignmentLog, batch_s: float,
                        energy_j: np.ndarray) -> list[Violation]:  # fmt: skip
    """Every broken rule of ``log`` (empty: the run is valid)."""
    node = np.asarray(log.node, dtype=np.int64)
    if len(node) != len(tasks) or ((node < 0) | (node >= cluster.size)).any():
        return [Violation("missing", "a task is unassigned or on a node outside the cluster")]
    if sorted(np.asarray(log.order).tolist()) != list(range(len(tasks))):
        return [Violation("missing", "the assignment order is not one place per task")]
    violations: list[Violation] = []
    memory, cores = cluster.column("memory_gb"), cluster.column("cores")
    for t in np.flatnonzero(tasks.memory_gb > (memory / cores)[node] + _TOLERANCE):
        violations.append(Violation("unsupported", f"task {t} needs {tasks.memory_gb[t]:g} GB on "
                                    f"{cluster.nodes[node[t]].name}, which holds "
                                    f"{memory[node[t]] / cores[node[t]]:g} GB per core"))  # fmt: skip
    tick = (np.ceil(tasks.arrival_s / batch_s) * batch_s) if batch_s > 0 else tasks.arrival_s
    for t in np.flatnonzero(~_close(log.decided, tick)):
        violations.append(Violation("decision", f"task {t} assigned at {log.decided[t]:g} s, "
                                    f"should be at {tick[t]:g} s"))  # fmt: skip
    latency = cluster.column("latency_ms")[node] / 1000.0
    per_mb = 8.0 / cluster.column("bandwidth_mbps")[node]
    on_node = log.decided + latency + tasks.input_mb * per_mb
    duration = tasks.length_mi / cluster.column("mips")[node]
    violations += find_violations(log.start, log.end, node, duration, np.zeros((0, 2)),
                                  release=on_node, capacity=cores)  # fmt: skip
    violations += find_violations(log.start, log.end, node, duration, np.zeros((0, 2)),
                                  capacity=memory, demand=tasks.memory_gb)  # fmt: skip
    back = log.end + latency + tasks.output_mb * per_mb
    for t in np.flatnonzero(~_close(log.back, back)):
        violations.append(Violation("transfer", f"task {t} back at {log.back[t]:g} s, its end "
                                    f"plus download gives {back[t]:g} s"))  # fmt: skip
    free = [[0.0] * int(c) for c in cores]
    starts, ready, runs = log.start.tolist(), on_node.tolist(), duration.tolist()
    for t in np.argsort(log.order).tolist():
        queue = free[node[t]]
        core = queue.index(min(queue))
        begin = max(ready[t], queue[core])
        if abs(begin - starts[t]) > _TOLERANCE + 1e-12 * abs(begin):
            violations.append(Violation("queue", f"task {t} starts at {starts[t]:g} s; "
                                        f"{cluster.nodes[node[t]].name}'s queue gives {begin:g}"))  # fmt: skip
        queue[core] = begin + runs[t]
    expected = node_energy_j(cluster, node, log.start, log.end, float(np.max(log.back)))
    for m in np.flatnonzero(~np.isclose(energy_j, expected, rtol=1e-9)):
        violations.append(Violation("energy", f"{cluster.nodes[m].name}: energy {energy_j[m]:g} J "
                                    f"reported, its busy cores give {expected[m]:g} J"))  # fmt: skip
    return violations


def check_run(cluster: Cluster, tasks: TaskSet, log: AssignmentLog, batch_s: float,
              energy_j: np.ndarray) -> None:  # fmt: skip
    """Raise if ``log`` breaks a rule.

    Raises:
        InfeasibleScheduleError: listing the first five violations.
    """
    raise_violations(find_run_violations(cluster, tasks, log, batch_s, energy_j), "IoT run")
