"""Score-function baselines: the batched env follows core's BatchedEnv contract."""

from __future__ import annotations

import torch

from pgsuite.apps.inventory.score_function import InventoryVecEnv
from pgsuite.apps.inventory.settings import SettingConfig, build_setting
from pgsuite.core.envs import BatchedEnv, check_batched_env


def test_vec_env_contract_and_truncation() -> None:
    setting = build_setting(SettingConfig(setting="one_warehouse_lost", stores=2))
    env = InventoryVecEnv(setting, 4, horizon=3, reward_scale=10.0)
    assert isinstance(env, BatchedEnv)
    obs = env.reset(seed=0)
    assert obs.shape == (4, 3 * (setting.network.max_lead_time + 1))
    for t in range(3):
        result = env.step(torch.full((4, 3), 2.0))
        assert (result.reward <= 0).all()
        assert bool(result.truncated.all()) == (t == 2)
    assert not torch.equal(result.obs, result.final_obs)  # restarted after the horizon


def test_vec_env_passes_the_batched_env_check() -> None:
    setting = build_setting(SettingConfig(setting="one_warehouse_lost", stores=2))
    env = InventoryVecEnv(setting, 4, horizon=5, reward_scale=10.0)
    check_batched_env(
        env, steps=12, action_sampler=lambda generator, _: 3 * torch.rand(4, 3, generator=generator)
    )
