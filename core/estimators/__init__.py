"""Policy-gradient estimators: score function (REINFORCE), PPO and pathwise."""

from __future__ import annotations

from pgsuite.core.estimators.pathwise import clip_gradients, mean_cost, pathwise_step
from pgsuite.core.estimators.ppo import PPOLossOutput, explained_variance, ppo_loss
from pgsuite.core.estimators.reinforce import reinforce_loss

__all__ = [
    "PPOLossOutput",
    "clip_gradients",
    "explained_variance",
    "mean_cost",
    "pathwise_step",
    "ppo_loss",
    "reinforce_loss",
]
