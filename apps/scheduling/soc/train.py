"""Train the SoC scheduling policy with the core's policy gradient.

Two estimators, both under the shared :class:`~pgsuite.core.trainer.Trainer` (checkpoints, resume,
early stopping, logs):

- ``ppo``: the core's PPO on :class:`~pgsuite.apps.scheduling.soc.env.SoCBatchEnv` (GAE, value
  head, clipped surrogate).
- ``reinforce``: DeepSoCS / Decima's estimator: ``num_envs`` rollouts of one workload (the same
  arrivals and noise), each to its end; the advantage of a step at time ``t`` is its
  return-to-go minus :func:`~pgsuite.core.advantages.time_indexed_baseline` (the rollouts' mean
  return-to-go at ``t``); one gradient step per workload, with an entropy bonus that decays
  linearly to 0.

Episodes draw their load (mean inter-arrival) and noise level from the configured lists, a
curriculum over load. The dev metric is the greedy policy's mean latency on fixed workloads,
relative to EFT's on the same workloads (``dev_gap_to_eft_pct``; negative is better).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch_geometric.data import Batch

from pgsuite.apps.scheduling.soc.env import Episode, SoCBatchEnv, SoCEnvConfig
from pgsuite.apps.scheduling.soc.inference import LearnedScheduler, PolicyConfig, make_policy
from pgsuite.apps.scheduling.soc.schedulers import EarliestFinish
from pgsuite.apps.scheduling.soc.simulator import SoCSimulator
from pgsuite.apps.scheduling.soc.workload import WorkloadConfig, generate_workload
from pgsuite.core.advantages import time_indexed_baseline
from pgsuite.core.errors import ConfigError
from pgsuite.core.estimators import reinforce_loss
from pgsuite.core.ppo import PPOConfig, SaveRunConfig, train_ppo
from pgsuite.core.seeding import derive_seed, seed_everything
from pgsuite.core.trainer import Trainer, TrainerConfig


@dataclass
class ReinforceConfig:
    """Options of --algo reinforce."""

    workloads: int = 200
    """Training workloads, one gradient step each."""
    reinforce_lr: float = 1e-3
    """Adam learning rate."""
    entropy_start: float = 0.01
    """Entropy bonus at the first workload (decays linearly to 0)."""

    def __post_init__(self) -> None:
        if self.workloads < 1 or not self.reinforce_lr > 0 or self.entropy_start < 0:
            raise ConfigError("need workloads >= 1, reinforce_lr > 0 and entropy_start >= 0")


@dataclass
class SoCTrainConfig:
    """pgsuite soc train: a graph policy that orders ready tasks, by policy gradient."""

    algo: Literal["ppo", "reinforce"] = "ppo"
    """ppo (the core's PPO) or reinforce (Decima's time-indexed baseline)."""
    soc: str = "MULTIPLE_BAL"
    """A DS3 SoC name or a SoC file."""
    jobs: tuple[str, ...] = ("WIFI_5TXM:0.8", "WIFI_5RXM:0.2")
    """Job mix NAME:PROBABILITY."""
    scales_us: tuple[float, ...] = (200.0, 100.0, 80.0, 60.0, 50.0)
    """Mean inter-arrival times the episodes draw from."""
    noise_stds: tuple[float, ...] = (0.0, 0.1, 0.3, 0.5)
    """Execution-time noise levels the episodes draw from."""
    num_jobs: int = 50
    """Jobs per training episode."""
    switching_delay_us: float = 0.0
    num_envs: int = 4
    """Episodes side by side (reinforce: rollouts of one workload)."""
    dev_scales_us: tuple[float, ...] = (100.0, 60.0)
    dev_noise_stds: tuple[float, ...] = (0.0, 0.3)
    dev_jobs: int = 100
    """Jobs per dev workload (one per scale x noise cell)."""
    seed: int = 0
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    reinforce: ReinforceConfig = field(default_factory=lambda: ReinforceConfig())
    ppo: PPOConfig = field(
        default_factory=lambda: PPOConfig(
            total_timesteps=400_000,
            num_steps=256,
            learning_rate=3e-4,
            gamma=1.0,
            gae_lambda=0.95,
            update_epochs=4,
            num_minibatches=8,
            ent_coef=0.01,
        )
    )
    trainer: TrainerConfig = field(
        default_factory=lambda: TrainerConfig(
            eval_every=10, metric="dev_gap_to_eft_pct", checkpoint_every=10
        )
    )

    def __post_init__(self) -> None:
        if self.algo not in ("ppo", "reinforce"):
            raise ConfigError(f"algo must be 'ppo' or 'reinforce', got {self.algo!r}")
        if self.num_envs < 1 or self.dev_jobs < 1:
            raise ConfigError("num_envs and dev_jobs must be >= 1")
        if self.algo == "reinforce" and self.num_envs < 2:
            raise ConfigError("reinforce's baseline needs num_envs >= 2 rollouts per workload")
        if self.seed < 0:
            raise ConfigError(f"seed must be non-negative, got {self.seed}")
        self.env = SoCEnvConfig(
            self.soc, tuple(self.jobs), tuple(self.scales_us), tuple(self.noise_stds),
            self.num_jobs, self.switching_delay_us, self.policy.max_ready,
            self.policy.time_unit_us,
        )  # fmt: skip


class DevSet:
    """Fixed workloads (one per dev scale x noise) and EFT's mean latency on each."""

    def __init__(self, config: SoCTrainConfig) -> None:
        self.platform = config.env.platform()
        self.cells = []
        for i, scale in enumerate(config.dev_scales_us):
            for j, noise in enumerate(config.dev_noise_stds):
                workload = WorkloadConfig(
                    jobs=config.jobs, scale_us=scale, num_jobs=config.dev_jobs, noise_std=noise,
                    seed=derive_seed(config.seed, "soc-dev", i, j),
                )  # fmt: skip
                jobs = generate_workload(self.platform, workload)
                eft = SoCSimulator(self.platform, jobs).run(EarliestFinish()).latency_us.mean()
                self.cells.append((jobs, float(eft)))

    def evaluate(self, scheduler) -> dict[str, float]:
        latency = [SoCSimulator(self.platform, jobs).run(scheduler).latency_us.mean()
                   for jobs, _ in self.cells]  # fmt: skip
        eft = [e for _, e in self.cells]
        return {
            "dev_latency_us": float(np.mean(latency)),
            "dev_eft_latency_us": float(np.mean(eft)),
            "dev_gap_to_eft_pct": float(100 * np.mean(np.divide(latency, eft) - 1)),
        }


