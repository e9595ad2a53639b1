"""The inventory app from Python: build a setting, simulate a policy on it, compare with the optimum.

>>> import torch
>>> from pgsuite.apps.inventory import BaseStockPolicy, make_setting, simulate
>>> setting = make_setting("one_store_backlog", lead_time=4)
>>> policy = BaseStockPolicy(torch.tensor([30.0]))
>>> simulate(setting, policy, samples=64, periods=50).shape
torch.Size([64, 50])
"""

from __future__ import annotations

from typing import Any, Literal

import torch

from pgsuite.apps.inventory.exact import known_optimum
from pgsuite.apps.inventory.settings import Setting, SettingConfig, SettingName, build_setting
from pgsuite.apps.inventory.sim import InventorySimulator, Policy


def make_setting(name: SettingName = "one_store_lost", **options: Any) -> Setting:
    """A benchmark inventory system: ``name`` as ``pgsuite inventory train --setting`` and
    ``options`` any other :class:`SettingConfig` field (``lead_time``, ``penalty``, ``stores``,
    ``demand_csv``, ...); an unknown option is a ``TypeError``."""
    return build_setting(SettingConfig(setting=name, **options))


def simulate(
    setting: Setting,
    policy: Policy,
    samples: int = 1_024,
    periods: int = 100,
    seed: int = 0,
    split: Literal["train", "dev", "test"] = "test",
    round_orders: bool | None = None,
) -> torch.Tensor:
    """Per-period costs ``[samples, periods]`` of ``policy`` on fresh scenarios of ``setting``.

    Differentiable in the policy's parameters (HDPO's pathwise gradient is ``costs.mean()``'s
    gradient), unless orders are rounded: ``round_orders`` defaults to the setting's integer
    demand when no gradient is being recorded, else to no rounding.

    Args:
        setting: from :func:`make_setting`.
        policy: ``policy(observation) -> orders [B, N]``, e.g. a trained HDPO policy or a
            ``BaseStockPolicy``.
        samples, periods: scenarios and their horizon.
        seed: scenario seed (splits draw from disjoint streams).
        split: which demand stream to sample.
        round_orders: round orders to whole units (see above).
    """
    if round_orders is None:
        round_orders = setting.integer_demand and not torch.is_grad_enabled()
    scenarios = setting.scenarios(split, samples, periods, seed)
    return InventorySimulator(setting.network).run(policy, scenarios, round_orders=round_orders)


def optimum(setting: Setting) -> dict[str, float]:
    """The exact optimal cost per period (``optimal_cost``) or a lower bound (``lower_bound``) of
    ``setting`` where one is known, else an empty dict."""
    return known_optimum(setting.config)
