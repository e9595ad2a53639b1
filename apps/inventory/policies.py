"""Inventory policies: a neural network (HDPO's "vanilla" policy) and the classic heuristics.

Every policy is an ``nn.Module`` mapping an :class:`~pgsuite.apps.inventory.sim.Observation` to orders
``[B, N]``; the heuristics' levels are parameters, so the same pathwise loop that trains the
network also tunes them ("best base-stock" = base-stock with HDPO-trained levels).
"""

from __future__ import annotations

from typing import Literal

import torch
from scipy.stats import norm, poisson
from torch import nn
from torch_geometric.utils import softmax as grouped_softmax

from pgsuite.apps.inventory.network import Network, downstream_matrix, location_demand_rate
from pgsuite.apps.inventory.sim import Observation
from pgsuite.core.nn import MLP, GraphEncoder


def observation_features(obs: Observation, scale: torch.Tensor) -> torch.Tensor:
    """``[B, N (L + 1)]``: each location's on-hand stock and pipeline over its demand rate."""
    stock = torch.cat([obs.on_hand.unsqueeze(-1), obs.pipeline], dim=-1)
    return (stock / scale[:, None]).flatten(1)


AllocationName = Literal["proportional", "softmax"]


class Allocation(nn.Module):
    """Turns a policy's raw outputs into orders ``[B, N]``, in one of two ways.

    - ``proportional``: one output per location, ``order = softplus(raw) x demand rate``; a
      supplier short of stock rations in proportion to the orders (done by the simulator).
    - ``softmax`` (HDPO's warehouse policy): three outputs per location (order, share logit, keep
      logit). Externally supplied locations order ``softplus(raw) x rate``; a supplier splits its
      on-hand stock over its customers and itself (the keep share) by a softmax of the customers'
      share logits and its own keep logit, so shipments are feasible by construction. A location
      that ships everything has no keep share. Each logit is offset by the log of the demand rate
      its location serves, so raw outputs of 0 split stock in proportion to demand (a warehouse
      then keeps half): an untrained policy neither starves a store nor floods one, which an
      equal split does when store demands differ (training from it can diverge to a policy that
      orders nothing).

    Args:
        network: the system.
        scale: ``[N]`` demand rate served by each location.
        kind: ``proportional`` or ``softmax``.
    """

    def __init__(self, network: Network, scale: torch.Tensor, kind: AllocationName) -> None:
        super().__init__()
        if kind not in ("proportional", "softmax"):
            raise ValueError(f"allocation must be proportional or softmax, got {kind!r}")
        self.kind = kind
        self.register_buffer("scale", scale)
        children = (network.upstream >= 0).nonzero().squeeze(-1)
        suppliers = network.suppliers
        keepers = suppliers[~network.ships_everything[suppliers]]
        self.register_buffer("child_index", children)
        self.register_buffer("parent_index", network.upstream[children])
        self.register_buffer("keeper_index", keepers)
        self.register_buffer("groups", torch.cat([network.upstream[children], keepers]))
        sharers = torch.cat([children, keepers])  # the location behind each logit
        self.register_buffer("logit_offset", scale[sharers].clamp(min=1e-6).log())
        self.num_locations = network.num_locations
        self.uses_softmax = kind == "softmax" and children.numel() > 0

    @property
    def outputs_per_location(self) -> int:
        return 3 if self.kind == "softmax" else 1

    def forward(self, raw: torch.Tensor, on_hand: torch.Tensor) -> torch.Tensor:
        """``raw``: ``[B, N, outputs_per_location]``; ``on_hand``: ``[B, N]``."""
        orders = nn.functional.softplus(raw[..., 0]) * self.scale
        if not self.uses_softmax:
            return orders
        children = self.child_index
        logits = torch.cat([raw[:, children, 1], raw[:, self.keeper_index, 2]], dim=1)
        logits = logits + self.logit_offset
        shares = grouped_softmax(logits, self.groups, num_nodes=self.num_locations, dim=1)
        stock = on_hand[:, self.parent_index].clamp(min=0.0)
        return orders.index_copy(1, children, shares[:, : children.numel()] * stock)


