"""Proximal Policy Optimization (PPO-clip) for any :class:`~pgsuite.core.envs.BatchedEnv`.

The algorithm follows CleanRL's ``ppo.py`` (Huang et al., "The 37 implementation details of PPO"):
Adam with eps 1e-5 and optional linear learning-rate annealing, GAE, per-minibatch advantage
normalisation, clipped surrogate and value losses, entropy bonus, global gradient-norm clipping and
an optional approximate-KL early stop. Two additions: masked discrete actions (the env's
``action_masks()`` feed the policy) and bootstrapping of time-limit truncations from ``final_obs``.
:class:`PPOCallback` hooks into training (SB3's ``BaseCallback`` style): curricula, custom logging,
stopping rules.

The agent is any ``nn.Module`` with ``forward(obs, action_mask=None) -> (distribution, value [B])``;
:class:`MLPActorCritic` is the standard one for flat observations and discrete actions. One PPO
*iteration* (rollout + update) is one step of :class:`core.trainer.Trainer`, which brings logging,
checkpoints, resume and early stopping. A resumed run starts fresh episodes (environment state is
not checkpointed), so PPO resume is statistically, not bitwise, identical.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from pgsuite.core.distributions import MaskedCategorical
from pgsuite.core.envs import BatchedEnv, Observation
from pgsuite.core.errors import ConfigError, PgsuiteError, check_finite
from pgsuite.core.estimators import explained_variance, ppo_loss
from pgsuite.core.nn import MLP
from pgsuite.core.rollout import RolloutBuffer
from pgsuite.core.seeding import GeneratorState
from pgsuite.core.trainer import Trainer, TrainerConfig, TrainResult, resumable_checkpoint


@dataclass
class PPOConfig:
    """PPO hyper-parameters (CleanRL names and defaults)."""

    total_timesteps: int = 100_000
    """Environment steps to train for, summed over all parallel envs."""
    num_steps: int = 128
    """Steps per env in each rollout; a rollout holds num_steps * num_envs samples."""
    learning_rate: float = 2.5e-4
    """Adam learning rate."""
    anneal_lr: bool = True
    """Decay the learning rate linearly to 0 over training."""
    gamma: float = 0.99
    """Discount factor."""
    gae_lambda: float = 0.95
    """GAE lambda (1: Monte Carlo returns, 0: one-step TD)."""
    update_epochs: int = 4
    """Passes over each rollout."""
    num_minibatches: int = 4
    """Minibatches per pass."""
    clip_coef: float = 0.2
    """Surrogate clipping coefficient epsilon."""
    clip_vloss: bool = True
    """Clip the value loss around the old values as well."""
    ent_coef: float = 0.01
    """Entropy bonus coefficient."""
    vf_coef: float = 0.5
    """Value loss coefficient."""
    max_grad_norm: float = 0.5
    """Global gradient-norm clipping threshold."""
    target_kl: float | None = None
    """Stop the update epochs early once approx-KL exceeds this (None: never)."""
    norm_adv: bool = True
    """Normalise advantages per minibatch."""

    def __post_init__(self) -> None:
        positive = ("total_timesteps", "num_steps", "update_epochs", "num_minibatches")
        for name in positive:
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0.0 <= self.gamma <= 1.0 or not 0.0 <= self.gae_lambda <= 1.0:
            raise ConfigError("gamma and gae_lambda must lie in [0, 1]")
        if self.learning_rate <= 0 or self.clip_coef <= 0:
            raise ConfigError("learning_rate and clip_coef must be positive")


class MLPActorCritic(nn.Module):
    """Separate actor and critic MLPs for flat observations and ``num_actions`` discrete actions.

    ``forward(obs [B, obs_dim], action_mask [B, num_actions] | None) -> (MaskedCategorical, value [B])``.
    """

    def __init__(
        self,
        obs_dim: int,
        num_actions: int,
        hidden: tuple[int, ...] = (64, 64),
        activation: str = "tanh",
    ) -> None:
        super().__init__()
        self.actor = MLP(obs_dim, hidden, num_actions, activation=activation, output_std=0.01)
        self.critic = MLP(obs_dim, hidden, 1, activation=activation, output_std=1.0)

    def forward(
        self, obs: torch.Tensor, action_mask: torch.Tensor | None = None
    ) -> tuple[MaskedCategorical, torch.Tensor]:
        return MaskedCategorical(logits=self.actor(obs), mask=action_mask), self.critic(
            obs
        ).squeeze(-1)


def greedy_action(dist: torch.distributions.Distribution) -> torch.Tensor:
    """The distribution's mode, or its mean where no mode is defined (e.g. scaled Beta)."""
    try:
        return dist.mode
    except NotImplementedError:
        return dist.mean


