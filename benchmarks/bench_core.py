"""Core benchmark: the core's PPO against Stable-Baselines3's PPO on CartPole-v1 (same
hyper-parameters and budget), and pathwise-gradient newsvendors against their closed-form optima.

Regenerate with::

    .venv/bin/python benchmarks/bench_core.py --seeds 0 1 2

Writes ``benchmarks/results/core_cartpole.{csv,md,png}`` and ``core_newsvendor.{csv,md}``.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
import warnings
from pathlib import Path

import torch

from pgsuite.core.bench import run_bench, summarize
from pgsuite.core.demo import CARTPOLE_ENVS, CARTPOLE_PPO, ppo_cartpole
from pgsuite.core.envs import GymVectorEnv
from pgsuite.core.newsvendor import expected_newsvendor_cost, fit_newsvendor, newsvendor_optimum
from pgsuite.core.ppo import evaluate_policy
from pgsuite.core.seeding import seed_everything

DOCS = (Path(__file__).resolve().parents[1] / "docs" / "core.md",)
"""The doc page whose results blocks this script refreshes (see :mod:`pgsuite.core.doctables`)."""


def sb3_ppo_cartpole(seed: int, total_timesteps: int) -> dict[str, float]:
    """Stable-Baselines3 PPO with the same hyper-parameters as ``CARTPOLE_PPO``."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    seed_everything(seed)
    cfg = CARTPOLE_PPO
    env = make_vec_env("CartPole-v1", n_envs=CARTPOLE_ENVS, seed=seed)
    model = PPO(
        "MlpPolicy",
        env,
        n_steps=cfg.num_steps,
        batch_size=cfg.num_steps * CARTPOLE_ENVS // cfg.num_minibatches,
        n_epochs=cfg.update_epochs,
        learning_rate=lambda remaining: cfg.learning_rate * remaining,
        gamma=cfg.gamma,
        gae_lambda=cfg.gae_lambda,
        clip_range=cfg.clip_coef,
        ent_coef=cfg.ent_coef,
        vf_coef=cfg.vf_coef,
        max_grad_norm=cfg.max_grad_norm,
        seed=seed,
        device="cpu",
    )
    start = time.perf_counter()
    model.learn(total_timesteps)
    train_time = time.perf_counter() - start

    def agent(obs: torch.Tensor, mask: None = None):
        dist = model.policy.get_distribution(obs).distribution
        return dist, None

    score = evaluate_policy(GymVectorEnv("CartPole-v1", 4), agent, 20, seed=seed + 1)
    return {"greedy_return_mean": score["mean_return"], "train_time_s": train_time}


def cartpole(seeds: list[int]) -> None:
    total = CARTPOLE_PPO.total_timesteps
    methods = {
        "pgsuite PPO": lambda _, seed: ppo_cartpole(seed, total),
        "SB3 PPO": lambda _, seed: sb3_ppo_cartpole(seed, total),
    }
    protocol = {
        "bench": "core_cartpole",
        "total_timesteps": total,
        "ppo": dataclasses.asdict(CARTPOLE_PPO),
    }
    metrics = ["greedy_return_mean", "train_time_s"]
    rows, _ = run_bench(
        methods,
        {"CartPole-v1 (100k steps)": None},
        seeds,
        name="core_cartpole",
        metrics=metrics,
        title="PPO on CartPole-v1, 100k steps",
        docs=DOCS,
        config=protocol,
        plot=True,
    )
    print(summarize(rows, metrics).to_markdown(index=False, floatfmt=".4g"))


def newsvendor(seeds: list[int]) -> None:
    instances = {f"h={h:g}, p={p:g}": (h, p) for h, p in [(1, 1), (1, 4), (1, 9), (1, 19), (4, 1)]}

    def pathwise(instance: tuple[float, float], seed: int) -> dict[str, float]:
        holding, penalty = instance
        learned = fit_newsvendor(10.0, 2.0, holding, penalty, seed=seed)
        best_order, best_cost = newsvendor_optimum(10.0, 2.0, holding, penalty)
        cost = expected_newsvendor_cost(learned, 10.0, 2.0, holding, penalty)
        return {
            "order_error": learned - best_order,
            "gap_pct": 100 * (cost - best_cost) / best_cost,
        }

    protocol = {"bench": "core_newsvendor", "instances": sorted(instances)}
    metrics = ["order_error", "gap_pct"]
    rows, _ = run_bench(
        {"pathwise Adam": pathwise},
        instances,
        seeds,
        name="core_newsvendor",
        metrics=metrics,
        title="Newsvendor, Normal(10, 2): pathwise vs optimum",
        docs=DOCS,
        config=protocol,
    )
    print(
        summarize(rows, metrics, by=("method", "instance")).to_markdown(index=False, floatfmt=".3g")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--skip-cartpole", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=FutureWarning)
    torch.set_num_threads(1)
    newsvendor(args.seeds)
    if not args.skip_cartpole:
        cartpole(args.seeds)


if __name__ == "__main__":
    main()
