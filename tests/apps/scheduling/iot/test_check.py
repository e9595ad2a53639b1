"""The independent checker finds each kind of violation in a corrupted log of a valid run."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pgsuite.apps.scheduling.common.feasibility import InfeasibleScheduleError
from pgsuite.apps.scheduling.iot.check import check_run, find_run_violations
from pgsuite.apps.scheduling.iot.schedulers import make_heuristic
from pgsuite.apps.scheduling.iot.simulator import IoTSimulator

from .conftest import three_tasks


@pytest.fixture
def run(two_nodes):
    tasks = three_tasks()
    return tasks, IoTSimulator(two_nodes, tasks).run(make_heuristic("mct"))


def _shift(array: np.ndarray, index: int, by: float) -> np.ndarray:
    out = array.copy()
    out[index] += by
    return out


def _kinds(two_nodes, tasks, log, energy, batch_s=0.0):
    return {v.kind for v in find_run_violations(two_nodes, tasks, log, batch_s, energy)}


def test_a_valid_run_passes(two_nodes, run) -> None:
    tasks, result = run
    check_run(two_nodes, tasks, result.log, 0.0, result.energy_j)


@pytest.mark.parametrize(
    ("change", "kind"),
    [
        (lambda log: {"node": np.asarray([1, 1, 1])}, "unsupported"),  # t2 on b: no memory
        (lambda log: {"decided": _shift(log.decided, 0, 0.5)}, "decision"),
        (lambda log: {"start": _shift(log.start, 0, -0.1), "end": _shift(log.end, 0, -0.1),
                      "back": _shift(log.back, 0, -0.1)}, "release"),  # before its data
        (lambda log: {"end": _shift(log.end, 2, 0.5), "back": _shift(log.back, 2, 0.5)},
         "duration"),
        (lambda log: {"back": _shift(log.back, 1, -0.05)}, "transfer"),
        (lambda log: {"start": _shift(log.start, 1, 0.3), "end": _shift(log.end, 1, 0.3),
                      "back": _shift(log.back, 1, 0.3)}, "queue"),  # a late start
        (lambda log: {"start": _shift(log.start, 1, -0.5), "end": _shift(log.end, 1, -0.5),
                      "back": _shift(log.back, 1, -0.5)}, "overlap"),  # t0 and t1 overlap on b
        (lambda log: {"order": np.asarray([0, 0, 1])}, "missing"),
    ],
)  # fmt: skip
def test_each_violation_kind_is_found(two_nodes, run, change, kind) -> None:
    tasks, result = run
    log = dataclasses.replace(result.log, **change(result.log))
    assert kind in _kinds(two_nodes, tasks, log, result.energy_j)


def test_a_core_shared_by_two_tasks_on_a_multi_core_node_is_a_capacity_violation(
    two_nodes, run
) -> None:
    tasks, result = run
    two_cores = dataclasses.replace(two_nodes, nodes=(
        two_nodes.nodes[0], dataclasses.replace(two_nodes.nodes[1], cores=2, memory_gb=4)))  # fmt: skip
    log = dataclasses.replace(result.log, node=np.asarray([1, 1, 1]))  # three at once on b
    log = dataclasses.replace(log, start=np.asarray([0.2, 0.2, 0.2]))
    assert "capacity" in _kinds(two_cores, tasks, log, result.energy_j)


def test_wrong_energy_and_batch_decisions_are_found(two_nodes, run) -> None:
    tasks, result = run
    assert _kinds(two_nodes, tasks, result.log, result.energy_j * 1.01) == {"energy"}
    late = three_tasks(arrival=(0.5, 0.5, 2.5))
    immediate = IoTSimulator(two_nodes, late).run(make_heuristic("mct"))
    assert "decision" in _kinds(two_nodes, late, immediate.log, immediate.energy_j, batch_s=2.0)
    with pytest.raises(InfeasibleScheduleError, match=r"infeasible IoT run: .*energy"):
        check_run(two_nodes, tasks, result.log, 0.0, result.energy_j + 1)
