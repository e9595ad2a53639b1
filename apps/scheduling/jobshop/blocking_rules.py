"""Priority dispatching rules adapted to the blocking job shop
(:mod:`~pgsuite.apps.scheduling.jobshop.blocking`).

At each decision the candidates are the moves possible now (a job into its empty next machine,
or a swap cycle); the rule scores each candidate job from its next operation's nominal duration
(shutdowns are unknown in advance) and the best is executed. Blocking-aware tie-breaks, in
order: a job that holds a machine before one from the input area (its move frees a machine), a
job whose machine another job waits for (its move unblocks that job), then the lowest job index.

| rule | picks the job with ... |
|---|---|
| ``fifo`` | the earliest ready time (its current operation ended first; not started: 0) |
| ``spt`` / ``lpt`` | the shortest / longest next operation |
| ``mor`` | the most operations remaining |
| ``mwkr`` | the most work remaining (its next and later operations) |
| ``random`` | uniformly at random (ties as above) |
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pgsuite.apps.scheduling.jobshop.blocking import (
    BlockingJobShop,
    BlockingSchedule,
    InterruptionPlan,
)
from pgsuite.apps.scheduling.jobshop.instances import JobShopInstance
from pgsuite.core.errors import ConfigError

BlockingScore = Callable[[BlockingJobShop, np.random.Generator], np.ndarray]
"""``score(shop, rng) -> [n]`` priorities of every job (read at the candidates only)."""


def _next_duration(shop: BlockingJobShop) -> np.ndarray:
    n, m = shop.instance.durations.shape
    ops = np.minimum(shop.next_op, m - 1)
    return shop.instance.durations[np.arange(n), ops].astype(float)


BLOCKING_RULES: dict[str, BlockingScore] = {
    "fifo": lambda shop, rng: -shop.ready_since().astype(float),
    "spt": lambda shop, rng: -_next_duration(shop),
    "lpt": lambda shop, rng: _next_duration(shop),
    "mor": lambda shop, rng: (shop.instance.num_machines - shop.next_op).astype(float),
    "mwkr": lambda shop, rng: shop.work_left().astype(float),
    "random": lambda shop, rng: rng.random(shop.instance.num_jobs),
}


def tie_break_key(shop: BlockingJobShop, score: np.ndarray, wanted: set[int], job: int) -> tuple:
    """Sort key of candidate ``job`` (the smallest is executed): its score, then the
    blocking-aware tie-breaks of the module docstring (``wanted``: the machines some unfinished
    job's next operation needs)."""
    holds = int(shop.on[job])
    return (-score[job], holds < 0, holds not in wanted, job)


def dispatch_blocking(instance: JobShopInstance, rule: str,
                      interruptions: InterruptionPlan | None = None, swaps: bool = True,
                      seed: int = 0) -> BlockingSchedule:  # fmt: skip
    """Schedule ``instance`` by ``rule`` under blocking (checked).

    Raises:
        ConfigError: unknown rule.
        DeadlockError: swaps disabled and the rule led into a deadlock.
    """
    if rule not in BLOCKING_RULES:
        raise ConfigError(f"unknown blocking rule {rule!r}; choose one of "
                          f"{', '.join(BLOCKING_RULES)}")  # fmt: skip
    shop = BlockingJobShop(instance, interruptions, swaps)
    score_of, rng = BLOCKING_RULES[rule], np.random.default_rng(seed)
    while not shop.done:
        score = score_of(shop, rng)
        unfinished = np.flatnonzero(shop.next_op < instance.num_machines)
        wanted = set(instance.machines[unfinished, shop.next_op[unfinished]].tolist())
        shop.step(min(shop.candidates(), key=lambda job: tie_break_key(shop, score, wanted, job)))
    return shop.result()
