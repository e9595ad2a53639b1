"""What every scheduling app's OR-Tools CP-SAT model shares: the limits, the solve, and the error
when no schedule was found in time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pgsuite.apps.scheduling.common.errors import NoScheduleError
from pgsuite.core.errors import ConfigError


def check_limits(time_limit_s: float, workers: int) -> None:
    """Raises ConfigError unless ``time_limit_s > 0`` and ``workers >= 1``."""
    if time_limit_s <= 0 or workers < 1:
        raise ConfigError(f"need time_limit_s > 0 and workers >= 1, got {time_limit_s}, {workers}")


@dataclass(frozen=True)
class SolverRun:
    """A finished CP-SAT solve: the solver (read values from it) and its status."""

    solver: Any
    status: Any

    @property
    def found(self) -> bool:
        from ortools.sat.python import cp_model

        return self.status in (cp_model.OPTIMAL, cp_model.FEASIBLE)

    @property
    def optimal(self) -> bool:
        from ortools.sat.python import cp_model

        return self.status == cp_model.OPTIMAL

    def no_schedule(self, name: str, time_limit_s: float) -> NoScheduleError:
        """The error to raise when :attr:`found` is false."""
        return NoScheduleError(
            f"CP-SAT found no schedule for {name} within {time_limit_s:g} s "
            f"(status {self.solver.status_name(self.status)})"
        )


def solve_model(model: Any, time_limit_s: float, workers: int, seed: int) -> SolverRun:
    """Solve ``model`` with CP-SAT under a wall-time limit, ``workers`` threads and a seed."""
    from ortools.sat.python import cp_model

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit_s)
    solver.parameters.num_workers = int(workers)
    solver.parameters.random_seed = int(seed)
    return SolverRun(solver, solver.solve(model))
