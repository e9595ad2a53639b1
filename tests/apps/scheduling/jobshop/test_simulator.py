"""Simulator: feasible schedules whose makespan is recomputed from start times; the best of all
dispatch orders is CP-SAT's optimum; rules match hand computation."""

from __future__ import annotations

import numpy as np
import pytest

from pgsuite.apps.scheduling.jobshop.cpsat import NoScheduleError, solve_cpsat
from pgsuite.apps.scheduling.jobshop.instances import (
    JobShopInstance,
    load_benchmark,
    random_instance,
)
from pgsuite.apps.scheduling.jobshop.rules import RULES, dispatch, dispatch_instance
from pgsuite.apps.scheduling.jobshop.schedule import unmirror, verified_makespan
from pgsuite.apps.scheduling.jobshop.simulator import JobShopSimulator
from pgsuite.core.errors import ConfigError


def _all_orders(instance: JobShopInstance) -> np.ndarray:
    """Every distinct dispatch order (job index per decision), ``[orders, n m]``."""
    n, m = instance.durations.shape
    orders: list[list[int]] = []

    def extend(prefix: list[int], left: list[int]) -> None:
        if len(prefix) == n * m:
            orders.append(prefix.copy())
        for job in range(n):
            if left[job]:
                left[job] -= 1
                prefix.append(job)
                extend(prefix, left)
                prefix.pop()
                left[job] += 1

    extend([], [m] * n)
    return np.array(orders)


def _run_orders(instance: JobShopInstance, orders: np.ndarray, insertion: bool):
    sim = JobShopSimulator.from_instances([instance] * len(orders), insertion)
    for decision in range(orders.shape[1]):
        sim.step(orders[:, decision])
    return sim.result()


@pytest.mark.parametrize("insertion", [True, False])
@pytest.mark.parametrize(("jobs", "machines", "seed"), [(3, 3, 0), (3, 3, 1), (4, 3, 2)])
def test_best_dispatch_order_is_the_cpsat_optimum(
    jobs: int, machines: int, seed: int, insertion: bool
) -> None:
    instance = random_instance(jobs, machines, seed, high=9)
    result = _run_orders(instance, _all_orders(instance), insertion)
    exact = solve_cpsat(instance, time_limit_s=10, workers=1)
    assert exact.optimal
    assert result.makespan.min() == exact.makespan
    for b in np.random.default_rng(0).choice(len(result.makespan), 50, replace=False):
        assert verified_makespan(instance, result.start[b], result.end[b]) == result.makespan[b]


@pytest.mark.parametrize("seed", [0, 2])
def test_every_mirrored_schedule_reads_back_feasible_and_the_optimum_is_shared(seed: int) -> None:
    """All dispatch orders on the mirror of a 4x3 instance: each schedule, read backwards in
    time, passes the feasibility checker on the original with the same makespan, and the best
    of them is CP-SAT's optimum of the original."""
    instance = random_instance(4, 3, seed, high=9)
    mirror = instance.mirrored()
    orders = _all_orders(mirror)
    sim = JobShopSimulator.from_instances([mirror] * len(orders))
    for decision in range(orders.shape[1]):
        sim.step(orders[:, decision])
    result = sim.result()
    for b in np.random.default_rng(seed).choice(len(orders), 200, replace=False):
        start, end = unmirror(result.start[b], result.end[b])
        assert start.min() == 0
        assert verified_makespan(instance, start, end) == result.makespan[b]
    exact = solve_cpsat(instance, time_limit_s=10, workers=1)
    assert exact.optimal
    assert result.makespan.min() == exact.makespan


def test_insertion_fills_an_idle_gap() -> None:
    # job 0: machine 0 (5) then machine 1 (2); job 1: machine 1 (3) then machine 0 (1)
    instance = JobShopInstance("gap", np.array([[5, 2], [3, 1]]), np.array([[0, 1], [1, 0]]))
    for insertion, expected in ((True, 0), (False, 7)):
        sim = JobShopSimulator.from_instances([instance], insertion)
        sim.step([0])  # job 0 op 0: machine 0 [0, 5)
        sim.step([0])  # job 0 op 1: machine 1 [5, 7)
        assert sim.step([1])[0] == expected  # job 1 op 0 on machine 1: gap [0, 5) fits 3


