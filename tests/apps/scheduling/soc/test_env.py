"""The SoC environments: gymnasium / SB3 checks for every observation and action form,
MaskablePPO trains on the gym env, episodes repeat under a seed, the return telescopes to minus
the sum of latencies, and the batched env and the graph policy fit the core's PPO."""

from __future__ import annotations

from pathlib import Path

import gymnasium
import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

import pgsuite.apps.scheduling.soc  # noqa: F401  (registers pgsuite/SoC-v0)
from pgsuite.apps.scheduling.soc.env import SoCBatchEnv, SoCEnv, SoCEnvConfig
from pgsuite.apps.scheduling.soc.features import NODE_FEATURES
from pgsuite.apps.scheduling.soc.policy import SoCPolicy
from pgsuite.apps.scheduling.soc.schedulers import EarliestFinish
from pgsuite.apps.scheduling.soc.simulator import SoCSimulator
from pgsuite.core.envs import check_batched_env
from pgsuite.core.errors import ConfigError


@pytest.fixture
def env_kwargs(canonical_files) -> dict:
    soc_file, job_file = canonical_files
    return {"soc": str(soc_file), "jobs": (f"{job_file}:1",), "scale_us": 30.0,
            "noise_std": 0.3, "num_jobs": 6, "max_ready": 8}  # fmt: skip


@pytest.mark.parametrize("observation", ["flat", "graph"])
@pytest.mark.parametrize("choose_pe", [False, True])
def test_gym_and_sb3_checks_pass(env_kwargs, observation, choose_pe) -> None:
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    kwargs = {**env_kwargs, "observation": observation, "choose_pe": choose_pe}
    check_env(gymnasium.make("pgsuite/SoC-v0", **kwargs).unwrapped, skip_render_check=True)
    sb3_check_env(SoCEnv(**kwargs))


def _episode(env: SoCEnv, seed: int, pick) -> tuple[list, float, dict]:
    obs, _ = env.reset(seed=seed)
    observations, total, done, info = [obs], 0.0, False, {}
    while not done:
        obs, reward, done, _, info = env.step(pick(env.action_masks()))
        observations.append(obs)
        total += reward
    return observations, total, info


def test_episodes_repeat_under_a_seed_and_the_return_is_the_latency_sum(env_kwargs) -> None:
    env = SoCEnv(**env_kwargs)
    first = lambda mask: int(np.flatnonzero(mask)[0])  # noqa: E731
    a, total, info = _episode(env, 3, first)
    # the first slot on its earliest-finish PE is EFT: the same latencies as the simulator's
    eft = SoCSimulator(env.platform, env.episode.sim.jobs).run(EarliestFinish()).latency_us
    assert info["mean_latency_us"] == pytest.approx(eft.mean())
    assert -total * env.config.time_unit_us == pytest.approx(eft.sum())
    b, again, _ = _episode(env, 3, first)
    assert total == again
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    _, other, _ = _episode(env, 4, first)
    assert other != total  # another seed, other arrivals and noise


def test_invalid_actions_are_replaced_and_flagged(env_kwargs) -> None:
    env = SoCEnv(**env_kwargs)
    env.reset(seed=0)
    invalid = int(np.flatnonzero(~env.action_masks())[0])
    _, _, _, _, info = env.step(invalid)
    assert info["invalid_action"]


def test_maskable_ppo_trains_on_the_env(env_kwargs) -> None:
    from sb3_contrib import MaskablePPO

    env = SoCEnv(**env_kwargs)
    model = MaskablePPO("MlpPolicy", env, n_steps=256, batch_size=64, seed=0, device="cpu")
    model.learn(total_timesteps=2_048)
    obs, _ = env.reset(seed=1)
    done = False
    while not done:
        action, _ = model.predict(obs, action_masks=env.action_masks(), deterministic=True)
        obs, _, done, _, info = env.step(int(action))
        assert not info["invalid_action"]
    assert info["mean_latency_us"] > 0


def test_batched_env_and_graph_policy_fit_the_core_protocol(env_kwargs) -> None:
    config = SoCEnvConfig(env_kwargs["soc"], env_kwargs["jobs"], (30.0, 10.0), (0.0, 0.3), 4,
                          max_ready=8)  # fmt: skip
    env = SoCBatchEnv(config, num_envs=3)
    check_batched_env(env, steps=60)
    obs = env.reset(seed=0)
    assert obs.x.shape[1] == len(NODE_FEATURES)
    policy = SoCPolicy(2 + 3, max_ready=8, hidden=16, layers=2)
    dist, value = policy(obs, env.action_masks())
    assert dist.probs.shape == (3, 8)
    assert value.shape == (3,)
    assert torch.all(dist.probs[~env.action_masks()] == 0)


def test_policy_scores_do_not_depend_on_the_other_graphs_in_a_batch(env_kwargs) -> None:
    config = SoCEnvConfig(env_kwargs["soc"], env_kwargs["jobs"], (10.0,), (0.3,), 5, max_ready=8)
    env = SoCBatchEnv(config, num_envs=3)
    env.reset(seed=1)
    for _ in range(7):
        env.step(torch.zeros(3, dtype=torch.long))
    graphs = [e.observe().to_data() for e in env.episodes]
    policy = SoCPolicy(5, max_ready=8, hidden=16, layers=2)
    together, _ = policy(Batch.from_data_list(graphs))
    for i, graph in enumerate(graphs):
        alone, _ = policy(Batch.from_data_list([graph]))
        assert torch.allclose(alone.probs[0], together.probs[i], atol=1e-6)


def test_shared_workload_envs_see_the_same_jobs(env_kwargs) -> None:
    config = SoCEnvConfig(env_kwargs["soc"], env_kwargs["jobs"], num_jobs=4, max_ready=8)
    env = SoCBatchEnv(config, num_envs=2, shared_workload=True)
    env.reset(seed=5)
    a, b = (e.sim.jobs for e in env.episodes)
    assert [j.arrival_us for j in a] == [j.arrival_us for j in b]


def test_bad_settings_are_refused(env_kwargs) -> None:
    with pytest.raises(ConfigError, match="observation"):
        SoCEnv(**{**env_kwargs, "observation": "image"})
    with pytest.raises(ConfigError, match="scale"):
        SoCEnvConfig(env_kwargs["soc"], env_kwargs["jobs"], scales_us=())
    assert Path(env_kwargs["soc"]).exists()
