"""Operation features of a dispatching state: what the policy and the environments observe.

Features are size-agnostic: times are measured from *now* (the earliest time any candidate could
start) in units of the instance's mean operation duration, and work totals are divided by the
number of operations they could at most span, so a policy trained on 10x10 instances reads 100x20
ones on the same scale.

``operation_features(sim)`` returns float32 ``[B, n, m, NUM_FEATURES + 1]``; the last channel is
each operation's machine index (the structure the graph policy needs; not a feature to learn on).
"""

from __future__ import annotations

import numpy as np

from pgsuite.apps.scheduling.jobshop.simulator import JobShopSimulator

FEATURE_NAMES = (
    "duration",  # processing time / mean duration
    "scheduled",  # 1 once placed
    "candidate",  # 1 for each unfinished job's next operation
    "completion_bound",  # (completion lower bound - now) / (mean duration x m)
    "job_work_left",  # work of the job from this operation on / (mean duration x m)
    "start_delay",  # candidates: (earliest start - now) / mean duration; others 0
    "machine_work_left",  # unscheduled work on the machine / (mean duration x n)
    "machine_free_in",  # (machine's last end or current repair's end - now)^+ / mean duration
    "position",  # index of the operation in its job / m
)
NUM_FEATURES = len(FEATURE_NAMES)


def operation_features(sim: JobShopSimulator) -> np.ndarray:
    """float32 ``[B, n, m, NUM_FEATURES + 1]`` (features of :data:`FEATURE_NAMES`, machine id)."""
    B, n, m = sim.batch, sim.num_jobs, sim.num_machines
    durations = sim.durations
    unit = np.maximum(durations.mean(axis=(1, 2)), 1e-9)[:, None, None]
    scheduled = sim.start >= 0
    mask = sim.action_mask()
    ops = np.arange(m)
    candidate = (ops == sim.next_op[..., None]) & mask[..., None]
    starts = sim.earliest_starts()
    now = np.where(mask, starts, np.iinfo(np.int64).max).min(1)
    now = np.where(mask.any(1), now, sim.job_ready.max(1))[:, None, None]
    bound = sim.completion_lower_bounds()
    pending = np.where(scheduled, 0, durations)
    job_left = np.cumsum(pending[..., ::-1], axis=2)[..., ::-1]
    machine_slot = (sim.machines + m * np.arange(B)[:, None, None]).ravel()
    machine_left = np.bincount(machine_slot, pending.ravel(), minlength=B * m).reshape(B, m)
    last_end = sim.machine_ready(now[:, 0, 0])  # breakdowns show once they have started
    per_op_machine_left = np.take_along_axis(machine_left, sim.machines.reshape(B, -1), 1)
    per_op_free = np.take_along_axis(last_end, sim.machines.reshape(B, -1), 1).reshape(B, n, m)
    features = np.stack(
        [
            durations / unit,
            scheduled,
            candidate,
            (bound - now) / (unit * m),
            job_left / (unit * m),
            np.where(candidate, (starts[..., None] - now) / unit, 0.0),
            per_op_machine_left.reshape(B, n, m) / (unit * n),
            np.maximum(per_op_free - now, 0) / unit,
            np.broadcast_to(ops / m, (B, n, m)),
            sim.machines,
        ],
        axis=-1,
    )
    return features.astype(np.float32)
