"""A trained SoC policy as a simulator scheduler, and loading one from a run folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import Batch

from pgsuite.apps.scheduling.soc.features import FeatureBuilder
from pgsuite.apps.scheduling.soc.policy import SoCPolicy
from pgsuite.apps.scheduling.soc.schedulers import HEURISTICS, make_heuristic
from pgsuite.apps.scheduling.soc.simulator import SoCSimulator
from pgsuite.core.errors import DataError
from pgsuite.core.runs import trained_model


@dataclass
class PolicyConfig:
    """Architecture and observation of a SoC policy (saved in the run folder's config.json)."""

    hidden: int = 32
    """Embedding width of the graph network."""
    layers: int = 3
    """Message-passing rounds."""
    max_ready: int = 64
    """Ready slots the policy chooses among (the oldest ready tasks)."""
    time_unit_us: float = 100.0
    """µs per unit of the time features and of the reward."""
    num_global_features: int = 7
    """2 + the SoC's clusters (set from the SoC when training starts)."""


def make_policy(config: PolicyConfig) -> SoCPolicy:
    return SoCPolicy(config.num_global_features, config.max_ready, config.hidden, config.layers)


class LearnedScheduler:
    """Greedy use of a policy inside :meth:`SoCSimulator.run`: the ready slot of highest
    probability, on its earliest-finish PE."""

    def __init__(self, policy: SoCPolicy, config: PolicyConfig) -> None:
        self.policy, self.config = policy.eval(), config

    def reset(self, sim: SoCSimulator) -> None:
        self.features = FeatureBuilder(sim, self.config.max_ready, self.config.time_unit_us)
        if self.features.num_global_features != self.config.num_global_features:
            raise DataError(
                f"the policy was trained on a SoC with {self.config.num_global_features - 2} "
                f"clusters; this one has {self.features.num_global_features - 2}"
            )

    def choose(self, sim: SoCSimulator, ready: np.ndarray) -> tuple[int, int]:
        if len(ready) == 1:
            task = int(ready[0])
        else:
            observation = self.features.observe()
            with torch.no_grad():
                dist, _ = self.policy(Batch.from_data_list([observation.to_data()]))
            task = int(observation.ready_task[int(dist.probs.argmax())])
        return task, sim.earliest_finish_pe(task)


SHIPPED_POLICY = Path(__file__).parent / "checkpoints" / "soc_policy"
"""The policy shipped with the package (``made_by.json`` there records the command that made it)."""
SCHEDULER_NAMES = (*HEURISTICS, "policy")


def make_scheduler(name: str, policy: Path | None = None, seed: int = 0):
    """A heuristic by name (:data:`~pgsuite.apps.scheduling.soc.schedulers.HEURISTICS`), or
    ``"policy"``: the policy of run folder ``policy`` (default: the shipped one)."""
    if name == "policy":
        model, config, _ = load_policy(policy or SHIPPED_POLICY)
        return LearnedScheduler(model, config)
    return make_heuristic(name, seed)


def load_policy(path: str | Path) -> tuple[SoCPolicy, PolicyConfig, dict]:
    """A trained policy from a run folder (``best.pt``, else ``checkpoint.pt``) or a ``.pt`` file
    with its ``config.json`` beside it; also returns the whole training config."""
    config, weights, raw = trained_model(path, "policy", PolicyConfig, "a SoC policy run folder")
    policy = make_policy(config)
    policy.load_state_dict(weights)
    return policy.eval(), config, raw
