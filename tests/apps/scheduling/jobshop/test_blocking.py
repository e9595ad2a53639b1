"""The blocking job shop: a hand-made swap cycle, deadlock without swaps, the checker's
violations, interruptions, and CP-SAT's blocking model against brute force (every combination of
machine sequences, earliest starts by longest paths in the alternative graph, positive cycles
infeasible) on tiny instances."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest

from pgsuite.apps.scheduling.common.feasibility import InfeasibleScheduleError
from pgsuite.apps.scheduling.jobshop.blocking import (
    BlockingJobShop,
    BlockingSchedule,
    DeadlockError,
    InterruptionPlan,
    Interruptions,
    blocking_violations,
    check_blocking,
)
from pgsuite.apps.scheduling.jobshop.blocking_rules import BLOCKING_RULES, dispatch_blocking
from pgsuite.apps.scheduling.jobshop.cpsat import solve_cpsat
from pgsuite.apps.scheduling.jobshop.instances import JobShopInstance, random_instance
from pgsuite.core.errors import ConfigError


def _crossing() -> JobShopInstance:
    """J0: M0 (3) then M1 (2); J1: M1 (5) then M0 (4): once both start, they must swap."""
    return JobShopInstance("crossing", np.asarray([[3, 2], [5, 4]]), np.asarray([[0, 1], [1, 0]]))


def test_a_swap_cycle_moves_both_jobs_at_once() -> None:
    shop = BlockingJobShop(_crossing())
    assert set(shop.candidates()) == {0, 1}
    shop.step(0)
    shop.step(1)  # t = 0: both start; J0 ends at 3 and waits for M1 (held by J1 until 5)
    assert shop.time == 5
    assert shop.candidates() == {0: (0, 1), 1: (1, 0)}
    shop.step(1)
    schedule = shop.result()
    assert schedule.start.tolist() == [[0, 5], [0, 5]]
    assert schedule.end.tolist() == [[3, 7], [5, 9]]
    assert schedule.departure.tolist() == [[5, 7], [5, 9]]
    assert (schedule.makespan, schedule.swaps) == (9, 1)


def test_without_swaps_the_crossing_deadlocks_and_the_checker_refuses_a_swap() -> None:
    shop = BlockingJobShop(_crossing(), swaps=False)
    shop.step(0)
    with pytest.raises(DeadlockError, match="deadlock at time 5: 2 jobs wait"):
        shop.step(1)
    swapped = dispatch_blocking(_crossing(), "spt")
    kinds = {v.kind for v in blocking_violations(_crossing(), swapped, swaps=False)}
    assert kinds == {"swap"}
    # sequencing the jobs avoids the cycle: J0 alone first, then J1
    sequential = BlockingSchedule(np.asarray([[0, 3], [5, 10]]), np.asarray([[3, 5], [10, 14]]),
                                  np.asarray([[3, 5], [10, 14]]), 14)  # fmt: skip
    assert check_blocking(_crossing(), sequential, swaps=False) == 14


def _mutated(schedule: BlockingSchedule, **arrays) -> BlockingSchedule:
    return dataclasses.replace(schedule, **{k: np.asarray(v) for k, v in arrays.items()})


@pytest.mark.parametrize(
    ("arrays", "kind"),
    [
        ({"end": [[3, 8], [5, 9]]}, "duration"),  # J0's second operation runs 3, needs 2
        ({"departure": [[2, 7], [5, 9]], "end": [[3, 7], [5, 9]]}, "blocking"),  # leaves early
        ({"departure": [[4, 7], [5, 9]]}, "blocking"),  # leaves M0 at 4, starts M1 at 5: a buffer
        ({"start": [[0, 4], [0, 5]], "end": [[3, 6], [5, 9]],
          "departure": [[4, 6], [5, 9]]}, "overlap"),  # J0 enters M1 at 4, J1 holds it until 5
    ],
)  # fmt: skip
def test_each_violation_is_found(arrays, kind) -> None:
    schedule = _mutated(dispatch_blocking(_crossing(), "spt"), **arrays)
    assert kind in {v.kind for v in blocking_violations(_crossing(), schedule)}
    with pytest.raises(InfeasibleScheduleError):
        check_blocking(_crossing(), schedule)


def _brute_force(instance: JobShopInstance) -> int:
    """The optimal blocking makespan with swaps: every combination of machine sequences."""
    n, m = instance.durations.shape
    p = instance.durations.ravel()
    job_arcs = [
        (j * m + k, j * m + k + 1, int(p[j * m + k])) for j in range(n) for k in range(m - 1)
    ]
    on_machine = [[j * m + k for j in range(n) for k in range(m) if instance.machines[j, k] == r]
                  for r in range(m)]  # fmt: skip
    best = None
    for sequences in itertools.product(*(itertools.permutations(ops) for ops in on_machine)):
        arcs = list(job_arcs)
        for sequence in sequences:
            for a, b in itertools.pairwise(sequence):
                # b starts once a's job left the machine: at its next start, or a's end if last
                arcs.append((a + 1, b, 0) if a % m < m - 1 else (a, b, int(p[a])))
        start = np.zeros(n * m, dtype=np.int64)
        for _ in range(n * m + 1):
            changed = False
            for a, b, w in arcs:
                if start[a] + w > start[b]:
                    start[b], changed = start[a] + w, True
            if not changed:
                break
        else:
            continue  # a positive cycle: these sequences deadlock
        makespan = int(max(start[j * m + m - 1] + p[j * m + m - 1] for j in range(n)))
        best = makespan if best is None else min(best, makespan)
    return best


@pytest.mark.parametrize(("jobs", "machines", "seed"),
                         [(3, 3, 0), (3, 3, 1), (3, 3, 2), (4, 2, 3), (2, 4, 4), (3, 3, 5)])  # fmt: skip
def test_cpsat_blocking_is_the_brute_force_optimum(jobs, machines, seed) -> None:
    instance = random_instance(jobs, machines, seed=seed, low=1, high=9)
    result = solve_cpsat(instance, time_limit_s=20, workers=1, blocking=True)
    assert result.optimal
    assert result.makespan == _brute_force(instance)
    schedule = BlockingSchedule.from_times(result.start, result.end)
    assert schedule.makespan == result.makespan
    assert (schedule.departure[:, :-1] == result.start[:, 1:]).all()
    assert check_blocking(instance, schedule) == result.makespan
    classic = solve_cpsat(instance, time_limit_s=20, workers=1)
    assert classic.makespan <= result.makespan  # buffers never hurt
    for rule in BLOCKING_RULES:
        assert dispatch_blocking(instance, rule, seed=seed).makespan >= result.makespan


def test_rules_give_checked_schedules_on_a_larger_instance() -> None:
    instance = random_instance(10, 5, seed=7)
    plan = Interruptions(probability=0.02).sample(instance, seed=3)
    makespans = {}
    for rule in BLOCKING_RULES:
        schedule = dispatch_blocking(instance, rule, plan)
        assert (schedule.end - schedule.start == plan.hold()).all()
        makespans[rule] = schedule.makespan
    assert len(set(makespans.values())) > 1  # the rules differ
    with pytest.raises(ConfigError, match="unknown blocking rule 'edd'"):
        dispatch_blocking(instance, "edd")


def test_interruptions_resume_restart_and_repeat() -> None:
    instance = random_instance(6, 4, seed=0, low=5, high=20)
    plan = InterruptionPlan(np.asarray([[10]]), [[[(2, 3), (7, 1)]]], "resume")
    assert plan.downs(0, 0, start=100) == [(102, 105), (110, 111)]
    assert plan.hold().tolist() == [[14]]
    restart = dataclasses.replace(plan, mode="restart")
    assert restart.downs(0, 0, start=100) == [(102, 105), (112, 113)]
    assert restart.hold().tolist() == [[10 + 3 + 1 + 2 + 7]]
    draws = Interruptions(probability=0.05)
    assert draws.sample(instance, 1).shutdowns == draws.sample(instance, 1).shutdowns
    assert draws.sample(instance, 1).shutdowns != draws.sample(instance, 2).shutdowns
    big = random_instance(40, 10, seed=1, low=10, high=10)
    share = Interruptions(probability=0.04).sample(big, 0).share_interrupted()
    assert share == pytest.approx(1 - 0.96**10, abs=0.05)
    once = Interruptions(probability=0.3, per="operation", mode="restart").sample(big, 0)
    assert once.share_interrupted() == pytest.approx(0.3, abs=0.06)
    assert max(len(ops) for job in once.shutdowns for ops in job) == 1
    with pytest.raises(ConfigError, match="shutdown probability"):
        Interruptions(probability=1.0)


def test_waiting_keeps_a_job_out_of_the_shop() -> None:
    shop = BlockingJobShop(_crossing())
    assert not shop.can_wait()  # nothing runs yet
    with pytest.raises(ConfigError, match="nothing to wait for"):
        shop.wait()
    shop.step(0)  # J0 on M0 until 3; J1 waits instead of taking M1
    shop.wait()
    assert shop.time == 3
    assert set(shop.candidates()) == {0, 1}
    shop.step(0)  # J0 to M1 (3 -> 5); J1 waits for M1
    assert shop.time == 5
    shop.step(1)  # J1 on M1 (5 -> 10), then M0 (10 -> 14)
    shop.step(1)
    schedule = shop.result()
    assert schedule.order == [0, -1, 0, 1, 1]
    assert schedule.makespan == 14
    assert schedule.swaps == 0
