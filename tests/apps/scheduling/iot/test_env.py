"""The gym env: gymnasium and SB3 checks, episodes repeat under a seed, always picking MCT's node
gives MCT's run (and a return that adds up its responses), invalid actions are replaced and
flagged, and MaskablePPO trains on it."""

from __future__ import annotations

import gymnasium
import numpy as np
import pytest

import pgsuite.apps.scheduling.iot  # noqa: F401  (registers pgsuite/CloudScheduling-v0)
from pgsuite.apps.scheduling.iot.env import CloudSchedulingEnv
from pgsuite.apps.scheduling.iot.schedulers import make_heuristic
from pgsuite.apps.scheduling.iot.simulator import IoTSimulator
from pgsuite.apps.scheduling.iot.workloads import GeneratorConfig
from pgsuite.core.errors import ConfigError

SMALL = {"generator": GeneratorConfig(duration_s=40.0, peak_rate=0.5, offpeak_rate=0.2)}


def test_gym_and_sb3_checks_pass() -> None:
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    check_env(gymnasium.make("pgsuite/CloudScheduling-v0", **SMALL).unwrapped,
              skip_render_check=True)  # fmt: skip
    sb3_check_env(CloudSchedulingEnv(**SMALL))


def _episode(env: CloudSchedulingEnv, seed: int, pick):
    obs, _ = env.reset(seed=seed)
    observations, total, done, info = [obs], 0.0, False, {}
    while not done:
        obs, reward, done, _, info = env.step(pick(env))
        observations.append(obs)
        total += reward
    return observations, total, info


def test_mct_actions_give_mct_and_episodes_repeat() -> None:
    env = CloudSchedulingEnv(**SMALL, deadline_penalty=0.0)
    mct = lambda env: int(np.argmin(env.sim.completion(env.task)))  # noqa: E731
    a, total, info = _episode(env, 3, mct)
    expected = IoTSimulator(env.cluster, env.sim.tasks).run(make_heuristic("mct"))
    assert info["mean_response_s"] == pytest.approx(expected.response_s.mean())
    assert -total * env.config.response_scale_s == pytest.approx(expected.response_s.sum())
    b, again, _ = _episode(env, 3, mct)
    assert total == again
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    _, other, _ = _episode(env, 4, mct)
    assert other != total


def test_invalid_actions_are_replaced_and_flagged() -> None:
    env = CloudSchedulingEnv(**SMALL)
    env.reset(seed=0)
    env.sim._fits[env.task, 0] = False  # make node 0 unable to hold this task
    _, _, _, _, info = env.step(0)
    assert info["invalid_action"]
    assert env.sim.node[0] != 0
    with pytest.raises(ConfigError, match="response_scale_s"):
        CloudSchedulingEnv(response_scale_s=0.0)


def test_maskable_ppo_trains_on_the_env() -> None:
    from sb3_contrib import MaskablePPO

    env = CloudSchedulingEnv(**SMALL)
    model = MaskablePPO("MlpPolicy", env, n_steps=128, batch_size=64, seed=0, device="cpu")
    model.learn(256)
    obs, _ = env.reset(seed=1)
    action, _ = model.predict(obs, action_masks=env.action_masks(), deterministic=True)
    assert env.action_masks()[int(action)]
