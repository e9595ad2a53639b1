"""Time-reversed instances and bidirectional sampling (``bisample:N``)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pgsuite.apps.scheduling.jobshop.inference import best_of_samples, rollout
from pgsuite.apps.scheduling.jobshop.instances import random_instance
from pgsuite.apps.scheduling.jobshop.policy import JobShopActorCritic
from pgsuite.apps.scheduling.jobshop.schedule import verified_makespan
from pgsuite.apps.scheduling.jobshop.simulator import JobShopSimulator
from pgsuite.apps.scheduling.jobshop.solver import parse_method
from pgsuite.core.errors import ConfigError


def test_mirror_of_the_mirror_is_the_instance() -> None:
    instance = random_instance(5, 4, seed=1)
    mirror = instance.mirrored()
    assert (mirror.durations[:, 0] == instance.durations[:, -1]).all()
    assert (mirror.machines[:, 0] == instance.machines[:, -1]).all()
    twice = mirror.mirrored()
    assert (twice.durations == instance.durations).all()
    assert (twice.machines == instance.machines).all()


def test_bisample_keeps_the_best_of_both_directions() -> None:
    """Bidirectional sampling = the best of one batch on the instance and one on its mirror,
    drawn from one generator in that order; the kept schedule is feasible on the original."""
    torch.manual_seed(0)
    agent = JobShopActorCritic(hidden=16, layers=2)
    instance = random_instance(8, 5, seed=4)
    start, end, makespan = best_of_samples(agent, instance, 12, nondelay=True, seed=3, mirror=True)
    assert verified_makespan(instance, start, end) == makespan
    generator = torch.Generator().manual_seed(3)
    best = {}
    for name, target in (("forward", instance), ("mirror", instance.mirrored())):
        sim = JobShopSimulator.from_instances([target] * 6)
        best[name] = rollout(agent, sim, True, greedy=False, generator=generator).makespan.min()
    assert makespan == min(best.values())
    assert best["forward"] != best["mirror"]  # both directions matter on this instance


def test_bisample_parses_and_refuses_breakdowns() -> None:
    assert parse_method("bisample:64@0.8") == ("bisample", 64.0, 0.8)
    instance = random_instance(4, 3, seed=0)
    agent = JobShopActorCritic(hidden=8, layers=1)
    downtimes = np.array([[[5, 7]]] * 3)
    with pytest.raises(ConfigError, match="breakdowns"):
        best_of_samples(agent, instance, 4, nondelay=True, downtimes=downtimes, mirror=True)
