"""Gymnasium environment ``pgsuite/Inventory-v0``: one sample of the simulator, for other RL libraries.

Observation: ``[N * (L + 1)]`` float32, each location's on-hand stock followed by its pipeline
(slot ``k`` arrives in ``k + 1`` periods), divided by the demand rate the location serves.
Action: ``[N]`` in ``[-1, 1]`` (the symmetric, normalised box RL libraries expect), mapped linearly
to orders in ``[0, max_order]`` units; ``max_order`` defaults to 4x the demand rate of the location. Reward: minus the period's cost. Episodes are truncated after ``horizon`` periods.
All randomness flows from ``reset(seed=...)``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch

from pgsuite.apps.inventory.network import location_demand_rate
from pgsuite.apps.inventory.policies import observation_features
from pgsuite.apps.inventory.settings import SettingConfig, build_setting
from pgsuite.apps.inventory.sim import InventorySimulator, Observation


class InventoryEnv(gym.Env):
    """One inventory system; ``setting_kwargs`` are :class:`SettingConfig` fields.

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
        self.simulator = InventorySimulator(self.setting.network)
        self.horizon = horizon
        net = self.setting.network
        self.scale = location_demand_rate(net, self.setting.demand_mean)
        self.max_order = (
            4.0 * self.scale if max_order is None else torch.full_like(self.scale, max_order)
        )
        self.action_space = gym.spaces.Box(-1.0, 1.0, (net.num_locations,), dtype=np.float32)
        size = net.num_locations * (net.max_lead_time + 1)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (size,), dtype=np.float32)

    def _obs(self) -> np.ndarray:
        obs = Observation(self.on_hand, self.pipeline, self.lead_time, self.t)
        return observation_features(obs, self.scale)[0].numpy().astype(np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict | None = None
    ) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        scenario = self.setting.scenarios(
            "train", 1, self.horizon, seed=int(self.np_random.integers(2**31 - 1))
        )
        self.demand, self.on_hand, self.pipeline = (
            scenario.demand,
            scenario.on_hand,
            scenario.pipeline,
        )
        self.lead_time = scenario.lead_time
        self.slots = self.simulator.arrival_slots(scenario.lead_time, scenario.pipeline.shape[-1])
        self.t = 0
        return self._obs(), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        unit = torch.as_tensor(np.clip(action, -1.0, 1.0), dtype=torch.float32)
        orders = (unit + 1.0) / 2.0 * self.max_order
        on_hand, pipeline, flows = self.simulator.step(
            self.on_hand,
            self.pipeline,
            orders.reshape(1, -1),
            self.demand[:, self.t],
            self.slots,
        )
        self.on_hand, self.pipeline = on_hand, pipeline
        self.t += 1
        cost = float(flows.cost[0])
        return self._obs(), -cost, False, self.t >= self.horizon, {"cost": cost}
