"""Policy-gradient estimators: score function (REINFORCE), PPO and pathwise."""

from __future__ import annotations

from core.estimators.pathwise import clip_gradients, mean_cost, pathwise_step
from core.estimators.ppo import PPOLossOutput, explained_variance, ppo_loss
from core.estimators.reinforce import reinforce_loss

__all__ = [
    "PPOLossOutput",
    "clip_gradients",
    "explained_variance",
    "mean_cost",
    "pathwise_step",
    "ppo_loss",
    "reinforce_loss",
]