def _select(obs: Observation, index: torch.Tensor) -> Observation:
    """Rows ``index`` of a tensor observation or graphs ``index`` of a PyG batch."""
    if isinstance(obs, torch.Tensor):
        return obs[index]
    from torch_geometric.data import Batch

    return Batch.from_data_list(obs.index_select(index))


class PPOCallback:
    """Hooks into PPO training, in the style of Stable-Baselines3's ``BaseCallback``.

    Subclass and override what you need; every hook gets the :class:`PPO` object, so it can read or
    change the env, the agent, the buffer or ``ppo.obs`` (``None`` makes the next rollout start
    fresh episodes). Hooks that consume no randomness leave training bit-identical. Order per
    iteration: ``on_rollout_start``, rollout, ``on_rollout_end``, update, ``on_iteration_end``.
    """

    def on_training_start(self, ppo: PPO) -> None:
        """Called once by :func:`train_ppo` before the first iteration (also when resuming)."""

    def on_rollout_start(self, ppo: PPO, iteration: int) -> None:
        """Called before iteration ``iteration`` (0-based) collects its rollout."""

    def on_rollout_end(self, ppo: PPO, iteration: int, stats: dict[str, float]) -> None:
        """Called once the rollout and its advantages are in ``ppo.buffer``, before the update;
        ``stats`` holds the rollout's episode statistics (``episodes``, ``episode_return``, ...)."""

    def on_iteration_end(self, ppo: PPO, iteration: int, metrics: dict[str, float]) -> bool:
        """Called after the update with the iteration's metrics (entries added to ``metrics`` are
        logged); return False to stop training after this iteration."""
        return True

    def on_training_end(self, ppo: PPO, result: TrainResult) -> None:
        """Called once by :func:`train_ppo` after training stopped, with its result."""


class SaveRunConfig(PPOCallback):
    """Writes the run's ``config.json`` (``config``, which rebuilds the trained model) once
    training starts; a resume first checks the checkpoint against ``model``, so a bad one leaves
    the folder as it was. Also usable outside PPO: call :meth:`on_training_start` directly."""

    def __init__(self, trainer_config: TrainerConfig, config: Any, model: nn.Module) -> None:
        self.trainer_config, self.config, self.model = trainer_config, config, model

    def on_training_start(self, ppo: PPO | None = None) -> None:
        from pgsuite.core.runs import save_config

        if self.trainer_config.out is None:
            return
        if self.trainer_config.resume:
            resumable_checkpoint(self.trainer_config, self.model)
        save_config(self.trainer_config.out, self.config)


