"""Inventory networks: which location is supplied by which, and what each location costs.

Locations are indexed ``0..N-1``. ``upstream[i]`` is the location that ships to ``i`` or ``-1`` for
an external supplier with ample stock. Locations with ``is_store`` face customer demand (store ``s``
of the demand trace is location ``stores[s]``). The network is a forest (every location has at most
one supplier), which covers single stores, serial lines, one-warehouse-many-stores systems and
transshipment centres (a location that holds no stock and ships everything it receives).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch

from pgsuite.core.errors import ConfigError


@dataclass(frozen=True)
class Network:
    """Static topology and cost parameters; every tensor is ``[N]`` over locations.

    Attributes:
        names: one label per location (e.g. ``"store"``, ``"warehouse"``).
        upstream: long, supplier of each location (``-1``: external supplier).
        lead_time: long, periods between an order (shipment) and its arrival, >= 1.
        holding: cost per unit on hand at the end of a period.
        penalty: cost per unit short at the end of a period (stores; 0 elsewhere).
        procurement: cost per unit shipped into the location (edge cost).
        is_store: bool, faces customer demand.
        lost_sales: unmet store demand is lost (True) or backlogged (False).
        ships_everything: bool, the location holds no stock: each period it ships all it has to
            the locations it supplies (a transshipment centre); ``None``: no such location.
    """

    names: tuple[str, ...]
    upstream: torch.Tensor
    lead_time: torch.Tensor
    holding: torch.Tensor
    penalty: torch.Tensor
    procurement: torch.Tensor
    is_store: torch.Tensor
    lost_sales: bool
    ships_everything: torch.Tensor | None = None

    def __post_init__(self) -> None:
        n = len(self.names)
        if self.ships_everything is None:
            object.__setattr__(self, "ships_everything", torch.zeros(n, dtype=torch.bool))
        names = ("upstream", "lead_time", "holding", "penalty", "procurement", "is_store")
        for name in (*names, "ships_everything"):
            if getattr(self, name).shape != (n,):
                raise ConfigError(f"network.{name} must have shape [{n}]")
        if (self.lead_time < 1).any():
            raise ConfigError(f"lead times must be >= 1 period, got {self.lead_time.tolist()}")
        if (self.holding < 0).any() or (self.procurement < 0).any():
            raise ConfigError("holding and procurement costs must be >= 0")
        if (self.penalty[self.is_store] <= 0).any():
            raise ConfigError(f"store penalty costs must be > 0, got {self.penalty.tolist()}")
        if not self.is_store.any():
            raise ConfigError("a network needs at least one store")
        if ((self.upstream < -1) | (self.upstream >= n) | (self.upstream == torch.arange(n))).any():
            raise ConfigError(f"invalid upstream indices {self.upstream.tolist()}")
        if self.is_store[self.upstream[self.upstream >= 0]].any():
            raise ConfigError("a store cannot supply another location")
        suppliers = torch.zeros(n, dtype=torch.bool)
        suppliers[self.upstream[self.upstream >= 0]] = True
        if (self.ships_everything & ~suppliers).any():
            raise ConfigError("a location that ships everything must supply other locations")

    @property
    def num_locations(self) -> int:
        return len(self.names)

    @property
    def stores(self) -> torch.Tensor:
        """long ``[S]``: location index of each store (demand column order)."""
        return self.is_store.nonzero().squeeze(-1)

    @property
    def max_lead_time(self) -> int:
        return int(self.lead_time.max())

    @property
    def suppliers(self) -> torch.Tensor:
        """long ``[P]``: locations that ship to other locations, in increasing order."""
        return self.upstream[self.upstream >= 0].unique()

    @property
    def edge_index(self) -> torch.Tensor:
        """long ``[2, E]`` supply edges (upstream -> location) between locations."""
        child = (self.upstream >= 0).nonzero().squeeze(-1)
        return torch.stack([self.upstream[child], child])


def _tensor(values: list[float] | list[int], dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.tensor(values, dtype=dtype)


def single_store(lead_time: int, holding: float, penalty: float, lost_sales: bool) -> Network:
    """One store supplied by an external supplier."""
    return Network(
        names=("store",),
        upstream=_tensor([-1], torch.long),
        lead_time=_tensor([lead_time], torch.long),
        holding=_tensor([holding]),
        penalty=_tensor([penalty]),
        procurement=_tensor([0.0]),
        is_store=_tensor([True], torch.bool),
        lost_sales=lost_sales,
    )


def serial_line(lead_times: list[int], holding: list[float], penalty: float) -> Network:
    """A serial line, store first: location ``k`` is supplied by ``k + 1``; the last stage by an
    external supplier. Backlogged store demand."""
    stages = len(lead_times)
    if len(holding) != stages or stages < 1:
        raise ConfigError("serial line needs one lead time and one holding cost per stage")
    upstream = [*range(1, stages), -1]
    return Network(
        names=("store", *(f"stage{k}" for k in range(1, stages))),
        upstream=_tensor(upstream, torch.long),
        lead_time=_tensor(lead_times, torch.long),
        holding=_tensor(holding),
        penalty=_tensor([penalty] + [0.0] * (stages - 1)),
        procurement=_tensor([0.0] * stages),
        is_store=_tensor([True] + [False] * (stages - 1), torch.bool),
        lost_sales=False,
    )


def one_warehouse(
    store_lead_times: list[int],
    store_holding: list[float],
    store_penalty: list[float],
    warehouse_lead_time: int,
    warehouse_holding: float,
    lost_sales: bool = True,
) -> Network:
    """Warehouse (location 0, supplied externally) shipping to ``n`` stores (locations 1..n)."""
    n = len(store_lead_times)
    return Network(
        names=("warehouse", *(f"store{s}" for s in range(1, n + 1))),
        upstream=_tensor([-1] + [0] * n, torch.long),
        lead_time=_tensor([warehouse_lead_time, *store_lead_times], torch.long),
        holding=_tensor([warehouse_holding, *store_holding]),
        penalty=_tensor([0.0, *store_penalty]),
        procurement=_tensor([0.0] * (n + 1)),
        is_store=_tensor([False] + [True] * n, torch.bool),
        lost_sales=lost_sales,
    )


def transshipment_centre(
    store_lead_times: list[int],
    store_holding: list[float],
    store_penalty: list[float],
    centre_lead_time: int,
    centre_holding: float,
) -> Network:
    """A centre (location 0, supplied externally) that holds no stock and ships everything it
    receives to ``n`` stores (locations 1..n) with backlogged demand."""
    network = one_warehouse(
        store_lead_times,
        store_holding,
        store_penalty,
        centre_lead_time,
        centre_holding,
        lost_sales=False,
    )
    ships = torch.zeros(network.num_locations, dtype=torch.bool)
    ships[0] = True
    return replace(network, names=("centre", *network.names[1:]), ships_everything=ships)


def downstream_matrix(network: Network) -> torch.Tensor:
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


def location_demand_rate(network: Network, demand_mean: torch.Tensor) -> torch.Tensor:
    """``[N]`` demand rate each location serves: its store's mean, or the sum of the stores below."""
    store_demand = torch.zeros(network.num_locations)
    store_demand[network.stores] = demand_mean
    return downstream_matrix(network) @ store_demand
