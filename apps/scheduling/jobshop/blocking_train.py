"""Training the blocking dispatcher with the core's PPO on random instances over a range of
shutdown probabilities, and the trained policy as a dispatcher.

The dev metric is the greedy policy's mean makespan on fixed random instances (each with a
shutdown probability of the range, in turn, and its own shutdowns) relative to the best blocking
rule's on the same instances and shutdowns (``dev_gap_to_best_rule_pct``; negative: better than
every rule). The best dev model is kept (``best.pt``); ``config.json`` rebuilds the policy.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch_geometric.data import Batch

from pgsuite.apps.scheduling.jobshop.blocking import (
    BlockingJobShop,
    BlockingSchedule,
    InterruptionPlan,
)
from pgsuite.apps.scheduling.jobshop.blocking_env import (
    BlockingBatchEnv,
    BlockingEnvConfig,
    BlockingEpisode,
    blocking_graph,
)
from pgsuite.apps.scheduling.jobshop.blocking_policy import BlockingPolicy
from pgsuite.apps.scheduling.jobshop.blocking_rules import BLOCKING_RULES, dispatch_blocking
from pgsuite.apps.scheduling.jobshop.instances import JobShopInstance, random_instance
from pgsuite.core.errors import ConfigError
from pgsuite.core.ppo import PPOConfig, SaveRunConfig, train_ppo
from pgsuite.core.runs import trained_model
from pgsuite.core.seeding import derive_seed, seed_everything
from pgsuite.core.trainer import TrainerConfig

FIXED_RULES = tuple(rule for rule in BLOCKING_RULES if rule != "random")
"""The deterministic rules the learned one is measured against."""


@dataclass
class BlockingPolicyConfig:
    """The network (saved in the run folder's config.json)."""

    hidden: int = 64
    layers: int = 3

    def __post_init__(self) -> None:
        if self.hidden < 1 or self.layers < 1:
            raise ConfigError(f"hidden and layers must be >= 1, got {self.hidden}, {self.layers}")


@dataclass
class BlockingTrainConfig:
    """pgsuite jobshop train-blocking: PPO dispatching in the blocking job shop."""

    env: BlockingEnvConfig = field(default_factory=BlockingEnvConfig)
    policy: BlockingPolicyConfig = field(default_factory=BlockingPolicyConfig)
    ppo: PPOConfig = field(default_factory=lambda: PPOConfig(
        total_timesteps=100_000, num_steps=64, learning_rate=3e-4, gamma=1.0, gae_lambda=0.95,
        update_epochs=3, num_minibatches=4, ent_coef=0.01))  # fmt: skip
    num_envs: int = 8
    dev_instances: int = 10
    """Random instances of the training size the greedy policy is evaluated on."""
    seed: int = 0
    trainer: TrainerConfig = field(
        default_factory=lambda: TrainerConfig(
            eval_every=10, metric="dev_gap_to_best_rule_pct", checkpoint_every=10
        )
    )

    def __post_init__(self) -> None:
        if self.num_envs < 1 or self.dev_instances < 1:
            raise ConfigError("num_envs and dev_instances must be >= 1")


def greedy_blocking(agent: BlockingPolicy, instance: JobShopInstance,
                    plan: InterruptionPlan | None = None, swaps: bool = True) -> BlockingSchedule:  # fmt: skip
    """The policy's greedy schedule (the most probable move at every decision), checked."""
    shop = BlockingJobShop(instance, plan, swaps)
    episode = BlockingEpisode(shop, allow_wait=agent.wait)
    with torch.no_grad():
        while not shop.done:
            mask = torch.as_tensor(episode.mask())[None]
            distribution, _ = agent(Batch.from_data_list([blocking_graph(shop)]), mask)
            episode.step(int(distribution.probs[0].argmax()))
    return shop.result()


def dev_set(env: BlockingEnvConfig, count: int, seed: int) -> list[tuple[JobShopInstance,
                                                                         InterruptionPlan]]:  # fmt: skip
    """``count`` random instances with shutdowns, cycling over the env's probabilities."""
    out = []
    probabilities = itertools.cycle(env.shutdown_probabilities)
    for i in range(count):
        instance = random_instance(env.jobs, env.machines, derive_seed(seed, "blocking-dev", i))
        draws = env.interruptions(next(probabilities))
        out.append((instance, draws.sample(instance, derive_seed(seed, "blocking-shutdowns", i))))
    return out


def train_blocking(config: BlockingTrainConfig) -> dict[str, Any]:
    """Train under the shared trainer; returns the best dev figures and the time."""
    seed_everything(config.seed)
    agent = BlockingPolicy(config.policy.hidden, config.policy.layers, config.env.allow_wait)
    env = BlockingBatchEnv(config.env, config.num_envs)
    dev = dev_set(config.env, config.dev_instances, config.seed)
    rule_means = {rule: np.mean([dispatch_blocking(i, rule, p, config.env.swaps).makespan
                                 for i, p in dev]) for rule in FIXED_RULES}  # fmt: skip
    best_rule = min(rule_means, key=rule_means.get)

    def evaluate() -> dict[str, float]:
        agent.eval()
        makespan = float(np.mean([greedy_blocking(agent, i, p, config.env.swaps).makespan
                                  for i, p in dev]))  # fmt: skip
        agent.train()
        return {"dev_makespan": makespan, "dev_best_rule_makespan": rule_means[best_rule],
                "dev_gap_to_best_rule_pct": 100 * (makespan / rule_means[best_rule] - 1)}  # fmt: skip

    result, _ = train_ppo(env, agent, config.ppo, config.trainer, evaluate, seed=config.seed,
                          callbacks=[SaveRunConfig(config.trainer, config, agent)])  # fmt: skip
    return {"iterations": result.steps, "stop_reason": result.stop_reason,
            "best_dev_gap_to_best_rule_pct": result.best_value, "best_rule": best_rule,
            "best_iteration": result.best_step, "train_time_s": result.wall_time_s,
            "timesteps": result.steps * config.ppo.num_steps * config.num_envs}  # fmt: skip


def load_blocking_policy(path: str | Path) -> BlockingPolicy:
    """A trained blocking policy from a run folder (best.pt, else checkpoint.pt)."""
    config, weights, whole = trained_model(path, "policy", BlockingPolicyConfig,
                                           "a blocking job-shop policy")  # fmt: skip
    agent = BlockingPolicy(config.hidden, config.layers, bool(whole["env"].get("allow_wait")))
    agent.load_state_dict(weights)
    return agent.eval()
