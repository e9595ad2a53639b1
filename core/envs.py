"""The batched-environment interface the core's trainers drive, and an adapter for gymnasium.

A *batched env* runs ``num_envs`` independent episodes in lock-step and resets finished ones itself
(same-step auto-reset): after ``step``, ``obs`` already holds the first observation of the next
episode where an episode ended, and ``final_obs`` holds the observation it ended in. Observations are
a tensor ``[num_envs, *obs_shape]`` or a torch-geometric ``Batch`` of ``num_envs`` graphs.

Apps implement :class:`BatchedEnv` directly on their vectorised simulators (no per-env Python loop);
any gymnasium vector env is adapted by :class:`GymVectorEnv`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np
import torch

Observation = Any
"""A tensor ``[num_envs, *obs_shape]`` or a torch-geometric ``Batch`` of ``num_envs`` graphs."""


@dataclass
class StepResult:
    """What :meth:`BatchedEnv.step` returns. Shapes are ``[num_envs]`` unless noted."""

    obs: Observation
    """Next observations (first observation of a new episode where one ended)."""
    reward: torch.Tensor
    """float32 rewards of this transition."""
    terminated: torch.Tensor
    """bool: the episode reached a terminal state (no bootstrapping)."""
    truncated: torch.Tensor
    """bool: the episode was cut by a time limit (bootstrap from ``final_obs``)."""
    final_obs: Observation | None = None
    """Observations the ended episodes finished in, aligned with ``obs`` (rows of still-running
    envs equal ``obs``); ``None`` when the env cannot provide them (truncation is then treated as
    termination)."""
    info: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class BatchedEnv(Protocol):
    """``num_envs`` environments stepped together, auto-resetting on the same step."""

    num_envs: int

    def reset(self, seed: int | None = None) -> Observation:
        """Start new episodes in every env; ``seed`` makes them reproducible."""
        ...

    def step(self, action: torch.Tensor) -> StepResult:
        """Apply ``action`` (``[num_envs, ...]``) to every env."""
        ...

    def action_masks(self) -> torch.Tensor | None:
        """bool ``[num_envs, num_actions]`` of currently valid discrete actions, or ``None``."""
        ...


class GymVectorEnv:
    """Adapts a gymnasium vector env (numpy, same-step auto-reset) to :class:`BatchedEnv`.

    Args:
        env_id: a registered gymnasium id, e.g. ``"CartPole-v1"``.
        num_envs: environments to run side by side.
        use_action_masks: read ``action_masks()`` from each sub-env (sb3-contrib convention).
        **make_kwargs: passed to ``gymnasium.make`` for every sub-env.
    """

    def __init__(
        self, env_id: str, num_envs: int, use_action_masks: bool = False, **make_kwargs: Any
    ) -> None:
        self.env = gym.make_vec(
            env_id,
            num_envs=num_envs,
            vectorization_mode="sync",
            vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP},
            **make_kwargs,
        )
        self.num_envs = num_envs
        self.use_action_masks = use_action_masks
        self.single_observation_space = self.env.single_observation_space
        self.single_action_space = self.env.single_action_space

    @staticmethod
    def _tensor(array: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(np.asarray(array), dtype=torch.float32)

    def reset(self, seed: int | None = None) -> torch.Tensor:
        obs, _ = self.env.reset(seed=seed)
        return self._tensor(obs)

    def step(self, action: torch.Tensor) -> StepResult:
        obs, reward, terminated, truncated, info = self.env.step(action.cpu().numpy())
        final_obs = obs
        if "_final_obs" in info and info["_final_obs"].any():
            final_obs = obs.copy()
            for i in np.flatnonzero(info["_final_obs"]):
                final_obs[i] = info["final_obs"][i]
        return StepResult(
            obs=self._tensor(obs),
            reward=self._tensor(reward),
            terminated=torch.as_tensor(terminated, dtype=torch.bool),
            truncated=torch.as_tensor(truncated, dtype=torch.bool),
            final_obs=self._tensor(final_obs),
            info=info,
        )

    def action_masks(self) -> torch.Tensor | None:
        if not self.use_action_masks:
            return None
        return torch.as_tensor(np.stack(self.env.call("action_masks")), dtype=torch.bool)

    def close(self) -> None:
        self.env.close()
