"""Ant colony optimisation of a batch's task-to-node assignment.

At each decision the pending tasks are put in deadline order (earliest first: the deadline-aware
priority of the batch) and the colony searches the node of every task. An ant walks the tasks in
that order and picks task ``i``'s node ``n`` with probability proportional to
``tau[c_i, n]^alpha * eta_i(n)^beta`` over the nodes that hold it, where ``c_i`` is the task's
class (its SLA class x its GoCJ length class), ``tau`` the pheromone and ``eta_i(n) = 1 / (time
until the task would be back from n)`` given the ant's earlier picks (the node queues as the
simulator would leave them). An ant's cost is the batch's total response time plus
``tardiness_weight`` x its total lateness past the deadlines. After each iteration the pheromone
evaporates (``tau <- (1 - rho) tau``) and the iteration's best ant deposits ``rho * tau_max *
best / cost`` on its (class, node) pairs (``best``: the lowest cost of the batch so far, so the
deposit is at most ``rho * tau_max``), bounded in ``[tau_min, tau_max]`` (MAX-MIN ant system) so
that the search does not stall. The pheromone persists from batch to batch: the colony learns
which node kinds suit which task classes. The best assignment found is improved by
best-improvement local search (each pass applies the move of one task to another node, or the
swap of two tasks' nodes, that lowers the cost most; at most ``local_search_passes`` passes) and
committed.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from pgsuite.apps.scheduling.iot.simulator import IoTSimulator
from pgsuite.core.errors import ConfigError

LENGTH_CLASS_BOUNDS_MI = (55_000, 100_000, 150_000, 525_000)
"""GoCJ's class boundaries (small, medium, large, extra-large, huge)."""


@dataclass
class ACOConfig:
    """The colony's options (textbook defaults: alpha 1, beta 2, rho 0.1-0.5)."""

    ants: int = 12
    iterations: int = 10
    alpha: float = 1.0
    """Weight of the pheromone."""
    beta: float = 2.0
    """Weight of the heuristic 1 / expected response."""
    rho: float = 0.1
    """Evaporation rate per iteration."""
    tardiness_weight: float = 5.0
    """Cost of a second of lateness past a deadline, in seconds of response time."""
    tau_min: float = 0.2
    tau_max: float = 2.0
    local_search_passes: int = 2
    """Moves or swaps the local search may apply to the colony's best assignment (0: none)."""
    seed: int = 0

    def __post_init__(self) -> None:
        if self.ants < 1 or self.iterations < 1 or self.local_search_passes < 0:
            raise ConfigError("ants and iterations must be >= 1, local_search_passes >= 0")
        if not (0 < self.rho <= 1 and 0 < self.tau_min <= self.tau_max):
            raise ConfigError("need 0 < rho <= 1 and 0 < tau_min <= tau_max")
        if self.alpha < 0 or self.beta < 0 or self.tardiness_weight < 0:
            raise ConfigError("alpha, beta and tardiness_weight must be >= 0")


def task_classes(sim: IoTSimulator) -> np.ndarray:
    """int ``[N]``: each task's pheromone row, SLA class x GoCJ length class."""
    length_class = np.searchsorted(LENGTH_CLASS_BOUNDS_MI, sim.tasks.length_mi, side="right")
    return sim.tasks.sla * (len(LENGTH_CLASS_BOUNDS_MI) + 1) + length_class


class TentativeQueues:
    """Copies of the simulator's node queues that a batch's tentative picks grow (the simulator's
    queue rule: the core that frees first, once the data is there)."""

    def __init__(self, sim: IoTSimulator) -> None:
        self.sim = sim
        self.free: dict[int, list[float]] = {}

    def earliest(self) -> np.ndarray:
        """``[M]`` when each node's first core frees, the tentative picks included."""
        earliest = self.sim.earliest_free.copy()
        for node, queue in self.free.items():
            earliest[node] = queue[0]
        return earliest

    def place(self, task: int, node: int) -> float:
        """Put ``task`` on ``node``; returns when it would be back (``inf``: it does not fit)."""
        sim = self.sim
        if not sim.feasible(task)[node]:
            return np.inf
        queue = self.free.setdefault(node, sorted(sim.core_free[node]))
        start = max(sim.now + sim.upload_s(task)[node], queue[0])
        end = start + sim.execution_s(task)[node]
        queue[0] = end
        queue.sort()
        return end + sim.download_s(task)[node]


