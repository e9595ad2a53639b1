"""Environments and the graph policy: gymnasium / SB3 checks, MaskablePPO runs, seeded episodes,
dense rewards that telescope to the makespan, and dense message passing equal to torch-geometric's
aggregation over the explicit disjunctive graph."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest
import torch
from torch_geometric.utils import scatter

import pgsuite.apps.scheduling.jobshop  # noqa: F401  (registers pgsuite/JobShop-v0)
from pgsuite.apps.scheduling.jobshop.env import InstanceSource, JobShopBatchEnv, JobShopEnv
from pgsuite.apps.scheduling.jobshop.features import NUM_FEATURES
from pgsuite.apps.scheduling.jobshop.inference import rollout
from pgsuite.apps.scheduling.jobshop.instances import random_instance
from pgsuite.apps.scheduling.jobshop.policy import (
    DisjunctiveLayer,
    JobShopActorCritic,
    MachineGroups,
    disjunctive_edge_index,
)
from pgsuite.apps.scheduling.jobshop.simulator import JobShopSimulator
from pgsuite.core.envs import check_batched_env
from pgsuite.core.errors import ConfigError


@pytest.mark.parametrize(
    "kwargs", [{"instance": "ft06"}, {"jobs": 4, "machines": 3, "reward": "sparse"}]
)
def test_env_passes_gymnasium_and_sb3_checks(kwargs: dict) -> None:
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    check_env(gymnasium.make("pgsuite/JobShop-v0", **kwargs).unwrapped, skip_render_check=True)
    sb3_check_env(JobShopEnv(**kwargs))


def test_maskable_ppo_trains_on_the_env() -> None:
    from sb3_contrib import MaskablePPO

    env = JobShopEnv(jobs=4, machines=3)
    model = MaskablePPO("MlpPolicy", env, n_steps=256, batch_size=64, seed=0, device="cpu")
    model.learn(total_timesteps=1_024)
    obs, _ = env.reset(seed=1)
    done = False
    while not done:
        action, _ = model.predict(obs, action_masks=env.action_masks(), deterministic=True)
        obs, _, done, _, info = env.step(int(action))
    assert not info["invalid_action"]
    assert info["makespan"] > 0


@pytest.mark.parametrize(
    "kwargs",
    [{"reward": "dense"}, {"reward": "sparse", "insertion": False, "nondelay": False}],
)
def test_batched_env_passes_the_batched_env_check(kwargs: dict) -> None:
    check_batched_env(JobShopBatchEnv(3, InstanceSource(jobs=4, machines=3), **kwargs), steps=30)


def test_episodes_are_seeded_and_dense_rewards_telescope() -> None:
    def episode(seed: int) -> tuple:
        env = JobShopBatchEnv(3, InstanceSource(jobs=5, machines=4))
        env.reset(seed=seed)
        durations = env.sim.durations.copy()
        first_bound, unit = env.bound.copy(), env.unit.copy()
        rng = np.random.default_rng(0)
        total = torch.zeros(3)
        while True:
            mask = env.action_masks().numpy()
            action = torch.tensor(np.where(mask, rng.random(mask.shape), -1).argmax(1))
            result = env.step(action)
            total += result.reward
            if result.terminated.all():
                makespan = result.info["makespan"]
                return total, makespan, (first_bound, unit), durations

    a, b, c = episode(7), episode(7), episode(8)
    torch.testing.assert_close(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[3], c[3])  # another seed, other instances
    first_bound, unit = a[2]
    expected = -(a[1] - first_bound) / unit
    torch.testing.assert_close(a[0], torch.as_tensor(expected, dtype=torch.float32))


def test_invalid_gym_action_is_replaced_and_flagged() -> None:
    env = JobShopEnv(jobs=3, machines=2, nondelay=False)
    env.reset(seed=0)
    for _ in range(2):
        env.step(0)  # job 0 finished
    _, _, _, _, info = env.step(0)
    assert info["invalid_action"]


def test_bad_env_settings() -> None:
    with pytest.raises(ConfigError):
        JobShopBatchEnv(2, InstanceSource(jobs=3, machines=3), reward="shaped")
    with pytest.raises(ConfigError):
        InstanceSource([random_instance(3, 3, 0), random_instance(4, 3, 0)])


def test_dense_message_passing_equals_pyg_aggregation() -> None:
    instance = random_instance(5, 4, 3)
    machines = torch.as_tensor(instance.machines)
    h = torch.randn(1, 5, 4, 8)
    conjunctive, disjunctive = disjunctive_edge_index(machines)
    flat = h.reshape(-1, 8)
    job_sum = scatter(flat[conjunctive[0]], conjunctive[1], dim=0, dim_size=20, reduce="sum")
    machine_mean = scatter(flat[disjunctive[0]], disjunctive[1], dim=0, dim_size=20, reduce="mean")
    torch.testing.assert_close(DisjunctiveLayer.job_neighbours(h).reshape(-1, 8), job_sum)
    torch.testing.assert_close(
        DisjunctiveLayer.machine_neighbours(h, machines[None]).reshape(-1, 8), machine_mean
    )
    assert disjunctive.shape[1] == 4 * 5 * 4  # m machines x n (n - 1) ordered pairs


def test_layer_equals_the_message_mlp_on_concatenated_aggregates() -> None:
    """The fused layer (first linear map applied before aggregating, machine mean split into
    per-machine totals) computes the docstring's update on the explicit concatenation."""
    torch.manual_seed(0)
    machines = torch.stack([torch.as_tensor(random_instance(6, 4, s).machines) for s in (1, 2)])
    layer = DisjunctiveLayer(8)
    with torch.no_grad():
        layer.eps.fill_(0.25)
    h = torch.randn(2, 6, 4, 8)
    groups = MachineGroups(machines)
    job_sum = DisjunctiveLayer.job_neighbours(h)
    machine_mean = DisjunctiveLayer.machine_neighbours(h, machines)
    inputs = torch.cat([(1 + layer.eps) * h, job_sum, machine_mean], -1)
    expected = h + torch.relu(layer.norm(layer.mlp(inputs)))
    torch.testing.assert_close(layer(h, groups), expected)


