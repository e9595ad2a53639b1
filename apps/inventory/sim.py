"""Batched, differentiable inventory simulator.

Timing convention, each period ``t`` (the one under which the dynamic programme in
:mod:`apps.inventory.optimal` reproduces Zipkin's published optima):

1. The shipment sent ``L`` periods ago arrives and joins on-hand stock (state ``on_hand``).
2. The policy observes on-hand stock and the pipeline (``pipeline[..., k]`` arrives at the start of
   period ``t + 1 + k``) and places orders; an order placed at the start of ``t`` arrives at the
   start of ``t + L``.
3. Suppliers ship: an external supplier ships the whole order; a location shipping to others ships
   at most what it holds, allocated in proportion to its customers' orders (feasibility is enforced
   here, never trusted to the policy); a transshipment centre (``Network.ships_everything``) ships
   all it holds, split in proportion to the orders. Policies may also allocate by softmax
   (:class:`apps.inventory.policies.Allocation`), which is feasible by construction.
4. Store demand occurs: lost sales (sales = min(on-hand, demand)) or backlog (on-hand goes negative).
5. Costs on end-of-period stock: holding on positive on-hand, penalty on units short (lost, or
   backlogged at the end of the period), procurement per unit shipped into a location.

Everything is a tensor op over the batch, the locations and the pipeline: no Python loop over
locations or edges, no host synchronisation inside a period, so gradients flow from the cost back
through every order (HDPO's pathwise gradient).

Shapes: ``B`` samples, ``T`` periods, ``N`` locations, ``S`` stores, ``L`` = max lead time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import torch

from pgsuite.apps.inventory.network import Network


@dataclass
class Scenarios:
    """Hindsight scenarios, sampled before simulation.

    Attributes:
        demand: ``[B, T, S]`` store demand per period.
        on_hand: ``[B, N]`` initial on-hand stock.
        pipeline: ``[B, N, L]`` initial shipments in transit.
        lead_time: long ``[B, N]`` lead time per sample and location (1 <= value <= L).
    """

    demand: torch.Tensor
    on_hand: torch.Tensor
    pipeline: torch.Tensor
    lead_time: torch.Tensor

    def __len__(self) -> int:
        return self.demand.shape[0]

    @property
    def periods(self) -> int:
        return self.demand.shape[1]

    def subset(self, index: torch.Tensor) -> Scenarios:
        """The samples ``index`` (long ``[b]``)."""
        return Scenarios(
            self.demand[index], self.on_hand[index], self.pipeline[index], self.lead_time[index]
        )

    def head(self, periods: int) -> Scenarios:
        """The same samples, truncated to the first ``periods`` periods."""
        return replace(self, demand=self.demand[:, :periods])


@dataclass
class Observation:
    """What a policy sees at the start of a period (after arrivals).

    Attributes:
        on_hand: ``[B, N]`` on-hand stock (negative at a store means backlog).
        pipeline: ``[B, N, L]``; slot ``k`` arrives in ``k + 1`` periods (slots ``>= L_i - 1``
            of location ``i`` are empty at this point).
        lead_time: long ``[B, N]``.
        period: index of the current period.
    """

    on_hand: torch.Tensor
    pipeline: torch.Tensor
    lead_time: torch.Tensor
    period: int

    @property
    def inventory_position(self) -> torch.Tensor:
        """``[B, N]`` on-hand plus in-transit stock of each location."""
        return self.on_hand + self.pipeline.sum(-1)


_EQUAL_SPLIT_EPS = 1e-6
"""Units added to every order of a ship-everything location so that zero orders split equally."""

Policy = Callable[[Observation], torch.Tensor]
"""``policy(observation) -> orders [B, N]`` (units each location asks its supplier for)."""


@dataclass
class StepFlows:
    """Flows of one period, ``[B, N]`` (``sales`` and ``short``: ``[B, S]``)."""

    shipped: torch.Tensor
    sales: torch.Tensor
    short: torch.Tensor
    cost: torch.Tensor
    """``[B]`` total cost of the period."""


class InventorySimulator:
    """Simulates a :class:`Network` under a policy; differentiable end to end.

    Args:
        network: topology and costs.
    """

    def __init__(self, network: Network) -> None:
        self.network = network
        self.stores = network.stores
        self.children = (network.upstream >= 0).nonzero().squeeze(-1)
        self.parents = network.upstream[self.children]
        self.has_internal_suppliers = self.children.numel() > 0
        self.ships_everything_children = network.ships_everything[self.parents]
        self.has_transshipment = bool(network.ships_everything.any())

    def arrival_slots(self, lead_time: torch.Tensor, slots: int) -> torch.Tensor:
        """One-hot ``[B, N, slots]`` marking where a shipment sent now lands (slot ``L - 1``)."""
        return torch.nn.functional.one_hot(lead_time - 1, slots).to(torch.float32)

    def _ship(
        self, on_hand: torch.Tensor, orders: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Shipments ``[B, N]`` and supplier stock left.

        A supplier short of stock ships to each customer in proportion to its order; a location
        that ships everything splits all its stock in proportion to the orders (equally when
        nobody orders).
        """
        if not self.has_internal_suppliers:
            return orders, on_hand
        children, parents = self.children, self.parents
        child_orders = orders[:, children]
        available = on_hand.clamp(min=0.0)
        requested = torch.zeros_like(orders).index_add(1, parents, child_orders)
        fill = torch.where(
            requested > available, available / requested.clamp(min=1e-9), torch.ones_like(requested)
        )
        child_shipped = child_orders * fill[:, parents]
        if self.has_transshipment:
            padded = child_orders + _EQUAL_SPLIT_EPS
            padded_total = torch.zeros_like(orders).index_add(1, parents, padded)
            everything = available[:, parents] * padded / padded_total[:, parents]
            child_shipped = torch.where(self.ships_everything_children, everything, child_shipped)
        shipped = orders.index_copy(1, children, child_shipped)
        sent = torch.zeros_like(orders).index_add(1, parents, child_shipped)
        return shipped, on_hand - sent

    def step(
        self,
        on_hand: torch.Tensor,
        pipeline: torch.Tensor,
        orders: torch.Tensor,
        demand: torch.Tensor,
        arrival_slots: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, StepFlows]:
        """Advance one period from the observation point; returns ``(on_hand, pipeline, flows)``
        at the next observation point (after the next arrivals)."""
        net = self.network
        shipped, on_hand = self._ship(on_hand, orders.clamp(min=0.0))
        pipeline = pipeline + arrival_slots * shipped.unsqueeze(-1)
        stock = on_hand[:, self.stores]
        if net.lost_sales:
            sales = torch.minimum(stock.clamp(min=0.0), demand)
            end = stock - sales
            short = demand - sales
        else:
            end = stock - demand
            sales = demand
            short = (-end).clamp(min=0.0)
        on_hand = on_hand.index_copy(1, self.stores, end)
        cost = (
            (net.holding * on_hand.clamp(min=0.0)).sum(-1)
            + (net.penalty[self.stores] * short).sum(-1)
            + (net.procurement * shipped).sum(-1)
        )
        next_on_hand = on_hand + pipeline[..., 0]
        next_pipeline = torch.cat([pipeline[..., 1:], torch.zeros_like(pipeline[..., :1])], dim=-1)
        return next_on_hand, next_pipeline, StepFlows(shipped, sales, short, cost)

    def run(self, policy: Policy, scenarios: Scenarios, round_orders: bool = False) -> torch.Tensor:
        """Simulate every scenario for its full horizon; returns per-period costs ``[B, T]``.

        Args:
            policy: maps an :class:`Observation` to orders ``[B, N]``.
            scenarios: demand traces and initial states.
            round_orders: round orders to integers (evaluation of integer-demand settings).
        """
        on_hand, pipeline = scenarios.on_hand, scenarios.pipeline
        slots = self.arrival_slots(scenarios.lead_time, pipeline.shape[-1])
        costs = []
        for t in range(scenarios.periods):
            orders = policy(Observation(on_hand, pipeline, scenarios.lead_time, t))
            if round_orders:
                orders = orders.round()
            on_hand, pipeline, flows = self.step(
                on_hand, pipeline, orders, scenarios.demand[:, t], slots
            )
            costs.append(flows.cost)
        return torch.stack(costs, dim=1)
