"""Solve one instance with any method of the suite; every schedule is verified before it counts.

Methods (``--method``): ``greedy`` (the policy's most likely job each step), ``sample:N`` (best of
N sampled schedules; ``sample:N@T`` samples from the logits divided by ``T``), ``bisample:N[@T]``
(the same with half of the N schedules built on the time-reversed instance), a dispatching rule
(``spt``, ``lpt``, ``mwkr``, ``mor``, ``fdd/mwkr``, ``fifo``, ``random``), ``cpsat:T`` (CP-SAT with
a T-second limit) and ``cpsat+policy:T`` (CP-SAT warm-started from the greedy policy's schedule).

With ``breakdowns`` every instance gets random machine downtimes, drawn from the solver's seed and
the instance name, so every method faces the same ones; dispatching methods meet them as they
happen, CP-SAT knows them all in advance (a clairvoyant reference).
"""

from __future__ import annotations

import math
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pgsuite.apps.scheduling.jobshop.breakdowns import Breakdowns, breakdowns_from
from pgsuite.apps.scheduling.jobshop.cpsat import solve_cpsat
from pgsuite.apps.scheduling.jobshop.inference import best_of_samples, rollout
from pgsuite.apps.scheduling.jobshop.instances import JobShopInstance
from pgsuite.apps.scheduling.jobshop.policy import JobShopActorCritic
from pgsuite.apps.scheduling.jobshop.rules import RULES, dispatch_instance
from pgsuite.apps.scheduling.jobshop.schedule import verified_makespan
from pgsuite.apps.scheduling.jobshop.simulator import JobShopSimulator
from pgsuite.apps.scheduling.jobshop.train import PolicyConfig, load_policy
from pgsuite.core.errors import ConfigError, DataError

SHIPPED_POLICY = Path(__file__).parent / "checkpoints"
"""Folder of the trained policy shipped with the package (``config.json`` + ``best.pt``)."""


@dataclass(frozen=True)
class Solution:
    """A verified schedule: ``start`` / ``end`` int ``[n, m]``, its makespan, the gap to the best
    known makespan (percent, NaN when none is known) and the wall time in seconds."""

    method: str
    start: np.ndarray
    end: np.ndarray
    makespan: int
    gap_pct: float
    time_s: float


SAMPLING = ("sample", "bisample")
"""Methods that keep the best of N sampled schedules (``bisample``: half on the mirror)."""


def parse_method(method: str) -> tuple[str, float | None, float]:
    """``"cpsat:60"`` -> ``("cpsat", 60.0, 1.0)``, ``"mwkr"`` -> ``("mwkr", None, 1.0)``,
    ``"sample:128@0.7"`` -> ``("sample", 128.0, 0.7)``: name, number, sampling temperature.

    Raises:
        ConfigError: unknown method, a bad number or a bad temperature.
    """
    spec, at, temperature_text = method.partition("@")
    name, _, value = spec.partition(":")
    known = {"greedy", *SAMPLING, "cpsat", "cpsat+policy", *RULES}
    if name not in known:
        raise ConfigError(
            f"unknown method {method!r}; use greedy, sample:N[@T], bisample:N[@T], cpsat:T, "
            f"cpsat+policy:T or a rule ({', '.join(RULES)})"
        )
    needs_value = name in (*SAMPLING, "cpsat", "cpsat+policy")
    if needs_value != bool(value):
        raise ConfigError(
            f"method {name!r} {'needs' if needs_value else 'takes no'} ':<number>' (got {method!r})"
        )
    number = _positive_number(method, value) if needs_value else None
    if name in SAMPLING and number != int(number):
        raise ConfigError(f"{method!r}: need a positive integer number of samples")
    if at and name not in SAMPLING:
        raise ConfigError(f"{method!r}: only sample:N and bisample:N take a temperature ('@T')")
    temperature = _positive_number(method, temperature_text) if at else 1.0
    return name, number, temperature


