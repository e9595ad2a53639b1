"""The blocking env and policy: gymnasium's check, determinism, telescoping dense returns, the
dynamic graph (nodes leave, wait-for arcs appear), revealed-only shutdown features, the policy's
masking and greedy schedules, MaskablePPO, and a tiny training run end to end."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

import pgsuite.apps.scheduling.jobshop  # noqa: F401 (registers the envs)
from pgsuite.apps.scheduling.jobshop.blocking import BlockingJobShop, InterruptionPlan
from pgsuite.apps.scheduling.jobshop.blocking_env import (
    NODE_FEATURES,
    BlockingEnvConfig,
    BlockingEpisode,
    BlockingJobShopEnv,
    blocking_graph,
    operation_features,
)
from pgsuite.apps.scheduling.jobshop.blocking_policy import WAIT, BlockingPolicy
from pgsuite.apps.scheduling.jobshop.blocking_train import greedy_blocking, load_blocking_policy
from pgsuite.apps.scheduling.jobshop.instances import JobShopInstance, random_instance
from pgsuite.core.cli import loads_strict, main
from pgsuite.core.errors import ConfigError

from .test_blocking import _crossing


def _first_valid_episode(env: gym.Env, seed: int) -> tuple[list[np.ndarray], list[float], dict]:
    obs, _ = env.reset(seed=seed)
    observations, rewards, done, info = [obs], [], False, {}
    while not done:
        action = int(np.flatnonzero(env.unwrapped.action_masks())[0])
        obs, reward, done, _, info = env.step(action)
        observations.append(obs)
        rewards.append(reward)
    return observations, rewards, info


def test_check_env_and_determinism() -> None:
    from gymnasium.utils.env_checker import check_env

    env = gym.make("pgsuite/BlockingJobShop-v0", jobs=4, machines=3,
                   shutdown_probabilities=[0.05])  # fmt: skip
    check_env(env.unwrapped, skip_render_check=True)
    first = _first_valid_episode(env, 7)
    again = _first_valid_episode(env, 7)
    other = _first_valid_episode(env, 8)
    assert all((a == b).all() for a, b in zip(first[0], again[0], strict=True))
    assert first[1] == again[1]
    assert first[2] == again[2]
    assert first[2]["makespan"] != other[2]["makespan"] or first[1] != other[1]


def test_dense_returns_telescope_to_the_makespan() -> None:
    for seed in range(3):
        episode = BlockingEnvConfig(jobs=5, machines=4).episode(seed)
        start_bound, total = episode.bound, 0.0
        while not episode.shop.done:
            reward, _ = episode.step(min(episode.shop.candidates()))
            total += reward
        makespan = episode.shop.result().makespan
        assert total == pytest.approx(-(makespan - start_bound) / episode.unit)


def test_the_graph_changes_with_the_state() -> None:
    shop = BlockingJobShop(_crossing())
    graph = blocking_graph(shop)
    assert graph.x.shape == (4, len(NODE_FEATURES))
    assert not (graph.edge_type == WAIT).any()
    shop.step(0)
    shop.step(1)  # t = 5: each job blocked, waiting for the other's machine
    graph = blocking_graph(shop)
    waits = graph.edge_index[:, graph.edge_type == WAIT]
    assert waits.shape[1] == 2
    blocked = graph.x[:, NODE_FEATURES.index("blocked")] > 0
    assert blocked.sum() == 2
    assert graph.is_next.sum() == 2
    assert set(waits[0].tolist()) == set(torch.nonzero(blocked).squeeze(-1).tolist())
    shop.step(0)  # the swap; then no decision is left: both jobs run and leave
    assert shop.done
    assert blocking_graph(shop).x.shape[0] == 0
    shop = BlockingJobShop(random_instance(4, 3, seed=0))
    sizes = []
    while not shop.done:
        sizes.append(blocking_graph(shop).x.shape[0])
        shop.step(min(shop.candidates()))
    assert sizes[0] == 12
    assert sizes == sorted(sizes, reverse=True)
    assert sizes[-1] < 12


def test_shutdowns_show_only_once_they_happen() -> None:
    instance = JobShopInstance("two", np.asarray([[10, 1], [2, 2]]), np.asarray([[0, 1], [1, 0]]))
    plan = InterruptionPlan(instance.durations, [[[(0, 3), (5, 2)], []], [[], []]], "resume")
    shop = BlockingJobShop(instance, plan)
    shop.step(0)  # J0 starts on M0 at 0 and its machine stops at once (0 -> 3)
    features = operation_features(shop)
    unit = instance.durations.mean()
    assert features[0, 0, NODE_FEATURES.index("down_now")] == 1
    assert features[0, 0, NODE_FEATURES.index("running_left")] == pytest.approx(10 / unit)
    assert shop.end[0, 0] == 15  # the simulator knows; the features do not


def test_the_policy_masks_and_runs_any_size() -> None:
    torch.manual_seed(0)
    agent = BlockingPolicy(hidden=16, layers=2)
    episodes = [BlockingEnvConfig(jobs=6, machines=3).episode(s) for s in range(3)]
    batch = Batch.from_data_list([blocking_graph(e.shop) for e in episodes])
    mask = torch.as_tensor(np.stack([e.mask() for e in episodes]))
    distribution, value = agent(batch, mask)
    assert value.shape == (3,)
    assert (distribution.probs[~mask] == 0).all()
    assert torch.allclose(distribution.probs.sum(1), torch.ones(3))
    default_mask, _ = agent(batch)
    assert torch.allclose(default_mask.probs, distribution.probs)
    for size in ((4, 4), (12, 5)):
        instance = random_instance(*size, seed=1)
        first = greedy_blocking(agent, instance)
        assert first.makespan == greedy_blocking(agent, instance).makespan


def test_maskable_ppo_trains_on_the_env() -> None:
    from sb3_contrib import MaskablePPO

    env = BlockingJobShopEnv(jobs=3, machines=3, shutdown_probabilities=(0.0, 0.05))
    model = MaskablePPO("MlpPolicy", env, n_steps=64, batch_size=32, n_epochs=1, seed=0)
    model.learn(128)
    obs, _ = env.reset(seed=0)
    action, _ = model.predict(obs, action_masks=env.action_masks())
    assert env.action_masks()[int(action)]


def test_train_blocking_end_to_end(tmp_path: Path, capsys) -> None:
    run = tmp_path / "blocking"
    argv = ["jobshop", "train-blocking", "--jobs", "4", "--machines", "3", "--total-timesteps",
            "256", "--num-envs", "2", "--num-steps", "64", "--eval-every", "1",
            "--dev-instances", "2", "--hidden", "16", "--out", str(run), "--no-progress",
            "--json"]  # fmt: skip
    assert main(argv) == 0
    summary = loads_strict(capsys.readouterr().out)["summary"]
    assert summary["iterations"] == 2
    assert summary["best_rule"] in ("fifo", "spt", "lpt", "mor", "mwkr")
    agent = load_blocking_policy(run)
    assert greedy_blocking(agent, random_instance(4, 3, seed=2)).makespan > 0
    with pytest.raises(ConfigError, match="shutdown probability"):
        BlockingEnvConfig(shutdown_probabilities=(1.5,))
    assert main([*argv[:2], "--num-envs", "0"]) != 0
    assert BlockingEpisode  # the episode class is public for custom loops


def test_the_wait_action() -> None:
    env = BlockingJobShopEnv(jobs=4, machines=3, allow_wait=True)
    assert env.action_space.n == 5
    env.reset(seed=0)
    assert not env.action_masks()[4]  # nothing runs at time 0
    env.step(int(np.flatnonzero(env.action_masks())[0]))
    assert env.action_masks()[4]
    time = env.episode.shop.time
    env.step(4)
    assert env.episode.shop.time > time
    torch.manual_seed(0)
    agent = BlockingPolicy(hidden=16, layers=1, wait=True)
    episode = BlockingEnvConfig(jobs=4, machines=3, allow_wait=True).episode(1)
    episode.step(0)
    distribution, _ = agent(Batch.from_data_list([blocking_graph(episode.shop)]),
                            torch.as_tensor(episode.mask())[None])  # fmt: skip
    assert distribution.probs.shape == (1, 5)
    assert distribution.probs[0, 4] > 0
    assert greedy_blocking(agent, random_instance(4, 3, seed=3)).makespan > 0
