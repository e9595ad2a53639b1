"""Seeding and random-number-generator state.

Every entry point calls :func:`seed_everything` once at the top of a run. Checkpoints store
:func:`rng_state` so a resumed run draws exactly the numbers an uninterrupted run would have drawn.
"""

from __future__ import annotations

import random
import zlib
from typing import Any

import numpy as np
import torch

from pgsuite.core.errors import ConfigError


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seed Python's, NumPy's and torch's global generators.

    Args:
        seed: any non-negative integer.
        deterministic: ask torch for deterministic kernels (``warn_only``: ops without a deterministic
            implementation warn instead of failing).
    """
    if seed < 0:
        raise ConfigError(f"seed must be non-negative, got {seed}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(deterministic, warn_only=True)


def derive_seed(seed: int, *keys: int | str) -> int:
    """A seed for one random stream of a run, derived from the run's ``seed`` and ``keys`` naming
    the stream (e.g. ``derive_seed(seed, "dev-instance", i)``, ``derive_seed(seed, "epoch", e)``).

    Different keys give statistically independent streams (NumPy's ``SeedSequence`` with the keys
    as its spawn key; strings enter by their CRC-32), unlike ``seed * K + i`` arithmetic, whose
    streams of seeds ``s`` and ``s + 1`` overlap once ``i`` reaches ``K``. The result is a
    non-negative integer below ``2**63``, the same on every platform and Python version.

    Raises:
        ConfigError: a negative seed or key.
    """
    if seed < 0:
        raise ConfigError(f"seed must be non-negative, got {seed}")
    spawn_key = []
    for key in keys:
        if isinstance(key, str):
            key = zlib.crc32(key.encode("utf-8"))
        if key < 0:
            raise ConfigError(f"seed keys must be non-negative, got {key}")
        spawn_key.append(int(key))
    words = np.random.SeedSequence(seed, spawn_key=tuple(spawn_key)).generate_state(2, np.uint64)
    return int(words[0] >> np.uint64(1))


def rng_state() -> dict[str, Any]:
    """Snapshot of the global Python, NumPy and torch (CPU and CUDA) generator states."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore a snapshot taken by :func:`rng_state`."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class GeneratorState:
    """Checkpointable view of a ``torch.Generator`` or ``numpy.random.Generator``.

    Pass one to :class:`core.trainer.Trainer` (``stateful={"sampler": GeneratorState(g)}``) so a
    private generator is saved and restored with the run.
    """

    def __init__(self, generator: torch.Generator | np.random.Generator) -> None:
        self.generator = generator

    def state_dict(self) -> dict[str, Any]:
        if isinstance(self.generator, torch.Generator):
            return {"torch": self.generator.get_state()}
        return {"numpy": self.generator.bit_generator.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if isinstance(self.generator, torch.Generator):
            self.generator.set_state(state["torch"])
        else:
            self.generator.bit_generator.state = state["numpy"]