def _positive_number(method: str, text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        raise ConfigError(f"{method!r}: {text!r} is not a number") from None
    if not 0 < number < math.inf:
        raise ConfigError(f"{method!r}: {text!r} must be a positive number")
    return number


@dataclass
class SolverOptions:
    """How instances are solved (shared by pgsuite jobshop solve, gantt and bench)."""

    policy: Path | None = None
    """Trained policy (run folder or .pt); default: the policy shipped with pgsuite."""
    workers: int = 2
    """CP-SAT search workers."""
    seed: int = 0
    """Seed of sampling, the random rule, CP-SAT and the breakdowns."""
    mtbf: float | None = None
    """Random machine breakdowns: mean up-time between them, in mean operation durations
    (default: none). Every method meets the same breakdowns; CP-SAT knows them in advance."""
    mttr: float = 2.0
    """Mean repair time of a breakdown, in mean operation durations."""

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise ConfigError(f"workers must be >= 1, got {self.workers}")
        if self.seed < 0:
            raise ConfigError(f"seed must be non-negative, got {self.seed}")
        breakdowns_from(self.mtbf, self.mttr)  # raises on bad values before any work

    def solver(self) -> Solver:
        return Solver(self.policy, self.workers, self.seed, breakdowns_from(self.mtbf, self.mttr))


class Solver:
    """Solves instances with a fixed policy (loaded once) and CP-SAT settings.

    Args:
        policy: a run folder or weights file; default the shipped policy.
        workers: CP-SAT search workers.
        seed: seed of sampling, the random rule, CP-SAT and the breakdowns.
        breakdowns: random machine breakdowns (default none).
    """

    def __init__(
        self,
        policy: Path | None = None,
        workers: int = 2,
        seed: int = 0,
        breakdowns: Breakdowns | None = None,
    ) -> None:
        self.policy_path = policy
        self.workers, self.seed, self.breakdowns = workers, seed, breakdowns
        self._agent: tuple[JobShopActorCritic, PolicyConfig] | None = None

    @property
    def agent(self) -> tuple[JobShopActorCritic, PolicyConfig]:
        if self._agent is None:
            path = Path(self.policy_path or SHIPPED_POLICY)
            if path.suffix != ".pt" and not (path / "config.json").is_file():
                raise DataError(
                    f"no trained policy at {path} (no config.json); train one with 'pgsuite "
                    "jobshop train --out runs/jobshop' and pass --policy runs/jobshop"
                )
            self._agent = load_policy(path)
        return self._agent

    def downtimes(self, instance: JobShopInstance) -> np.ndarray | None:
        """int ``[m, D, 2]`` breakdowns of ``instance`` (the same for every method), or None."""
        if self.breakdowns is None:
            return None
        rng = np.random.default_rng([self.seed, zlib.crc32(instance.name.encode())])
        return self.breakdowns.sample(instance, rng)

    def _greedy(
        self, instance: JobShopInstance, downtimes: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        agent, config = self.agent
        sim = JobShopSimulator.from_instances([instance], config.insertion, downtimes)
        result = rollout(agent, sim, config.nondelay)
        return result.start[0], result.end[0]

    def solve(self, instance: JobShopInstance, method: str) -> Solution:
        """Run ``method`` on ``instance`` and verify the schedule."""
        name, value, temperature = parse_method(method)
        downtimes = self.downtimes(instance)
        began = time.perf_counter()
        if name == "greedy":
            start, end = self._greedy(instance, downtimes)
        elif name in SAMPLING:
            agent, config = self.agent
            start, end, _ = best_of_samples(
                agent,
                instance,
                int(value),
                config.nondelay,
                config.insertion,
                self.seed,
                downtimes=downtimes,
                temperature=temperature,
                mirror=name == "bisample",
            )
        elif name in RULES:
            result = dispatch_instance(instance, name, seed=self.seed, downtimes=downtimes)
            start, end = result.start[0], result.end[0]
        else:
            hint = self._greedy(instance, downtimes)[0] if name == "cpsat+policy" else None
            remaining = value - (time.perf_counter() - began)
            result = solve_cpsat(
                instance, max(remaining, 0.1), self.workers, hint, self.seed, downtimes
            )
            start, end = result.start, result.end
        elapsed = time.perf_counter() - began
        makespan = verified_makespan(instance, start, end, downtimes)
        best = instance.best_known
        gap = 100 * (makespan / best - 1) if best else float("nan")
        return Solution(method, start, end, makespan, gap, elapsed)
