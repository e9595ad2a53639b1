"""The shared feasibility checker accepts feasible schedules and names each kind of violation."""

from __future__ import annotations

import numpy as np
import pytest

from pgsuite.apps.scheduling.common.feasibility import (
    InfeasibleScheduleError,
    check_schedule,
    find_violations,
)

# two jobs of two operations: ops 0 -> 1 (job 0), 2 -> 3 (job 1); machines 0, 1 / 1, 0
RESOURCE = np.array([0, 1, 1, 0])
DURATION = np.array([3, 2, 4, 1])
PRECEDENCES = np.array([[0, 1], [2, 3]])
FEASIBLE_START = np.array([0, 4, 0, 4])


def _kinds(start: np.ndarray, end: np.ndarray | None = None, **kw) -> set[str]:
    end = start + DURATION if end is None else end
    return {v.kind for v in find_violations(start, end, RESOURCE, DURATION, PRECEDENCES, **kw)}


def test_feasible_schedule_passes_and_reports_its_makespan() -> None:
    assert _kinds(FEASIBLE_START) == set()
    assert (
        check_schedule(FEASIBLE_START, FEASIBLE_START + DURATION, RESOURCE, DURATION, PRECEDENCES)
        == 6
    )


@pytest.mark.parametrize(
    ("start", "end", "kind"),
    [
        (np.array([0, 4, 0, 4]), np.array([3, 6, 4, 6]), "duration"),  # op 3 stretched
        (np.array([-1, 4, 0, 4]), np.array([2, 6, 4, 5]), "negative_start"),
        (np.array([0, 2, 0, 4]), None, "precedence"),  # op 1 before op 0 ends
        (np.array([0, 4, 0, 2]), None, "overlap"),  # ops 0 and 3 share machine 0
    ],
)
def test_each_violation_kind_is_detected(
    start: np.ndarray, end: np.ndarray | None, kind: str
) -> None:
    assert kind in _kinds(start, end)
    with pytest.raises(InfeasibleScheduleError, match="infeasible schedule"):
        check_schedule(
            start, start + DURATION if end is None else end, RESOURCE, DURATION, PRECEDENCES
        )


def test_lags_are_minimum_delays() -> None:
    assert _kinds(FEASIBLE_START, lags=np.array([1, 0])) == set()
    assert _kinds(FEASIBLE_START, lags=np.array([2, 0])) == {"precedence"}


def test_overlap_hidden_behind_a_zero_length_operation_is_found() -> None:
    start = np.array([0.0, 2.0, 4.0])
    duration = np.array([10.0, 0.0, 1.0])
    found = find_violations(start, start + duration, np.zeros(3, int), duration, np.empty((0, 2)))
    assert [v.kind for v in found] == ["overlap"]
