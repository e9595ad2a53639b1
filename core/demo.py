"""``pgsuite demo``: a short real run of every part, one results table each.

The core contributes two tables: PPO learning CartPole-v1 (greedy return against the 475 "solved"
bar) and pathwise-gradient newsvendors reaching their closed-form optima. Each app registered under
``pgsuite.apps`` adds its own tables through ``App.demo``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd

from pgsuite.core.cli import Command, CommandOutput, discover_apps
from pgsuite.core.envs import GymVectorEnv
from pgsuite.core.errors import ConfigError
from pgsuite.core.newsvendor import expected_newsvendor_cost, fit_newsvendor, newsvendor_optimum
from pgsuite.core.ppo import MLPActorCritic, PPOConfig, evaluate_policy, train_ppo
from pgsuite.core.seeding import seed_everything
from pgsuite.core.trainer import TrainerConfig


@dataclass
class DemoConfig:
    """Options of pgsuite demo."""

    seed: int = 0
    """Seed of every demo run."""
    only: tuple[str, ...] = ()
    """Run only these parts, e.g. --only core inventory (empty: all parts)."""
    quick: bool = False
    """Tiny budgets for a smoke test (seconds); the figures are then not meaningful."""


#: PPO hyper-parameters for CartPole-v1 (the RL-Baselines3-Zoo tuning: 8 envs x 32 steps,
#: 20 epochs over one 256-sample minibatch, gamma 0.98, lambda 0.8, no entropy bonus).
CARTPOLE_PPO = PPOConfig(
    total_timesteps=100_000,
    num_steps=32,
    learning_rate=1e-3,
    gamma=0.98,
    gae_lambda=0.8,
    update_epochs=20,
    num_minibatches=1,
    ent_coef=0.0,
)
CARTPOLE_ENVS = 8


def ppo_cartpole(
    seed: int, total_timesteps: int, eval_episodes: int = 20
) -> dict[str, float | int]:
    """Train PPO on CartPole-v1 and evaluate the greedy policy; returns the figures."""
    seed_everything(seed)
    env = GymVectorEnv("CartPole-v1", CARTPOLE_ENVS)
    agent = MLPActorCritic(4, 2)
    config = PPOConfig(**{**CARTPOLE_PPO.__dict__, "total_timesteps": total_timesteps})
    result, _ = train_ppo(env, agent, config, TrainerConfig(progress=True), seed=seed)
    evaluation = evaluate_policy(
        GymVectorEnv("CartPole-v1", 4), agent, eval_episodes, seed=seed + 1
    )
    return {
        "timesteps": result.steps * config.num_steps * CARTPOLE_ENVS,
        "train_time_s": result.wall_time_s,
        "greedy_return_mean": evaluation["mean_return"],
        "greedy_return_std": evaluation["std_return"],
        "episodes": int(evaluation["episodes"]),
    }


def core_demo(config: DemoConfig) -> list[tuple[str, pd.DataFrame]]:
    """The core's own demo tables."""
    timesteps = 4_096 if config.quick else CARTPOLE_PPO.total_timesteps
    cartpole = ppo_cartpole(config.seed, timesteps, eval_episodes=4 if config.quick else 20)
    cartpole["solved (>= 475)"] = cartpole["greedy_return_mean"] >= 475
    rows = []
    for holding, penalty in ((1.0, 1.0), (1.0, 4.0), (1.0, 9.0), (1.0, 19.0)):
        mean, std = 10.0, 2.0
        start = time.perf_counter()
        learned = fit_newsvendor(
            mean, std, holding, penalty, steps=40 if config.quick else 400, seed=config.seed
        )
        seconds = time.perf_counter() - start
        best_order, best_cost = newsvendor_optimum(mean, std, holding, penalty)
        cost = expected_newsvendor_cost(learned, mean, std, holding, penalty)
        rows.append(
            {
                "h": holding,
                "p": penalty,
                "critical_ratio": penalty / (penalty + holding),
                "q_learned": learned,
                "q_optimal": best_order,
                "cost_learned": cost,
                "cost_optimal": best_cost,
                "gap_%": 100 * (cost - best_cost) / best_cost,
                "time_s": seconds,
            }
        )
    return [
        ("core: PPO on CartPole-v1 (greedy policy, 20 episodes)", pd.DataFrame([cartpole])),
        (
            "core: pathwise-gradient newsvendor, Normal(10, 2) demand, vs closed form",
            pd.DataFrame(rows),
        ),
    ]


def run_demo(config: DemoConfig) -> CommandOutput:
    """Run the core demo and every registered app's demo (or those named in ``--only``)."""
    parts = {"core": core_demo}
    parts.update({app.name: app.demo for app in discover_apps() if app.demo is not None})
    unknown = set(config.only) - set(parts)
    if unknown:
        raise ConfigError(f"unknown demo part(s) {sorted(unknown)}; choose from {sorted(parts)}")
    output = CommandOutput()
    for name, demo in parts.items():
        if config.only and name not in config.only:
            continue
        start = time.perf_counter()
        output.tables += demo(config)
        output.summary[f"{name}_time_s"] = round(time.perf_counter() - start, 1)
    return output


def demo_command() -> Command:
    """The top-level ``pgsuite demo`` command."""
    return Command(
        "demo",
        "short real runs of every part, one results table each",
        DemoConfig,
        run_demo,
        json_output=True,
    )
