"""Policies: heuristics at their exact optimal levels reproduce the exact costs in simulation; HDPO
tunes a base-stock level to its closed-form optimum; the GNN is equivariant to relabelling stores."""

from __future__ import annotations

import pytest
import torch

from pgsuite.apps.inventory import optimal
from pgsuite.apps.inventory.hdpo import HDPOConfig, HDPORun, TrainConfig, evaluate_cost
from pgsuite.apps.inventory.network import location_demand_rate, one_warehouse
from pgsuite.apps.inventory.policies import Allocation, BaseStockPolicy, GNNPolicy, VanillaPolicy
from pgsuite.apps.inventory.settings import SettingConfig, build_setting
from pgsuite.apps.inventory.sim import Observation
from pgsuite.core.trainer import TrainerConfig


def _long_run_cost(setting_config: SettingConfig, policy) -> dict[str, float]:
    setting = build_setting(setting_config)
    return evaluate_cost(setting, policy, "test", 4_096, 1_500, 300, seed=0)


def test_optimal_backlog_base_stock_matches_closed_form() -> None:
    level, cost = optimal.backlog_base_stock_optimum(5.0, 1.6, 4, 1.0, 9.0)
    simulated = _long_run_cost(
        SettingConfig(setting="one_store_backlog"), BaseStockPolicy(torch.tensor([level]))
    )
    assert abs(simulated["cost"] - cost) < 4 * simulated["cost_se"] + 0.002 * cost  # clipping at 0


def test_dp_policy_and_capped_base_stock_match_exact_lost_sales_costs() -> None:
    setting = SettingConfig(setting="one_store_lost", lead_time=2, penalty=9.0)
    solution = optimal.lost_sales_optimum(5.0, 2, 1.0, 9.0)

    def dp_policy(obs: Observation) -> torch.Tensor:
        states = torch.cat([obs.on_hand, obs.pipeline[:, 0, :1]], dim=1).round().long().numpy()
        return torch.as_tensor(solution.orders(states), dtype=torch.float32).unsqueeze(-1)

    simulated = _long_run_cost(setting, dp_policy)
    assert abs(simulated["cost"] - solution.cost) < 4 * simulated["cost_se"]
    level, cap, capped_cost = optimal.best_capped_base_stock_lost_sales(5.0, 2, 1.0, 9.0)
    policy = BaseStockPolicy(torch.tensor([float(level)]), cap=torch.tensor([float(cap)]))
    simulated = _long_run_cost(setting, policy)
    assert abs(simulated["cost"] - capped_cost) < 4 * simulated["cost_se"]


def test_echelon_base_stock_at_clark_scarf_levels() -> None:
    setting = build_setting(SettingConfig(setting="serial"))
    net = setting.network
    solution = optimal.serial_echelon_optimum(
        5.0, 2.0, net.lead_time.tolist(), net.holding.tolist(), 9.0
    )
    policy = BaseStockPolicy(torch.tensor(solution.levels), network=net, echelon=True)
    simulated = evaluate_cost(setting, policy, "test", 4_096, 1_500, 500, seed=0)
    assert simulated["cost"] == pytest.approx(
        solution.cost, rel=0.01
    )  # demand is clipped at 0 here


def test_hdpo_tunes_base_stock_level_to_the_optimum() -> None:
    level, _ = optimal.backlog_base_stock_optimum(5.0, 1.6, 1, 1.0, 9.0)
    config = TrainConfig(
        SettingConfig(setting="one_store_backlog", lead_time=1),
        HDPOConfig(policy="base_stock", train_samples=4_096, dev_samples=2_048, learning_rate=0.05),
        TrainerConfig(max_steps=300, eval_every=50, metric="cost", progress=False),
    )
    run = HDPORun(config)
    with torch.no_grad():  # the default start (critical fractile) is already optimal for backlog
        run.policy.levels -= 2.0
    run.fit()
    assert abs(run.policy.levels.item() - level) < 0.1


