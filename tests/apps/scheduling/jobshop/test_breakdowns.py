"""Machine breakdowns: no operation overlaps a repair, the best dispatch order still equals
CP-SAT's (clairvoyant) optimum, and the dispatcher only sees a breakdown once it has started."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from pgsuite.apps.scheduling.common.feasibility import InfeasibleScheduleError
from pgsuite.apps.scheduling.jobshop.breakdowns import PAD, Breakdowns, stack_downtimes
from pgsuite.apps.scheduling.jobshop.cpsat import solve_cpsat
from pgsuite.apps.scheduling.jobshop.features import FEATURE_NAMES, operation_features
from pgsuite.apps.scheduling.jobshop.instances import JobShopInstance, random_instance
from pgsuite.apps.scheduling.jobshop.rules import RULES, dispatch_instance
from pgsuite.apps.scheduling.jobshop.schedule import verified_makespan
from pgsuite.apps.scheduling.jobshop.simulator import JobShopSimulator
from pgsuite.core.errors import ConfigError

from .test_simulator import _all_orders

ONE_OP = JobShopInstance("one", np.array([[5]]), np.array([[0]]))


def _down(*intervals: tuple[int, int]) -> np.ndarray:
    """``[1, D, 2]`` downtimes of a one-machine instance."""
    return np.array([list(intervals)], dtype=np.int64).reshape(1, -1, 2)


@pytest.mark.parametrize(
    ("intervals", "start"),
    [([(2, 4)], 4), ([(6, 8)], 0), ([(0, 3), (9, 10)], 3), ([(1, 2), (7, 8)], 2), ([], 0)],
)
@pytest.mark.parametrize("insertion", [True, False])
def test_an_operation_goes_into_the_first_gap_that_fits_it(
    intervals: list, start: int, insertion: bool
) -> None:
    downtimes = _down(*intervals) if intervals else None
    batch = None if downtimes is None else downtimes[None]
    sim = JobShopSimulator.from_instances([ONE_OP], insertion, batch)
    assert sim.step(np.array([0]))[0] == start
    result = sim.result()
    assert verified_makespan(ONE_OP, result.start[0], result.end[0], downtimes) == start + 5


def test_a_schedule_through_a_repair_is_rejected() -> None:
    with pytest.raises(InfeasibleScheduleError, match="overlap"):
        verified_makespan(ONE_OP, np.array([[0]]), np.array([[5]]), _down((2, 4)))


@pytest.mark.parametrize("insertion", [True, False])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_best_dispatch_order_is_the_clairvoyant_cpsat_optimum(seed: int, insertion: bool) -> None:
    instance = random_instance(3, 3, seed, high=9)
    downtimes = Breakdowns(mtbf=1.5, mttr=1.0).sample(instance, np.random.default_rng(seed))
    assert (downtimes[..., 0] < PAD).sum() >= 3  # breakdowns actually happen
    orders = _all_orders(instance)
    sim = JobShopSimulator.from_instances([instance] * len(orders), insertion, downtimes)
    for decision in range(orders.shape[1]):
        sim.step(orders[:, decision])
    result = sim.result()
    exact = solve_cpsat(instance, time_limit_s=10, workers=1, downtimes=downtimes)
    assert exact.optimal
    assert result.makespan.min() == exact.makespan
    free = solve_cpsat(instance, time_limit_s=10, workers=1)
    assert exact.makespan >= free.makespan
    for b in np.random.default_rng(0).choice(len(orders), 50, replace=False):
        assert (
            verified_makespan(instance, result.start[b], result.end[b], downtimes)
            == (result.makespan[b])
        )
    assert verified_makespan(instance, exact.start, exact.end, downtimes) == exact.makespan


def test_rules_under_breakdowns_are_feasible_and_no_better_than_the_optimum() -> None:
    instance = random_instance(6, 4, seed=5)
    downtimes = Breakdowns(mtbf=5, mttr=2).sample(instance, np.random.default_rng(0))
    exact = solve_cpsat(instance, time_limit_s=10, workers=1, downtimes=downtimes)
    for rule in RULES:
        result = dispatch_instance(instance, rule, downtimes=downtimes)
        makespan = verified_makespan(instance, result.start[0], result.end[0], downtimes)
        assert makespan >= exact.lower_bound


def test_the_dispatcher_sees_a_breakdown_only_once_it_has_started() -> None:
    instance = JobShopInstance("two", np.array([[4, 4], [4, 4]]), np.array([[0, 1], [1, 0]]))
    column = FEATURE_NAMES.index("machine_free_in")

    def free_in(downtime: tuple[int, int]) -> float:
        downtimes = np.full((1, 2, 1, 2), PAD, dtype=np.int64)
        downtimes[0, 0, 0] = downtime
        sim = JobShopSimulator.from_instances([instance], True, downtimes)
        return float(operation_features(sim)[0, 0, 0, column])  # job 0's first op, machine 0

    assert free_in((0, 8)) == pytest.approx(8 / 4)  # in progress at time 0: seen
    assert free_in((2, 8)) == 0.0  # in the future: not seen


def test_breakdown_samples_are_seeded_and_validated() -> None:
    instance = random_instance(5, 3, seed=0)
    process = Breakdowns(mtbf=4, mttr=1)
    a = process.sample(instance, np.random.default_rng(7))
    b = process.sample(instance, np.random.default_rng(7))
    assert np.array_equal(a, b)
    real = a[..., 0] < PAD
    assert (a[..., 1][real] > a[..., 0][real]).all()
    assert (np.diff(a[..., 0], axis=1)[real[:, 1:]] > 0).all()  # sorted per machine
    assert stack_downtimes([a, a[:, :1]]).shape == (2, *a.shape)
    with pytest.raises(ConfigError, match="mtbf"):
        Breakdowns(mtbf=0)
    with pytest.raises(ConfigError, match="start < end"):
        JobShopSimulator.from_instances([ONE_OP], True, _down((3, 3))[None])


def test_env_with_breakdowns_passes_the_checks() -> None:
    env = gymnasium.make(
        "pgsuite/JobShop-v0", jobs=4, machines=3, breakdowns={"mtbf": 3, "mttr": 1}
    ).unwrapped
    check_env(env)
    env.reset(seed=3)
    assert (env.env.sim.downtimes[..., 0] < PAD).any()
