"""The simulator's loop compiled (numba) for the immediate heuristics: round-robin, least-loaded,
OLB, MET and MCT, each task assigned on arrival.

:meth:`IoTSimulator.run <pgsuite.apps.scheduling.iot.simulator.IoTSimulator.run>` takes this path
for those rules (their exact classes) when ``batch_s = 0``, so a day of trace replays in seconds;
batch rules, the ant colony, the learned policy and the environment keep the Python loop. Same
model, same floating-point operations in the same order: the tests require identical runs
(nodes, starts, ends, responses, energy) from both loops. Compiled on first use, cached on disk.
"""

from __future__ import annotations

import heapq

import numpy as np
from numba import njit

RULES = {"round-robin": 0, "least-loaded": 1, "olb": 2, "met": 3, "mct": 4}
"""Rule codes of the compiled loop."""


@njit(cache=True)
def _advance(time, events, node, power, busy, since, completed, energy, busy_core_s):
    """Process the start and end events up to ``time`` (energy and busy cores)."""
    while len(events) > 0 and events[0][0] <= time:
        at, kind, task = heapq.heappop(events)
        m = node[task]
        energy[m] += power[m, busy[m]] * (at - since[m])
        busy_core_s[m] += busy[m] * (at - since[m])
        since[m] = at
        if kind == 1:
            busy[m] += 1
        else:
            busy[m] -= 1
            completed[m] += 1


@njit(cache=True)
def run_immediate(rule, arrival, length, input_mb, output_mb, fits, mips, latency, per_mb, cores,
                  power):  # fmt: skip
    """Assign every task on arrival with rule ``rule`` (:data:`RULES`).

    Args:
        arrival, length, input_mb, output_mb ``[N]`` (s, MI, MB); fits bool ``[N, M]``; mips,
        latency (s), per_mb (s per MB) ``[M]``; cores int ``[M]``; power ``[M, C + 1]`` (W with
        0 .. C cores busy, ``C`` the most cores of a node).

    Returns:
        node (int ``[N]``), start, end, back ``[N]`` (s); per node energy (J, up to its last
        event), busy core-seconds and the time of its last event.
    """
    count, nodes = fits.shape
    node = np.full(count, -1, dtype=np.int64)
    start = np.empty(count)
    end = np.empty(count)
    back = np.empty(count)
    free = np.zeros((nodes, cores.max()))
    for m in range(nodes):
        free[m, cores[m] :] = np.inf
    earliest = np.zeros(nodes)
    assigned = np.zeros(nodes, dtype=np.int64)
    completed = np.zeros(nodes, dtype=np.int64)
    busy = np.zeros(nodes, dtype=np.int64)
    since = np.zeros(nodes)
    energy = np.zeros(nodes)
    busy_core_s = np.zeros(nodes)
    events = [(0.0, 0, 0)]
    events.pop()
    following = 0  # round-robin's next node
    for i in range(count):
        now = arrival[i]
        _advance(now, events, node, power, busy, since, completed, energy, busy_core_s)
        chosen, best = -1, np.inf
        if rule == 0:
            for k in range(nodes):
                m = (k + following) % nodes
                if fits[i, m]:
                    chosen = m
                    break
            following = (chosen + 1) % nodes
        else:
            for m in range(nodes):
                if not fits[i, m]:
                    continue
                if rule == 1:
                    value = (assigned[m] - completed[m]) / cores[m]
                elif rule == 2:
                    value = earliest[m]
                elif rule == 3:
                    value = length[i] / mips[m]
                else:
                    begin = max(now + (latency[m] + input_mb[i] * per_mb[m]), earliest[m])
                    value = begin + length[i] / mips[m] + (latency[m] + output_mb[i] * per_mb[m])
                if value < best:
                    chosen, best = m, value
        m = chosen
        core = 0
        for c in range(1, cores[m]):
            if free[m, c] < free[m, core]:
                core = c
        data_on_node = now + latency[m] + input_mb[i] * per_mb[m]
        begin = max(data_on_node, free[m, core])
        finish = begin + length[i] / mips[m]
        free[m, core] = finish
        first = np.inf
        for c in range(cores[m]):
            first = min(first, free[m, c])
        earliest[m] = first
        assigned[m] += 1
        node[i], start[i], end[i] = m, begin, finish
        back[i] = finish + latency[m] + output_mb[i] * per_mb[m]
        heapq.heappush(events, (begin, 1, i))
        heapq.heappush(events, (finish, 0, i))
    _advance(np.inf, events, node, power, busy, since, completed, energy, busy_core_s)
    return node, start, end, back, energy, busy_core_s, since
