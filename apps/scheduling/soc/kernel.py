"""The simulator's event loop compiled (numba) for the list heuristics that never hold a task:
MET, EFT, ETF, STF and HEFT-RT.

:meth:`SoCSimulator.run <pgsuite.apps.scheduling.soc.simulator.SoCSimulator.run>` takes this path
for those rules (exactly their classes), so a heuristic run costs a few microseconds per task
instead of the Python loop's twenty; the learned scheduler, HEFT and any user scheduler keep the
Python loop, whose step-by-step interface (``next_epoch`` / ``dispatch``) the environment uses.
It is the same model, step for step (events at one instant: completions before arrivals, then by
id; a PE runs its queue in dispatch order; schedulers see mean times and expected availability
only), with the same floating-point operations in the same order: the tests require identical
schedules from both loops. Its schedules go through the same independent checker.

Compiled on first use and cached on disk (numba ``cache=True``); the first call in a fresh
environment takes a few seconds.
"""

from __future__ import annotations

import heapq

import numpy as np
from numba import njit

RULES = {"met": 0, "eft": 1, "etf": 2, "stf": 3, "heft-rt": 4}
"""Rule codes of the compiled loop."""
_NONE = -1


@njit(cache=True)
def _data_ready(task, out, pred_start, pred_source, pred_volume, pe, end, release, per_volume,
                delay):  # fmt: skip
    """``out[P]``: when the data of ready ``task``'s predecessors is on each PE."""
    lo, hi = pred_start[task], pred_start[task + 1]
    num_pes = out.shape[0]
    if lo == hi:
        out[:] = release[task]
        return
    for p in range(num_pes):
        out[p] = -np.inf
    for e in range(lo, hi):
        source = pred_source[e]
        q = pe[source]
        for p in range(num_pes):
            arrival = per_volume[q, p] * pred_volume[e]
            arrival += delay[q, p]
            arrival += end[source]
            if arrival > out[p]:
                out[p] = arrival
    for p in range(num_pes):
        if release[task] > out[p]:
            out[p] = release[task]


@njit(cache=True)
def _earliest_finish(task, ready_at, available, mean_time):
    """(pe, time): the PE where ``task`` is expected to end first (ties: the lowest index)."""
    best, best_pe = np.inf, 0
    for p in range(ready_at.shape[0]):
        finish = max(available[p], ready_at[p]) + mean_time[task, p]
        if finish < best:
            best, best_pe = finish, p
    return best_pe, best


@njit(cache=True)
def _queue_end(p, now, head, next_in_queue, start, arrival, mean_time, expected_end):
    """When a scheduler expects PE ``p`` to finish its queue (updating the queued tasks'
    expected ends), as the Python loop's ``_expected_queue_end``."""
    expected = now
    queued = head[p]
    while queued != _NONE:
        if start[queued] <= now:
            expected = max(expected, start[queued] + mean_time[queued, p])
        else:
            expected = max(expected, arrival[queued]) + mean_time[queued, p]
        expected_end[queued] = expected
        queued = next_in_queue[queued]
    return expected


