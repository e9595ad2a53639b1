"""The batched-environment interface the core's trainers drive, and an adapter for gymnasium.

A *batched env* runs ``num_envs`` independent episodes in lock-step and resets finished ones itself
(same-step auto-reset): after ``step``, ``obs`` already holds the first observation of the next
episode where an episode ended, and ``final_obs`` holds the observation it ended in. Observations are
a tensor ``[num_envs, *obs_shape]`` or a torch-geometric ``Batch`` of ``num_envs`` graphs.

Apps implement :class:`BatchedEnv` directly on their vectorised simulators (no per-env Python loop);
any gymnasium vector env is adapted by :class:`GymVectorEnv`. :func:`check_batched_env` checks an
implementation against the protocol, as gymnasium's ``check_env`` does for single envs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np
import torch

from pgsuite.core.errors import ConfigError, PgsuiteError

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


class EnvCheckError(PgsuiteError):
    """A batched env breaks the :class:`BatchedEnv` protocol (raised by :func:`check_batched_env`)."""


def _batch_size(obs: Observation, what: str) -> int:
    if isinstance(obs, torch.Tensor):
        if not obs.is_floating_point():
            raise EnvCheckError(f"{what} must be a float tensor, got {obs.dtype}")
        if not torch.isfinite(obs).all():
            raise EnvCheckError(f"{what} holds NaN or infinite values")
        return obs.shape[0] if obs.dim() else 0
    num_graphs = getattr(obs, "num_graphs", None)
    if num_graphs is None:
        raise EnvCheckError(f"{what} must be a tensor or a torch-geometric Batch, got {type(obs)}")
    return int(num_graphs)


def _same(a: Any, b: Any) -> bool:
    """Equal tensors, equal torch-geometric batches (every stored value equal), or equal plain
    values (e.g. a stored node count)."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return (
            isinstance(a, torch.Tensor)
            and isinstance(b, torch.Tensor)
            and a.shape == b.shape
            and torch.equal(a, b)
        )
    if a is None or b is None:
        return a is b
    if not (hasattr(a, "to_dict") and hasattr(b, "to_dict")):
        return a == b
    da, db = a.to_dict(), b.to_dict()
    return da.keys() == db.keys() and all(_same(da[k], db[k]) for k in da)


def _check_flags(value: Any, num_envs: int, name: str, dtype: torch.dtype) -> None:
    if not isinstance(value, torch.Tensor) or value.dtype != dtype:
        got = value.dtype if isinstance(value, torch.Tensor) else type(value).__name__
        raise EnvCheckError(f"StepResult.{name} must be a {dtype} tensor, got {got}")
    if tuple(value.shape) != (num_envs,):
        raise EnvCheckError(
            f"StepResult.{name} must have shape [num_envs] = ({num_envs},), got {tuple(value.shape)}"
        )


def _check_mask(env: BatchedEnv) -> torch.Tensor | None:
    mask = env.action_masks()
    if mask is None:
        return None
    if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
        raise EnvCheckError("action_masks() must return a bool tensor [num_envs, num_actions]")
    if mask.dim() != 2 or mask.shape[0] != env.num_envs:
        raise EnvCheckError(
            f"action_masks() must have shape [num_envs={env.num_envs}, num_actions], "
            f"got {tuple(mask.shape)}"
        )
    if not mask.any(dim=1).all():
        rows = (~mask.any(dim=1)).nonzero().flatten().tolist()
        raise EnvCheckError(f"action_masks() leaves no valid action for envs {rows}")
    return mask


def _masked_uniform(generator: torch.Generator, mask: torch.Tensor | None) -> torch.Tensor:
    if mask is None:
        raise ConfigError("the env gives no action masks: pass an action_sampler")
    return torch.multinomial(mask.float(), 1, generator=generator).squeeze(-1)


