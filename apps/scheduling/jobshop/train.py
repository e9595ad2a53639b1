"""Train the dispatching policy with the core's PPO on random instances.

Every PPO rollout is one full episode per env (``num_steps = n m``), on fresh Taillard-style random
instances; sizes can follow a curriculum (``sizes``, one per equal share of the iterations). The
dev metric is the greedy policy's mean makespan on a fixed set of random instances of the last
size, reported relative to MWKR on the same instances (``dev_gap_to_mwkr_pct``; negative is better
than the rule). The best dev model is kept (``best.pt``), and ``config.json`` records everything
needed to rebuild the policy.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pgsuite.apps.scheduling.jobshop.breakdowns import breakdowns_from
from pgsuite.apps.scheduling.jobshop.env import InstanceSource, JobShopBatchEnv, RewardName
from pgsuite.apps.scheduling.jobshop.inference import greedy_makespans
from pgsuite.apps.scheduling.jobshop.instances import random_instance
from pgsuite.apps.scheduling.jobshop.policy import JobShopActorCritic
from pgsuite.apps.scheduling.jobshop.rules import dispatch
from pgsuite.apps.scheduling.jobshop.simulator import JobShopSimulator
from pgsuite.core.errors import ConfigError
from pgsuite.core.ppo import PPO, PPOCallback, PPOConfig, SaveRunConfig, train_ppo
from pgsuite.core.runs import trained_model
from pgsuite.core.seeding import GeneratorState, derive_seed, seed_everything
from pgsuite.core.trainer import TrainerConfig

_SIZE = re.compile(r"^(\d+)x(\d+)$")


def parse_size(text: str) -> tuple[int, int]:
    """``"10x5"`` -> ``(10, 5)`` (jobs, machines)."""
    match = _SIZE.match(text.strip())
    if not match or min(int(match[1]), int(match[2])) < 1:
        raise ConfigError(f"sizes are written JOBSxMACHINES, e.g. 10x10; got {text!r}")
    return int(match[1]), int(match[2])


@dataclass
class PolicyConfig:
    """Architecture and environment semantics of a dispatching policy."""

    hidden: int = 64
    """Embedding width of the graph network."""
    layers: int = 3
    """Message-passing rounds."""
    reward: RewardName = "dense"
    """dense (decrease of the makespan lower bound) or sparse (-makespan at the end)."""
    insertion: bool = True
    """Place operations into earlier idle gaps on their machine (active schedules)."""
    nondelay: bool = True
    """Offer only the jobs whose next operation can start earliest."""

    def __post_init__(self) -> None:
        if self.hidden < 1 or self.layers < 1:
            raise ConfigError(
                f"hidden and layers must be >= 1, got {self.hidden} and {self.layers}"
            )


@dataclass
class JobShopTrainConfig:
    """pgsuite jobshop train: PPO dispatching on random instances."""

    sizes: tuple[str, ...] = ("6x6", "10x10")
    """Training instance sizes JOBSxMACHINES, a curriculum: each gets an equal share of the
    iterations, in order."""
    num_envs: int = 16
    """Instances scheduled in parallel per rollout."""
    dev_instances: int = 32
    """Random instances (of the last size, fixed seed) the greedy policy is evaluated on."""
    mtbf: float | None = None
    """Train under random machine breakdowns: mean up-time between them, in mean operation
    durations (default: no breakdowns)."""
    mttr: float = 2.0
    """Mean repair time of a breakdown, in mean operation durations."""
    seed: int = 0
    """Seed of the instances, the initial policy and PPO."""
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    ppo: PPOConfig = field(
        default_factory=lambda: PPOConfig(
            total_timesteps=400_000,
            num_steps=100,
            learning_rate=3e-4,
            gamma=1.0,
            gae_lambda=0.95,
            update_epochs=3,
            num_minibatches=8,
            ent_coef=0.01,
        )
    )
    trainer: TrainerConfig = field(
        default_factory=lambda: TrainerConfig(
            eval_every=10, metric="dev_gap_to_mwkr_pct", checkpoint_every=10
        )
    )

    def __post_init__(self) -> None:
        self.parsed_sizes = [parse_size(s) for s in self.sizes]
        if not self.parsed_sizes:
            raise ConfigError("give at least one training size")
        if self.num_envs < 1 or self.dev_instances < 1:
            raise ConfigError("num_envs and dev_instances must be >= 1")
        if self.seed < 0:
            raise ConfigError(f"seed must be non-negative, got {self.seed}")
        self.breakdowns = breakdowns_from(self.mtbf, self.mttr)


def make_agent(config: PolicyConfig) -> JobShopActorCritic:
    return JobShopActorCritic(config.hidden, config.layers)


class CurriculumEnv(JobShopBatchEnv):
    """A batched env whose instance size switches to the next stage at given iterations."""

    def __init__(self, config: JobShopTrainConfig) -> None:
        jobs, machines = config.parsed_sizes[0]
        super().__init__(
            config.num_envs,
            InstanceSource(jobs=jobs, machines=machines),
            config.policy.reward,
            config.policy.insertion,
            config.policy.nondelay,
            config.breakdowns,
        )
        self.sizes = config.parsed_sizes
        self.stage_starts = [0]

    def plan(self, iterations: int) -> None:
        """Give each size an equal share of ``iterations``, in order."""
        stages = len(self.sizes)
        self.stage_starts = [iterations * i // stages for i in range(stages)]

    def set_iteration(self, iteration: int) -> bool:
        """Switch to the stage of ``iteration``; True when the size changed."""
        stage = max(i for i, start in enumerate(self.stage_starts) if start <= iteration)
        size = self.sizes[stage]
        if size == (self.source.jobs, self.source.machines):
            return False
        self.source.jobs, self.source.machines = size
        return True


class Curriculum(PPOCallback):
    """Plans ``env``'s stages over the PPO iterations and switches size before each rollout
    (a switch starts fresh episodes); also after a resume, since the stage follows the iteration."""

    def __init__(self, env: CurriculumEnv) -> None:
        self.env = env

    def on_training_start(self, ppo: PPO) -> None:
        self.env.plan(ppo.num_iterations)

    def on_rollout_start(self, ppo: PPO, iteration: int) -> None:
        if self.env.set_iteration(iteration):
            ppo.obs = None


def _dev_set(config: JobShopTrainConfig) -> tuple[JobShopSimulator, float]:
    jobs, machines = config.parsed_sizes[-1]
    instances = [
        random_instance(jobs, machines, seed=derive_seed(config.seed, "dev-instance", i))
        for i in range(config.dev_instances)
    ]
    downtimes = None
    if config.breakdowns is not None:
        rng = np.random.default_rng(derive_seed(config.seed, "dev-breakdowns"))
        downtimes = config.breakdowns.sample_batch(instances, rng)
    sim = JobShopSimulator.from_instances(instances, config.policy.insertion, downtimes)
    mwkr = float(dispatch(sim, "mwkr").makespan.mean())
    return sim, mwkr


def train(config: JobShopTrainConfig) -> dict[str, Any]:
    """Train under the shared trainer; returns the final metrics and the best dev figures."""
    seed_everything(config.seed)
    agent = make_agent(config.policy)
    ppo_config = config.ppo
    # one rollout = one episode of the largest size; smaller sizes finish several episodes
    jobs, machines = config.parsed_sizes[-1]
    if ppo_config.num_steps < jobs * machines:
        ppo_config = dataclasses.replace(ppo_config, num_steps=jobs * machines)
    env = CurriculumEnv(config)
    dev_sim, dev_mwkr = _dev_set(config)

    def evaluate() -> dict[str, float]:
        makespan = float(greedy_makespans(agent, dev_sim, config.policy.nondelay).mean())
        return {
            "dev_makespan": makespan,
            "dev_mwkr_makespan": dev_mwkr,
            "dev_gap_to_mwkr_pct": 100 * (makespan / dev_mwkr - 1),
        }

    result, _ = train_ppo(
        env,
        agent,
        ppo_config,
        config.trainer,
        evaluate,
        seed=config.seed,
        stateful={"instance_generator": GeneratorState(env.source.rng)},
        callbacks=[SaveRunConfig(config.trainer, config, agent), Curriculum(env)],
    )
    return {
        "iterations": result.steps,
        "stop_reason": result.stop_reason,
        "best_dev_gap_to_mwkr_pct": result.best_value,
        "best_iteration": result.best_step,
        "train_time_s": result.wall_time_s,
        "timesteps": result.steps * ppo_config.num_steps * config.num_envs,
    }


def load_policy(path: Path) -> tuple[JobShopActorCritic, PolicyConfig]:
    """A trained policy from a run folder (``best.pt``, else ``checkpoint.pt``) or a ``.pt`` file
    with a ``config.json`` beside it."""
    policy_config, weights, _ = trained_model(path, "policy", PolicyConfig, "a job-shop policy")
    agent = make_agent(policy_config)
    agent.load_state_dict(weights)
    agent.eval()
    return agent, policy_config
