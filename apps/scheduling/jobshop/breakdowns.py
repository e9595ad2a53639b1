"""Random machine breakdowns: each machine alternates up-times and repairs.

Up-times are exponential with mean ``mtbf`` and repairs exponential with mean ``mttr`` (both in
units of the instance's mean operation duration; repairs last at least one time unit), drawn from
time 0 up to a horizon of ``horizon_factor`` times the instance's total work; after it machines
never fail. A machine processes nothing while it is down and an operation never straddles a
repair (the simulator places it in a gap that fits it whole). The dispatcher only sees a
breakdown once it has started (see :func:`~pgsuite.apps.scheduling.jobshop.features.operation_features`).

Downtimes are int arrays ``[m, D, 2]`` (start, end) per machine sorted by start, padded with
``PAD`` rows; a batch stacks them to ``[B, m, D, 2]`` with the largest ``D``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pgsuite.apps.scheduling.jobshop.instances import JobShopInstance
from pgsuite.core.errors import ConfigError

PAD = np.iinfo(np.int64).max // 4
"""Start and end of padding rows (the simulator's "never")."""


@dataclass(frozen=True)
class Breakdowns:
    """Breakdown process of every machine.

    Attributes:
        mtbf: mean time between failures (up-time), in mean operation durations.
        mttr: mean time to repair, in mean operation durations.
        horizon_factor: breakdowns are drawn up to this multiple of the total work.
    """

    mtbf: float = 20.0
    mttr: float = 2.0
    horizon_factor: float = 2.0

    def __post_init__(self) -> None:
        if not (self.mtbf > 0 and self.mttr > 0 and self.horizon_factor > 0):
            raise ConfigError(
                f"breakdowns need mtbf, mttr and horizon_factor > 0, got {self.mtbf}, "
                f"{self.mttr}, {self.horizon_factor}"
            )

    def sample(self, instance: JobShopInstance, rng: np.random.Generator) -> np.ndarray:
        """int ``[m, D, 2]`` downtimes of the instance's machines."""
        unit = max(float(instance.durations.mean()), 1e-9)
        horizon = self.horizon_factor * float(instance.durations.sum())
        per_machine = []
        for _ in range(instance.num_machines):
            intervals, now = [], 0.0
            while True:
                now += rng.exponential(self.mtbf * unit)
                if now >= horizon:
                    break
                repair = max(1, round(rng.exponential(self.mttr * unit)))
                intervals.append((round(now), round(now) + repair))
                now = round(now) + repair
            per_machine.append(intervals)
        depth = max(len(intervals) for intervals in per_machine)
        out = np.full((instance.num_machines, depth, 2), PAD, dtype=np.int64)
        for k, intervals in enumerate(per_machine):
            out[k, : len(intervals)] = np.asarray(intervals, dtype=np.int64).reshape(-1, 2)
        return out

    def sample_batch(
        self, instances: list[JobShopInstance], rng: np.random.Generator
    ) -> np.ndarray:
        """int ``[B, m, D, 2]`` downtimes of a batch of same-size instances."""
        return stack_downtimes([self.sample(instance, rng) for instance in instances])


def breakdowns_from(mtbf: float | None, mttr: float) -> Breakdowns | None:
    """The breakdown process of the command-line options (``mtbf=None``: no breakdowns)."""
    return None if mtbf is None else Breakdowns(mtbf, mttr)


def stack_downtimes(downtimes: list[np.ndarray]) -> np.ndarray:
    """Stack ``[m, D_b, 2]`` arrays to ``[B, m, max D_b, 2]`` (extra rows are padding)."""
    depth = max(d.shape[1] for d in downtimes)
    out = np.full((len(downtimes), downtimes[0].shape[0], depth, 2), PAD, dtype=np.int64)
    for b, d in enumerate(downtimes):
        out[b, :, : d.shape[1]] = d
    return out


def real_downtimes(downtimes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Flat ``(machine [K], start [K], end [K])`` of the non-padding rows of ``[m, D, 2]``."""
    machine, row = np.nonzero(downtimes[..., 0] < PAD)
    return machine, downtimes[machine, row, 0], downtimes[machine, row, 1]
