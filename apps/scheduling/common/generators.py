"""Where a scheduler's training and evaluation instances come from, behind one API.

An :class:`InstanceStream` hands out batches of problem instances (``draw(count)``) from one of two
sources: a fixed list (instances a user read from files, or a benchmark set), cycled in order, or
a random generator called with seeds drawn from the stream's own seeded generator. Environments,
trainers and benches take a stream and never care which source is behind it (the pattern of
rl4co's ``Generator``). Each app wraps it with its instance type and checks (e.g. the job shop's
:class:`~pgsuite.apps.scheduling.jobshop.env.InstanceSource` requires one size per batch).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import numpy as np

from pgsuite.core.errors import ConfigError

Instance = TypeVar("Instance")

SEED_BOUND = 2**31 - 1
"""Seeds handed to a random generator are drawn uniformly from ``[0, SEED_BOUND)``."""


class InstanceStream(Generic[Instance]):
    """Batches of instances from a fixed list or a seeded random generator.

    Args:
        instances: the fixed list, handed out in order and cycled (``draw(3)`` twice on a list of
            four gives items 0, 1, 2, then 3, 0, 1).
        generate: ``generate(seed) -> instance``, a random instance reproducible from ``seed``;
            each drawn instance gets the next seed of the stream's generator (``rng``).

    Exactly one of the two is given. ``rng`` is the stream's NumPy generator (also for other
    per-episode randomness an environment draws, such as machine breakdowns); :meth:`seed`
    restarts it in place, so checkpointable views of it stay valid.
    """

    def __init__(
        self,
        instances: Sequence[Instance] | None = None,
        generate: Callable[[int], Instance] | None = None,
    ) -> None:
        if (instances is None) == (generate is None):
            raise ConfigError("give either a list of instances or a random generator, not both")
        if instances is not None and not instances:
            raise ConfigError("instances must not be empty")
        self.instances = list(instances) if instances is not None else None
        self.generate = generate
        self.rng = np.random.default_rng(0)
        self.cursor = 0

    @property
    def is_random(self) -> bool:
        """Whether instances come from the random generator (else from the fixed list)."""
        return self.instances is None

    def seed(self, seed: int | None) -> None:
        """Restart the stream: the random generator from ``seed``, the list from its start."""
        self.rng.bit_generator.state = np.random.default_rng(seed).bit_generator.state
        self.cursor = 0

    def draw(self, count: int) -> list[Instance]:
        """The next ``count`` instances."""
        if count < 0:
            raise ConfigError(f"count must be >= 0, got {count}")
        if self.instances is not None:
            size = len(self.instances)
            chosen = [self.instances[(self.cursor + i) % size] for i in range(count)]
            self.cursor += count
            return chosen
        assert self.generate is not None
        seeds = self.rng.integers(0, SEED_BOUND, size=count)
        return [self.generate(int(seed)) for seed in seeds]

    def state_dict(self) -> dict[str, Any]:
        """Position of the stream (generator state and list cursor), for checkpoints."""
        return {"rng": self.rng.bit_generator.state, "cursor": self.cursor}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from a :meth:`state_dict`."""
        self.rng.bit_generator.state = state["rng"]
        self.cursor = int(state["cursor"])
