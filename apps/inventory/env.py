"""Environments over the inventory simulator: a batched one for the core's PPO, and the gymnasium
environment ``pgsuite/Inventory-v0`` (one system of the batched one) for other RL libraries.

:class:`InventoryVecEnv` (:class:`core.envs.BatchedEnv`) steps ``num_envs`` systems together;
observations are :func:`~pgsuite.apps.inventory.policies.observation_features` ``[B, N (L + 1)]``
(each location's on-hand stock followed by its pipeline, slot ``k`` arriving in ``k + 1`` periods,
divided by the demand rate the location serves), rewards minus each period's cost divided by
``reward_scale``; episodes are truncated after ``horizon`` periods and restart on fresh scenarios.

:class:`InventoryEnv` is that environment with one system. Action: ``[N]`` in ``[-1, 1]`` (the
symmetric, normalised box RL libraries expect), mapped linearly to orders in ``[0, max_order]``
units; ``max_order`` defaults to 4x the demand rate of the location. Reward: minus the period's
cost (``info["cost"]``). All randomness flows from ``reset(seed=...)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from pgsuite.apps.inventory.network import location_demand_rate
from pgsuite.apps.inventory.policies import observation_features
from pgsuite.apps.inventory.settings import Setting, SettingConfig, build_setting
from pgsuite.apps.inventory.sim import InventorySimulator, Observation, Scenarios
from pgsuite.core.envs import StepResult


class InventoryVecEnv:
    """:class:`core.envs.BatchedEnv` over the simulator: ``num_envs`` systems stepped together.

    Args:
        setting: the inventory system.
        num_envs: parallel systems.
        horizon: periods per episode (then every env is truncated and restarted).
        reward_scale: rewards are ``-cost / reward_scale``.
        actions_to_orders: maps policy actions ``[B, N]`` to orders (default: identity).
    """

    def __init__(
        self,
        setting: Setting,
        num_envs: int,
        horizon: int,
        reward_scale: float,
        actions_to_orders: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        self.setting, self.num_envs, self.horizon = setting, num_envs, horizon
        self.reward_scale = reward_scale
        self.simulator = InventorySimulator(setting.network)
        self.scale = location_demand_rate(setting.network, setting.demand_mean)
        self.actions_to_orders = actions_to_orders or (lambda a: a)
        self.generator = torch.Generator()

    def _start(self) -> torch.Tensor:
        seed = int(torch.randint(0, 2**31 - 1, (1,), generator=self.generator))
        self.scenarios: Scenarios = self.setting.scenarios(
            "train", self.num_envs, self.horizon, seed
        )
        self.on_hand, self.pipeline = self.scenarios.on_hand, self.scenarios.pipeline
        self.slots = self.simulator.arrival_slots(self.scenarios.lead_time, self.pipeline.shape[-1])
        self.t = 0
        return self._features()

    def _features(self) -> torch.Tensor:
        obs = Observation(self.on_hand, self.pipeline, self.scenarios.lead_time, self.t)
        return observation_features(obs, self.scale)

    def reset(self, seed: int | None = None) -> torch.Tensor:
        if seed is not None:
            self.generator.manual_seed(seed)
        return self._start()

    def step(self, action: torch.Tensor) -> StepResult:
        orders = self.actions_to_orders(action)
        self.on_hand, self.pipeline, flows = self.simulator.step(
            self.on_hand, self.pipeline, orders, self.scenarios.demand[:, self.t], self.slots
        )
        self.t += 1
        reward = -flows.cost / self.reward_scale
        terminated = torch.zeros(self.num_envs, dtype=torch.bool)
        truncated = torch.full((self.num_envs,), self.t >= self.horizon)
        final_obs = self._features()
        obs = self._start() if self.t >= self.horizon else final_obs
        return StepResult(obs, reward, terminated, truncated, final_obs)

    def action_masks(self) -> None:
        return None


class InventoryEnv(gym.Env):
    """One inventory system (:class:`InventoryVecEnv` with ``num_envs=1``); ``setting_kwargs`` are
    :class:`SettingConfig` fields.

    Args:
        horizon: periods per episode.
        max_order: upper bound of each order (default: 4x the location's demand rate).
        **setting_kwargs: e.g. ``setting="one_store_lost", lead_time=2, penalty=4``.
    """

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 (gymnasium's convention)

    def __init__(
        self, horizon: int = 100, max_order: float | None = None, **setting_kwargs: Any
    ) -> None:
        self.setting = build_setting(SettingConfig(**setting_kwargs))
        net = self.setting.network
        scale = location_demand_rate(net, self.setting.demand_mean)
        self.max_order = 4.0 * scale if max_order is None else torch.full_like(scale, max_order)
        self.env = InventoryVecEnv(self.setting, 1, horizon, 1.0, self._orders)
        self.horizon = horizon
        self.action_space = gym.spaces.Box(-1.0, 1.0, (net.num_locations,), dtype=np.float32)
        size = net.num_locations * (net.max_lead_time + 1)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (size,), dtype=np.float32)

    def _orders(self, unit: torch.Tensor) -> torch.Tensor:
        """Orders ``[1, N]`` in ``[0, max_order]`` from actions in ``[-1, 1]`` (clipped)."""
        return (unit.clamp(-1.0, 1.0) + 1.0) / 2.0 * self.max_order

    @staticmethod
    def _flat(obs: torch.Tensor) -> np.ndarray:
        return obs[0].numpy().astype(np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict | None = None
    ) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        return self._flat(self.env.reset(seed=int(self.np_random.integers(2**31 - 1)))), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        unit = torch.as_tensor(np.asarray(action, dtype=np.float32)).reshape(1, -1)
        result = self.env.step(unit)
        cost = -float(result.reward[0])
        truncated = bool(result.truncated[0])
        # at the horizon the batched env has already restarted: report the episode's last state
        return self._flat(result.final_obs), -cost, False, truncated, {"cost": cost}
