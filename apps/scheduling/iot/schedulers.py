"""The classic heuristics of task-to-node assignment (Braun et al., JPDC 2001, plus round-robin
and least-loaded), each an :class:`~pgsuite.apps.scheduling.iot.simulator.Scheduler`.

Immediate ones take the first pending task (arrival order); batch ones pick among every pending
task of a batch window (with ``batch_s = 0`` a batch is one task and they equal MCT). Only nodes
that hold the task's memory are considered; ties go to the lowest node index.

- ``round-robin``: the next node in cyclic order.
- ``least-loaded``: the node with the fewest unfinished tasks per core.
- ``olb`` (opportunistic load balancing): the node whose first core frees first, whatever the
  task's time there.
- ``met`` (minimum execution time): the node that runs the task fastest, whatever its queue.
- ``mct`` (minimum completion time): the node where the task would be back first.
- ``min-min``: of the pending tasks' best completions, the smallest first.
- ``max-min``: of the pending tasks' best completions, the largest first.
- ``sufferage``: the task that would lose most if denied its best node (second-best minus best
  completion) first, to its best node.
"""

from __future__ import annotations

import numpy as np

from pgsuite.apps.scheduling.iot.simulator import IoTSimulator
from pgsuite.core.errors import ConfigError


class Immediate:
    """Base of the rules that assign the first pending task and keep no state."""

    def reset(self, sim: IoTSimulator) -> None:
        del sim

    def choose(self, sim: IoTSimulator, pending: np.ndarray) -> tuple[int, int]:
        task = int(pending[0])
        return task, self.node(sim, task)

    def node(self, sim: IoTSimulator, task: int) -> int:
        raise NotImplementedError


def _first_min(values: np.ndarray, allowed: np.ndarray) -> int:
    return int(np.argmin(np.where(allowed, values, np.inf)))


class RoundRobin(Immediate):
    """round-robin (see the module docstring)."""

    compiled_rule = "round-robin"
    """Its code in the compiled loop (:mod:`~pgsuite.apps.scheduling.iot.kernel`)."""

    def reset(self, sim: IoTSimulator) -> None:
        self.next = 0

    def node(self, sim: IoTSimulator, task: int) -> int:
        allowed = sim.feasible(task)
        order = (np.arange(len(allowed)) + self.next) % len(allowed)
        chosen = int(order[np.argmax(allowed[order])])
        self.next = (chosen + 1) % len(allowed)
        return chosen


class LeastLoaded(Immediate):
    """least-loaded (see the module docstring)."""

    compiled_rule = "least-loaded"
    """Its code in the compiled loop (:mod:`~pgsuite.apps.scheduling.iot.kernel`)."""

    def node(self, sim: IoTSimulator, task: int) -> int:
        return _first_min((sim.assigned - sim.completed) / sim.cores, sim.feasible(task))


class OpportunisticLoadBalancing(Immediate):
    """OLB (see the module docstring)."""

    compiled_rule = "olb"
    """Its code in the compiled loop (:mod:`~pgsuite.apps.scheduling.iot.kernel`)."""

    def node(self, sim: IoTSimulator, task: int) -> int:
        return _first_min(sim.earliest_free, sim.feasible(task))


class MinimumExecutionTime(Immediate):
    """MET (see the module docstring)."""

    compiled_rule = "met"
    """Its code in the compiled loop (:mod:`~pgsuite.apps.scheduling.iot.kernel`)."""

    def node(self, sim: IoTSimulator, task: int) -> int:
        return _first_min(sim.execution_s(task), sim.feasible(task))


class MinimumCompletionTime(Immediate):
    """MCT (see the module docstring)."""

    compiled_rule = "mct"
    """Its code in the compiled loop (:mod:`~pgsuite.apps.scheduling.iot.kernel`)."""

    def node(self, sim: IoTSimulator, task: int) -> int:
        return int(np.argmin(sim.completion(task)))


class BatchRule:
    """Base of Min-Min, Max-Min and Sufferage: score every pending task's completions, assign the
    best-scored task to its earliest-completion node."""

    def reset(self, sim: IoTSimulator) -> None:
        del sim

    def choose(self, sim: IoTSimulator, pending: np.ndarray) -> tuple[int, int]:
        completion = sim.completion_matrix(pending)
        best = completion.argmin(axis=1)
        row = int(self.pick(completion, completion[np.arange(len(pending)), best]))
        return int(pending[row]), int(best[row])

    def pick(self, completion: np.ndarray, best: np.ndarray) -> int:
        raise NotImplementedError


class MinMin(BatchRule):
    """Min-Min (see the module docstring)."""

    def pick(self, completion: np.ndarray, best: np.ndarray) -> int:
        return int(np.argmin(best))


class MaxMin(BatchRule):
    """Max-Min (see the module docstring)."""

    def pick(self, completion: np.ndarray, best: np.ndarray) -> int:
        return int(np.argmax(best))


class Sufferage(BatchRule):
    """Sufferage (see the module docstring); a task with one feasible node suffers infinitely."""

    def pick(self, completion: np.ndarray, best: np.ndarray) -> int:
        if completion.shape[1] == 1:
            return 0
        second = np.partition(completion, 1, axis=1)[:, 1]
        return int(np.argmax(second - best))


HEURISTICS = {
    "round-robin": RoundRobin,
    "least-loaded": LeastLoaded,
    "olb": OpportunisticLoadBalancing,
    "met": MinimumExecutionTime,
    "mct": MinimumCompletionTime,
    "min-min": MinMin,
    "max-min": MaxMin,
    "sufferage": Sufferage,
}


SCHEDULER_NAMES = (*HEURISTICS, "aco", "ga")
"""Every scheduler by name: the heuristics, the ant colony (:mod:`~pgsuite.apps.scheduling.iot.
aco`) and the genetic algorithm (:mod:`~pgsuite.apps.scheduling.iot.ga`)."""


def make_heuristic(name: str, seed: int = 0):
    """The scheduler called ``name`` (:data:`SCHEDULER_NAMES`); ``seed`` seeds the colony and
    the GA."""
    if name == "aco":
        from pgsuite.apps.scheduling.iot.aco import ACOConfig, AntColony

        return AntColony(ACOConfig(seed=seed))
    if name == "ga":
        from pgsuite.apps.scheduling.iot.ga import GAConfig, GeneticAlgorithm

        return GeneticAlgorithm(GAConfig(seed=seed))
    if name not in HEURISTICS:
        raise ConfigError(f"unknown IoT scheduler {name!r}; choose from "
                          f"{', '.join(SCHEDULER_NAMES)}")  # fmt: skip
    return HEURISTICS[name]()
