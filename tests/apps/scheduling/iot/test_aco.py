"""The ant colony on tiny batches: its tentative queues give the simulator's times, and it
converges to the brute-force optimum of the batch cost (every assignment of 6 tasks to 3 nodes,
729 of them, while the colony samples 200): exactly on most instances, within a few percent on
all, and far closer than random search with the same number of samples."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from pgsuite.apps.scheduling.iot.aco import (
    ACOConfig,
    AntColony,
    NodeCosts,
    batch_cost,
    batch_times,
)
from pgsuite.apps.scheduling.iot.cluster import read_cluster
from pgsuite.apps.scheduling.iot.simulator import IoTSimulator
from pgsuite.apps.scheduling.iot.tasks import TaskSet
from pgsuite.core.errors import ConfigError

from .conftest import TWO_NODES, write_cluster


@pytest.fixture
def three_nodes(tmp_path: Path):
    third = {**TWO_NODES["nodes"][0], "name": "c", "mips": 1500, "cores": 2, "latency_ms": 20}
    document = {"nodes": [*TWO_NODES["nodes"], third]}
    return read_cluster(write_cluster(tmp_path / "three.yaml", document))


def _batch(seed: int, classes: bool = False) -> TaskSet:
    rng = np.random.default_rng(seed)
    count = 6
    return TaskSet(
        arrival_s=np.zeros(count), length_mi=rng.uniform(500, 6000, count),
        input_mb=rng.uniform(0, 2, count), output_mb=rng.uniform(0, 0.5, count),
        memory_gb=rng.uniform(0.1, 1.9, count), deadline_s=rng.uniform(1, 6, count),
        sla=np.arange(count) if classes else rng.integers(0, 2, count),
        sla_names=tuple("abcdef") if classes else ("gold", "rest"),
    )  # fmt: skip


def test_tentative_times_are_the_simulators(three_nodes) -> None:
    tasks = _batch(0)
    sim = IoTSimulator(three_nodes, tasks, batch_s=1.0)
    order, nodes = [3, 0, 5, 4, 1, 2], [2, 0, 1, 2, 1, 2]

    class Plan:
        def reset(self, sim) -> None:
            self.steps = list(zip(order, nodes, strict=True))

        def choose(self, sim, pending):
            return self.steps.pop(0)

    expected = batch_times(IoTSimulator(three_nodes, tasks, batch_s=1.0), order, nodes)
    result = sim.run(Plan())
    assert result.log.back[order] == pytest.approx(expected)


def test_the_colony_converges_to_the_brute_force_optimum(three_nodes) -> None:
    gaps, random_gaps = [], []
    rng = np.random.default_rng(0)
    for instance in range(8):
        tasks = _batch(instance, classes=True)  # one pheromone row per task
        sim = IoTSimulator(three_nodes, tasks, batch_s=1.0)
        colony = AntColony(ACOConfig(ants=10, iterations=20, seed=instance))
        colony.reset(sim)
        order = np.argsort(tasks.deadline_s, kind="stable")
        weight = colony.config.tardiness_weight

        def cost(nodes) -> float:
            return batch_cost(sim, order, batch_times(sim, order, list(nodes)), weight)  # noqa: B023

        best = min(cost(nodes) for nodes in itertools.product(range(3), repeat=len(tasks)))
        plan = colony.solve(sim, np.arange(len(tasks)))
        assert [t for t, _ in plan] == order.tolist()  # deadline order
        gaps.append(cost([n for _, n in plan]) / best - 1)
        sampled = min(cost(rng.integers(0, 3, len(tasks))) for _ in range(200))
        random_gaps.append(sampled / best - 1)
    assert sum(gap < 1e-9 for gap in gaps) >= 6
    assert max(gaps) < 0.03
    assert np.mean(gaps) < np.mean(random_gaps) / 3


def test_a_colony_run_is_checked_and_repeats(three_nodes) -> None:
    tasks = _batch(5)
    first = IoTSimulator(three_nodes, tasks, batch_s=1.0).run(AntColony(ACOConfig(seed=3)))
    again = IoTSimulator(three_nodes, tasks, batch_s=1.0).run(AntColony(ACOConfig(seed=3)))
    assert np.array_equal(first.log.node, again.log.node)
    with pytest.raises(ConfigError, match="rho"):
        ACOConfig(rho=0.0)


class _FixedPrior:
    """Node probabilities from a table ``[N, M]``."""

    def __init__(self, table: np.ndarray) -> None:
        self.table = table

    def probabilities(self, sim, task: int) -> np.ndarray:
        return self.table[task]


def test_the_hybrid_never_commits_worse_than_the_policy_and_follows_a_sharp_prior(
    three_nodes,
) -> None:
    tasks = _batch(3)
    rng = np.random.default_rng(0)
    table = rng.dirichlet(np.ones(3), size=len(tasks))
    sim = IoTSimulator(three_nodes, tasks, batch_s=1.0)
    order = np.argsort(tasks.deadline_s, kind="stable")
    weight = ACOConfig().tardiness_weight
    greedy = batch_cost(sim, order, batch_times(sim, order, table[order].argmax(axis=1)), weight)
    hybrid = AntColony(ACOConfig(ants=2, iterations=2), prior=_FixedPrior(table))
    hybrid.reset(sim)
    plan = hybrid.solve(sim, np.arange(len(tasks)))
    assert batch_cost(sim, order, batch_times(sim, order, [n for _, n in plan]), weight) <= greedy
    sharp = np.zeros((len(tasks), 3))
    sharp[:, 2] = 1.0  # every task to node c
    follower = AntColony(ACOConfig(local_search_passes=0), prior=_FixedPrior(sharp),
                         prior_mode="heuristic")  # fmt: skip
    follower.reset(sim)
    assert [n for _, n in follower.solve(sim, np.arange(len(tasks)))] == [2] * len(tasks)
    with pytest.raises(ConfigError, match="prior_mode"):
        AntColony(prior_mode="both")


def test_node_costs_add_up_to_the_batch_cost(three_nodes) -> None:
    rng = np.random.default_rng(3)
    for seed in range(5):
        sim = IoTSimulator(three_nodes, _batch(seed), batch_s=1.0)
        sim.next_decision()
        order = np.asarray([3, 0, 5, 4, 1, 2])
        nodes = [int(rng.choice(np.flatnonzero(sim.feasible(int(t))))) for t in order]
        costs = NodeCosts(sim, order, 5.0)
        per_node = sum(costs(n, tuple(k for k, m in enumerate(nodes) if m == n)) for n in range(3))
        assert per_node == pytest.approx(
            batch_cost(sim, order, batch_times(sim, order, nodes), 5.0)
        )


def test_the_local_search_ends_at_a_local_optimum_below_its_start(three_nodes) -> None:
    """From every assignment of a 6-task batch's first 4 tasks (the rest fixed), the search
    never raises the cost, and no single move or swap lowers what it returns."""
    sim = IoTSimulator(three_nodes, _batch(1), batch_s=1.0)
    sim.next_decision()
    order = np.asarray([0, 1, 2, 3, 4, 5])
    colony = AntColony(ACOConfig(local_search_passes=50))
    colony.reset(sim)

    def cost(nodes) -> float:
        return batch_cost(sim, order, batch_times(sim, order, nodes), 5.0)

    for start in itertools.product(range(3), repeat=4):
        nodes = [*start, 0, 0]
        if not all(sim.feasible(int(t))[n] for t, n in zip(order, nodes, strict=True)):
            continue
        found = colony._improve(sim, order, list(nodes))
        assert cost(found) <= cost(nodes) + 1e-9
        for k, node in itertools.product(range(6), range(3)):
            moved = [*found[:k], node, *found[k + 1 :]]
            if sim.feasible(int(order[k]))[node]:
                assert cost(moved) >= cost(found) - 1e-9
        for j, k in itertools.combinations(range(6), 2):
            swapped = list(found)
            swapped[j], swapped[k] = found[k], found[j]
            if all(sim.feasible(int(t))[n] for t, n in zip(order, swapped, strict=True)):
                assert cost(swapped) >= cost(found) - 1e-9