def _rollouts(config: SoCTrainConfig, policy, platform, seed: int):
    """``num_envs`` episodes of one workload to their ends: per episode the graphs, masks,
    actions, decision times and rewards."""
    jobs = config.env.workload(platform, seed)
    episodes = [Episode(config.env, platform, jobs) for _ in range(config.num_envs)]
    trace = [{"data": [], "mask": [], "action": [], "time": [], "reward": []} for _ in episodes]
    active = list(range(len(episodes)))
    while active:
        data = [episodes[i].observe().to_data() for i in active]
        masks = torch.as_tensor(np.stack([episodes[i].mask() for i in active]))
        with torch.no_grad():
            dist, _ = policy(Batch.from_data_list(data), masks)
            actions = dist.sample()
        still = []
        for k, i in enumerate(active):
            record = trace[i]
            record["data"].append(data[k])
            record["mask"].append(masks[k])
            record["action"].append(actions[k])
            record["time"].append(episodes[i].sim.now)
            reward, done = episodes[i].step(int(actions[k]))
            record["reward"].append(reward)
            if not done:
                still.append(i)
        active = still
    latency = float(np.mean([e.mean_latency() for e in episodes]))
    return trace, latency


def _reinforce(config: SoCTrainConfig, policy, dev: DevSet) -> Trainer:
    options = config.reinforce
    optimizer = torch.optim.Adam(policy.parameters(), lr=options.reinforce_lr)
    chunk = 1024  # samples per forward pass of the loss

    def step(iteration: int) -> dict[str, float]:
        policy.train()
        seed = derive_seed(config.seed, "soc-reinforce", iteration)
        trace, latency = _rollouts(config, policy, dev.platform, seed)
        times = [torch.tensor(r["time"], dtype=torch.float64) for r in trace]
        returns = [torch.tensor(r["reward"], dtype=torch.float64).flip(0).cumsum(0).flip(0)
                   for r in trace]  # fmt: skip
        baselines = time_indexed_baseline(times, returns)
        advantage = torch.cat([g - b for g, b in zip(returns, baselines, strict=True)]).float()
        advantage = advantage / (advantage.std() + 1e-8)
        data = [d for r in trace for d in r["data"]]
        masks = torch.stack([m for r in trace for m in r["mask"]])
        actions = torch.stack([a for r in trace for a in r["action"]])
        ent_coef = options.entropy_start * max(0.0, 1.0 - iteration / options.workloads)
        optimizer.zero_grad()
        total_loss, total_entropy = 0.0, 0.0
        for lo in range(0, len(data), chunk):
            hi = min(lo + chunk, len(data))
            dist, _ = policy(Batch.from_data_list(data[lo:hi]), masks[lo:hi])
            weight = (hi - lo) / len(data)
            entropy = dist.entropy().mean()
            loss = weight * (
                reinforce_loss(dist.log_prob(actions[lo:hi]), advantage[lo:hi]) - ent_coef * entropy
            )
            loss.backward()
            total_loss += float(loss.detach())
            total_entropy += weight * float(entropy.detach())
        torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
        optimizer.step()
        return {"loss": total_loss, "entropy": total_entropy, "train_latency_us": latency,
                "samples": float(len(data))}  # fmt: skip

    trainer_config = config.trainer
    trainer_config.max_steps = options.workloads
    return Trainer(
        trainer_config,
        step,
        model=policy,
        optimizer=optimizer,
        evaluate_fn=lambda: dev.evaluate(LearnedScheduler(policy, config.policy)),
    )


def train(config: SoCTrainConfig) -> dict[str, Any]:
    """Train under the shared trainer; returns the final metrics and the best dev figures."""
    seed_everything(config.seed)
    platform = config.env.platform()
    config.policy.num_global_features = 2 + len(np.unique(platform.cluster))
    policy = make_policy(config.policy)
    dev = DevSet(config)
    folder = SaveRunConfig(config.trainer, config, policy)
    start = time.perf_counter()
    if config.algo == "ppo":
        env = SoCBatchEnv(config.env, config.num_envs)
        result, _ = train_ppo(
            env,
            policy,
            config.ppo,
            config.trainer,
            lambda: dev.evaluate(LearnedScheduler(policy, config.policy)),
            seed=config.seed,
            callbacks=[folder],
        )
    else:
        trainer = _reinforce(config, policy, dev)
        folder.on_training_start()
        result = trainer.fit()
    return {
        "algo": config.algo,
        "iterations": result.steps,
        "stop_reason": result.stop_reason,
        "best_dev_gap_to_eft_pct": result.best_value,
        "best_iteration": result.best_step,
        "train_time_s": time.perf_counter() - start,
    }