class PPO:
    """PPO state (agent, optimiser, rollout buffer, current observations) and one iteration.

    Args:
        env: the batched environment to collect experience from.
        agent: ``forward(obs, action_mask) -> (distribution, value)``.
        config: hyper-parameters.
        seed: seeds environment resets and minibatch shuffling.
        callbacks: hooks called in order at each point of every iteration.
    """

    def __init__(
        self,
        env: BatchedEnv,
        agent: nn.Module,
        config: PPOConfig,
        seed: int = 0,
        callbacks: Sequence[PPOCallback] = (),
    ) -> None:
        self.env, self.agent, self.config, self.seed = env, agent, config, seed
        self.callbacks = list(callbacks)
        self.stop_requested = False
        """Set when a callback's ``on_iteration_end`` returned False."""
        batch_size = config.num_steps * env.num_envs
        self.num_iterations = config.total_timesteps // batch_size
        if self.num_iterations < 1:
            raise ConfigError(
                f"total_timesteps={config.total_timesteps} is less than one rollout "
                f"(num_steps * num_envs = {batch_size})"
            )
        if config.num_minibatches > batch_size:
            raise ConfigError(
                f"num_minibatches={config.num_minibatches} exceeds the rollout size {batch_size}"
            )
        if config.norm_adv and batch_size // config.num_minibatches < 2:
            raise ConfigError("advantage normalisation needs minibatches of at least 2 samples")
        self.device = next(agent.parameters()).device
        self.optimizer = torch.optim.Adam(agent.parameters(), lr=config.learning_rate, eps=1e-5)
        self.buffer = RolloutBuffer(config.num_steps, env.num_envs, self.device)
        self.shuffle_generator = torch.Generator().manual_seed(seed)
        self.obs: Observation | None = None
        self.episode_return = torch.zeros(env.num_envs, device=self.device)
        self.episode_length = torch.zeros(env.num_envs, device=self.device)

    def _on_device(self, value: Any) -> Any:
        return value.to(self.device) if value is not None else None

    def _rollout(self, iteration: int) -> dict[str, float]:
        cfg, env, agent = self.config, self.env, self.agent
        if self.obs is None:
            self.obs = self._on_device(env.reset(seed=self.seed + iteration))
            self.episode_return.zero_()
            self.episode_length.zero_()
        finished_returns: list[float] = []
        finished_lengths: list[float] = []
        self.buffer.reset()
        for _ in range(cfg.num_steps):
            mask = self._on_device(env.action_masks())
            with torch.no_grad():
                dist, value = agent(self.obs, mask)
                action = dist.sample()
                log_prob = dist.log_prob(action)
            result = env.step(action)
            raw_reward = self._on_device(result.reward)
            terminated, truncated = (
                self._on_device(result.terminated),
                self._on_device(result.truncated),
            )
            reward = raw_reward.clone()
            done = terminated | truncated
            cut = truncated & ~terminated
            if result.final_obs is not None and cut.any():
                index = cut.nonzero().squeeze(-1)
                with torch.no_grad():
                    _, final_value = agent(_select(self._on_device(result.final_obs), index))
                reward[index] += cfg.gamma * final_value
            self.buffer.add(self.obs, action, log_prob, value, reward, done, mask)
            self.episode_return += raw_reward
            self.episode_length += 1
            finished_returns += self.episode_return[done].tolist()
            finished_lengths += self.episode_length[done].tolist()
            self.episode_return[done] = 0.0
            self.episode_length[done] = 0.0
            self.obs = self._on_device(result.obs)
        with torch.no_grad():
            _, last_value = agent(self.obs, self._on_device(env.action_masks()))
        self.buffer.compute_advantages(last_value, cfg.gamma, cfg.gae_lambda)
        stats = {"episodes": float(len(finished_returns))}
        if finished_returns:
            stats["episode_return"] = float(np.mean(finished_returns))
            stats["episode_length"] = float(np.mean(finished_lengths))
        return stats

    def iteration(self, iteration: int) -> dict[str, float]:
        """Collect one rollout and run the PPO update on it; returns the iteration's metrics.

        Sets :attr:`stop_requested` when a callback asks to stop.
        """
        cfg = self.config
        start = time.perf_counter()
        lr = cfg.learning_rate * (1.0 - iteration / self.num_iterations if cfg.anneal_lr else 1.0)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        for callback in self.callbacks:
            callback.on_rollout_start(self, iteration)
        stats = self._rollout(iteration)
        for callback in self.callbacks:
            callback.on_rollout_end(self, iteration, stats)
        sums: dict[str, float] = {}
        updates = 0
        for _ in range(cfg.update_epochs):
            approx_kls = []
            for mb in self.buffer.minibatches(cfg.num_minibatches, self.shuffle_generator):
                dist, new_values = self.agent(mb.obs, mb.action_masks)
                out = ppo_loss(
                    dist.log_prob(mb.actions),
                    mb.log_probs,
                    mb.advantages,
                    new_values,
                    mb.returns,
                    dist.entropy(),
                    clip_coef=cfg.clip_coef,
                    vf_coef=cfg.vf_coef,
                    ent_coef=cfg.ent_coef,
                    old_values=mb.values,
                    clip_vloss=cfg.clip_vloss,
                    normalize_advantages=cfg.norm_adv,
                )
                check_finite(out.loss, "PPO loss", iteration)
                self.optimizer.zero_grad()
                out.loss.backward()
                nn.utils.clip_grad_norm_(self.agent.parameters(), cfg.max_grad_norm)
                self.optimizer.step()
                for name in ("loss", "pg_loss", "v_loss", "entropy", "approx_kl", "clipfrac"):
                    sums[name] = sums.get(name, 0.0) + getattr(out, name).item()
                approx_kls.append(float(out.approx_kl))
                updates += 1
            if cfg.target_kl is not None and np.mean(approx_kls) > cfg.target_kl:
                break
        metrics = {name: total / updates for name, total in sums.items()}
        metrics["explained_var"] = explained_variance(
            self.buffer.values.flatten(), self.buffer.returns.flatten()
        )
        metrics["learning_rate"] = lr
        metrics["timesteps"] = float((iteration + 1) * cfg.num_steps * self.env.num_envs)
        metrics["steps_per_s"] = cfg.num_steps * self.env.num_envs / (time.perf_counter() - start)
        metrics = {**metrics, **stats}
        for callback in self.callbacks:
            if callback.on_iteration_end(self, iteration, metrics) is False:
                self.stop_requested = True
        return metrics


