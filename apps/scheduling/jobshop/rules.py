"""Priority dispatching rules, run on the same simulator (and placement semantics) as the policy.

At each decision every job with operations left is a candidate (its next operation); the rule
scores the candidates and the best one is dispatched, ties broken by the lowest job index
(``random`` draws uniformly). With ``nondelay=True`` only candidates that could start earliest are
considered (Giffler-Thompson non-delay dispatching).

| rule | picks the job with ... |
|---|---|
| ``spt`` / ``lpt`` | the shortest / longest next operation |
| ``mwkr`` | the most work remaining (its next and later operations) |
| ``mor`` | the most operations remaining |
| ``fdd/mwkr`` | the smallest ratio of flow due date (work up to and including the next operation) to work remaining |
| ``fifo`` | the earliest ready time (waited longest) |
| ``random`` | uniformly at random |
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pgsuite.apps.scheduling.jobshop.instances import JobShopInstance
from pgsuite.apps.scheduling.jobshop.simulator import JobShopSimulator, ScheduleResult
from pgsuite.core.errors import ConfigError


def _gather(table: np.ndarray, op: np.ndarray) -> np.ndarray:
    """``table[b, j, op[b, j]]`` for ``table`` ``[B, n, m + 1]`` and ``op`` ``[B, n]``."""
    return np.take_along_axis(table, op[..., None], axis=2)[..., 0]


class _Work:
    """Prefix and suffix sums of the durations, ``[B, n, m + 1]`` (index ``m``: past the end)."""

    def __init__(self, durations: np.ndarray) -> None:
        zeros = np.zeros((*durations.shape[:2], 1), dtype=np.int64)
        padded = np.concatenate([durations, zeros], axis=2)
        self.next = padded
        self.remaining = np.cumsum(padded[..., ::-1], axis=2)[..., ::-1]
        self.done_through = np.cumsum(padded, axis=2)


Score = Callable[[JobShopSimulator, _Work, np.random.Generator], np.ndarray]
"""``score(simulator, work, rng) -> [B, n]`` priorities; the highest candidate is dispatched."""

RULES: dict[str, Score] = {
    "spt": lambda sim, work, rng: -_gather(work.next, sim.next_op).astype(float),
    "lpt": lambda sim, work, rng: _gather(work.next, sim.next_op).astype(float),
    "mwkr": lambda sim, work, rng: _gather(work.remaining, sim.next_op).astype(float),
    "mor": lambda sim, work, rng: (sim.num_machines - sim.next_op).astype(float),
    "fdd/mwkr": lambda sim, work, rng: (
        -(
            _gather(work.done_through, sim.next_op)
            / np.maximum(_gather(work.remaining, sim.next_op), 1)
        )
    ),
    "fifo": lambda sim, work, rng: -sim.job_ready.astype(float),
    "random": lambda sim, work, rng: rng.random(sim.next_op.shape),
}


def dispatch(
    simulator: JobShopSimulator, rule: str, seed: int = 0, nondelay: bool = True
) -> ScheduleResult:
    """Schedule every operation of the simulator's batch by ``rule`` (from an empty schedule).

    Raises:
        ConfigError: unknown rule.
    """
    if rule not in RULES:
        raise ConfigError(f"unknown dispatching rule {rule!r}; choose one of {', '.join(RULES)}")
    simulator.reset()
    score = RULES[rule]
    work = _Work(simulator.durations)
    rng = np.random.default_rng(seed)
    while not simulator.done:
        mask = simulator.valid_jobs(nondelay)
        priority = np.where(mask, score(simulator, work, rng), -np.inf)
        simulator.step(priority.argmax(1))
    return simulator.result()


def dispatch_instance(
    instance: JobShopInstance,
    rule: str,
    seed: int = 0,
    insertion: bool = True,
    nondelay: bool = True,
    downtimes: np.ndarray | None = None,
) -> ScheduleResult:
    """:func:`dispatch` on a single instance (a batch of one); ``downtimes``: int ``[m, D, 2]``
    machine breakdowns."""
    sim = JobShopSimulator.from_instances([instance], insertion, downtimes)
    return dispatch(sim, rule, seed, nondelay)
