"""One independent feasibility checker for every scheduler of the suite.

A schedule is flat arrays over operations (tasks): start, end, the resource (machine, processor,
node) that runs it and its required processing time; precedence constraints are pairs
``(before, after)`` with an optional minimum lag (communication delay) between the end of
``before`` and the start of ``after``. Optional constraints: release times (an operation starts no
earlier), hard deadlines (it ends no later) and resources of capacity above 1 (at most
``capacity[r]`` units of resource ``r`` busy at any instant, each operation using ``demand`` units:
the cores of a node, its memory, the slots of a processing element). The checker recomputes
everything from these arrays and trusts nothing a solver reports, so every method's makespan
counts only after :func:`check_schedule` passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from pgsuite.core.errors import PgsuiteError

ViolationKind = Literal[
    "duration",
    "negative_start",
    "release",
    "deadline",
    "precedence",
    "overlap",
    "capacity",
    "unsupported",
    "missing",
    "decision",
    "queue",
    "transfer",
    "energy",
    "blocking",
    "swap",
]
"""What a violation breaks; ``unsupported`` (an operation on a resource that cannot run it) and
``missing`` (an operation scheduled zero or several times) are found by the apps' own checkers,
which know what runs where, as are the IoT simulator's ``decision`` (assigned at the wrong
instant), ``queue`` (a start the node's queue does not give), ``transfer`` (a response that is not
the end plus the download) and ``energy`` (a node's energy that its busy cores do not give), and
the blocking job shop's ``blocking`` (a job that leaves a machine before its operation ends or
not straight into its next one) and ``swap`` (a swap cycle where swaps are disabled)."""


class InfeasibleScheduleError(PgsuiteError):
    """A schedule breaks a constraint; the message lists the first violations."""

    exit_code = 1


@dataclass(frozen=True)
class Violation:
    """One broken constraint: its kind and a readable description."""

    kind: ViolationKind
    message: str


def find_violations(
    start: np.ndarray,
    end: np.ndarray,
    resource: np.ndarray,
    duration: np.ndarray,
    precedences: np.ndarray,
    lags: np.ndarray | None = None,
    tolerance: float = 1e-9,
    *,
    release: np.ndarray | None = None,
    deadline: np.ndarray | None = None,
    capacity: np.ndarray | None = None,
    demand: np.ndarray | None = None,
) -> list[Violation]:
    """Every violated constraint of a schedule.

    Args:
        start, end: ``[O]`` start and end time of each operation.
        resource: int ``[O]``, the resource each operation occupies.
        duration: ``[O]`` required processing time (``end - start`` must equal it).
        precedences: int ``[P, 2]`` pairs ``(before, after)``.
        lags: ``[P]`` minimum time between ``end[before]`` and ``start[after]`` (default 0).
        tolerance: slack allowed in every comparison (0 for integer times is fine).
        release: ``[O]`` earliest start of each operation (default: none; starts >= 0 always).
        deadline: ``[O]`` latest end of each operation, a hard constraint (``inf``: none); soft
            deadlines (SLA misses) are a metric, not a feasibility question.
        capacity: ``[R]`` units of each resource, indexed by ``resource`` (default: 1 each, one
            operation at a time).
        demand: ``[O]`` units of its resource each operation holds while it runs (default 1).

    Returns:
        The violations (empty for a feasible schedule), grouped by kind.
    """
    start, end = np.asarray(start, dtype=float), np.asarray(end, dtype=float)
    resource, duration = np.asarray(resource, dtype=np.int64), np.asarray(duration, dtype=float)
    precedences = np.asarray(precedences, dtype=np.int64).reshape(-1, 2)
    lags = np.zeros(len(precedences)) if lags is None else np.asarray(lags, dtype=float)
    violations: list[Violation] = []
    for op in np.flatnonzero(np.abs(end - start - duration) > tolerance):
        violations.append(
            Violation(
                "duration",
                f"operation {op} runs {end[op] - start[op]:g} time units, needs {duration[op]:g}",
            )
        )
    for op in np.flatnonzero(start < -tolerance):
        violations.append(Violation("negative_start", f"operation {op} starts at {start[op]:g}"))
    if release is not None:
        release = np.asarray(release, dtype=float)
        for op in np.flatnonzero(start < release - tolerance):
            violations.append(
                Violation(
                    "release",
                    f"operation {op} starts at {start[op]:g}, before its release {release[op]:g}",
                )
            )
    if deadline is not None:
        deadline = np.asarray(deadline, dtype=float)
        for op in np.flatnonzero(end > deadline + tolerance):
            violations.append(
                Violation(
                    "deadline",
                    f"operation {op} ends at {end[op]:g}, after its deadline {deadline[op]:g}",
                )
            )
    before, after = precedences[:, 0], precedences[:, 1]
    for p in np.flatnonzero(start[after] < end[before] + lags - tolerance):
        violations.append(
            Violation(
                "precedence",
                f"operation {after[p]} starts at {start[after[p]]:g}, before operation "
                f"{before[p]} ends at {end[before[p]]:g} (+ lag {lags[p]:g})",
            )
        )
    units = np.ones(len(start)) if demand is None else np.asarray(demand, dtype=float)
    limits = np.ones(resource.max(initial=-1) + 1) if capacity is None else np.asarray(capacity)
    if len(limits) <= resource.max(initial=-1):
        raise ValueError(f"capacity has {len(limits)} entries, resource {resource.max()} is used")
    # zero-length or zero-demand operations occupy nothing
    busy = (duration > tolerance) & (units > 0)
    unit_resources = (limits == 1)[resource] & (units == 1)
    violations += _overlaps(start, end, resource, np.flatnonzero(busy & unit_resources), tolerance)
    shared = np.flatnonzero(busy & ~unit_resources)
    violations += _overloads(start, end, resource, units, limits, shared, tolerance)
    return violations


def _overlaps(
    start: np.ndarray, end: np.ndarray, resource: np.ndarray, ops: np.ndarray, tolerance: float
) -> list[Violation]:
    """Overlaps among ``ops``, each holding the whole of a unit-capacity resource: sorted by
    start on each resource, any overlap shows up between neighbours."""
    order = ops[np.lexsort((start[ops], resource[ops]))]
    same = resource[order][1:] == resource[order][:-1]
    clash = same & (start[order][1:] < end[order][:-1] - tolerance)
    violations = []
    for i in np.flatnonzero(clash):
        a, b = order[i], order[i + 1]
        violations.append(
            Violation(
                "overlap",
                f"operations {a} [{start[a]:g}, {end[a]:g}) and {b} [{start[b]:g}, {end[b]:g}) "
                f"overlap on resource {resource[a]}",
            )
        )
    return violations


def _overloads(
    start: np.ndarray,
    end: np.ndarray,
    resource: np.ndarray,
    units: np.ndarray,
    limits: np.ndarray,
    ops: np.ndarray,
    tolerance: float,
) -> list[Violation]:
    """Instants where ``ops`` hold more units of a resource than it has: a sweep over start and
    end events per resource (an end at time t frees its units before a start at t takes them);
    the first overload of each resource is reported with the operations running then."""
    if len(ops) == 0:
        return []
    times = np.concatenate([start[ops], end[ops] - tolerance])
    change = np.concatenate([units[ops], -units[ops]])
    where = np.concatenate([resource[ops], resource[ops]])
    order = np.lexsort((change, times, where))  # by resource, then time, frees before takes
    # every resource's events sum to zero, so one running sum restarts at each resource
    load = np.cumsum(change[order])
    over = np.flatnonzero(load > limits[where[order]] + tolerance)
    violations = []
    for r in np.unique(where[order][over]):
        event = order[over[where[order][over] == r][0]]
        t = times[event]
        running = ops[(resource[ops] == r) & (start[ops] <= t) & (end[ops] - tolerance > t)]
        violations.append(
            Violation(
                "capacity",
                f"resource {r} runs operations {running.tolist()} at time {t:g}: "
                f"{units[running].sum():g} units of its {limits[r]:g}",
            )
        )
    return violations


def raise_violations(violations: list[Violation], what: str = "schedule") -> None:
    """Raise :class:`InfeasibleScheduleError` listing the first five ``violations`` (none: return)."""
    if violations:
        shown = "; ".join(v.message for v in violations[:5])
        more = f" (+{len(violations) - 5} more)" if len(violations) > 5 else ""
        raise InfeasibleScheduleError(f"infeasible {what}: {shown}{more}")


def check_schedule(
    start: np.ndarray,
    end: np.ndarray,
    resource: np.ndarray,
    duration: np.ndarray,
    precedences: np.ndarray,
    lags: np.ndarray | None = None,
    **constraints: np.ndarray | None,
) -> float:
    """The makespan (``max(end)``) of a feasible schedule; ``constraints`` are the optional
    ``release``, ``deadline``, ``capacity`` and ``demand`` of :func:`find_violations`.

    Raises:
        InfeasibleScheduleError: listing the first five violations.
    """
    raise_violations(find_violations(start, end, resource, duration, precedences, lags,
                                     **constraints))  # fmt: skip
    return float(np.max(end))
