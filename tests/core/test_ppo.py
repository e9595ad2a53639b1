"""PPO: learns identity tasks with tensor, masked and graph observations; CartPole-v1 (slow)."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch_geometric.data import Batch, Data

from pgsuite.core.demo import CARTPOLE_ENVS, CARTPOLE_PPO
from pgsuite.core.distributions import BetaHead
from pgsuite.core.envs import GymVectorEnv, StepResult
from pgsuite.core.errors import ConfigError
from pgsuite.core.nn import MLP, GraphActorCritic
from pgsuite.core.ppo import (
    MLPActorCritic,
    PPOCallback,
    PPOConfig,
    evaluate_policy,
    train_ppo,
)
from pgsuite.core.seeding import seed_everything
from pgsuite.core.trainer import TrainerConfig


class IdentityEnv:
    """One-step episodes: observe a one-hot target among ``n``, reward 1 for naming it.

    With ``masked=True`` half of the wrong actions are masked out each step (never the target),
    so a policy that ever picks a masked action is caught by the test.
    """

    def __init__(self, num_envs: int, n: int = 4, masked: bool = False) -> None:
        self.num_envs, self.n, self.masked = num_envs, n, masked
        self.generator = torch.Generator()
        self.sampled_masked_action = False

    def _new(self) -> torch.Tensor:
        self.target = torch.randint(0, self.n, (self.num_envs,), generator=self.generator)
        self.mask = torch.ones(self.num_envs, self.n, dtype=torch.bool)
        if self.masked:
            drop = torch.rand(self.num_envs, self.n, generator=self.generator) < 0.5
            drop[torch.arange(self.num_envs), self.target] = False
            self.mask &= ~drop
        return nn.functional.one_hot(self.target, self.n).float()

    def reset(self, seed: int | None = None) -> torch.Tensor:
        if seed is not None:
            self.generator.manual_seed(seed)
        return self._new()

    def step(self, action: torch.Tensor) -> StepResult:
        if not self.mask[torch.arange(self.num_envs), action].all():
            self.sampled_masked_action = True
        reward = (action == self.target).float()
        done = torch.ones(self.num_envs, dtype=torch.bool)
        return StepResult(self._new(), reward, done, torch.zeros_like(done))

    def action_masks(self) -> torch.Tensor | None:
        return self.mask if self.masked else None


class NodePickEnv:
    """Graph version of the identity task: pick the one marked node of a random graph (4-7 nodes)."""

    def __init__(self, num_envs: int) -> None:
        self.num_envs = num_envs
        self.generator = torch.Generator()

    def _new(self) -> Batch:
        graphs, self.target = [], []
        for _ in range(self.num_envs):
            n = int(torch.randint(4, 8, (1,), generator=self.generator))
            marked = int(torch.randint(0, n, (1,), generator=self.generator))
            x = torch.zeros(n, 2)
            x[:, 1] = 1.0
            x[marked, 0] = 1.0
            ring = torch.arange(n)
            edge_index = torch.stack(
                [torch.cat([ring, (ring + 1) % n]), torch.cat([(ring + 1) % n, ring])]
            )
            graphs.append(Data(x=x, edge_index=edge_index))
            self.target.append(marked)
        self.target = torch.tensor(self.target)
        return Batch.from_data_list(graphs)

    def reset(self, seed: int | None = None) -> Batch:
        if seed is not None:
            self.generator.manual_seed(seed)
        return self._new()

    def step(self, action: torch.Tensor) -> StepResult:
        reward = (action == self.target).float()
        done = torch.ones(self.num_envs, dtype=torch.bool)
        return StepResult(self._new(), reward, done, torch.zeros_like(done))

    def action_masks(self) -> None:
        return None


def _fast_config(total: int) -> PPOConfig:
    return PPOConfig(
        total_timesteps=total, num_steps=4, learning_rate=3e-3, update_epochs=4, num_minibatches=2
    )


@pytest.mark.parametrize("masked", [False, True])
def test_ppo_learns_identity(masked: bool) -> None:
    seed_everything(0)
    env = IdentityEnv(16, masked=masked)
    agent = MLPActorCritic(4, 4, hidden=(32,))
    result, _ = train_ppo(env, agent, _fast_config(4_096), TrainerConfig(progress=False))
    assert result.steps == 4_096 // (4 * 16)
    score = evaluate_policy(IdentityEnv(16, masked=masked), agent, 64, seed=1)
    assert score["mean_return"] == 1.0
    assert not env.sampled_masked_action


def test_ppo_learns_node_selection_on_graphs() -> None:
    seed_everything(0)
    agent = GraphActorCritic(2, 16)
    before = evaluate_policy(NodePickEnv(16), agent, 64, greedy=False, seed=1)["mean_return"]
    train_ppo(NodePickEnv(16), agent, _fast_config(3_072), TrainerConfig(progress=False))
    after = evaluate_policy(NodePickEnv(16), agent, 64, seed=1)["mean_return"]
    assert before < 0.4
    assert after >= 0.95


def test_ppo_logs_cleanrl_diagnostics(tmp_path) -> None:
    seed_everything(0)
    env = IdentityEnv(8)
    config = TrainerConfig(progress=False, out=tmp_path)
    result, _ = train_ppo(env, MLPActorCritic(4, 4), _fast_config(256), config)
    for name in ("pg_loss", "v_loss", "entropy", "approx_kl", "clipfrac", "explained_var"):
        assert name in result.last_metrics
    assert (tmp_path / "checkpoint.pt").exists()


def test_ppo_rejects_budget_below_one_rollout() -> None:
    with pytest.raises(ConfigError, match="less than one rollout"):
        train_ppo(IdentityEnv(8), MLPActorCritic(4, 4), _fast_config(16))
    with pytest.raises(ConfigError):
        PPOConfig(gamma=1.5)


def test_gym_adapter_reports_final_obs_on_truncation() -> None:
    env = GymVectorEnv("CartPole-v1", 2, max_episode_steps=3)
    obs = env.reset(seed=0)
    for _ in range(3):
        result = env.step(torch.zeros(2, dtype=torch.long))
    assert result.truncated.all()
    assert not result.terminated.any()
    assert not torch.equal(result.final_obs, result.obs)  # obs was reset, final_obs was not
    assert obs.shape == result.obs.shape == result.final_obs.shape == (2, 4)


@pytest.mark.slow
def test_ppo_solves_cartpole() -> None:
    seed_everything(0)
    env = GymVectorEnv("CartPole-v1", CARTPOLE_ENVS)
    agent = MLPActorCritic(4, 2)
    train_ppo(env, agent, CARTPOLE_PPO, TrainerConfig(progress=False), seed=0)
    score = evaluate_policy(GymVectorEnv("CartPole-v1", 4), agent, 20, seed=1)
    assert score["mean_return"] >= 475


class TargetEnv:
    """One-step continuous task: observe a target in [0.2, 0.8], act in [0, 1], reward -|a - t|."""

    def __init__(self, num_envs: int) -> None:
        self.num_envs = num_envs
        self.generator = torch.Generator()

    def _new(self) -> torch.Tensor:
        self.target = 0.2 + 0.6 * torch.rand(self.num_envs, 1, generator=self.generator)
        return self.target.clone()

    def reset(self, seed: int | None = None) -> torch.Tensor:
        if seed is not None:
            self.generator.manual_seed(seed)
        return self._new()

    def step(self, action: torch.Tensor) -> StepResult:
        reward = -(action - self.target).abs().squeeze(-1)
        done = torch.ones(self.num_envs, dtype=torch.bool)
        return StepResult(self._new(), reward, done, torch.zeros_like(done))

    def action_masks(self) -> None:
        return None


class BetaActorCritic(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = MLP(1, (32,), 32)
        self.head = BetaHead(32, 1)
        self.critic = MLP(1, (32,), 1)

    def forward(self, obs: torch.Tensor, action_mask: None = None):
        return self.head(torch.tanh(self.body(obs))), self.critic(obs).squeeze(-1)


def test_ppo_learns_bounded_continuous_action_with_beta_head() -> None:
    seed_everything(0)
    agent = BetaActorCritic()
    config = PPOConfig(
        total_timesteps=16_384, num_steps=4, learning_rate=3e-3, ent_coef=0.0, num_minibatches=2
    )
    train_ppo(TargetEnv(32), agent, config, TrainerConfig(progress=False))
    score = evaluate_policy(TargetEnv(32), agent, 128, seed=1)
    assert score["mean_return"] > -0.03  # random Beta(1, 1)-ish actions score about -0.25


class _Recorder(PPOCallback):
    """Records every hook call; returns False from ``on_iteration_end`` at ``stop_at``."""

    def __init__(self, stop_at: int | None = None) -> None:
        self.stop_at, self.calls = stop_at, []

    def on_training_start(self, ppo) -> None:
        self.calls.append(("training_start",))

    def on_rollout_start(self, ppo, iteration) -> None:
        self.calls.append(("rollout_start", iteration))

    def on_rollout_end(self, ppo, iteration, stats) -> None:
        assert ppo.buffer.advantages.shape == (ppo.config.num_steps, ppo.env.num_envs)
        self.calls.append(("rollout_end", iteration))

    def on_iteration_end(self, ppo, iteration, metrics) -> bool:
        assert "pg_loss" in metrics
        self.calls.append(("iteration_end", iteration))
        return iteration != self.stop_at

    def on_training_end(self, ppo, result) -> None:
        self.calls.append(("training_end", result.steps))


def _trained_parameters(callbacks) -> tuple[list[torch.Tensor], object]:
    seed_everything(0)
    agent = MLPActorCritic(4, 4, hidden=(16,))
    result, _ = train_ppo(
        IdentityEnv(8, masked=True),
        agent,
        _fast_config(8 * 4 * 5),
        TrainerConfig(progress=False),
        callbacks=callbacks,
    )
    return [p.detach().clone() for p in agent.parameters()], result


def test_noop_callback_leaves_training_bit_identical() -> None:
    plain, plain_result = _trained_parameters([])
    hooked, hooked_result = _trained_parameters([PPOCallback(), _Recorder()])
    assert all(torch.equal(a, b) for a, b in zip(plain, hooked, strict=True))
    assert plain_result.last_metrics["loss"] == hooked_result.last_metrics["loss"]


def test_callback_hooks_run_in_order_and_false_stops_at_that_iteration() -> None:
    recorder = _Recorder(stop_at=2)
    _, result = _trained_parameters([recorder])
    assert result.steps == 3
    assert result.stop_reason == "requested"
    per_iteration = [
        (name, i) for i in range(3) for name in ("rollout_start", "rollout_end", "iteration_end")
    ]
    assert recorder.calls == [("training_start",), *per_iteration, ("training_end", 3)]
