"""pgsuite/Inventory-v0 passes gymnasium's and SB3's checks, is seeded, and SB3 PPO trains on it."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3 import PPO
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import pgsuite.apps.inventory  # noqa: F401  (registers the env)

KWARGS = [
    {"setting": "one_store_lost", "lead_time": 2, "penalty": 4.0},
    {"setting": "one_store_backlog"},
    {"setting": "serial"},
    {"setting": "one_warehouse_lost", "stores": 3},
]


@pytest.mark.parametrize("kwargs", KWARGS)
def test_env_checkers(kwargs: dict) -> None:
    env = gym.make("pgsuite/Inventory-v0", horizon=20, **kwargs)
    check_env(env.unwrapped)
    sb3_check_env(env.unwrapped)


def test_seeded_rollouts_repeat() -> None:
    def rollout(seed: int) -> list[float]:
        env = gym.make("pgsuite/Inventory-v0", horizon=15, setting="one_store_lost")
        env.reset(seed=seed)
        env.action_space.seed(seed)
        return [env.step(env.action_space.sample())[1] for _ in range(15)]

    assert rollout(3) == rollout(3)
    assert rollout(3) != rollout(4)


def test_reward_is_minus_cost_and_episode_truncates() -> None:
    env = gym.make("pgsuite/Inventory-v0", horizon=5, setting="one_store_backlog")
    env.reset(seed=0)
    for t in range(5):
        _, reward, terminated, truncated, info = env.step(np.array([-0.75], dtype=np.float32))
        assert reward == -info["cost"]
        assert not terminated
        assert truncated == (t == 4)


def test_sb3_ppo_trains_on_the_env() -> None:
    env = gym.make("pgsuite/Inventory-v0", horizon=50, setting="one_store_lost", lead_time=1)
    model = PPO("MlpPolicy", env, n_steps=256, batch_size=64, seed=0, device="cpu")
    model.learn(3_000)

    def episode_cost(act) -> float:
        obs, _ = env.reset(seed=1)
        total, done = 0.0, False
        while not done:
            obs, reward, terminated, truncated, _ = env.step(act(obs))
            total, done = total - reward, terminated or truncated
        return total

    trained = episode_cost(lambda obs: model.predict(obs, deterministic=True)[0])
    never_order = episode_cost(lambda obs: -np.ones(1, dtype=np.float32))
    assert trained < 0.5 * never_order


def test_the_gym_env_is_one_system_of_the_batched_env_stepped_by_the_simulator() -> None:
    import torch

    from pgsuite.apps.inventory.sim import InventorySimulator

    env = gym.make("pgsuite/Inventory-v0", horizon=6, setting="one_store_lost", lead_time=2)
    first, _ = env.reset(seed=5)
    scenarios = env.unwrapped.env.scenarios  # the batched env's scenario, one system
    simulator = InventorySimulator(env.unwrapped.setting.network)
    on_hand, pipeline = scenarios.on_hand, scenarios.pipeline
    slots = simulator.arrival_slots(scenarios.lead_time, pipeline.shape[-1])
    max_order = env.unwrapped.max_order
    for t in range(6):
        action = np.array([0.5 - 0.3 * t], dtype=np.float32)
        obs, reward, _, truncated, info = env.step(action)
        orders = ((torch.as_tensor(action) + 1) / 2 * max_order).reshape(1, -1)
        on_hand, pipeline, flows = simulator.step(
            on_hand, pipeline, orders, scenarios.demand[:, t], slots
        )
        assert info["cost"] == pytest.approx(float(flows.cost[0]), rel=1e-6)
        assert reward == -info["cost"]
    assert truncated
    # the observation at the horizon is the episode's last state, not the restarted one
    assert obs[0] == pytest.approx(float(on_hand[0, 0]) / 5.0, rel=1e-5)
    assert first.shape == obs.shape