def test_random_dispatch_on_ta01_is_feasible_and_makespan_is_recomputed() -> None:
    instance = load_benchmark("ta01")
    sim = JobShopSimulator.from_instances([instance] * 8)
    rng = np.random.default_rng(0)
    lower_bounds = []
    while not sim.done:
        lower_bounds.append(sim.makespan_lower_bound())
        choice = np.where(sim.action_mask(), rng.random(sim.action_mask().shape), -1).argmax(1)
        sim.step(choice)
    result = sim.result()
    for b in range(8):
        assert verified_makespan(instance, result.start[b], result.end[b]) == result.makespan[b]
    np.testing.assert_array_equal(sim.makespan_lower_bound(), result.makespan)
    assert (np.diff(np.array(lower_bounds), axis=0) >= 0).all()  # the bound never drops


def test_rules_match_hand_computation() -> None:
    # job 0: m0 (4), m1 (1); job 1: m0 (2), m1 (6); job 2: m1 (3), m0 (1). Non-delay dispatching,
    # worked by hand: (earliest starts of the candidates -> the ones starting first -> the pick)
    instance = JobShopInstance(
        "hand", np.array([[4, 1], [2, 6], [3, 1]]), np.array([[0, 1], [0, 1], [1, 0]])
    )
    # SPT: all start at 0, shortest is job 1 (2) -> m0 [0,2); then only job 2 can start at 0 ->
    # m1 [0,3); job 0 at 2 -> m0 [2,6); job 1 at 3 -> m1 [3,9); job 2 at 6 -> m0 [6,7); job 0 at 9.
    # MWKR picks job 1 first (8 units left) and then has the same single candidates.
    for rule in ("spt", "mwkr"):
        result = dispatch_instance(instance, rule)
        np.testing.assert_array_equal(result.start[0], [[2, 9], [0, 3], [0, 6]])
        assert result.makespan[0] == 10
    # LPT: job 0 (4) -> m0 [0,4); job 2 alone at 0 -> m1 [0,3); all three at 4, longest is job 1
    # (2) -> m0 [4,6); job 0 alone at 4 -> m1 [4,5); at 6 job 1 (6) beats job 2 (1) -> m1 [6,12);
    # job 2 -> m0 [6,7).
    lpt = dispatch_instance(instance, "lpt")
    np.testing.assert_array_equal(lpt.start[0], [[0, 4], [4, 6], [0, 6]])
    assert lpt.makespan[0] == 12


def test_random_rule_is_seeded_and_unknown_rules_fail() -> None:
    instance = random_instance(6, 4, 0)
    a, b = (
        dispatch_instance(instance, "random", seed=1),
        dispatch_instance(instance, "random", seed=1),
    )
    np.testing.assert_array_equal(a.order, b.order)
    with pytest.raises(ConfigError, match="unknown dispatching rule"):
        dispatch(JobShopSimulator.from_instances([instance]), "edd")
    assert {"spt", "lpt", "mwkr", "mor", "fdd/mwkr", "fifo", "random"} <= set(RULES)


def test_bad_actions_are_config_errors() -> None:
    sim = JobShopSimulator.from_instances([random_instance(2, 2, 0)])
    with pytest.raises(ConfigError, match="job indices"):
        sim.step([5])
    sim.step([0])
    sim.step([0])
    with pytest.raises(ConfigError, match="no operations left"):
        sim.step([0])
    with pytest.raises(ConfigError, match="still unscheduled"):
        sim.result()


def test_cpsat_out_of_time_returns_its_hint_or_says_it_found_nothing() -> None:
    """A limit too short for CP-SAT to load a 100x20 model: with a hint the hint comes back (a
    warm start is never worse than its hint), without one a NoScheduleError."""
    instance = load_benchmark("ta71")
    hint = dispatch_instance(instance, "mwkr")
    result = solve_cpsat(instance, time_limit_s=0.001, workers=1, hint_start=hint.start[0])
    assert result.makespan <= hint.makespan[0]
    assert verified_makespan(instance, result.start, result.end) == result.makespan
    with pytest.raises(NoScheduleError, match="no schedule"):
        solve_cpsat(instance, time_limit_s=0.001, workers=1)
