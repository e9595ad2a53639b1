"""The exact optimal average cost of a setting, where the field knows it.

- ``one_store_lost``: dynamic programming (:func:`apps.inventory.optimal.lost_sales_optimum`), L <= 4;
- ``one_store_backlog``: the optimal base-stock level in closed form;
- ``serial``: echelon base-stock levels by the Clark-Scarf recursion;
- ``transshipment``: no optimum known; ``lower_bound`` from the centralised relaxation.

Other settings (and recorded demand) have no known optimum: the result is empty.
"""

from __future__ import annotations

from pgsuite.apps.inventory import optimal
from pgsuite.apps.inventory.settings import SettingConfig, build_setting


def known_optimum(setting_config: SettingConfig) -> dict[str, float]:
    """The exact optimal average cost of a setting where the field knows it (``optimal_cost``),
    else a lower bound where one is known (``lower_bound``), else empty."""
    setting = build_setting(setting_config)
    net = setting.network
    if setting_config.demand_csv is not None:
        return {}
    store = int(net.stores[0])
    lead, holding, penalty = (
        int(net.lead_time[store]),
        float(net.holding[store]),
        float(net.penalty[store]),
    )
    mean = float(setting.demand_mean[0])
    if setting_config.setting == "one_store_lost":
        if lead > 4:
            return {}
        solution = optimal.lost_sales_optimum(mean, lead, holding, penalty)
        return {"optimal_cost": solution.cost}
    if setting_config.setting == "one_store_backlog":
        level, cost = optimal.backlog_base_stock_optimum(
            mean, float(setting.demand_std[0]), lead, holding, penalty
        )
        return {"optimal_cost": cost, "optimal_level": level}
    if setting_config.setting == "serial":
        solution = optimal.serial_echelon_optimum(
            mean,
            float(setting.demand_std[0]),
            net.lead_time.tolist(),
            net.holding.tolist(),
            penalty,
        )
        return {"optimal_cost": solution.cost}
    if setting_config.setting == "transshipment":
        sampler = setting.samplers["test"]
        _, bound = optimal.transshipment_lower_bound(
            setting.demand_mean.tolist(),
            setting.demand_std.tolist(),
            sampler.correlation,
            lead,
            int(net.lead_time[0]),
            holding,
            penalty,
        )
        return {"lower_bound": bound}
    return {}


def gap_to_reference(setting_config: SettingConfig, test_cost: float) -> dict[str, float]:
    """The setting's optimum (``optimal_cost``) or else lower bound (``lower_bound``), and
    ``gap_pct``: how far ``test_cost`` lies above it, in percent; empty when neither is known."""
    known = known_optimum(setting_config)
    for key in ("optimal_cost", "lower_bound"):
        if key in known:
            return {key: known[key], "gap_pct": 100 * (test_cost / known[key] - 1)}
    return {}
