"""An exact, batched dispatching simulator for the job shop (L2D semantics).

``B`` instances of the same size ``n x m`` advance together; every decision picks, in each
instance, a job with operations left, and that job's next operation is placed at the earliest time
its job and its machine allow:

- ``insertion=True`` (default; the schedules are *active*, as in L2D): the earliest idle gap on the
  machine that starts no earlier than the job is ready and is long enough, else after the machine's
  last operation;
- ``insertion=False``: after the machine's last operation (semi-active, "append" schedules).

Optional machine downtimes (:mod:`~pgsuite.apps.scheduling.jobshop.breakdowns`) are pre-placed intervals
on the machines' timelines: operations go into gaps that fit them whole, so none overlaps a repair.

Everything is numpy over the batch: a decision costs a fixed number of array operations whatever
``B`` is. Times are integers (the benchmarks' durations are).

Shapes: ``B`` instances, ``n`` jobs, ``m`` machines (= operations per job).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pgsuite.apps.scheduling.jobshop.instances import JobShopInstance
from pgsuite.core.errors import ConfigError

_FAR = np.iinfo(np.int64).max // 4
"""Start time of the empty slots after a machine's last operation (effectively +infinity)."""


@dataclass
class ScheduleResult:
    """Start and end time of every operation, per instance of a batch.

    Attributes:
        start, end: int ``[B, n, m]``.
        makespan: int ``[B]``.
        order: int ``[B, n m]``, the job picked at each decision.
    """

    start: np.ndarray
    end: np.ndarray
    makespan: np.ndarray
    order: np.ndarray


