"""Running a trained dispatching policy: greedy, or sampling many schedules in one batch."""

from __future__ import annotations

import numpy as np
import torch

from apps.scheduling.jobshop.features import operation_features
from apps.scheduling.jobshop.instances import JobShopInstance
from apps.scheduling.jobshop.policy import JobShopActorCritic
from apps.scheduling.jobshop.simulator import JobShopSimulator, ScheduleResult


@torch.inference_mode()
def rollout(
    agent: JobShopActorCritic,
    sim: JobShopSimulator,
    nondelay: bool,
    greedy: bool = True,
    generator: torch.Generator | None = None,
) -> ScheduleResult:
    """Schedule the simulator's whole batch with the policy (from an empty schedule).

    Decisions with a single valid job are taken without running the network (the policy would
    pick that job with probability 1), which skips about half the steps under non-delay masks.
    """
    sim.reset()
    while not sim.done:
        mask = sim.valid_jobs(nondelay)
        jobs = mask.argmax(1)
        open_rows = np.flatnonzero(mask.sum(1) > 1)
        if len(open_rows):
            obs = torch.from_numpy(operation_features(sim)[open_rows])
            logits = agent.action_logits(obs).masked_fill(
                ~torch.from_numpy(mask[open_rows]), -torch.inf
            )
            if greedy:
                action = logits.argmax(-1)
            else:
                action = torch.multinomial(logits.softmax(-1), 1, generator=generator).squeeze(-1)
            jobs[open_rows] = action.numpy()
        sim.step(jobs)
    return sim.result()


def greedy_makespans(
    agent: JobShopActorCritic, sim: JobShopSimulator, nondelay: bool
) -> np.ndarray:
    """int ``[B]`` makespans of the greedy policy on the simulator's batch."""
    return rollout(agent, sim, nondelay).makespan


def best_of_samples(
    agent: JobShopActorCritic,
    instance: JobShopInstance,
    samples: int,
    nondelay: bool,
    insertion: bool = True,
    seed: int = 0,
    chunk: int = 128,
    downtimes: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Sample ``samples`` schedules (in batches of ``chunk``) and keep the shortest:
    ``(start [n, m], end [n, m], makespan)``; ``downtimes``: int ``[m, D, 2]`` breakdowns."""
    generator = torch.Generator().manual_seed(seed)
    best: tuple[np.ndarray, np.ndarray, int] | None = None
    for first in range(0, samples, chunk):
        size = min(chunk, samples - first)
        sim = JobShopSimulator.from_instances([instance] * size, insertion, downtimes)
        result = rollout(agent, sim, nondelay, greedy=False, generator=generator)
        i = int(result.makespan.argmin())
        if best is None or result.makespan[i] < best[2]:
            best = (result.start[i], result.end[i], int(result.makespan[i]))
    return best
