"""OR-Tools CP-SAT on the job shop: interval variables, one no-overlap constraint per machine,
precedence within each job, minimise the makespan; optionally warm-started from a schedule (e.g.
the learned policy's) given as a solution hint."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pgsuite.apps.scheduling.common.cpsat import check_limits, solve_model
from pgsuite.apps.scheduling.common.errors import NoScheduleError
from pgsuite.apps.scheduling.jobshop.breakdowns import real_downtimes
from pgsuite.apps.scheduling.jobshop.instances import JobShopInstance
from pgsuite.core.errors import ConfigError

__all__ = ["CPSATResult", "NoScheduleError", "solve_cpsat"]


@dataclass(frozen=True)
class CPSATResult:
    """CP-SAT's best schedule (``start``, ``end``: int ``[n, m]``), its makespan, the proven lower
    bound, whether it is optimal, and the wall time in seconds."""

    start: np.ndarray
    end: np.ndarray
    makespan: int
    lower_bound: int
    optimal: bool
    wall_time_s: float


def solve_cpsat(
    instance: JobShopInstance,
    time_limit_s: float = 10.0,
    workers: int = 2,
    hint_start: np.ndarray | None = None,
    seed: int = 0,
    downtimes: np.ndarray | None = None,
    blocking: bool = False,
) -> CPSATResult:
    """Minimise the makespan with CP-SAT.

    Args:
        instance: the instance.
        time_limit_s: wall-clock limit of the search.
        workers: parallel search workers (CP-SAT needs several for its portfolio to shine).
        hint_start: int ``[n, m]`` start times of a feasible schedule to start from (a hint:
            CP-SAT begins its search there and so is never worse than it; when the limit ends
            before CP-SAT has a schedule of its own, the hint is returned).
        seed: random seed of the search.
        downtimes: int ``[m, D, 2]`` machine breakdowns, fixed intervals in the no-overlap
            constraints (CP-SAT knows them all in advance: a clairvoyant reference).
        blocking: the blocking job shop with swaps (no buffers: an operation holds its machine
            until its job's next operation starts; intervals that touch may swap jobs at one
            instant; :mod:`~pgsuite.apps.scheduling.jobshop.blocking`). The makespan stays the
            last operation's end; ``end`` is ``start + durations`` (the job leaves at the start of
            its next operation).

    Raises:
        ConfigError: non-positive limit or workers, a hint of the wrong shape, or downtimes with
            ``blocking``.
        NoScheduleError: no feasible schedule within the limit (and no hint).
    """
    from ortools.sat.python import cp_model

    check_limits(time_limit_s, workers)
    if blocking and downtimes is not None:
        raise ConfigError("the blocking model takes no downtimes (schedule realised durations)")
    n, m = instance.durations.shape
    horizon = int(instance.durations.sum())
    fixed: list[tuple[int, int, int]] = []
    if downtimes is not None:
        fixed = list(zip(*(a.tolist() for a in real_downtimes(np.asarray(downtimes))), strict=True))
        horizon += max((end for _, _, end in fixed), default=0)  # all work after all repairs
    model = cp_model.CpModel()
    starts = np.empty((n, m), dtype=object)
    ends = np.empty((n, m), dtype=object)
    per_machine: list[list] = [[] for _ in range(m)]
    for j in range(n):
        for k in range(m):
            duration = int(instance.durations[j, k])
            starts[j, k] = model.new_int_var(0, horizon, f"s{j}_{k}")
            ends[j, k] = model.new_int_var(0, horizon, f"e{j}_{k}")
            interval = model.new_interval_var(starts[j, k], duration, ends[j, k], f"i{j}_{k}")
            if k > 0:
                model.add(starts[j, k] >= ends[j, k - 1])
            if blocking and k > 0:  # operation k - 1 holds its machine until this one starts
                held = model.new_int_var(int(instance.durations[j, k - 1]), horizon, f"h{j}_{k}")
                occupancy = model.new_interval_var(starts[j, k - 1], held, starts[j, k],
                                                   f"o{j}_{k - 1}")  # fmt: skip
                per_machine[int(instance.machines[j, k - 1])].append(occupancy)
            if not blocking or k == m - 1:
                per_machine[int(instance.machines[j, k])].append(interval)
    for machine, start, end in fixed:
        per_machine[machine].append(
            model.new_fixed_size_interval_var(start, end - start, f"down{machine}_{start}")
        )
    for intervals in per_machine:
        model.add_no_overlap(intervals)
    makespan = model.new_int_var(0, horizon, "makespan")
    model.add_max_equality(makespan, [ends[j, m - 1] for j in range(n)])
    model.minimize(makespan)
    if hint_start is not None:
        hint_start = np.asarray(hint_start)
        if hint_start.shape != (n, m):
            raise ConfigError(f"hint_start must have shape {(n, m)}, got {hint_start.shape}")
        for j in range(n):
            for k in range(m):
                model.add_hint(starts[j, k], int(hint_start[j, k]))
    run = solve_model(model, time_limit_s, workers, seed)
    solver = run.solver
    if not run.found:
        if hint_start is not None:
            return CPSATResult(
                start=hint_start.astype(np.int64),
                end=hint_start + instance.durations,
                makespan=int((hint_start + instance.durations).max()),
                lower_bound=0,
                optimal=False,
                wall_time_s=float(solver.wall_time),
            )
        raise run.no_schedule(instance.name, time_limit_s)
    start = np.vectorize(solver.value)(starts).astype(np.int64)
    return CPSATResult(
        start=start,
        end=start + instance.durations,
        makespan=int(solver.objective_value),
        lower_bound=int(solver.best_objective_bound),
        optimal=run.optimal,
        wall_time_s=float(solver.wall_time),
    )