class VanillaPolicy(nn.Module):
    """HDPO's fully connected policy: every location's on-hand stock and pipeline -> all orders.

    Inputs are divided by each location's demand rate; orders are ``softplus(MLP) x rate``, so an
    untrained network orders about one period's demand; suppliers allocate proportionally or by
    softmax (:class:`Allocation`).

    Args:
        network: the system (its shape fixes the input and output sizes).
        demand_mean: ``[S]`` mean demand per store.
        hidden: hidden layer widths.
        allocation: ``proportional`` or ``softmax``.
    """

    def __init__(
        self,
        network: Network,
        demand_mean: torch.Tensor,
        hidden: tuple[int, ...] = (32, 32, 32),
        allocation: AllocationName = "proportional",
    ) -> None:
        super().__init__()
        self.register_buffer("scale", location_demand_rate(network, demand_mean))
        self.allocation = Allocation(network, self.scale, allocation)
        n, slots = network.num_locations, network.max_lead_time
        self.outputs = self.allocation.outputs_per_location
        self.mlp = MLP(n * (slots + 1), hidden, n * self.outputs, activation="elu", output_std=0.1)
        _start_at_one_period_of_demand(self.mlp, self.outputs)

    def forward(self, obs: Observation) -> torch.Tensor:
        raw = self.mlp(observation_features(obs, self.scale))
        return self.allocation(raw.unflatten(1, (-1, self.outputs)), obs.on_hand)


def _start_at_one_period_of_demand(mlp: MLP, outputs: int) -> None:
    """Set the order outputs' bias to softplus^-1(1) = 0.5413: an untrained policy orders about
    one period's demand (the allocation logits start at 0: shares in proportion to demand)."""
    with torch.no_grad():
        bias = mlp.net[-1].bias.view(-1, outputs)
        bias[:, 0] = 0.5413


class BaseStockPolicy(nn.Module):
    """Order up to level ``S_i``: ``order_i = (S_i - inventory position_i)^+``, optionally capped.

    With ``echelon=True`` the position is the echelon position (the location's stock plus all stock
    downstream of it, backlog counted negative), giving the echelon base-stock policy that is
    optimal for serial systems (Clark-Scarf).

    Args:
        levels: ``[N]`` initial base-stock levels.
        cap: ``[N]`` initial order caps, or ``None`` for no cap (capped base-stock otherwise).
        network: needed for echelon positions.
        echelon: use echelon rather than installation inventory positions.
    """

    def __init__(
        self,
        levels: torch.Tensor,
        cap: torch.Tensor | None = None,
        network: Network | None = None,
        echelon: bool = False,
    ) -> None:
        super().__init__()
        self.levels = nn.Parameter(levels.clone().float())
        self.cap = nn.Parameter(cap.clone().float()) if cap is not None else None
        if echelon:
            if network is None:
                raise ValueError("echelon base-stock needs the network")
            self.register_buffer("downstream", downstream_matrix(network))
        else:
            self.downstream = None

    def forward(self, obs: Observation) -> torch.Tensor:
        position = obs.inventory_position
        if self.downstream is not None:
            position = position @ self.downstream.T
        orders = (self.levels - position).clamp(min=0.0)
        if self.cap is not None:
            orders = torch.minimum(orders, self.cap.clamp(min=0.0))
        return orders


def newsvendor_levels(
    network: Network, demand_mean: torch.Tensor, demand_std: torch.Tensor, integer: bool
) -> torch.Tensor:
    """Store base-stock levels at the critical fractile ``p / (p + h)`` of demand over ``L + 1``
    periods (Poisson for integer demand, normal otherwise): the classic newsvendor heuristic.

    Returns ``[N]`` levels (non-store locations get their downstream demand over ``L + 1`` periods).
    """
    levels = torch.zeros(network.num_locations)
    stores = network.stores
    ratio = network.penalty[stores] / (network.penalty[stores] + network.holding[stores])
    periods = network.lead_time[stores].float() + 1.0
    if integer:
        levels[stores] = torch.tensor(
            poisson.ppf(ratio.numpy(), (demand_mean * periods).numpy()), dtype=torch.float32
        )
    else:
        z = torch.tensor(norm.ppf(ratio.numpy()), dtype=torch.float32)
        levels[stores] = demand_mean * periods + z * demand_std * periods.sqrt()
    others = ~network.is_store
    scale = location_demand_rate(network, demand_mean)
    levels[others] = scale[others] * (network.lead_time[others].float() + 1.0)
    return levels