def test_machine_groups_of_a_subset_equal_groups_built_from_it() -> None:
    machines = torch.stack([torch.as_tensor(random_instance(5, 3, s).machines) for s in range(4)])
    h = torch.randn(4, 5, 3, 2)
    rows = torch.tensor([3, 1])
    subset = MachineGroups(machines).select(rows)
    torch.testing.assert_close(
        subset.others_mean(h[rows]), MachineGroups(machines[rows]).others_mean(h[rows])
    )


def test_policy_reads_any_size_and_respects_the_mask() -> None:
    torch.manual_seed(0)
    agent = JobShopActorCritic(hidden=16, layers=2)
    for jobs, machines in ((6, 6), (10, 3)):
        env = JobShopBatchEnv(2, InstanceSource(jobs=jobs, machines=machines))
        obs = env.reset(seed=0)
        assert obs.shape == (2, jobs, machines, NUM_FEATURES + 1)
        mask = env.action_masks()
        dist, value = agent(obs, mask)
        assert value.shape == (2,)
        samples = dist.sample((50,))
        assert mask.gather(1, samples.T).all()


def test_sampling_near_zero_temperature_follows_the_greedy_policy() -> None:
    torch.manual_seed(0)
    agent = JobShopActorCritic(hidden=16, layers=2)
    with torch.no_grad():
        agent.actor.net[-1].weight.mul_(300.0)  # decisive logits, far from uniform
    sim = JobShopSimulator.from_instances([random_instance(8, 4, 5)] * 6)
    greedy = rollout(agent, sim, nondelay=False).order
    generator = torch.Generator().manual_seed(0)
    cold = rollout(agent, sim, False, greedy=False, generator=generator, temperature=1e-6)
    hot = rollout(agent, sim, False, greedy=False, generator=generator, temperature=10.0)
    assert (cold.order == greedy).all()
    assert (hot.order != greedy).any(axis=1).all()