def evaluate_policy(
    env: BatchedEnv,
    agent: nn.Module,
    num_episodes: int,
    greedy: bool = True,
    seed: int | None = None,
    max_steps: int = 1_000_000,
) -> dict[str, float]:
    """Run ``agent`` until every env slot has finished ``ceil(num_episodes / num_envs)`` episodes.

    Counting a fixed number of episodes per slot avoids over-weighting short episodes, so up to
    ``num_envs - 1`` more episodes than asked may be counted (``episodes`` says how many). Use an
    env other than the training env: evaluation resets it. Returns ``mean_return``,
    ``std_return``, ``mean_length`` and ``episodes``.
    """
    quota = math.ceil(num_episodes / env.num_envs)
    done_count = torch.zeros(env.num_envs, dtype=torch.long)
    episode_return = torch.zeros(env.num_envs)
    episode_length = torch.zeros(env.num_envs)
    returns: list[float] = []
    lengths: list[float] = []
    obs = env.reset(seed=seed)
    for _ in range(max_steps):
        with torch.no_grad():
            dist, _ = agent(obs, env.action_masks())
            action = greedy_action(dist) if greedy else dist.sample()
        result = env.step(action)
        episode_return += result.reward
        episode_length += 1
        done = result.terminated | result.truncated
        counted = done & (done_count < quota)
        returns += episode_return[counted].tolist()
        lengths += episode_length[counted].tolist()
        done_count += done.long()
        episode_return[done] = 0.0
        episode_length[done] = 0.0
        obs = result.obs
        if bool((done_count >= quota).all()):
            break
    else:
        raise PgsuiteError(
            f"evaluation did not finish {num_episodes} episodes in {max_steps} steps"
        )
    return {
        "mean_return": float(np.mean(returns)),
        "std_return": float(np.std(returns)),
        "mean_length": float(np.mean(lengths)),
        "episodes": float(len(returns)),
    }


def train_ppo(
    env: BatchedEnv,
    agent: nn.Module,
    config: PPOConfig,
    trainer_config: TrainerConfig | None = None,
    evaluate_fn: Callable[[], Mapping[str, float]] | None = None,
    seed: int = 0,
    stateful: Mapping[str, Any] | None = None,
    callbacks: Sequence[PPOCallback] = (),
) -> tuple[TrainResult, PPO]:
    """Train ``agent`` on ``env`` with PPO under the shared :class:`~pgsuite.core.trainer.Trainer`.

    ``trainer_config.max_steps`` is set to the number of PPO iterations implied by
    ``config.total_timesteps``; its other fields (evaluation, early stopping, checkpoints, resume,
    logging) apply as usual. ``stateful`` objects are checkpointed beside the shuffling generator;
    ``callbacks`` hook into every iteration (a False from ``on_iteration_end`` stops training
    after that iteration, with stop reason ``"requested"``).
    """
    ppo = PPO(env, agent, config, seed, callbacks)
    trainer_config = dataclasses.replace(
        trainer_config or TrainerConfig(), max_steps=ppo.num_iterations
    )

    def step(iteration: int) -> dict[str, float]:
        metrics = ppo.iteration(iteration)
        if ppo.stop_requested:
            trainer.request_stop()
        return metrics

    trainer = Trainer(
        trainer_config,
        step,
        model=agent,
        optimizer=ppo.optimizer,
        evaluate_fn=evaluate_fn,
        stateful={"shuffle_generator": GeneratorState(ppo.shuffle_generator), **(stateful or {})},
    )
    for callback in ppo.callbacks:
        callback.on_training_start(ppo)
    result = trainer.fit()
    for callback in ppo.callbacks:
        callback.on_training_end(ppo, result)
    return result, ppo
