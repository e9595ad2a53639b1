"""core.envs.check_batched_env: accepts protocol-abiding envs, names what a broken one breaks."""

from __future__ import annotations

import pytest
import torch

from pgsuite.core.envs import EnvCheckError, GymVectorEnv, StepResult, check_batched_env
from pgsuite.core.errors import ConfigError


class CountdownEnv:
    """Episodes of 3 steps: observe ``[steps left, noise]``, 2 masked actions (action 1 only
    valid on even steps), reward = action. Each ``broken`` value breaks one protocol rule."""

    def __init__(self, num_envs: int = 4, broken: str | None = None) -> None:
        self.num_envs, self.broken = num_envs, broken
        self.generator = torch.Generator()
        self.left = torch.full((num_envs,), 3)

    def _obs(self) -> torch.Tensor:
        noise = torch.rand(self.num_envs, generator=self.generator)
        return torch.stack([self.left.float(), noise], dim=1)

    def reset(self, seed: int | None = None) -> torch.Tensor:
        if seed is not None and self.broken != "unseeded":
            self.generator.manual_seed(seed)
        self.left = torch.full((self.num_envs,), 3)
        return self._obs()

    def action_masks(self) -> torch.Tensor:
        mask = torch.ones(self.num_envs, 2, dtype=torch.bool)
        mask[:, 1] = self.left % 2 == 1
        if self.broken == "empty-mask":
            mask[0] = False
        return mask

    def step(self, action: torch.Tensor) -> StepResult:
        self.left = self.left - 1
        done = self.left == 0 if self.broken != "never-done" else torch.zeros_like(self.left) > 0
        final_obs = self._obs()
        self.left = torch.where(done, 3, self.left)
        obs = torch.where(done.unsqueeze(1), self._obs(), final_obs)
        if self.broken == "stale-final-obs":
            final_obs = final_obs + 1
        reward = action.float() if self.broken != "double-reward" else action.double()
        terminated = done if self.broken != "int-flags" else done.long()
        return StepResult(obs, reward, terminated, torch.zeros_like(done), final_obs)


def test_a_correct_env_passes() -> None:
    check_batched_env(CountdownEnv(), steps=10)


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ("unseeded", "do not reproduce step 0"),
        ("empty-mask", r"no valid action for envs \[0\]"),
        ("never-done", "no episode ended"),
        ("stale-final-obs", "final_obs differs from obs"),
        ("double-reward", "reward must be a torch.float32"),
        ("int-flags", "terminated must be a torch.bool"),
    ],
)
def test_a_broken_env_is_caught(broken: str, message: str) -> None:
    with pytest.raises(EnvCheckError, match=message):
        check_batched_env(CountdownEnv(broken=broken), steps=10)


def test_gym_adapter_passes_with_an_action_sampler() -> None:
    env = GymVectorEnv("CartPole-v1", 2)
    with pytest.raises(ConfigError, match="action_sampler"):
        check_batched_env(env)
    check_batched_env(
        env,
        steps=60,
        action_sampler=lambda generator, _: torch.randint(0, 2, (2,), generator=generator),
    )
