"""The blocking job shop with swaps and machine interruptions (ISBJSSP: Lange & Werner 2019;
Wong et al. 2023, arXiv 2302.02506): a variant of the classic shop's simulator, one instance at a
time, event by event.

No buffers: a job that finished its operation on machine ``k`` stays on ``k``, blocking it, until
its next machine takes it in; a job leaves the shop when its last operation ends. Jobs that have
not started wait in an unlimited input area and block nothing.

Decisions are non-delay: at decision time ``t`` the *moves* possible now are the candidates,

- a job whose current operation is done (or that has not started) whose next machine is empty
  enters that machine at ``t`` (and frees the machine it held);
- a *swap cycle*: blocked jobs ``j1 .. jc`` (``c >= 2``) each waiting for the machine the next one
  holds all move at ``t`` at once (only with ``swaps=True``);

one decision executes one move: a job, or the whole cycle it belongs to. When no move is
possible, time advances to the next end of an operation. A dispatcher may also *wait*
(:meth:`BlockingJobShop.wait`: no move now, time advances to the next end of an operation), the
delay decision that keeps a job in the input area rather than let it block a machine. Without swaps a state where every
unfinished job waits on a cycle is a deadlock: :class:`DeadlockError` says so (with swaps the
shop never deadlocks: a chain of waiting jobs ends at an empty machine, a running operation or a
cycle).

Interruptions (:class:`Interruptions`): a machine shuts down while it processes, at random, for a
repair time; the operation then *resumes* (keeps the work done) or *restarts* (loses it). A
shutdown is revealed when it happens (the dispatcher is told only the operations' nominal
durations). Every operation's shutdowns are drawn from its own seeded stream, so every method
meets the same interruption sequence.

A schedule is ``start``, ``end`` (processing done, shutdowns included) and ``departure`` (when
the job leaves the machine: the start of its next operation, or its end for the last one), int
``[n, m]``; the machine is occupied over ``[start, departure)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from pgsuite.apps.scheduling.common.feasibility import Violation, find_violations, raise_violations
from pgsuite.apps.scheduling.jobshop.instances import JobShopInstance
from pgsuite.apps.scheduling.jobshop.schedule import job_precedences
from pgsuite.core.errors import ConfigError, PgsuiteError

MAX_ATTEMPTS = 10_000
"""Restarts after which an operation that never finishes is an error (a shutdown rate too high)."""


class DeadlockError(PgsuiteError):
    """Every unfinished job waits on a cycle of blocked jobs and swaps are disabled."""

    exit_code = 1


@dataclass(frozen=True)
class Interruptions:
    """Random machine shutdowns during processing.

    Attributes:
        probability: with ``per="time"``, the chance that a shutdown comes before each time unit
            of processing; with ``per="operation"``, the chance that an operation meets one
            shutdown (at a uniform point of its processing).
        per: ``time`` or ``operation``.
        mttr: mean repair time in mean operation durations (exponential, at least 1 time unit).
        mode: ``resume`` (the work done before a shutdown is kept) or ``restart`` (it is lost).
    """

    probability: float = 0.0
    per: Literal["time", "operation"] = "time"
    mttr: float = 1.0
    mode: Literal["resume", "restart"] = "resume"

    def __post_init__(self) -> None:
        if not 0 <= self.probability < 1:
            raise ConfigError(f"shutdown probability must be in [0, 1), got {self.probability}")
        if self.per not in ("time", "operation") or self.mode not in ("resume", "restart"):
            raise ConfigError(f"per must be time or operation and mode resume or restart, got "
                              f"{self.per!r}, {self.mode!r}")  # fmt: skip
        if not self.mttr > 0:
            raise ConfigError(f"mttr must be > 0, got {self.mttr}")

    def sample(self, instance: JobShopInstance, seed: int) -> InterruptionPlan:
        """Every operation's shutdowns (operation ``(j, k)`` draws from the stream ``[seed, j,
        k]``, whatever the schedule)."""
        unit = max(float(instance.durations.mean()), 1e-9)
        n, m = instance.durations.shape
        shutdowns = [[self._draw(int(instance.durations[j, k]), unit,
                                 np.random.default_rng([seed, j, k])) for k in range(m)]
                     for j in range(n)]  # fmt: skip
        return InterruptionPlan(instance.durations.astype(np.int64), shutdowns, self.mode)

    def _draw(self, duration: int, unit: float, rng: np.random.Generator) -> list[tuple[int, int]]:
        """``[(processed, repair), ...]``: after ``processed`` time units of the current attempt
        (resume: of the operation) the machine stops for ``repair``."""
        if self.probability == 0 or duration == 0:
            return []

        def repair() -> int:
            return max(1, round(rng.exponential(self.mttr * unit)))

        if self.per == "operation":
            if rng.random() >= self.probability:
                return []
            return [(int(rng.integers(duration)), repair())]
        if self.mode == "resume":
            units = np.flatnonzero(rng.random(duration) < self.probability)
            return [(int(u), repair()) for u in units]
        shutdowns = []
        for _ in range(MAX_ATTEMPTS):
            failed = np.flatnonzero(rng.random(duration) < self.probability)
            if not len(failed):
                return shutdowns
            shutdowns.append((int(failed[0]), repair()))
        raise ConfigError(f"with shutdown probability {self.probability} per time unit, an "
                          f"operation of {duration} units did not finish in {MAX_ATTEMPTS} "
                          "restarts")  # fmt: skip


@dataclass(frozen=True)
class InterruptionPlan:
    """The shutdowns every operation meets, per job and operation a list ``[(processed, repair),
    ...]`` (see :meth:`Interruptions._draw`), and what they do to it."""

    durations: np.ndarray
    shutdowns: list[list[list[tuple[int, int]]]]
    mode: Literal["resume", "restart"] = "resume"

    @classmethod
    def none(cls, instance: JobShopInstance) -> InterruptionPlan:
        n, m = instance.durations.shape
        return cls(instance.durations.astype(np.int64), [[[] for _ in range(m)] for _ in range(n)])

    def downs(self, job: int, op: int, start: int) -> list[tuple[int, int]]:
        """``[(down, up), ...]`` the machine's shutdowns while it runs operation ``(job, op)``
        started at ``start`` (absolute times)."""
        out, clock, processed = [], start, 0
        for done, repair in self.shutdowns[job][op]:
            if self.mode == "resume":
                clock += done - processed
                processed = done
            else:
                clock += done
            out.append((clock, clock + repair))
            clock += repair
        return out

    def hold(self) -> np.ndarray:
        """int ``[n, m]``: each operation's processing time with its shutdowns (the realised
        durations; a clairvoyant reference schedules these)."""
        n, m = self.durations.shape
        out = self.durations.copy()
        for j in range(n):
            for k in range(m):
                for done, repair in self.shutdowns[j][k]:
                    out[j, k] += repair + (done if self.mode == "restart" else 0)
        return out

    def share_interrupted(self) -> float:
        """Share of operations that meet at least one shutdown."""
        met = [bool(ops) for job in self.shutdowns for ops in job]
        return float(np.mean(met))


@dataclass
class BlockingSchedule:
    """A finished blocking schedule: ``start``, ``end``, ``departure`` int ``[n, m]`` (see the
    module docstring), the makespan, the job picked at each decision (``order``) and the number
    of swap cycles executed."""

    start: np.ndarray
    end: np.ndarray
    departure: np.ndarray
    makespan: int
    order: list[int] = field(default_factory=list)
    swaps: int = 0

    @classmethod
    def from_times(cls, start: np.ndarray, end: np.ndarray) -> BlockingSchedule:
        """The schedule of ``start`` and ``end`` int ``[n, m]`` (a solver's): each job leaves a
        machine when its next operation starts, and the shop at its last end."""
        departure = np.concatenate([start[:, 1:], end[:, -1:]], axis=1)
        return cls(start, end, departure, int(end[:, -1].max()))


class BlockingJobShop:
    """One blocking job shop run (see the module docstring).

    Read by dispatchers: ``time``; ``next_op`` int ``[n]`` (the next operation of each job, ``m``:
    finished its last); ``on`` int ``[n]`` (the machine each job holds, -1: none);
    :meth:`ready_since`; :meth:`candidates`.
    """

    def __init__(self, instance: JobShopInstance, interruptions: InterruptionPlan | None = None,
                 swaps: bool = True) -> None:  # fmt: skip
        self.instance, self.swaps = instance, swaps
        self.plan = interruptions or InterruptionPlan.none(instance)
        if self.plan.durations.shape != instance.durations.shape:
            raise ConfigError("the interruption plan is for another instance size")
        self._hold = self.plan.hold()
        self.reset()

    def reset(self) -> None:
        n, m = self.instance.durations.shape
        self.time = 0
        self.next_op = np.zeros(n, dtype=np.int64)
        self.on = np.full(n, -1, dtype=np.int64)
        self.done_at = np.zeros(n, dtype=np.int64)
        self.holder = np.full(m, -1, dtype=np.int64)
        self.start = np.full((n, m), -1, dtype=np.int64)
        self.end = np.full((n, m), -1, dtype=np.int64)
        self.departure = np.full((n, m), -1, dtype=np.int64)
        self.order: list[int] = []
        self.swap_count = 0
        self._moves: dict[int, tuple[int, ...]] | None = None
        self._advance()

    def ready_since(self) -> np.ndarray:
        """int ``[n]``: when each job's current operation ends (0 for a job not started)."""
        return np.where(self.on >= 0, self.done_at, 0)

    def work_left(self) -> np.ndarray:
        """int ``[n]``: each job's nominal work on the operations it has not started."""
        m = self.instance.num_machines
        return (self.instance.durations * (np.arange(m)[None, :] >= self.next_op[:, None])).sum(1)

    def started(self) -> np.ndarray:
        """bool ``[n, m]``: the operations that have started."""
        return np.arange(self.instance.num_machines)[None, :] < self.next_op[:, None]

    def held(self) -> np.ndarray:
        """bool ``[n, m]``: the operation each job holds its machine with (running or blocked);
        started and not held: departed."""
        current = np.arange(self.instance.num_machines)[None, :] == self.next_op[:, None] - 1
        return current & (self.on >= 0)[:, None]

    @property
    def done(self) -> bool:
        return bool((self.next_op == self.instance.num_machines).all() and (self.on < 0).all())

    def _waiting(self) -> np.ndarray:
        """bool ``[n]``: jobs whose current operation is done (or not begun) with one left."""
        m = self.instance.num_machines
        return (self.next_op < m) & ((self.on < 0) | (self.done_at <= self.time))

    def candidates(self) -> dict[int, tuple[int, ...]]:
        """The moves possible now: job -> the jobs that move with it (itself alone, or its swap
        cycle in wait order); empty when time must advance."""
        if self._moves is not None:
            return self._moves
        waiting = self._waiting()
        machines = self.instance.machines
        wants = np.full(len(waiting), -1, dtype=np.int64)  # the blocked job in the way
        moves: dict[int, tuple[int, ...]] = {}
        for job in np.flatnonzero(waiting):
            target = int(machines[job, self.next_op[job]])
            holder = int(self.holder[target])
            if holder < 0:
                moves[int(job)] = (int(job),)
            elif waiting[holder]:
                wants[job] = holder
        if self.swaps:
            for job in np.flatnonzero(wants >= 0):
                cycle, at = [int(job)], int(wants[job])
                while at >= 0 and at not in cycle:
                    cycle.append(at)
                    at = int(wants[at])
                if at == job:
                    moves[int(job)] = tuple(cycle)
        self._moves = moves
        return moves

    def step(self, job: int) -> None:
        """Execute the move of ``job`` (alone or with its cycle), then advance time until a move
        is possible or the shop is empty.

        Raises:
            ConfigError: ``job`` cannot move now.
            DeadlockError: no move is possible, no operation is running and jobs are left.
        """
        moves = self.candidates()
        if job not in moves:
            raise ConfigError(f"job {job} cannot move at time {self.time}")
        movers = moves[job]
        for mover in movers:  # free every machine of the move first (a cycle moves at once)
            if self.on[mover] >= 0:
                self.holder[self.on[mover]] = -1
                self.departure[mover, self.next_op[mover] - 1] = self.time
        for mover in movers:
            op = int(self.next_op[mover])
            machine = int(self.instance.machines[mover, op])
            self.holder[machine] = mover
            self.on[mover] = machine
            self.start[mover, op] = self.time
            self.done_at[mover] = self.end[mover, op] = self.time + self._hold[mover, op]
            self.next_op[mover] = op + 1
        self.swap_count += len(movers) > 1
        self.order.append(int(job))
        self._moves = None
        self._advance()

    def can_wait(self) -> bool:
        """Whether an operation is running, so that :meth:`wait` has an end to wait for."""
        return bool(((self.on >= 0) & (self.done_at > self.time)).any())

    def wait(self) -> None:
        """Make no move now (a delay decision, which non-delay rules never take): time advances
        to the next end of a running operation, then on until a move is possible.

        Raises:
            ConfigError: nothing runs (waiting would wait forever).
        """
        if not self.can_wait():
            raise ConfigError(f"nothing runs at time {self.time}: there is nothing to wait for")
        running = (self.on >= 0) & (self.done_at > self.time)
        self.time = int(self.done_at[running].min())
        self.order.append(-1)
        self._moves = None
        self._advance()

    def _advance(self) -> None:
        """Release the jobs done with their last operation and move time on until a move is
        possible."""
        m = self.instance.num_machines
        while True:
            finished = (self.next_op == m) & (self.on >= 0) & (self.done_at <= self.time)
            for job in np.flatnonzero(finished):
                self.holder[self.on[job]] = -1
                self.departure[job, m - 1] = self.done_at[job]
                self.on[job] = -1
            self._moves = None
            if self.done or self.candidates():
                return
            running = (self.on >= 0) & (self.done_at > self.time)
            if not running.any():
                left = int((self.next_op < m).sum())
                raise DeadlockError(
                    f"{self.instance.name}: deadlock at time {self.time}: {left} jobs wait on a "
                    "cycle of blocked jobs and swaps are disabled"
                )
            self.time = int(self.done_at[running].min())

    def result(self) -> BlockingSchedule:
        """The finished schedule, after the independent check."""
        if not self.done:
            raise ConfigError("the schedule is not finished")
        schedule = BlockingSchedule(self.start.copy(), self.end.copy(), self.departure.copy(),
                                    int(self.departure.max()), list(self.order),
                                    self.swap_count)  # fmt: skip
        check_blocking(self.instance, schedule, self.plan, self.swaps)
        return schedule


def blocking_violations(instance: JobShopInstance, schedule: BlockingSchedule,
                        plan: InterruptionPlan | None = None,
                        swaps: bool = True) -> list[Violation]:  # fmt: skip
    """Every broken constraint of a blocking schedule, recomputed from its arrays: processing
    times with the plan's shutdowns, no buffers (each job leaves a machine exactly when its next
    operation starts, after its processing; the last operation leaves at its end), one job per
    machine over ``[start, departure)``, and no swap cycle unless ``swaps``."""
    plan = plan or InterruptionPlan.none(instance)
    start, end, departure = schedule.start, schedule.end, schedule.departure
    violations = []
    hold = plan.hold()
    machines = instance.machines
    for j, k in zip(*np.nonzero(end - start != hold), strict=True):
        runs = end[j, k] - start[j, k]
        violations.append(Violation("duration", f"operation ({j}, {k}) runs {runs}, needs "
                                    f"{hold[j, k]} with its shutdowns"))  # fmt: skip
    for j, k in zip(*np.nonzero(departure < end), strict=True):
        violations.append(Violation("blocking", f"job {j} leaves machine {machines[j, k]} at "
                                    f"{departure[j, k]}, before its operation ends at "
                                    f"{end[j, k]}"))  # fmt: skip
    for j, k in zip(*np.nonzero(departure[:, :-1] != start[:, 1:]), strict=True):
        violations.append(Violation("blocking", f"job {j} leaves machine {machines[j, k]} at "
                                    f"{departure[j, k]} but starts operation {k + 1} at "
                                    f"{start[j, k + 1]} (no buffers)"))  # fmt: skip
    for j in np.flatnonzero(departure[:, -1] != end[:, -1]):
        violations.append(Violation("blocking", f"job {j} stays after its last operation"))
    n, m = instance.durations.shape
    violations += find_violations(start.ravel(), departure.ravel(), instance.machines.ravel(),
                                  (departure - start).ravel(), job_precedences(n, m))  # fmt: skip
    if not swaps:
        violations += _swap_cycles(instance, start)
    return violations


def _swap_cycles(instance: JobShopInstance, start: np.ndarray) -> list[Violation]:
    """A cycle of machine-to-machine moves at one instant (a swap)."""
    moves: dict[int, dict[int, int]] = {}  # time -> {from machine: to machine}
    n, m = start.shape
    for j in range(n):
        for k in range(1, m):
            machines = instance.machines[j]
            moves.setdefault(int(start[j, k]), {})[int(machines[k - 1])] = int(machines[k])
    out = []
    for time, edges in sorted(moves.items()):
        for first in edges:
            at, seen = edges[first], {first}
            while at in edges and at not in seen:
                seen.add(at)
                at = edges[at]
            if at == first:
                out.append(Violation("swap", f"machines {sorted(seen)} swap jobs at time {time} "
                                     "and swaps are disabled"))  # fmt: skip
                break
    return out


def check_blocking(instance: JobShopInstance, schedule: BlockingSchedule,
                   plan: InterruptionPlan | None = None, swaps: bool = True) -> int:  # fmt: skip
    """The makespan after :func:`blocking_violations` found nothing.

    Raises:
        InfeasibleScheduleError: a constraint is broken.
    """
    raise_violations(blocking_violations(instance, schedule, plan, swaps), "blocking schedule")
    return int(schedule.departure.max())
