"""The list heuristics of DS3 / SoCRATES for the SoC simulator, each a
:class:`~pgsuite.apps.scheduling.soc.simulator.Scheduler`.

They plan with mean execution times and the simulator's expected PE availability; realised
times stay hidden. "First ready task" means the lowest global id: jobs in arrival order, then task
id. Ties between PEs go to the lowest PE index.

- ``met``: the first ready task to the fastest cluster for it (its core expected free first).
- ``eft``: the first ready task to the PE where it is expected to finish first.
- ``etf``: over every ready task and PE, the pair expected to finish first (DS3's ETF).
- ``stf``: the ready task with the shortest best execution time, to its earliest-finish PE.
- ``heft-rt``: the ready task of highest upward rank, to its earliest-finish PE (rank at run time).
- ``heft``: HEFT's insertion plan of every undispatched task of the jobs in the system, re-made at
  each job arrival; each PE then runs its planned tasks in planned order.
- ``random``: the first ready task to a uniformly random PE that runs it (seeded).
"""

from __future__ import annotations

import numpy as np

from pgsuite.apps.scheduling.soc.heft import plan_heft, run_ranks
from pgsuite.apps.scheduling.soc.simulator import SoCSimulator
from pgsuite.core.errors import ConfigError


class DispatchRule:
    """Base of the stateless rules: nothing to reset between runs."""

    def reset(self, sim: SoCSimulator) -> None:
        del sim


class MinimumExecution(DispatchRule):
    """MET (see the module docstring)."""

    compiled_rule = "met"
    """Its code in the compiled loop (:mod:`~pgsuite.apps.scheduling.soc.kernel`)."""

    def choose(self, sim: SoCSimulator, ready: np.ndarray) -> tuple[int, int]:
        task = int(ready[0])
        times = sim.mean_time[task]
        fastest = np.flatnonzero(times == times.min())
        return task, int(fastest[np.argmin(sim.expected_free[fastest])])


class EarliestFinish(DispatchRule):
    """EFT (see the module docstring)."""

    compiled_rule = "eft"
    """Its code in the compiled loop (:mod:`~pgsuite.apps.scheduling.soc.kernel`)."""

    def choose(self, sim: SoCSimulator, ready: np.ndarray) -> tuple[int, int]:
        task = int(ready[0])
        return task, sim.earliest_finish_pe(task)


class EarliestTaskFirst(DispatchRule):
    """ETF (see the module docstring)."""

    compiled_rule = "etf"
    """Its code in the compiled loop (:mod:`~pgsuite.apps.scheduling.soc.kernel`)."""

    def choose(self, sim: SoCSimulator, ready: np.ndarray) -> tuple[int, int]:
        finish = np.stack([sim.expected_finish(int(t)) for t in ready])
        row, pe = np.unravel_index(int(np.argmin(finish)), finish.shape)
        return int(ready[row]), int(pe)


class ShortestTaskFirst(DispatchRule):
    """STF (see the module docstring)."""

    compiled_rule = "stf"
    """Its code in the compiled loop (:mod:`~pgsuite.apps.scheduling.soc.kernel`)."""

    def choose(self, sim: SoCSimulator, ready: np.ndarray) -> tuple[int, int]:
        task = int(ready[np.argmin(sim.mean_time[ready].min(axis=1))])
        return task, sim.earliest_finish_pe(task)


class HeftRuntime:
    """HEFT-RT (see the module docstring)."""

    compiled_rule = "heft-rt"
    """Its code in the compiled loop (:mod:`~pgsuite.apps.scheduling.soc.kernel`)."""

    def reset(self, sim: SoCSimulator) -> None:
        self.rank = run_ranks(sim.jobs, sim.platform)

    def choose(self, sim: SoCSimulator, ready: np.ndarray) -> tuple[int, int]:
        task = int(ready[np.argmax(self.rank[ready])])  # argmax: the first of equal ranks
        return task, sim.earliest_finish_pe(task)


class Heft:
    """HEFT (see the module docstring): plans are made with the mean times, the PEs' expected
    availability and the expected ends of dispatched predecessors; with noisy times they go
    stale until the next arrival."""

    def reset(self, sim: SoCSimulator) -> None:
        self.rank = run_ranks(sim.jobs, sim.platform)
        self.planned_pe = np.full(len(self.rank), -1, dtype=np.int64)
        self.planned_start = np.full(len(self.rank), np.inf)
        self.planned_jobs = 0
        self.queues: list[list[int]] = [[] for _ in range(sim.platform.num_pes)]

    def _replan(self, sim: SoCSimulator) -> None:
        tasks = sim.tasks_of_jobs(sim.jobs_present())
        tasks = tasks[sim.pe[tasks] < 0]
        pe = sim.pe.copy()
        end = sim.expected_end.copy()
        available = np.maximum(sim.expected_free, sim.now)
        start = plan_heft(
            tasks, self.rank, sim.mean_time, sim.predecessors, sim.platform,
            np.maximum(sim.release, sim.now), pe, end, available,
        )  # fmt: skip
        self.planned_pe[tasks], self.planned_start[tasks] = pe[tasks], start
        for p in range(sim.platform.num_pes):
            mine = tasks[pe[tasks] == p]
            self.queues[p] = mine[np.lexsort((mine, self.planned_start[mine]))].tolist()
        self.planned_jobs = int(np.searchsorted(sim.arrival_us, sim.now, side="right"))

    def choose(self, sim: SoCSimulator, ready: np.ndarray) -> tuple[int, int] | None:
        if sim.job_of[ready[-1]] >= self.planned_jobs:  # a job arrived since the last plan
            self._replan(sim)
        is_ready = set(ready.tolist())
        for p, queue in enumerate(self.queues):
            if queue and queue[0] in is_ready:
                return queue.pop(0), p
        return None


class RandomPE(DispatchRule):
    """Random (see the module docstring)."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def reset(self, sim: SoCSimulator) -> None:
        del sim
        self.rng = np.random.default_rng(self.seed)

    def choose(self, sim: SoCSimulator, ready: np.ndarray) -> tuple[int, int]:
        task = int(ready[0])
        return task, int(self.rng.choice(np.flatnonzero(np.isfinite(sim.mean_time[task]))))


HEURISTICS = {
    "met": MinimumExecution,
    "eft": EarliestFinish,
    "etf": EarliestTaskFirst,
    "stf": ShortestTaskFirst,
    "heft": Heft,
    "heft-rt": HeftRuntime,
    "random": RandomPE,
}


def make_heuristic(name: str, seed: int = 0):
    """The heuristic called ``name`` (see :data:`HEURISTICS`); ``seed`` seeds ``random``."""
    if name not in HEURISTICS:
        raise ConfigError(f"unknown SoC scheduler {name!r}; choose from {', '.join(HEURISTICS)}")
    return RandomPE(seed) if name == "random" else HEURISTICS[name]()
