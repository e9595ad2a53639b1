"""A genetic algorithm over a batch's task-to-node assignment, built on DEAP (the off-the-shelf
metaheuristic the colony is compared with).

The batch is put in the same deadline order as the colony's and scored by the same cost
(:func:`~pgsuite.apps.scheduling.iot.aco.batch_cost`: total response plus ``tardiness_weight`` x
total lateness, with the node queues as the simulator would leave them). An individual is a
node per task of that order. The population starts from random feasible assignments plus the
greedy one (each task in order to the node where it would be back first, i.e. MCT over the
batch: the seeded GA of the cloud-scheduling literature); then DEAP's ``eaSimple`` with
tournament selection (3), two-point crossover and a mutation that gives a gene a random node
among those holding its task, with the best individual ever seen kept (hall of fame) and
committed. DEAP draws from Python's ``random`` module: the scheduler keeps its own generator
state and swaps it in for each batch, so a run is repeatable and leaves the caller's state alone.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
from deap import algorithms, base, creator, tools

from pgsuite.apps.scheduling.iot.aco import (
    BatchPlanner,
    TentativeQueues,
    batch_cost,
    batch_times,
    deadline_order,
)
from pgsuite.apps.scheduling.iot.simulator import IoTSimulator
from pgsuite.core.errors import ConfigError

if not hasattr(creator, "BatchCost"):
    creator.create("BatchCost", base.Fitness, weights=(-1.0,))
    creator.create("Assignment", list, fitness=creator.BatchCost)


@dataclass
class GAConfig:
    """The GA's options (population x generations = 120 evaluations per batch by default, the
    colony's ants x iterations)."""

    population: int = 12
    generations: int = 10
    crossover_p: float = 0.7
    """Probability that a pair of parents is crossed."""
    mutation_p: float = 0.3
    """Probability that an individual is mutated."""
    gene_mutation_p: float = 0.2
    """Probability that a mutated individual's gene gets a new node."""
    tardiness_weight: float = 5.0
    """As the colony's: the cost of a second past a deadline."""
    seed: int = 0

    def __post_init__(self) -> None:
        if self.population < 2 or self.generations < 1:
            raise ConfigError("population must be >= 2 and generations >= 1")
        for name in ("crossover_p", "mutation_p", "gene_mutation_p"):
            if not 0 <= getattr(self, name) <= 1:
                raise ConfigError(f"{name} must be in [0, 1], got {getattr(self, name)}")
        if self.tardiness_weight < 0:
            raise ConfigError("tardiness_weight must be >= 0")


def greedy_assignment(sim: IoTSimulator, order: np.ndarray) -> list[int]:
    """Each task of ``order`` to the node where it would be back first, given the earlier
    tasks' picks."""
    queues, nodes = TentativeQueues(sim), []
    for task in order:
        done = np.where(sim.feasible(task), sim.completion(task, queues.earliest()), np.inf)
        node = int(np.argmin(done))
        queues.place(task, node)
        nodes.append(node)
    return nodes


class GeneticAlgorithm(BatchPlanner):
    """The GA scheduler (see the module docstring); with ``batch_s = 0`` each batch is a single
    task (and the GA returns the greedy node or a better one)."""

    def __init__(self, config: GAConfig | None = None) -> None:
        self.config = config or GAConfig()

    def reset(self, sim: IoTSimulator) -> None:
        super().reset(sim)
        self.state = random.Random(self.config.seed).getstate()

    def solve(self, sim: IoTSimulator, pending: np.ndarray) -> list[tuple[int, int]]:
        """The best (task, node) sequence the GA finds for ``pending`` (with the GA's own
        ``random`` state swapped in)."""
        outside = random.getstate()
        random.setstate(self.state)
        try:
            return self._search(sim, deadline_order(sim, pending))
        finally:
            self.state = random.getstate()
            random.setstate(outside)

    def _search(self, sim: IoTSimulator, order: np.ndarray) -> list[tuple[int, int]]:
        config = self.config
        choices = [np.flatnonzero(sim.feasible(int(t))).tolist() for t in order]

        def evaluate(individual: list[int]) -> tuple[float]:
            back = batch_times(sim, order, individual)
            return (batch_cost(sim, order, back, config.tardiness_weight),)

        def mutate(individual: list[int]) -> tuple[list[int]]:
            for k, nodes in enumerate(choices):
                if random.random() < config.gene_mutation_p:
                    individual[k] = random.choice(nodes)
            return (individual,)

        def crossover(a: list[int], b: list[int]) -> tuple[list[int], list[int]]:
            return tools.cxTwoPoint(a, b) if len(a) > 1 else (a, b)

        toolbox = base.Toolbox()
        toolbox.register("evaluate", evaluate)
        toolbox.register("mate", crossover)
        toolbox.register("mutate", mutate)
        toolbox.register("select", tools.selTournament, tournsize=3)
        population = [creator.Assignment(greedy_assignment(sim, order))]
        population += [creator.Assignment(random.choice(nodes) for nodes in choices)
                       for _ in range(config.population - 1)]  # fmt: skip
        best = tools.HallOfFame(1)
        algorithms.eaSimple(population, toolbox, cxpb=config.crossover_p, mutpb=config.mutation_p,
                            ngen=config.generations, halloffame=best, verbose=False)  # fmt: skip
        return [(int(t), int(n)) for t, n in zip(order, best[0], strict=True)]
