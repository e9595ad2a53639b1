"""Inventory policies: a neural network (HDPO's "vanilla" policy) and the classic heuristics.

Every policy is an ``nn.Module`` mapping an :class:`~apps.inventory.sim.Observation` to orders
``[B, N]``; the heuristics' levels are parameters, so the same pathwise loop that trains the
network also tunes them ("best base-stock" = base-stock with HDPO-trained levels).
"""

from __future__ import annotations

import torch
from scipy.stats import norm, poisson
from torch import nn

from apps.inventory.network import Network
from apps.inventory.sim import Observation
from core.nn import MLP, GraphEncoder


def location_demand_rate(network: Network, demand_mean: torch.Tensor) -> torch.Tensor:
    """``[N]`` demand rate each location serves: its store's mean, or the sum of the stores below."""
    store_demand = torch.zeros(network.num_locations)
    store_demand[network.stores] = demand_mean
    return _downstream_matrix(network) @ store_demand


def observation_features(obs: Observation, scale: torch.Tensor) -> torch.Tensor:
    """``[B, N (L + 1)]``: each location's on-hand stock and pipeline over its demand rate."""
    stock = torch.cat([obs.on_hand.unsqueeze(-1), obs.pipeline], dim=-1)
    return (stock / scale[:, None]).flatten(1)


class VanillaPolicy(nn.Module):
    """HDPO's fully connected policy: every location's on-hand stock and pipeline -> all orders.

    Inputs are divided by each location's demand rate; orders are ``softplus(MLP) x rate``, so an
    untrained network orders about one period's demand.

    Args:
        network: the system (its shape fixes the input and output sizes).
        demand_mean: ``[S]`` mean demand per store.
        hidden: hidden layer widths.
    """

    def __init__(
        self, network: Network, demand_mean: torch.Tensor, hidden: tuple[int, ...] = (32, 32, 32)
    ) -> None:
        super().__init__()
        self.register_buffer("scale", location_demand_rate(network, demand_mean))
        n, slots = network.num_locations, network.max_lead_time
        self.mlp = MLP(n * (slots + 1), hidden, n, activation="elu", output_std=0.1)
        with torch.no_grad():  # softplus(0.5413) = 1: start by ordering one period's demand
            self.mlp.net[-1].bias.fill_(0.5413)

    def forward(self, obs: Observation) -> torch.Tensor:
        return nn.functional.softplus(self.mlp(observation_features(obs, self.scale))) * self.scale


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
            self.register_buffer("downstream", _downstream_matrix(network))
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


def _downstream_matrix(network: Network) -> torch.Tensor:
    """``[N, N]`` with ``D[k, j] = 1`` when ``j`` is ``k`` or downstream of ``k``."""
    n = network.num_locations
    matrix = torch.eye(n)
    upstream = network.upstream.tolist()
    for j in range(n):
        k = upstream[j]
        while k >= 0:
            matrix[k, j] = 1.0
            k = upstream[k]
    return matrix


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
    lead time / max lead time, log(1 + holding), log(1 + penalty), store flag. Messages flow both
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
    """

    def __init__(
        self,
        network: Network,
        demand_mean: torch.Tensor,
        hidden: int = 32,
        layers: int = 2,
        conv: str = "gin",
    ) -> None:
        super().__init__()
        self.register_buffer("scale", location_demand_rate(network, demand_mean))
        statics = torch.stack(
            [network.holding.log1p(), network.penalty.log1p(), network.is_store.float()], dim=-1
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
            3 + network.max_lead_time + 1 + 1, hidden, layers, conv, edge_dim=2
        )
        self.head = MLP(hidden, (hidden,), 1, activation="elu", output_std=0.1)
        with torch.no_grad():  # softplus(0.5413) = 1: start by ordering one period's demand
            self.head.net[-1].bias.fill_(0.5413)
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
        raw = self.head(h).reshape(batch, n)
        return nn.functional.softplus(raw) * self.scale