@pytest.mark.parametrize("allocation", ["proportional", "softmax"])
def test_gnn_is_equivariant_to_relabelling_stores(allocation: str) -> None:
    lead, holding, penalty = [2, 3, 2], [1.0, 0.8, 1.2], [9.0, 7.0, 11.0]
    mean = torch.tensor([4.0, 6.0, 3.0])
    net = one_warehouse(lead, holding, penalty, 3, 0.3)
    perm = [2, 0, 1]
    permuted = one_warehouse(
        [lead[i] for i in perm], [holding[i] for i in perm], [penalty[i] for i in perm], 3, 0.3
    )
    torch.manual_seed(0)
    policy = GNNPolicy(net, mean, allocation=allocation)
    policy_permuted = GNNPolicy(permuted, mean[perm], allocation=allocation)
    weights = dict(policy.named_parameters())  # buffers describe each network: keep its own
    policy_permuted.load_state_dict(
        {k: v for k, v in policy.state_dict().items() if k in weights}, strict=False
    )
    obs = Observation(
        torch.rand(5, 4) * 10, torch.rand(5, 4, 3) * 5, net.lead_time.expand(5, -1), 0
    )
    locations = [0] + [1 + i for i in perm]
    obs_permuted = Observation(
        obs.on_hand[:, locations], obs.pipeline[:, locations], permuted.lead_time.expand(5, -1), 0
    )
    torch.testing.assert_close(
        policy(obs)[:, locations], policy_permuted(obs_permuted), rtol=1e-5, atol=1e-5
    )


@pytest.mark.parametrize("allocation", ["proportional", "softmax"])
@pytest.mark.parametrize("policy_name", ["vanilla", "gnn"])
def test_network_policies_start_near_one_period_of_demand(
    policy_name: str, allocation: str
) -> None:
    setting = build_setting(SettingConfig(setting="one_warehouse_lost", stores=3))
    net = setting.network
    cls = VanillaPolicy if policy_name == "vanilla" else GNNPolicy
    policy = cls(net, setting.demand_mean, allocation=allocation)
    scenarios = setting.scenarios("train", 64, 1, 0)
    orders = policy(Observation(scenarios.on_hand, scenarios.pipeline, scenarios.lead_time, 0))
    ratio = orders.mean(0)[net.stores] / setting.demand_mean
    assert ((ratio > 0.3) & (ratio < 3.0)).all()


@pytest.mark.parametrize("name", ["transshipment", "one_warehouse_lost"])
def test_softmax_allocation_prior_splits_in_proportion_to_demand(name: str) -> None:
    setting = build_setting(SettingConfig(setting=name, stores=3))
    net = setting.network
    scale = location_demand_rate(net, setting.demand_mean)
    allocation = Allocation(net, scale, "softmax")
    on_hand = torch.tensor([[12.0, 0.0, 0.0, 0.0]])
    shipped = allocation(torch.zeros(1, 4, 3), on_hand)[0, net.stores]
    mean = setting.demand_mean
    kept = 0.0 if net.ships_everything[0] else 0.5  # a warehouse's own rate = its stores' total
    torch.testing.assert_close(shipped, (1 - kept) * 12.0 * mean / mean.sum())


@pytest.mark.parametrize("name", ["one_warehouse_lost", "transshipment", "serial"])
@pytest.mark.parametrize("policy_name", ["vanilla", "gnn"])
def test_softmax_allocation_ships_at_most_the_supplier_stock(name: str, policy_name: str) -> None:
    setting = build_setting(SettingConfig(setting=name, stores=4))
    net = setting.network
    cls = VanillaPolicy if policy_name == "vanilla" else GNNPolicy
    torch.manual_seed(0)
    policy = cls(net, setting.demand_mean, allocation="softmax")
    with torch.no_grad():  # random logits, so shares are far from equal
        for parameter in policy.parameters():
            parameter.add_(0.3 * torch.randn_like(parameter))
    scenarios = setting.scenarios("train", 256, 1, 0)
    obs = Observation(scenarios.on_hand, scenarios.pipeline, scenarios.lead_time, 0)
    orders = policy(obs)
    assert (orders >= 0).all()
    for k in net.suppliers.tolist():
        sent = orders[:, net.upstream == k].sum(1)
        stock = obs.on_hand[:, k].clamp(min=0)
        if net.ships_everything[k]:
            torch.testing.assert_close(sent, stock)
        else:
            assert (sent <= stock + 1e-4).all()
            assert (sent < stock - 1e-3).any()  # the keep share is used