def batch_times(sim: IoTSimulator, order: Sequence[int], nodes: Sequence[int]) -> np.ndarray:
    """``[K]`` when each task of ``order`` would be back if assigned, in that order, to
    ``nodes`` now (``inf`` where a task does not fit its node)."""
    queues = TentativeQueues(sim)
    return np.asarray([queues.place(t, n) for t, n in zip(order, nodes, strict=True)])


def batch_cost(sim: IoTSimulator, order: Sequence[int], back: np.ndarray,
               tardiness_weight: float) -> float:  # fmt: skip
    """Total response time plus ``tardiness_weight`` x total lateness of a batch."""
    order = np.asarray(order)
    response = back - sim.tasks.arrival_s[order]
    late = np.maximum(back - sim.tasks.deadline_s[order], 0.0)
    return float(response.sum() + tardiness_weight * late.sum())


def deadline_order(sim: IoTSimulator, pending: np.ndarray) -> np.ndarray:
    """``pending`` earliest deadline first (ties in arrival order): the batch order of the
    metaheuristics."""
    return pending[np.argsort(sim.tasks.deadline_s[pending], kind="stable")]


class BatchPlanner:
    """Base of the schedulers that plan a whole batch at once: the first decision of a batch
    calls :meth:`solve`, the following ones commit its plan in order."""

    def reset(self, sim: IoTSimulator) -> None:
        del sim
        self.plan: list[tuple[int, int]] = []

    def choose(self, sim: IoTSimulator, pending: np.ndarray) -> tuple[int, int]:
        if not self.plan:
            self.plan = self.solve(sim, pending)
        return self.plan.pop(0)

    def solve(self, sim: IoTSimulator, pending: np.ndarray) -> list[tuple[int, int]]:
        """The (task, node) sequence for every task of ``pending``."""
        raise NotImplementedError


class NodePrior(Protocol):
    """A policy's node probabilities ``[M]`` for a task now (the learned scheduler has one)."""

    def probabilities(self, sim: IoTSimulator, task: int) -> np.ndarray: ...


PriorMode = Literal["heuristic", "initial"]


