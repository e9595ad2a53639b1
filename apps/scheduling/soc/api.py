"""The one-call entry point of the SoC app's public API."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pgsuite.apps.scheduling.soc.inference import make_scheduler
from pgsuite.apps.scheduling.soc.platform import Platform
from pgsuite.apps.scheduling.soc.simulator import RunResult, SoCSimulator
from pgsuite.apps.scheduling.soc.workload import JobInstance


def simulate(
    platform: Platform, jobs: Sequence[JobInstance], scheduler: str = "heft",
    policy: str | Path | None = None, seed: int = 0,
) -> RunResult:  # fmt: skip
    """Run ``jobs`` on ``platform`` with a scheduler by name (``met``, ``etf``, ``eft``, ``stf``,
    ``heft``, ``heft-rt``, ``random`` or ``policy``: the run folder ``policy``, default the shipped
    one); the schedule is checked before the result returns."""
    return SoCSimulator(platform, jobs).run(
        make_scheduler(scheduler, Path(policy) if policy else None, seed)
    )
