"""Simulator: units are conserved, feasibility is enforced, gradients are exact."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from pgsuite.apps.inventory.settings import SettingConfig, build_setting
from pgsuite.apps.inventory.sim import InventorySimulator, Observation

SETTINGS = ["one_store_backlog", "one_store_lost", "serial", "one_warehouse_lost", "transshipment"]


def _random_run(name: str, seed: int, samples: int = 64, periods: int = 12, **kw):
    setting = build_setting(SettingConfig(setting=name, **kw))
    scenarios = setting.scenarios("train", samples, periods, seed)
    simulator = InventorySimulator(setting.network)
    generator = torch.Generator().manual_seed(seed)
    scale = 2.5 * setting.demand_mean.sum()
    return setting, scenarios, simulator, generator, scale


@settings(max_examples=25, deadline=None)
@given(
    name=st.sampled_from(SETTINGS),
    seed=st.integers(0, 10_000),
    lead_time=st.integers(1, 5),
    stores=st.integers(1, 6),
)
def test_units_are_conserved_and_feasible(
    name: str, seed: int, lead_time: int, stores: int
) -> None:
    setting, scenarios, simulator, generator, scale = _random_run(
        name, seed, lead_time=lead_time, stores=stores
    )
    net = setting.network
    on_hand, pipeline = scenarios.on_hand, scenarios.pipeline
    slots = simulator.arrival_slots(scenarios.lead_time, pipeline.shape[-1])
    external = net.upstream < 0
    for t in range(scenarios.periods):
        orders = torch.rand(len(scenarios), net.num_locations, generator=generator) * scale
        before = on_hand.sum(1) + pipeline.sum((1, 2))
        supplier_on_hand = on_hand.clamp(min=0)
        next_on_hand, next_pipeline, flows = simulator.step(
            on_hand, pipeline, orders, scenarios.demand[:, t], slots
        )
        after = next_on_hand.sum(1) + next_pipeline.sum((1, 2))
        inflow = flows.shipped[:, external].sum(1)
        outflow = flows.sales.sum(1)
        torch.testing.assert_close(after, before + inflow - outflow, rtol=1e-5, atol=1e-3)
        rationed = ~net.ships_everything[net.upstream.clamp(min=0)] | external
        assert (flows.shipped[:, rationed] <= orders[:, rationed] + 1e-4).all()
        assert (flows.shipped >= 0).all()
        for k in (~net.is_store).nonzero().squeeze(-1).tolist():
            sent = flows.shipped[:, net.upstream == k].sum(1)
            assert (sent <= supplier_on_hand[:, k] + 1e-3).all()
            if net.ships_everything[k]:  # a transshipment centre keeps nothing
                torch.testing.assert_close(sent, supplier_on_hand[:, k], rtol=1e-5, atol=1e-3)
        if net.lost_sales:
            assert (next_on_hand >= -1e-5).all()
        assert (next_on_hand[:, ~net.is_store] >= -1e-4).all()
        on_hand, pipeline = next_on_hand, next_pipeline


def test_order_arrives_after_exactly_lead_time_periods() -> None:
    setting = build_setting(SettingConfig(setting="one_store_lost", lead_time=3))
    scenarios = setting.scenarios("train", 1, 6, 0)
    scenarios.demand.zero_()
    scenarios.on_hand.zero_()
    scenarios.pipeline.zero_()
    simulator = InventorySimulator(setting.network)
    seen = []

    def policy(obs: Observation) -> torch.Tensor:
        seen.append(float(obs.on_hand[0, 0]))
        return torch.full((1, 1), 7.0 if obs.period == 0 else 0.0)

    simulator.run(policy, scenarios)
    assert seen == [0.0, 0.0, 0.0, 7.0, 7.0, 7.0]


def test_costs_follow_the_timing_convention() -> None:
    """Backlog, one period: holding on end stock, penalty on end backlog."""
    setting = build_setting(SettingConfig(setting="one_store_backlog", lead_time=1, penalty=9.0))
    simulator = InventorySimulator(setting.network)
    on_hand = torch.tensor([[10.0], [3.0]])
    pipeline = torch.zeros(2, 1, 1)
    slots = simulator.arrival_slots(torch.ones(2, 1, dtype=torch.long), 1)
    demand = torch.tensor([[4.0], [5.0]])
    next_on_hand, _, flows = simulator.step(
        on_hand, pipeline, torch.tensor([[2.0], [1.0]]), demand, slots
    )
    torch.testing.assert_close(flows.cost, torch.tensor([6.0 * 1.0, 2.0 * 9.0]))
    torch.testing.assert_close(next_on_hand, torch.tensor([[8.0], [-1.0]]))


def test_warehouse_allocates_proportionally_when_short() -> None:
    setting = build_setting(SettingConfig(setting="one_warehouse_lost", stores=2))
    simulator = InventorySimulator(setting.network)
    on_hand = torch.tensor([[6.0, 0.0, 0.0]])
    orders = torch.tensor([[0.0, 3.0, 9.0]])
    shipped, left = simulator._ship(on_hand, orders)
    torch.testing.assert_close(shipped, torch.tensor([[0.0, 1.5, 4.5]]))
    torch.testing.assert_close(left, torch.tensor([[0.0, 0.0, 0.0]]))


def test_transshipment_centre_splits_everything_by_orders_or_equally() -> None:
    setting = build_setting(SettingConfig(setting="transshipment", stores=2))
    simulator = InventorySimulator(setting.network)
    on_hand = torch.tensor([[6.0, 0.0, 0.0], [6.0, 0.0, 0.0]])
    orders = torch.tensor([[0.0, 1.0, 2.0], [0.0, 0.0, 0.0]])
    shipped, left = simulator._ship(on_hand, orders)
    torch.testing.assert_close(shipped, torch.tensor([[0.0, 2.0, 4.0], [0.0, 3.0, 3.0]]))
    torch.testing.assert_close(left, torch.zeros(2, 3))


@pytest.mark.parametrize("name", SETTINGS)
def test_cost_gradient_matches_finite_differences(name: str) -> None:
    setting = build_setting(SettingConfig(setting=name, stores=2))
    scenarios = setting.scenarios("train", 3, 5, 1)
    scenarios.demand = scenarios.demand.double()
    scenarios.on_hand = scenarios.on_hand.double()
    scenarios.pipeline = scenarios.pipeline.double()
    simulator = InventorySimulator(setting.network)
    n = setting.network.num_locations
    orders = (
        torch.rand(3, 5, n, generator=torch.Generator().manual_seed(2), dtype=torch.float64) * 8
    ).requires_grad_()

    def total_cost(open_loop: torch.Tensor) -> torch.Tensor:
        return simulator.run(lambda obs: open_loop[:, obs.period], scenarios).sum()

    assert torch.autograd.gradcheck(total_cost, (orders,), eps=1e-6, atol=1e-5)
