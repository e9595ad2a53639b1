"""The benchmark settings of the HDPO paper, as named, validated, seeded configurations.

| setting | network | demand | defaults |
|---|---|---|---|
| ``one_store_backlog`` | one store, backlog | Normal(5, 1.6) clipped at 0 | L=4, h=1, p=9 |
| ``one_store_lost`` | one store, lost sales (Zipkin's 16 instances) | Poisson(5) | L=2, h=1, p=4 |
| ``serial`` | 4 stages, backlog at the store | Normal(5, 2) | L=4,3,2,4; h=1,.5,.2,.1; p=9 |
| ``one_warehouse_lost`` | warehouse + n stores, lost sales | correlated normals (rho 0.5) | see below |
| ``transshipment`` | centre (no stock) + n stores, backlog | correlated normals, unclipped | see below |

For ``one_warehouse_lost`` the store parameters are drawn once per instance (``instance_seed``):
mean U[2.5, 7.5], coefficient of variation U[0.25, 0.5], h ~ U[0.7, 1.3], p ~ U[6.3, 11.7],
lead time 2 or 3; the warehouse has h = 0.3 and lead time 3. ``transshipment`` draws the store
means and CVs the same way, with h = 1, p = 9 (``penalty``), store lead time 2 (``lead_time``; the
reference uses 2 or 6), and a centre with h = 0.5 and lead time 3 that holds no stock. ``demand_csv`` replaces the
sampled demand with recorded traces (columns ``period, location, demand``), split by period into
train/dev/test.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch

from pgsuite.apps.inventory.demand import (
    NormalDemand,
    PoissonDemand,
    TraceDemand,
    load_demand_csv,
    split_by_period,
)
from pgsuite.apps.inventory.network import (
    Network,
    location_demand_rate,
    one_warehouse,
    serial_line,
    single_store,
    transshipment_centre,
)
from pgsuite.apps.inventory.sim import Scenarios
from pgsuite.core.errors import ConfigError, DataError

SettingName = Literal[
    "one_store_backlog", "one_store_lost", "serial", "one_warehouse_lost", "transshipment"
]
Split = Literal["train", "dev", "test"]
_SPLIT_SEED_OFFSET = {"train": 0, "dev": 1_000_003, "test": 2_000_003}


@dataclass
class SettingConfig:
    """Which inventory system to optimise."""

    setting: SettingName = "one_store_lost"
    """Benchmark setting: one_store_backlog, one_store_lost, serial, one_warehouse_lost or
    transshipment."""
    lead_time: int | None = None
    """Store lead time in periods (default: 4 backlog, 2 lost sales, 4 serial)."""
    penalty: float | None = None
    """Store penalty per unit short (default: 9 backlog and serial, 4 lost sales)."""
    holding: float = 1.0
    """Store holding cost per unit and period (one-store settings)."""
    demand_mean: float = 5.0
    """Mean demand per period (one-store and serial settings)."""
    demand_std: float | None = None
    """Demand standard deviation (normal demand; default 1.6 one store, 2 serial)."""
    stores: int = 3
    """Number of stores (one_warehouse_lost, transshipment)."""
    demand_csv: Path | None = None
    """Recorded demand (columns period, location, demand) instead of sampled demand."""
    instance_seed: int = 0
    """Seed of the randomly drawn store parameters (one_warehouse_lost, transshipment)."""

    def __post_init__(self) -> None:
        if self.lead_time is not None and self.lead_time < 1:
            raise ConfigError(f"lead time must be >= 1 period, got {self.lead_time}")
        if self.penalty is not None and self.penalty <= 0:
            raise ConfigError(f"penalty must be > 0, got {self.penalty}")
        if self.holding < 0:
            raise ConfigError(f"holding cost must be >= 0, got {self.holding}")
        if self.demand_mean <= 0:
            raise ConfigError(f"demand mean must be > 0, got {self.demand_mean}")
        if self.demand_std is not None and self.demand_std < 0:
            raise ConfigError(f"demand std must be >= 0, got {self.demand_std}")
        if self.stores < 1:
            raise ConfigError(f"stores must be >= 1, got {self.stores}")


@dataclass
class Setting:
    """A built setting: the network and a demand sampler per split."""

    config: SettingConfig
    network: Network
    samplers: dict[str, NormalDemand | PoissonDemand | TraceDemand]
    """Demand sampler per split (the same object for all three unless traces are split)."""
    demand_mean: torch.Tensor
    """``[S]`` mean demand per store (policy features, initial stock)."""
    demand_std: torch.Tensor
    """``[S]`` demand standard deviation per store."""

    @property
    def integer_demand(self) -> bool:
        """Integer-valued demand: orders are rounded at evaluation."""
        return self.samplers["test"].integer

    def scenarios(self, split: Split, samples: int, periods: int, seed: int) -> Scenarios:
        """Sample ``samples`` hindsight scenarios of ``periods`` periods for ``split``.

        Splits use disjoint seed streams, so dev and test never share demand with train. The
        initial state is drawn around the steady state of a system that orders what it sells: each
        location's on-hand stock and each in-transit slot within its lead time are uniform on
        ``[0, 2 x the demand rate it serves]`` (one period's demand on average), so training sees
        the states a good policy lives in from the first period on; the warm-up periods excluded
        from reported costs wash out what remains of the initial state.
        """
        generator = torch.Generator().manual_seed(seed + _SPLIT_SEED_OFFSET[split])
        net = self.network
        demand = self.samplers[split].sample(samples, periods, generator)
        rate = location_demand_rate(net, self.demand_mean)
        on_hand = torch.rand(samples, net.num_locations, generator=generator) * 2 * rate
        lead_time = net.lead_time.expand(samples, -1).clone()
        in_lead_time = torch.arange(net.max_lead_time) < lead_time[..., None]
        pipeline = torch.rand(samples, net.num_locations, net.max_lead_time, generator=generator)
        pipeline = pipeline * 2 * rate[:, None] * in_lead_time
        return Scenarios(demand, on_hand, pipeline, lead_time)


def build_setting(config: SettingConfig) -> Setting:
    """Build the network and demand samplers of a :class:`SettingConfig`."""
    name = config.setting
    if name == "one_store_backlog":
        lead = config.lead_time or 4
        network = single_store(lead, config.holding, config.penalty or 9.0, lost_sales=False)
        mean = torch.tensor([config.demand_mean])
        std = torch.tensor([config.demand_std if config.demand_std is not None else 1.6])
        sampler = NormalDemand(mean, std)
    elif name == "one_store_lost":
        lead = config.lead_time or 2
        network = single_store(lead, config.holding, config.penalty or 4.0, lost_sales=True)
        mean = torch.tensor([config.demand_mean])
        std = mean.sqrt()
        sampler = PoissonDemand(mean)
    elif name == "serial":
        store_lead = config.lead_time or 4
        network = serial_line(
            [store_lead, 3, 2, 4], [config.holding, 0.5, 0.2, 0.1], config.penalty or 9.0
        )
        mean = torch.tensor([config.demand_mean])
        std = torch.tensor([config.demand_std if config.demand_std is not None else 2.0])
        sampler = NormalDemand(mean, std)
    elif name in ("one_warehouse_lost", "transshipment"):
        g = torch.Generator().manual_seed(config.instance_seed)
        n = config.stores

        def uniform(low: float, high: float) -> torch.Tensor:
            return low + (high - low) * torch.rand(n, generator=g)

        mean = uniform(2.5, 7.5)
        std = mean * uniform(0.25, 0.5)
        if name == "one_warehouse_lost":
            store_lead = torch.randint(2, 4, (n,), generator=g).tolist()
            if config.lead_time is not None:
                store_lead = [config.lead_time] * n
            penalty = [config.penalty] * n if config.penalty else uniform(6.3, 11.7).tolist()
            network = one_warehouse(store_lead, uniform(0.7, 1.3).tolist(), penalty, 3, 0.3)
            sampler = NormalDemand(mean, std, correlation=0.5)
        else:
            network = transshipment_centre(
                [config.lead_time or 2] * n,
                [config.holding] * n,
                [config.penalty or 9.0] * n,
                3,
                0.5,
            )
            sampler = NormalDemand(mean, std, correlation=0.5, clip=False)
    else:
        raise ConfigError(f"unknown setting {name!r}")
    samplers = {"train": sampler, "dev": sampler, "test": sampler}
    if config.demand_csv is not None:
        samplers, mean, std = _trace_samplers(config.demand_csv, network)
    return Setting(config, network, samplers, mean, std)


def _trace_samplers(path: Path, network: Network) -> tuple[dict, torch.Tensor, torch.Tensor]:
    table = load_demand_csv(path)
    stores = int(network.is_store.sum())
    if table.shape[1] != stores:
        raise DataError(
            f"{path}: {table.shape[1]} locations in the CSV, the setting has {stores} stores"
        )
    parts = split_by_period(table)
    train = parts[0]
    samplers = {
        split: TraceDemand(part)
        for split, part in zip(("train", "dev", "test"), parts, strict=True)
    }
    return samplers, train.mean(0), train.std(0)
