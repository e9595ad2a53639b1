"""The exact optimum of one job on an idle SoC with OR-Tools CP-SAT.

Each task has one optional interval per PE that runs it (exactly one present), one no-overlap
constraint per PE, and for every edge ``a -> b`` and PE pair ``(p, q)`` with both present
``start_b >= end_a + transfer(volume, p, q)`` (:meth:`Platform.transfer_time`: 0 on the same PE).
Minimises the makespan (the job's latency when it arrives at time 0 and the SoC is idle). Times
are scaled to integers of ``1 / resolution`` µs (DS3's execution times are whole µs; transfer
times need not be, and their lags are rounded up); the solution is then re-timed exactly
(each task, in the order of the solver's starts, at its earliest start on its PE), so the
reported plan is feasible to the float and optimal to within ``1 / resolution`` µs per transfer.
HEFT's plan is the solution hint.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pgsuite.apps.scheduling.common.cpsat import check_limits, solve_model
from pgsuite.apps.scheduling.common.dag import TaskGraph
from pgsuite.apps.scheduling.soc.heft import heft_schedule
from pgsuite.apps.scheduling.soc.platform import Platform
from pgsuite.core.errors import ConfigError


@dataclass(frozen=True)
class OptimalSchedule:
    """CP-SAT's best plan of one job: ``pe``, ``start``, ``end`` ``[T]`` (µs), its makespan, the
    proven lower bound, whether it is optimal, and the solver's wall time (s)."""

    pe: np.ndarray
    start: np.ndarray
    end: np.ndarray
    makespan: float
    lower_bound: float
    optimal: bool
    wall_time_s: float


def optimal_schedule(
    platform: Platform,
    job: TaskGraph,
    time_limit_s: float = 30.0,
    workers: int = 2,
    resolution: int = 1000,
    seed: int = 0,
) -> OptimalSchedule:
    """Minimise the makespan of ``job`` alone on ``platform`` with its mean execution times.

    Raises:
        ConfigError: a non-positive limit, worker count or resolution.
        NoScheduleError: never in practice (HEFT's plan is a feasible hint), kept for a solver
            that ends without any solution.
    """
    from ortools.sat.python import cp_model

    check_limits(time_limit_s, workers)
    if resolution < 1:
        raise ConfigError(f"need resolution >= 1, got {resolution}")
    mean = platform.execution_times(job)
    scaled = np.where(np.isfinite(mean), np.round(mean * resolution), 0).astype(np.int64)
    hint = heft_schedule(platform, job)
    horizon = round(hint.makespan * resolution) + 1
    model = cp_model.CpModel()
    start = [model.new_int_var(int(job.earliest_start[t] * resolution), horizon, f"s{t}")
             for t in range(job.num_tasks)]  # fmt: skip
    end = [model.new_int_var(0, horizon, f"e{t}") for t in range(job.num_tasks)]
    on: list[dict[int, object]] = []  # per task: PE -> "the task runs there"
    per_pe: list[list] = [[] for _ in range(platform.num_pes)]
    for t in range(job.num_tasks):
        on.append({})
        for p in np.flatnonzero(np.isfinite(mean[t])).tolist():
            present = model.new_bool_var(f"x{t}_{p}")
            interval = model.new_optional_interval_var(
                start[t], int(scaled[t, p]), end[t], present, f"i{t}_{p}"
            )
            on[t][p] = present
            per_pe[p].append(interval)
            model.add_hint(present, int(int(hint.pe[t]) == p))
        model.add_exactly_one(on[t].values())
        model.add_hint(start[t], round(hint.start[t] * resolution))
    for intervals in per_pe:
        model.add_no_overlap(intervals)
    for (a, b), volume in zip(job.edges.tolist(), job.volumes.tolist(), strict=True):
        for p, runs_a in on[a].items():
            for q, runs_b in on[b].items():
                lag = float(platform.transfer_time(volume, p, q))
                model.add(
                    start[b] >= end[a] + int(np.ceil(lag * resolution - 1e-9))
                ).only_enforce_if([runs_a, runs_b])
    makespan = model.new_int_var(0, horizon, "makespan")
    model.add_max_equality(makespan, end)
    model.minimize(makespan)
    run = solve_model(model, time_limit_s, workers, seed)
    if not run.found:
        raise run.no_schedule(job.name, time_limit_s)
    solver = run.solver
    pe = np.asarray([next(p for p, x in on[t].items() if solver.value(x))
                     for t in range(job.num_tasks)])  # fmt: skip
    order = np.lexsort(([solver.value(e) for e in end], [solver.value(s) for s in start]))
    begin, finish = _retime(platform, job, mean, pe, order)
    return OptimalSchedule(
        pe=pe,
        start=begin,
        end=finish,
        makespan=float(finish.max()),
        lower_bound=solver.best_objective_bound / resolution,
        optimal=run.optimal,
        wall_time_s=float(solver.wall_time),
    )


def _retime(
    platform: Platform, job: TaskGraph, mean: np.ndarray, pe: np.ndarray, order: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Exact ``(start, end)`` ``[T]`` of ``job`` with tasks on ``pe``, appended in ``order``."""
    start, end = np.zeros(job.num_tasks), np.zeros(job.num_tasks)
    free = np.zeros(platform.num_pes)
    for task in order:
        incoming = np.flatnonzero(job.edges[:, 1] == task)
        sources = job.edges[incoming, 0]
        arrival = end[sources] + platform.transfer_time(
            job.volumes[incoming], pe[sources], pe[task]
        )
        start[task] = max(free[pe[task]], job.earliest_start[task], arrival.max(initial=0.0))
        end[task] = free[pe[task]] = start[task] + mean[task, pe[task]]
    return start, end
