"""The DEAP genetic algorithm on tiny batches: never worse than the greedy assignment it is
seeded with, close to the brute-force optimum (729 assignments of 6 tasks to 3 nodes), checked
and repeatable runs that leave Python's global random state alone."""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from pgsuite.apps.scheduling.iot.aco import batch_cost, batch_times
from pgsuite.apps.scheduling.iot.ga import GAConfig, GeneticAlgorithm, greedy_assignment
from pgsuite.apps.scheduling.iot.simulator import IoTSimulator
from pgsuite.core.errors import ConfigError

from .test_aco import _batch, three_nodes  # noqa: F401  (the fixture)


def test_the_ga_beats_greedy_and_nears_the_optimum(three_nodes) -> None:  # noqa: F811
    gaps, greedy_gaps = [], []
    for instance in range(8):
        tasks = _batch(instance)
        sim = IoTSimulator(three_nodes, tasks, batch_s=1.0)
        ga = GeneticAlgorithm(GAConfig(population=20, generations=20, seed=instance))
        ga.reset(sim)
        order = np.argsort(tasks.deadline_s, kind="stable")

        def cost(nodes) -> float:
            return batch_cost(sim, order, batch_times(sim, order, list(nodes)), 5.0)  # noqa: B023

        best = min(cost(nodes) for nodes in itertools.product(range(3), repeat=len(tasks)))
        plan = ga.solve(sim, np.arange(len(tasks)))
        assert [t for t, _ in plan] == order.tolist()
        found = cost([n for _, n in plan])
        greedy = cost(greedy_assignment(sim, order))
        assert found <= greedy + 1e-9
        gaps.append(found / best - 1)
        greedy_gaps.append(greedy / best - 1)
    assert np.mean(gaps) < 0.05
    assert np.mean(gaps) < np.mean(greedy_gaps)


def test_greedy_is_mct_over_the_batch(three_nodes) -> None:  # noqa: F811
    tasks = _batch(2)
    sim = IoTSimulator(three_nodes, tasks, batch_s=1.0)
    order = np.argsort(tasks.deadline_s, kind="stable")
    nodes = greedy_assignment(sim, order)
    back = batch_times(sim, order, nodes)
    for k in range(len(order)):  # no single task could have been back earlier elsewhere
        for other in range(3):
            trial = [*nodes[:k], other]
            assert batch_times(sim, order[: k + 1], trial)[-1] >= back[k] - 1e-12


def test_a_ga_run_is_checked_repeats_and_keeps_the_global_random_state(three_nodes) -> None:  # noqa: F811
    tasks = _batch(5)
    random.seed(123)
    before = random.getstate()
    first = IoTSimulator(three_nodes, tasks, batch_s=1.0).run(GeneticAlgorithm(GAConfig(seed=3)))
    assert random.getstate() == before
    again = IoTSimulator(three_nodes, tasks, batch_s=1.0).run(GeneticAlgorithm(GAConfig(seed=3)))
    assert np.array_equal(first.log.node, again.log.node)
    with pytest.raises(ConfigError, match="population"):
        GAConfig(population=1)
    with pytest.raises(ConfigError, match="mutation_p"):
        GAConfig(mutation_p=1.5)