class JobShopSimulator:
    """Dispatch a batch of same-size instances, one operation per instance per :meth:`step`.

    Args:
        durations: int ``[B, n, m]``.
        machines: int ``[B, n, m]`` (each row a permutation of ``0..m-1``).
        insertion: place operations into earlier idle gaps (active schedules).
        downtimes: int ``[B, m, D, 2]`` machine breakdowns (start, end), sorted per machine and
            padded with :data:`~pgsuite.apps.scheduling.jobshop.breakdowns.PAD`; ``None``: none.
    """

    def __init__(
        self,
        durations: np.ndarray,
        machines: np.ndarray,
        insertion: bool = True,
        downtimes: np.ndarray | None = None,
    ) -> None:
        durations, machines = np.asarray(durations), np.asarray(machines)
        if durations.ndim != 3 or durations.shape != machines.shape:
            raise ConfigError(
                f"durations {durations.shape} and machines {machines.shape} must both be "
                "[batch, jobs, machines]"
            )
        self.durations = durations.astype(np.int64)
        self.machines = machines.astype(np.int64)
        self.insertion = insertion
        self.batch, self.num_jobs, self.num_machines = durations.shape
        B, m = self.batch, self.num_machines
        if downtimes is None:
            downtimes = np.full((B, m, 0, 2), _FAR, dtype=np.int64)
        downtimes = np.asarray(downtimes, dtype=np.int64)
        if downtimes.ndim != 4 or downtimes.shape[:2] != (B, m) or downtimes.shape[3] != 2:
            raise ConfigError(f"downtimes must be [{B}, {m}, D, 2], got {downtimes.shape}")
        real = downtimes[..., 0] < _FAR
        if (real & (downtimes[..., 1] <= downtimes[..., 0])).any() or (downtimes < 0).any():
            raise ConfigError("every downtime needs 0 <= start < end")
        self.downtimes = downtimes
        self._rows = np.arange(self.batch)
        self.reset()

    @classmethod
    def from_instances(
        cls,
        instances: list[JobShopInstance],
        insertion: bool = True,
        downtimes: np.ndarray | None = None,
    ) -> JobShopSimulator:
        """A batch of ``instances``; ``downtimes`` is ``[B, m, D, 2]`` per instance, or
        ``[m, D, 2]`` shared by all of them (e.g. copies of one instance)."""
        sizes = {instance.durations.shape for instance in instances}
        if len(sizes) != 1:
            raise ConfigError(f"a batch needs instances of one size, got {sorted(sizes)}")
        if downtimes is not None and np.ndim(downtimes) == 3:
            downtimes = np.broadcast_to(downtimes, (len(instances), *np.shape(downtimes)))
        return cls(
            np.stack([i.durations for i in instances]),
            np.stack([i.machines for i in instances]),
            insertion,
            downtimes,
        )

    def reset(self) -> None:
        """Empty schedules."""
        B, n, m = self.batch, self.num_jobs, self.num_machines
        self.next_op = np.zeros((B, n), dtype=np.int64)
        self.job_ready = np.zeros((B, n), dtype=np.int64)
        self.start = np.full((B, n, m), -1, dtype=np.int64)
        self.end = np.full((B, n, m), -1, dtype=np.int64)
        # per machine, the occupied intervals (downtimes, then operations as they are placed)
        # sorted by start; the last slot is a sentinel
        D = self.downtimes.shape[2]
        self.machine_start = np.full((B, m, n + D + 1), _FAR, dtype=np.int64)
        self.machine_end = np.full((B, m, n + D + 1), _FAR, dtype=np.int64)
        self.machine_start[..., :D] = self.downtimes[..., 0]
        self.machine_end[..., :D] = self.downtimes[..., 1]
        self.machine_count = (self.downtimes[..., 0] < _FAR).sum(-1)
        self.last_end = np.zeros((B, m), dtype=np.int64)
        self.decisions = 0
        self._starts_at = -1  # decision count at which _starts was computed
        self._order = np.zeros((B, n * m), dtype=np.int64)

    @property
    def done(self) -> bool:
        """All operations of every instance are scheduled (all instances finish together)."""
        return self.decisions == self.num_jobs * self.num_machines

    def action_mask(self) -> np.ndarray:
        """bool ``[B, n]``: jobs with operations left."""
        return self.next_op < self.num_machines

    def valid_jobs(self, nondelay: bool = False) -> np.ndarray:
        """bool ``[B, n]``: jobs with operations left; with ``nondelay``, only those whose next
        operation could start earliest (Giffler-Thompson non-delay candidates)."""
        mask = self.action_mask()
        if nondelay:
            starts = self.earliest_starts()
            earliest = np.where(mask, starts, _FAR).min(1, keepdims=True)
            mask &= starts == earliest
        return mask

    def earliest_starts(self) -> np.ndarray:
        """int ``[B, n]``: where each job's next operation would start if picked now (finished
        jobs: meaningless, mask them with :meth:`action_mask`)."""
        if self._starts_at != self.decisions:  # masks and features both ask at every decision
            jobs = np.broadcast_to(np.arange(self.num_jobs), (self.batch, self.num_jobs))
            self._starts = self._placement(jobs)[0]
            self._starts_at = self.decisions
        return self._starts

    def machine_ready(self, now: np.ndarray | None = None) -> np.ndarray:
        """int ``[B, m]``: end of the latest operation on each machine (0 while it is empty);
        given ``now`` (int ``[B]``), also the end of a breakdown in progress at ``now`` (the only
        breakdowns a dispatcher knows of)."""
        if now is None:
            return self.last_end.copy()
        start, end = self.downtimes[..., 0], self.downtimes[..., 1]
        in_progress = (start <= now[:, None, None]) & (now[:, None, None] < end)
        return np.maximum(self.last_end, np.where(in_progress, end, 0).max(-1, initial=0))

    def _placement(self, jobs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Start time, machine and slot (position among the machine's intervals) of the next
        operation of ``jobs`` (int ``[B]`` or ``[B, K]``; results have the same shape)."""
        rows = self._rows.reshape((-1,) + (1,) * (jobs.ndim - 1))
        op = np.minimum(self.next_op[rows, jobs], self.num_machines - 1)
        machine = self.machines[rows, jobs, op]
        duration = self.durations[rows, jobs, op]
        ready = self.job_ready[rows, jobs]
        starts = self.machine_start[rows, machine]  # [..., n + 1], sorted, _FAR padded
        ends = self.machine_end[rows, machine]
        count = self.machine_count[rows, machine][..., None]
        # gap i runs from the end of interval i - 1 (0 for the first) to the start of interval i
        previous_end = np.concatenate([np.zeros_like(ends[..., :1]), ends[..., :-1]], -1)
        slots = np.arange(starts.shape[-1])
        candidate = np.maximum(ready[..., None], previous_end)
        fits = (candidate + duration[..., None] <= starts) & (slots <= count)
        if not self.insertion:  # only gaps after the machine's last operation
            fits &= previous_end >= self.last_end[rows, machine][..., None]
        slot = fits.argmax(-1)
        return np.take_along_axis(candidate, slot[..., None], -1)[..., 0], machine, slot

    def step(self, jobs: np.ndarray) -> np.ndarray:
        """Schedule the next operation of ``jobs[b]`` in every instance ``b``.

        Args:
            jobs: int ``[B]``, each a job with operations left (see :meth:`action_mask`).

        Returns:
            int ``[B]`` start times of the scheduled operations.

        Raises:
            ConfigError: a job without operations left, or a job index out of range.
        """
        jobs = np.asarray(jobs, dtype=np.int64).reshape(self.batch)
        if ((jobs < 0) | (jobs >= self.num_jobs)).any():
            raise ConfigError(f"job indices must be in 0..{self.num_jobs - 1}, got {jobs.tolist()}")
        rows = self._rows
        if (self.next_op[rows, jobs] >= self.num_machines).any():
            raise ConfigError("a picked job has no operations left (respect action_mask())")
        start, machine, slot = self._placement(jobs)
        op = self.next_op[rows, jobs]
        end = start + self.durations[rows, jobs, op]
        self.start[rows, jobs, op] = start
        self.end[rows, jobs, op] = end
        self.next_op[rows, jobs] += 1
        self.job_ready[rows, jobs] = end
        self._insert(self.machine_start, machine, slot, start)
        self._insert(self.machine_end, machine, slot, end)
        self.machine_count[rows, machine] += 1
        self.last_end[rows, machine] = np.maximum(self.last_end[rows, machine], end)
        self._order[:, self.decisions] = jobs
        self.decisions += 1
        return start

    def _insert(
        self, table: np.ndarray, machine: np.ndarray, slot: np.ndarray, value: np.ndarray
    ) -> None:
        rows = self._rows
        row = table[rows, machine]
        slots = np.arange(row.shape[1])
        shifted = np.concatenate([row[:, :1], row[:, :-1]], 1)
        table[rows, machine] = np.where(
            slots < slot[:, None], row, np.where(slots == slot[:, None], value[:, None], shifted)
        )

    def completion_lower_bounds(self) -> np.ndarray:
        """int ``[B, n, m]``: each operation's end if scheduled, else the earliest it could end
        given its job alone (job ready time plus the durations up to it): L2D's ``C_LB``."""
        scheduled = self.start >= 0
        pending = np.where(scheduled, 0, self.durations)
        bound = self.job_ready[:, :, None] + np.cumsum(pending, axis=2)
        return np.where(scheduled, self.end, bound)

    def makespan_lower_bound(self) -> np.ndarray:
        """int ``[B]``: the largest completion lower bound (the makespan once all is scheduled)."""
        return self.completion_lower_bounds().max(axis=(1, 2))

    def result(self) -> ScheduleResult:
        """The finished schedules.

        Raises:
            ConfigError: operations are still unscheduled.
        """
        if not self.done:
            raise ConfigError(
                f"{self.num_jobs * self.num_machines - self.decisions} operations still unscheduled"
            )
        return ScheduleResult(
            self.start.copy(), self.end.copy(), self.end.max(axis=(1, 2)), self._order.copy()
        )
