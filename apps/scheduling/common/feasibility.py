"""One independent feasibility checker for every scheduler of the suite.

A schedule is flat arrays over operations (tasks): start, end, the resource (machine, processor)
that runs it and its required processing time; precedence constraints are pairs ``(before, after)``
with an optional minimum lag (communication delay) between the end of ``before`` and the start of
``after``. The checker recomputes everything from these arrays and trusts nothing a solver reports,
so every method's makespan counts only after :func:`check_schedule` passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from pgsuite.core.errors import PgsuiteError

ViolationKind = Literal["duration", "negative_start", "precedence", "overlap"]


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
) -> list[Violation]:
    """Every violated constraint of a schedule.

    Args:
        start, end: ``[O]`` start and end time of each operation.
        resource: int ``[O]``, the resource each operation occupies (one operation at a time).
        duration: ``[O]`` required processing time (``end - start`` must equal it).
        precedences: int ``[P, 2]`` pairs ``(before, after)``.
        lags: ``[P]`` minimum time between ``end[before]`` and ``start[after]`` (default 0).
        tolerance: slack allowed in every comparison (0 for integer times is fine).

    Returns:
        The violations (empty for a feasible schedule), grouped by kind.
    """
    start, end = np.asarray(start, dtype=float), np.asarray(end, dtype=float)
    resource, duration = np.asarray(resource), np.asarray(duration, dtype=float)
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
    before, after = precedences[:, 0], precedences[:, 1]
    for p in np.flatnonzero(start[after] < end[before] + lags - tolerance):
        violations.append(
            Violation(
                "precedence",
                f"operation {after[p]} starts at {start[after[p]]:g}, before operation "
                f"{before[p]} ends at {end[before[p]]:g} (+ lag {lags[p]:g})",
            )
        )
    # zero-length operations occupy nothing; among the others, sorted by start on each resource,
    # any overlap shows up between neighbours
    busy = np.flatnonzero(duration > tolerance)
    order = busy[np.lexsort((start[busy], resource[busy]))]
    same = resource[order][1:] == resource[order][:-1]
    clash = same & (start[order][1:] < end[order][:-1] - tolerance)
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


def check_schedule(
    start: np.ndarray,
    end: np.ndarray,
    resource: np.ndarray,
    duration: np.ndarray,
    precedences: np.ndarray,
    lags: np.ndarray | None = None,
) -> float:
    """The makespan (``max(end)``) of a feasible schedule.

    Raises:
        InfeasibleScheduleError: listing the first five violations.
    """
    violations = find_violations(start, end, resource, duration, precedences, lags)
    if violations:
        shown = "; ".join(v.message for v in violations[:5])
        more = f" (+{len(violations) - 5} more)" if len(violations) > 5 else ""
        raise InfeasibleScheduleError(f"infeasible schedule: {shown}{more}")
    return float(np.max(end))
