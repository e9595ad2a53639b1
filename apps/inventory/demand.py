"""Demand samplers: traces ``[B, T, S]`` (samples, periods, stores) drawn in advance (hindsight).

Every sampler takes a ``torch.Generator`` so scenario sets are reproducible and train, dev and test
sets can use separate seeds. Normal demand is clipped at 0 unless ``clip=False`` (the transshipment
setting of the reference protocol uses unclipped demand).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from pgsuite.core.errors import ConfigError, DataError


@dataclass(frozen=True)
class NormalDemand:
    """Independent Normal(mean_s, std_s) demand per store, optionally correlated across stores.

    Args:
        mean: ``[S]`` means.
        std: ``[S]`` standard deviations.
        correlation: pairwise correlation between stores (one value for every pair).
        clip: clip negative draws to 0.
    """

    mean: torch.Tensor
    std: torch.Tensor
    correlation: float = 0.0
    clip: bool = True

    def __post_init__(self) -> None:
        if (self.std < 0).any() or not -1.0 < self.correlation < 1.0:
            raise ConfigError("demand std must be >= 0 and correlation in (-1, 1)")

    @property
    def integer(self) -> bool:
        return False

    def sample(self, samples: int, periods: int, generator: torch.Generator) -> torch.Tensor:
        stores = self.mean.shape[0]
        noise = torch.randn(samples, periods, stores, generator=generator)
        if self.correlation != 0.0 and stores > 1:
            corr = torch.full((stores, stores), self.correlation)
            corr.fill_diagonal_(1.0)
            noise = noise @ torch.linalg.cholesky(corr).T
        demand = self.mean + self.std * noise
        return demand.clamp(min=0.0) if self.clip else demand


@dataclass(frozen=True)
class PoissonDemand:
    """Independent Poisson(mean_s) demand per store (integer-valued)."""

    mean: torch.Tensor

    @property
    def integer(self) -> bool:
        return True

    def sample(self, samples: int, periods: int, generator: torch.Generator) -> torch.Tensor:
        rates = self.mean.expand(samples, periods, self.mean.shape[0]).contiguous()
        return torch.poisson(rates, generator=generator)


@dataclass(frozen=True)
class TraceDemand:
    """Demand replayed from recorded traces: each sample is a random window of the history.

    Args:
        history: ``[P, S]`` demand per period and store.
    """

    history: torch.Tensor

    @property
    def integer(self) -> bool:
        return bool((self.history == self.history.round()).all())

    def sample(self, samples: int, periods: int, generator: torch.Generator) -> torch.Tensor:
        available = self.history.shape[0]
        if periods > available:
            raise DataError(f"trace has {available} periods; {periods} were asked for")
        start = torch.randint(0, available - periods + 1, (samples,), generator=generator)
        index = start[:, None] + torch.arange(periods)
        return self.history[index]


def load_demand_csv(path: str | Path) -> pd.DataFrame:
    """Read a demand history with columns ``period, location, demand`` (one row per pair).

    Returns a ``[periods x locations]`` table (rows sorted by period, columns by location).

    Raises:
        DataError: missing file or columns, non-integer periods, non-numeric, infinite or negative demand, missing pairs.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"demand CSV not found: {path}")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as error:
        raise DataError(f"cannot parse {path}: {error}") from error
    missing = {"period", "location", "demand"} - set(frame.columns)
    if missing:
        raise DataError(
            f"{path}: missing column(s) {sorted(missing)}; need period, location, demand"
        )
    periods = pd.to_numeric(frame["period"], errors="coerce")
    bad = periods.isna() | (periods != periods.round())
    if bad.any():
        row = int(bad.to_numpy().argmax()) + 2  # header is line 1
        raise DataError(f"{path}:{row}: period must be an integer")
    demand = pd.to_numeric(frame["demand"], errors="coerce")
    if demand.isna().any():
        row = int(demand.isna().to_numpy().argmax()) + 2
        raise DataError(f"{path}:{row}: demand is not a number")
    if not np.isfinite(demand.to_numpy(dtype=float)).all():
        row = int((~np.isfinite(demand.to_numpy(dtype=float))).argmax()) + 2
        raise DataError(f"{path}:{row}: demand is infinite")
    if (demand < 0).any():
        row = int((demand < 0).to_numpy().argmax()) + 2
        raise DataError(f"{path}:{row}: negative demand")
    if frame.duplicated(["period", "location"]).any():
        raise DataError(f"{path}: a (period, location) pair appears twice")
    table = frame.assign(demand=demand).pivot(index="period", columns="location", values="demand")
    if table.isna().any().any():
        raise DataError(f"{path}: some (period, location) pairs have no demand row")
    return table.sort_index()


def split_by_period(
    table: pd.DataFrame, fractions: tuple[float, float, float] = (0.6, 0.2, 0.2)
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Split a ``[periods x locations]`` history chronologically into train/dev/test ``[P_i, S]``."""
    values = torch.tensor(table.to_numpy(), dtype=torch.float32)
    total = values.shape[0]
    train_end = round(fractions[0] * total)
    dev_end = train_end + round(fractions[1] * total)
    if min(train_end, dev_end - train_end, total - dev_end) < 1:
        raise DataError(
            f"demand history of {total} periods is too short to split into train/dev/test"
        )
    return values[:train_end], values[train_end:dev_end], values[dev_end:]