@njit(cache=True)
def run_rule(rule, num_jobs, offsets, job_of, arrival_us, mean_time, realised_time, release,
             pred_start, pred_source, pred_volume, succ_start, successors, per_volume, delay,
             rank):  # fmt: skip
    """Simulate every job with dispatch rule ``rule`` (:data:`RULES`).

    Args:
        offsets ``[J + 1]``, job_of ``[N]``, arrival_us ``[J]``: the workload's jobs and tasks;
        mean_time, realised_time ``[N, P]`` (µs, ``inf``: unsupported); release ``[N]``;
        pred_start ``[N + 1]`` with pred_source / pred_volume ``[E]``: the edges into each task;
        succ_start ``[N + 1]`` with successors ``[E]``; per_volume, delay ``[P, P]``: the
        transfer time per volume unit and the switching delay from PE q to PE p; rank ``[N]``
        (HEFT-RT's upward ranks; ignored by the other rules).

    Returns:
        pe (int ``[N]``), start, end (``[N]``, µs), the integral of the jobs in the system over
        time (µs) and the last event time.
    """
    count, num_pes = mean_time.shape
    waiting = np.diff(pred_start)
    tasks_left = np.diff(offsets)
    pe = np.full(count, -1, dtype=np.int64)
    start = np.full(count, np.nan)
    end = np.full(count, np.nan)
    arrival = np.full(count, np.nan)
    expected_end = np.full(count, np.nan)
    free_at = np.zeros(num_pes)
    expected_free = np.zeros(num_pes)
    available = np.zeros(num_pes)
    head = np.full(num_pes, _NONE, dtype=np.int64)
    tail = np.full(num_pes, _NONE, dtype=np.int64)
    next_in_queue = np.full(count, _NONE, dtype=np.int64)
    prev_in_queue = np.full(count, _NONE, dtype=np.int64)
    ready = np.empty(count, dtype=np.int64)  # sorted global ids in ready[:num_ready]
    num_ready = 0
    ready_at = np.empty((count, num_pes))  # data arrival per PE, rows of ready tasks
    known = np.zeros(count, dtype=np.bool_)
    events = [(arrival_us[j], 1, j) for j in range(num_jobs)]
    heapq.heapify(events)
    now, integral, in_system = 0.0, 0.0, 0
    while True:
        while num_ready == 0:  # the next event time: completions, then arrivals, by id
            if len(events) == 0:
                return pe, start, end, integral, now
            time = events[0][0]
            integral += in_system * (time - now)
            now = time
            while len(events) > 0 and events[0][0] == time:
                _, kind, item = heapq.heappop(events)
                if kind == 0:  # a task ends
                    job = job_of[item]
                    tasks_left[job] -= 1
                    if tasks_left[job] == 0:
                        in_system -= 1
                    expected_end[item] = end[item]
                    p = pe[item]
                    before, after = prev_in_queue[item], next_in_queue[item]
                    if before == _NONE:
                        head[p] = after
                    else:
                        next_in_queue[before] = after
                    if after == _NONE:
                        tail[p] = before
                    else:
                        prev_in_queue[after] = before
                    expected_free[p] = _queue_end(p, now, head, next_in_queue, start, arrival,
                                                  mean_time, expected_end)  # fmt: skip
                    new = successors[succ_start[item] : succ_start[item + 1]]
                else:  # a job arrives
                    in_system += 1
                    new = np.arange(offsets[item], offsets[item + 1])
                for task in new:
                    if kind == 0:
                        waiting[task] -= 1
                    if waiting[task] == 0:
                        k = num_ready  # insert in order
                        while k > 0 and ready[k - 1] > task:
                            ready[k] = ready[k - 1]
                            k -= 1
                        ready[k] = task
                        num_ready += 1
            for p in range(num_pes):
                available[p] = max(expected_free[p], now)
        for k in range(num_ready):  # the data of newly ready tasks (known once ready)
            t = ready[k]
            if not known[t]:
                _data_ready(t, ready_at[t], pred_start, pred_source, pred_volume, pe, end,
                            release, per_volume, delay)  # fmt: skip
                known[t] = True
        position = 0
        if rule == 0:  # MET: the first ready task to its fastest PE expected free first
            task = ready[0]
            fastest = np.inf
            for p in range(num_pes):
                fastest = min(fastest, mean_time[task, p])
            chosen, best = 0, np.inf
            for p in range(num_pes):
                if mean_time[task, p] == fastest and expected_free[p] < best:
                    chosen, best = p, expected_free[p]
        elif rule == 2:  # ETF: the (task, PE) pair expected to end first
            best, chosen = np.inf, 0
            for k in range(num_ready):
                p, finish = _earliest_finish(ready[k], ready_at[ready[k]], available, mean_time)
                if finish < best:
                    best, chosen, position = finish, p, k
        else:
            if rule == 3:  # STF: the shortest best execution time
                best = np.inf
                for k in range(num_ready):
                    shortest = np.inf
                    for p in range(num_pes):
                        shortest = min(shortest, mean_time[ready[k], p])
                    if shortest < best:
                        best, position = shortest, k
            elif rule == 4:  # HEFT-RT: the highest upward rank
                best = -np.inf
                for k in range(num_ready):
                    if rank[ready[k]] > best:
                        best, position = rank[ready[k]], k
            chosen, _ = _earliest_finish(ready[position], ready_at[ready[position]], available,
                                         mean_time)  # fmt: skip
        task = ready[position]
        for k in range(position, num_ready - 1):
            ready[k] = ready[k + 1]
        num_ready -= 1
        p = chosen
        data = ready_at[task, p]
        begin = max(max(now, free_at[p]), data)
        end[task] = begin + realised_time[task, p]
        pe[task], start[task], arrival[task] = p, begin, data
        free_at[p] = end[task]
        if tail[p] == _NONE:
            head[p] = task
        else:
            next_in_queue[tail[p]] = task
            prev_in_queue[task] = tail[p]
        tail[p] = task
        expected = max(max(expected_free[p], now), data) + mean_time[task, p]
        expected_free[p] = expected
        expected_end[task] = expected
        available[p] = expected
        heapq.heappush(events, (end[task], 0, task))