class GNNPolicy(nn.Module):
    """A graph neural network over the supply graph: one order per location from its embedding.

    Node features (per sample): on-hand stock and pipeline divided by the location's demand rate,
    lead time / max lead time, log(1 + holding), log(1 + penalty), store and ships-everything flags. Messages flow both
    ways along every supply edge; edge features are the direction and the edge's lead time. The
    batch of ``B`` copies of the graph is one disjoint union built from a fixed edge index (cached
    per batch size), so a forward pass is a few tensor ops whatever the number of locations.
    Weights are shared by all locations, so the same policy runs on networks of any size.

    Args:
        network: the system.
        demand_mean: ``[S]`` mean demand per store.
        hidden: embedding width.
        layers: message-passing rounds.
        conv: ``"gin"`` (GINE with edge features) or ``"gat"`` (GATv2).
        allocation: ``proportional`` or ``softmax`` (:class:`Allocation`).
    """

    def __init__(
        self,
        network: Network,
        demand_mean: torch.Tensor,
        hidden: int = 32,
        layers: int = 2,
        conv: str = "gin",
        allocation: AllocationName = "proportional",
    ) -> None:
        super().__init__()
        self.register_buffer("scale", location_demand_rate(network, demand_mean))
        self.allocation = Allocation(network, self.scale, allocation)
        statics = torch.stack(
            [
                network.holding.log1p(),
                network.penalty.log1p(),
                network.is_store.float(),
                network.ships_everything.float(),
            ],
            dim=-1,
        )
        self.register_buffer("statics", statics)
        edges = network.edge_index
        both_ways = torch.cat([edges, edges.flip(0)], dim=1)
        self.register_buffer("edges", both_ways)
        self.register_buffer("edge_child", torch.cat([edges[1], edges[1]]))
        self.register_buffer(
            "edge_direction", torch.cat([torch.zeros(edges.shape[1]), torch.ones(edges.shape[1])])
        )
        self.max_lead_time = network.max_lead_time
        self.num_locations = network.num_locations
        self.encoder = GraphEncoder(
            4 + network.max_lead_time + 1 + 1, hidden, layers, conv, edge_dim=2
        )
        outputs = self.allocation.outputs_per_location
        self.head = MLP(hidden, (hidden,), outputs, activation="elu", output_std=0.1)
        _start_at_one_period_of_demand(self.head, outputs)
        self._batched_edges: dict[int, torch.Tensor] = {}

    def _edge_index(self, batch: int) -> torch.Tensor:
        if batch not in self._batched_edges:
            offsets = torch.arange(batch, device=self.edges.device) * self.num_locations
            self._batched_edges = {
                batch: (self.edges.unsqueeze(0) + offsets[:, None, None])
                .permute(1, 0, 2)
                .reshape(2, -1)
            }
        return self._batched_edges[batch]

    def forward(self, obs: Observation) -> torch.Tensor:
        batch, n = obs.on_hand.shape
        lead = obs.lead_time.float() / self.max_lead_time
        stock = torch.cat([obs.on_hand.unsqueeze(-1), obs.pipeline], dim=-1) / self.scale[:, None]
        x = torch.cat([stock, lead.unsqueeze(-1), self.statics.expand(batch, n, -1)], dim=-1)
        edge_attr = torch.stack(
            [self.edge_direction.expand(batch, -1), lead[:, self.edge_child]], dim=-1
        ).reshape(-1, 2)
        h = self.encoder(x.reshape(batch * n, -1), self._edge_index(batch), edge_attr)
        return self.allocation(self.head(h).reshape(batch, n, -1), obs.on_hand)
