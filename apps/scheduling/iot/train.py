"""Training the node-scoring policy with the core's PPO on ``pgsuite/CloudScheduling-v0``
(generated streams; the trace is never used in training), and the trained policy as a
scheduler."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from pgsuite.apps.scheduling.iot.aco import ACOConfig, AntColony
from pgsuite.apps.scheduling.iot.env import IoTEnvConfig, observation
from pgsuite.apps.scheduling.iot.policy import NodeScorer
from pgsuite.apps.scheduling.iot.schedulers import SCHEDULER_NAMES, make_heuristic
from pgsuite.apps.scheduling.iot.simulator import IoTSimulator
from pgsuite.core.envs import GymVectorEnv
from pgsuite.core.errors import ConfigError
from pgsuite.core.ppo import PPOConfig, SaveRunConfig, evaluate_policy, train_ppo
from pgsuite.core.runs import trained_model
from pgsuite.core.seeding import seed_everything
from pgsuite.core.trainer import TrainerConfig


@dataclass
class PolicyConfig:
    """The network (saved in the run folder's config.json)."""

    hidden: int = 64
    """Width of the node-scoring network."""


@dataclass
class IoTTrainConfig:
    """Train the node-scoring policy with PPO on generated streams."""

    env: IoTEnvConfig = field(default_factory=IoTEnvConfig)
    policy: PolicyConfig = field(default_factory=PolicyConfig)
    ppo: PPOConfig = field(default_factory=lambda: PPOConfig(total_timesteps=50_000, num_steps=256,
                                                            gamma=0.0, gae_lambda=0.0))  # fmt: skip
    """gamma 0 by default: a task's reward is its own response, known at its assignment."""
    num_envs: int = 4
    seed: int = 0
    trainer: TrainerConfig = field(default_factory=lambda: TrainerConfig(eval_every=10))


def train(config: IoTTrainConfig) -> dict[str, Any]:
    """Train; returns the summary (best dev return, time, ...)."""
    seed_everything(config.seed)
    env_kwargs = asdict(config.env) | {"generator": config.env.generator}
    env = GymVectorEnv("pgsuite/CloudScheduling-v0", config.num_envs, use_action_masks=True,
                       **env_kwargs)  # fmt: skip
    dev = GymVectorEnv("pgsuite/CloudScheduling-v0", 2, use_action_masks=True, **env_kwargs)
    agent = NodeScorer(config.policy.hidden)

    def evaluate() -> dict[str, float]:
        return {f"dev_{k}": v for k, v in evaluate_policy(dev, agent, 4, seed=10_000).items()}

    trainer = config.trainer
    if trainer.metric == "loss":
        trainer.metric, trainer.mode = "dev_mean_return", "max"
    result, _ = train_ppo(env, agent, config.ppo, trainer, evaluate, seed=config.seed,
                          callbacks=[SaveRunConfig(trainer, config, agent)])  # fmt: skip
    return {"iterations": result.steps, "stop_reason": result.stop_reason,
            "best_dev_return": result.best_value, "train_time_s": result.wall_time_s}  # fmt: skip


class LearnedScheduler:
    """The trained policy as a :class:`~pgsuite.apps.scheduling.iot.simulator.Scheduler`: the
    first pending task to its most probable node (greedy)."""

    def __init__(self, agent: NodeScorer, response_scale_s: float) -> None:
        self.agent, self.scale = agent.eval(), response_scale_s

    def reset(self, sim: IoTSimulator) -> None:
        del sim

    def probabilities(self, sim: IoTSimulator, task: int) -> np.ndarray:
        """``[M]`` the policy's node probabilities for ``task`` now."""
        obs = torch.as_tensor(observation(sim, task, self.scale))[None]
        mask = torch.as_tensor(sim.feasible(task))[None]
        with torch.no_grad():
            distribution, _ = self.agent(obs, mask)
        return distribution.probs[0].numpy()

    def choose(self, sim: IoTSimulator, pending: np.ndarray) -> tuple[int, int]:
        task = int(pending[0])
        return task, int(np.argmax(self.probabilities(sim, task)))


SHIPPED_POLICY = Path(__file__).parent / "checkpoints" / "iot_policy"
"""The policy shipped with the package (``made_by.json`` there records the command that made it)."""


def load_policy(path: str | Path | None = None) -> LearnedScheduler:
    """The scheduler of a trained run folder (best.pt, else checkpoint.pt; default: the shipped
    policy)."""
    path = SHIPPED_POLICY if path is None else path
    config, weights, whole = trained_model(path, "policy", PolicyConfig, "an IoT policy run")
    agent = NodeScorer(config.hidden)
    agent.load_state_dict(weights)
    return LearnedScheduler(agent, float(whole["env"]["response_scale_s"]))


HYBRID_PRIOR_MODES = {"hybrid": "initial", "hybrid-heuristic": "heuristic"}
"""The hybrid's names and the colony's prior mode each uses (see :class:`AntColony`)."""
ALL_SCHEDULERS = (*SCHEDULER_NAMES, "rl", *HYBRID_PRIOR_MODES)
"""Every scheduler by name: the heuristics, ACO, GA, the learned policy and the hybrid (both
prior modes)."""


def make_scheduler(name: str, seed: int = 0, policy: str | Path | None = None):
    """The scheduler called ``name`` (:data:`ALL_SCHEDULERS`): ``rl`` is the policy of run folder
    ``policy`` (default: the shipped one), ``hybrid`` / ``hybrid-heuristic`` the colony with that
    policy as its prior (:data:`HYBRID_PRIOR_MODES`); the rest as
    :func:`~pgsuite.apps.scheduling.iot.schedulers.make_heuristic` with ``seed``."""
    if name not in ALL_SCHEDULERS:
        raise ConfigError(
            f"unknown IoT scheduler {name!r}; choose from {', '.join(ALL_SCHEDULERS)}"
        )
    if name == "rl":
        return load_policy(policy)
    if name in HYBRID_PRIOR_MODES:
        return AntColony(ACOConfig(seed=seed), prior=load_policy(policy),
                         prior_mode=HYBRID_PRIOR_MODES[name])  # fmt: skip
    return make_heuristic(name, seed)
