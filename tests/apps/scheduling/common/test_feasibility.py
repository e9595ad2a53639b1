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


def test_release_times_and_hard_deadlines() -> None:
    end = FEASIBLE_START + DURATION
    assert _kinds(FEASIBLE_START, release=np.array([0, 4, 0, 4])) == set()
    assert _kinds(FEASIBLE_START, release=np.array([1, 0, 0, 0])) == {"release"}
    assert _kinds(FEASIBLE_START, deadline=np.array([3, 6, 4, np.inf])) == set()
    assert _kinds(FEASIBLE_START, deadline=np.array([3, 5, 4, 5])) == {"deadline"}
    with pytest.raises(InfeasibleScheduleError, match="after its deadline 5"):
        check_schedule(
            FEASIBLE_START, end, RESOURCE, DURATION, PRECEDENCES, deadline=np.full(4, 5.0)
        )


def test_capacity_above_one_allows_parallel_operations_up_to_the_limit() -> None:
    # three operations on one resource of capacity 2: two may run together, three may not
    start, duration = np.array([0.0, 0.0, 3.0]), np.array([3.0, 4.0, 2.0])
    resource, none = np.zeros(3, dtype=int), np.empty((0, 2))
    ok = find_violations(start, start + duration, resource, duration, none, capacity=np.array([2]))
    assert ok == []  # op 0 ends at 3 as op 2 starts: the end frees its unit first
    late = np.array([0.0, 0.0, 2.0])
    found = find_violations(late, late + duration, resource, duration, none, capacity=np.array([2]))
    assert [v.kind for v in found] == ["capacity"]
    assert "operations [0, 1, 2] at time 2" in found[0].message
    # demands: op 1 takes 2 of 3 units, so op 0 (1 unit) fits beside it but op 2 (2) does not
    demand = np.array([1.0, 2.0, 2.0])
    kinds = {
        v.kind
        for v in find_violations(
            late, late + duration, resource, duration, none, capacity=np.array([3]), demand=demand
        )
    }
    assert kinds == {"capacity"}


def _overloaded_by_brute_force(start, end, resource, demand, capacity) -> bool:
    for t in start:
        for r in range(len(capacity)):
            running = (resource == r) & (start <= t) & (t < end)
            if demand[running].sum() > capacity[r]:
                return True
    return False


def test_capacity_check_agrees_with_brute_force_on_random_schedules() -> None:
    rng = np.random.default_rng(0)
    none = np.empty((0, 2))
    disagreements, overloaded = 0, 0
    for _ in range(400):
        ops = int(rng.integers(2, 9))
        capacity = rng.integers(1, 4, size=2)
        resource = rng.integers(0, 2, size=ops)
        demand = rng.integers(1, 3, size=ops).astype(float)
        start = rng.integers(0, 6, size=ops).astype(float)
        duration = rng.integers(1, 4, size=ops).astype(float)
        end = start + duration
        kinds = {
            v.kind
            for v in find_violations(
                start, end, resource, duration, none, capacity=capacity, demand=demand
            )
        }
        expected = _overloaded_by_brute_force(start, end, resource, demand, capacity)
        found = bool(kinds & {"capacity", "overlap"})
        disagreements += found != expected
        overloaded += expected
    assert disagreements == 0
    assert 50 < overloaded < 350  # both outcomes were exercised