class AntColony(BatchPlanner):
    """The ACO scheduler (see the module docstring); with ``batch_s = 0`` each batch is a single
    task.

    With a ``prior`` (the hybrid: a trained policy, :class:`NodePrior`), two ways to combine:
    ``heuristic``: an ant's weights get a third factor ``pi(n | task)^gamma``, the policy's
    probabilities computed once per batch from the cluster as the batch found it; ``initial``:
    the policy's greedy assignment of the batch (each task to its most probable node, in deadline
    order) is the colony's first best solution and deposits pheromone before the ants walk, so
    the colony can only improve on it (its committed cost is at most the policy's).
    """

    def __init__(
        self,
        config: ACOConfig | None = None,
        prior: NodePrior | None = None,
        prior_mode: PriorMode = "initial",
        gamma: float = 1.0,
    ) -> None:
        if prior_mode not in ("heuristic", "initial"):
            raise ConfigError(f"prior_mode must be heuristic or initial, got {prior_mode!r}")
        self.config = config or ACOConfig()
        self.prior, self.prior_mode, self.gamma = prior, prior_mode, gamma

    def reset(self, sim: IoTSimulator) -> None:
        super().reset(sim)
        self.classes = task_classes(sim)
        rows = int(self.classes.max()) + 1
        self.tau = np.ones((rows, sim.cluster.size))
        self.rng = np.random.default_rng(self.config.seed)

    def _walk(self, sim: IoTSimulator, order: np.ndarray,
              prior: np.ndarray | None) -> tuple[list[int], np.ndarray]:  # fmt: skip
        """One ant: a node per task of ``order`` (``prior``: ``[K, M]`` probabilities to weigh
        in); returns the nodes and the back times."""
        config, queues = self.config, TentativeQueues(sim)
        nodes, back = [], np.empty(len(order))
        for k, task in enumerate(order):
            done = sim.completion(task, queues.earliest())
            weight = (self.tau[self.classes[task]] ** config.alpha
                      * (1.0 / (done - sim.now)) ** config.beta)  # fmt: skip
            if prior is not None:
                weight = weight * prior[k] ** self.gamma
            weight = np.where(sim.feasible(task), weight, 0.0)
            if not weight.sum() > 0:  # a prior of zero everywhere it fits: ignore it
                weight = sim.feasible(task).astype(float)
            node = int(self.rng.choice(len(weight), p=weight / weight.sum()))
            nodes.append(node)
            back[k] = queues.place(task, node)
        return nodes, back

    def solve(self, sim: IoTSimulator, pending: np.ndarray) -> list[tuple[int, int]]:
        """The best (task, node) sequence the colony finds for ``pending``."""
        config = self.config
        order = deadline_order(sim, pending)
        best_nodes, best_cost, prior = None, np.inf, None
        if self.prior is not None:
            prior = np.stack([self.prior.probabilities(sim, int(t)) for t in order])
        if prior is not None and self.prior_mode == "initial":
            best_nodes = [int(n) for n in prior.argmax(axis=1)]
            best_cost = batch_cost(sim, order, batch_times(sim, order, best_nodes),
                                   config.tardiness_weight)  # fmt: skip
            np.add.at(self.tau, (self.classes[order], np.asarray(best_nodes)),
                      config.rho * config.tau_max)  # fmt: skip
            np.clip(self.tau, config.tau_min, config.tau_max, out=self.tau)
            prior = None
        for _ in range(config.iterations):
            round_best, round_cost = None, np.inf
            for _ in range(config.ants):
                nodes, back = self._walk(sim, order, prior)
                cost = batch_cost(sim, order, back, config.tardiness_weight)
                if cost < round_cost:
                    round_best, round_cost = nodes, cost
            if round_cost < best_cost:
                best_nodes, best_cost = round_best, round_cost
            self.tau *= 1 - config.rho
            deposit = config.rho * config.tau_max * best_cost / max(round_cost, 1e-12)
            np.add.at(self.tau, (self.classes[order], np.asarray(round_best)), deposit)
            np.clip(self.tau, config.tau_min, config.tau_max, out=self.tau)
        best_nodes = self._improve(sim, order, list(best_nodes))
        return [(int(t), int(n)) for t, n in zip(order, best_nodes, strict=True)]

    def _improve(self, sim: IoTSimulator, order: np.ndarray, nodes: list[int]) -> list[int]:
        """Best-improvement local search: each pass applies the move of one task to another node,
        or the swap of two tasks' nodes, that lowers the batch cost most (none: stop). Moves are
        priced incrementally by :class:`NodeCosts` (only the two nodes involved change)."""
        costs = NodeCosts(sim, order, self.config.tardiness_weight)
        members = {n: tuple(k for k, m in enumerate(nodes) if m == n) for n in set(nodes)}
        fits = np.stack([sim.feasible(int(t)) for t in order])

        def without(node: int, k: int) -> tuple[int, ...]:
            return tuple(j for j in members.get(node, ()) if j != k)

        def joined(node: int, k: int, dropped: int = -1) -> tuple[int, ...]:
            return tuple(sorted((*without(node, dropped), k)))

        for _ in range(self.config.local_search_passes):
            best_delta, best_change = -1e-9, None
            for k, current in enumerate(nodes):
                base = costs(current, members[current])
                left = costs(current, without(current, k))
                for node in np.flatnonzero(fits[k]):
                    if node != current:
                        node = int(node)
                        delta = (left + costs(node, joined(node, k)) - base
                                 - costs(node, members.get(node, ())))  # fmt: skip
                        if delta < best_delta:
                            best_delta, best_change = delta, ((k, node),)
            for j, k in itertools.combinations(range(len(order)), 2):
                a, b = nodes[j], nodes[k]
                if a != b and fits[j, b] and fits[k, a]:
                    delta = (costs(a, joined(a, k, j)) + costs(b, joined(b, j, k))
                             - costs(a, members[a]) - costs(b, members[b]))  # fmt: skip
                    if delta < best_delta:
                        best_delta, best_change = delta, ((j, b), (k, a))
            if best_change is None:
                break
            for k, node in best_change:
                nodes[k] = node
            members = {n: tuple(k for k, m in enumerate(nodes) if m == n) for n in set(nodes)}
        return nodes


class NodeCosts:
    """The cost of a batch's tasks on one node, memoised: the nodes' queues are independent, so
    a batch's cost (:func:`batch_cost`) is the sum over nodes of the cost of the tasks each one got
    (positions ``members`` of ``order``, in that order, on the node's queue as the simulator holds
    it now)."""

    def __init__(self, sim: IoTSimulator, order: np.ndarray, tardiness_weight: float) -> None:
        self.sim, self.order, self.weight = sim, np.asarray(order), tardiness_weight
        self.memo: dict[tuple[int, tuple[int, ...]], float] = {}

    def __call__(self, node: int, members: tuple[int, ...]) -> float:
        key = (node, members)
        if key not in self.memo:
            tasks = self.order[list(members)]
            if len(tasks) == 0:
                self.memo[key] = 0.0
            else:
                queues = TentativeQueues(self.sim)
                back = np.asarray([queues.place(int(t), node) for t in tasks])
                self.memo[key] = batch_cost(self.sim, tasks, back, self.weight)
        return self.memo[key]