def check_batched_env(
    env: BatchedEnv,
    steps: int = 100,
    seed: int = 0,
    action_sampler: Callable[[torch.Generator, torch.Tensor | None], torch.Tensor] | None = None,
    expect_done: bool = True,
) -> None:
    """Check that ``env`` follows the :class:`BatchedEnv` protocol the core's PPO drives.

    Runs ``steps`` steps from ``reset(seed=seed)`` with seeded random actions, twice, and checks:
    observations are finite float tensors ``[num_envs, ...]`` (or batches of ``num_envs`` graphs);
    ``action_masks()`` is ``None`` or bool ``[num_envs, num_actions]`` with a valid action in every
    row; rewards are finite float32 ``[num_envs]``, ``terminated`` / ``truncated`` bool
    ``[num_envs]``; ``final_obs`` (when given) has the batch size of ``obs`` and, for tensor
    observations, equals ``obs`` in the rows of envs that did not finish; the second run
    reproduces the first exactly (observations, masks, rewards, flags); and, with
    ``expect_done``, at least one episode ends (and the env keeps stepping after it, auto-reset).

    Args:
        env: the env to check (it is reset twice).
        steps: steps per run.
        seed: passed to ``reset``.
        action_sampler: ``(generator, mask | None) -> action [num_envs, ...]``; default: uniform
            over the valid actions of the mask (envs without masks must pass one).
        expect_done: require an episode to end within ``steps``.

    Raises:
        EnvCheckError: naming the first broken rule.
    """
    sample = action_sampler or _masked_uniform
    if not isinstance(env.num_envs, int) or env.num_envs < 1:
        raise EnvCheckError(f"num_envs must be an int >= 1, got {env.num_envs!r}")
    num_envs = env.num_envs

    def run() -> list[tuple[Any, ...]]:
        generator = torch.Generator().manual_seed(seed)
        obs = env.reset(seed=seed)
        if _batch_size(obs, "reset() observation") != num_envs:
            raise EnvCheckError(f"reset() must return {num_envs} observations")
        trace: list[tuple[Any, ...]] = [(obs, _check_mask(env))]
        for t in range(steps):
            result = env.step(sample(generator, trace[-1][1]))
            if not isinstance(result, StepResult):
                raise EnvCheckError(f"step() must return a StepResult, got {type(result)}")
            if _batch_size(result.obs, f"step {t} observation") != num_envs:
                raise EnvCheckError(f"step {t} must return {num_envs} observations")
            _check_flags(result.reward, num_envs, "reward", torch.float32)
            if not torch.isfinite(result.reward).all():
                raise EnvCheckError(f"step {t} reward holds NaN or infinite values")
            _check_flags(result.terminated, num_envs, "terminated", torch.bool)
            _check_flags(result.truncated, num_envs, "truncated", torch.bool)
            done = result.terminated | result.truncated
            if result.final_obs is not None:
                if _batch_size(result.final_obs, f"step {t} final_obs") != num_envs:
                    raise EnvCheckError(f"step {t} final_obs must hold {num_envs} observations")
                running = ~done
                if isinstance(result.obs, torch.Tensor) and not torch.equal(
                    result.final_obs[running], result.obs[running]
                ):
                    raise EnvCheckError(
                        f"step {t}: final_obs differs from obs in envs whose episode goes on"
                    )
            trace.append((result.obs, _check_mask(env), result.reward, done, result.final_obs))
        return trace

    first, second = run(), run()
    for t, (a, b) in enumerate(zip(first, second, strict=True)):
        if not all(_same(x, y) for x, y in zip(a, b, strict=True)):
            raise EnvCheckError(
                f"reset(seed={seed}) and the same actions do not reproduce step {t}: "
                "reset must reseed every source of randomness"
            )
    if expect_done and not any(bool(entry[3].any()) for entry in first[1:]):
        raise EnvCheckError(
            f"no episode ended in {steps} steps (raise steps, or pass expect_done=False)"
        )
