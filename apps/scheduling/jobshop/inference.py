"""Running a trained dispatching policy: greedy, or sampling many schedules in one batch."""

from __future__ import annotations

import numpy as np
import torch

from pgsuite.apps.scheduling.jobshop.features import operation_features
from pgsuite.apps.scheduling.jobshop.instances import JobShopInstance
from pgsuite.apps.scheduling.jobshop.policy import JobShopActorCritic, MachineGroups
from pgsuite.apps.scheduling.jobshop.schedule import unmirror
from pgsuite.apps.scheduling.jobshop.simulator import JobShopSimulator, ScheduleResult
from pgsuite.core.errors import ConfigError


@torch.inference_mode()
def rollout(
    agent: JobShopActorCritic,
    sim: JobShopSimulator,
    nondelay: bool,
    greedy: bool = True,
    generator: torch.Generator | None = None,
    temperature: float = 1.0,
) -> ScheduleResult:
    """Schedule the simulator's whole batch with the policy (from an empty schedule): the most
    likely job at each decision (``greedy``), or a job sampled from the policy's logits divided
    by ``temperature`` (below 1: closer to greedy).

    Decisions with a single valid job are taken without running the network (the policy would
    pick that job with probability 1), which skips about half the steps under non-delay masks.
    The machine groups of the graph policy are built once and subset at each decision.
    """
    sim.reset()
    all_groups = MachineGroups(torch.from_numpy(sim.machines))
    while not sim.done:
        mask = sim.valid_jobs(nondelay)
        jobs = mask.argmax(1)
        open_rows = np.flatnonzero(mask.sum(1) > 1)
        if len(open_rows):
            obs = torch.from_numpy(operation_features(sim)[open_rows])
            groups = (
                all_groups
                if len(open_rows) == sim.batch
                else all_groups.select(torch.from_numpy(open_rows))
            )
            logits = agent.action_logits(obs, groups).masked_fill(
                ~torch.from_numpy(mask[open_rows]), -torch.inf
            )
            if greedy:
                action = logits.argmax(-1)
            else:
                probs = (logits / temperature).softmax(-1)
                action = torch.multinomial(probs, 1, generator=generator).squeeze(-1)
            jobs[open_rows] = action.numpy()
        sim.step(jobs)
    return sim.result()


def greedy_makespans(
    agent: JobShopActorCritic, sim: JobShopSimulator, nondelay: bool
) -> np.ndarray:
    """int ``[B]`` makespans of the greedy policy on the simulator's batch."""
    return rollout(agent, sim, nondelay).makespan


OPERATIONS_PER_CHUNK = 4096
"""Operations (copies x n x m) simulated and embedded together when sampling schedules. Larger
batches run slower per schedule on CPU once the ``[B, n, m, H]`` activations outgrow the cache:
on one thread, best-of-128 on a 100x20 instance took 9.0 s per schedule in batches of 128 and
3.4-3.8 s in batches of 1-4; a 50x20 one 1.9 s in batches of 128 and 0.7 s in batches of 2-4."""


def best_of_samples(
    agent: JobShopActorCritic,
    instance: JobShopInstance,
    samples: int,
    nondelay: bool,
    insertion: bool = True,
    seed: int = 0,
    chunk: int | None = None,
    downtimes: np.ndarray | None = None,
    temperature: float = 1.0,
    mirror: bool = False,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Sample ``samples`` schedules (in batches of ``chunk``, at ``temperature``) and keep the
    shortest: ``(start [n, m], end [n, m], makespan)``; ``downtimes``: int ``[m, D, 2]``.
    ``chunk=None``: as many copies as fit :data:`OPERATIONS_PER_CHUNK` operations (at least 1).

    ``mirror``: bidirectional sampling, the first ``ceil(samples / 2)`` schedules on the instance
    and the other ``floor(samples / 2)`` on its time-reversed mirror
    (:meth:`~pgsuite.apps.scheduling.jobshop.instances.JobShopInstance.mirrored`), read back in time. The
    policy meets every instance from both ends, which diversifies the samples at no extra cost.

    Raises:
        ConfigError: ``mirror`` with ``downtimes`` (breakdowns are revealed as time runs forward,
            so a schedule built backwards in time could not react to them).
    """
    if mirror and downtimes is not None:
        raise ConfigError(
            "mirrored sampling cannot face breakdowns (they are revealed forwards in time)"
        )
    if chunk is None:
        chunk = max(1, OPERATIONS_PER_CHUNK // instance.durations.size)
    views = [(instance, samples, False)]  # (instance to sample on, schedules, is the mirror)
    if mirror:
        views = [
            (instance, samples - samples // 2, False),
            (instance.mirrored(), samples // 2, True),
        ]
    generator = torch.Generator().manual_seed(seed)
    best: tuple[np.ndarray, np.ndarray, int] | None = None
    for target, count, is_mirror in views:
        for first in range(0, count, chunk):
            size = min(chunk, count - first)
            sim = JobShopSimulator.from_instances([target] * size, insertion, downtimes)
            result = rollout(agent, sim, nondelay, False, generator, temperature)
            i = int(result.makespan.argmin())
            if best is None or result.makespan[i] < best[2]:
                start, end = result.start[i], result.end[i]
                if is_mirror:
                    start, end = unmirror(start, end)
                best = (start, end, int(result.makespan[i]))
    return best
