"""Job-shop training: the curriculum callback trains bit-identically to the hand-rolled loop."""

from __future__ import annotations

import dataclasses

import torch

from pgsuite.apps.scheduling.jobshop import train as jobshop_train
from pgsuite.core.ppo import PPO, PPOConfig
from pgsuite.core.seeding import GeneratorState, seed_everything
from pgsuite.core.trainer import Trainer, TrainerConfig


def _config() -> jobshop_train.JobShopTrainConfig:
    return jobshop_train.JobShopTrainConfig(
        sizes=("3x3", "4x3"),
        num_envs=4,
        dev_instances=3,
        seed=3,
        policy=jobshop_train.PolicyConfig(hidden=16, layers=2),
        ppo=PPOConfig(
            total_timesteps=4 * 12 * 6, num_steps=12, update_epochs=2, num_minibatches=4, gamma=1.0
        ),
        trainer=TrainerConfig(metric="dev_gap_to_mwkr_pct", eval_every=2, progress=False),
    )


def _reference_run(
    config: jobshop_train.JobShopTrainConfig,
) -> tuple[list[float], list[torch.Tensor]]:
    """The curriculum as written before the callback: switch size inside the step function."""
    seed_everything(config.seed)
    agent = jobshop_train.make_agent(config.policy)
    env = jobshop_train.CurriculumEnv(config)
    ppo = PPO(env, agent, config.ppo, seed=config.seed)
    env.plan(ppo.num_iterations)
    losses: list[float] = []

    def iteration(step: int) -> dict[str, float]:
        if env.set_iteration(step):
            ppo.obs = None
        metrics = ppo.iteration(step)
        losses.append(metrics["loss"])
        return metrics

    trainer = Trainer(
        dataclasses.replace(config.trainer, max_steps=ppo.num_iterations, restore_best=False),
        iteration,
        model=agent,
        optimizer=ppo.optimizer,
        stateful={
            "shuffle_generator": GeneratorState(ppo.shuffle_generator),
            "instance_generator": GeneratorState(env.source.rng),
        },
    )
    trainer.fit()
    return losses, [p.detach().clone() for p in agent.parameters()]


def test_curriculum_callback_trains_like_the_hand_rolled_loop(monkeypatch) -> None:
    config = _config()
    config.trainer.restore_best = False
    expected_losses, expected_params = _reference_run(config)
    agents, losses = [], []
    make_agent, iteration = jobshop_train.make_agent, PPO.iteration

    def recording_iteration(self: PPO, step: int) -> dict[str, float]:
        metrics = iteration(self, step)
        losses.append(metrics["loss"])
        return metrics

    monkeypatch.setattr(
        jobshop_train, "make_agent", lambda policy: agents.append(make_agent(policy)) or agents[-1]
    )
    monkeypatch.setattr(PPO, "iteration", recording_iteration)
    result = jobshop_train.train(config)
    assert result["iterations"] == 6
    assert losses == expected_losses
    params = [p.detach() for p in agents[0].parameters()]
    assert all(torch.equal(a, b) for a, b in zip(params, expected_params, strict=True))


def test_shipped_policy_and_run_folders_load(tmp_path) -> None:
    from pgsuite.apps.scheduling.jobshop.solver import SHIPPED_POLICY
    from pgsuite.core.runs import load_config

    agent, policy = jobshop_train.load_policy(SHIPPED_POLICY)
    assert policy == jobshop_train.PolicyConfig(hidden=32, layers=3)
    assert sum(p.numel() for p in agent.parameters()) > 0
    config = _config()
    config.trainer.out = tmp_path
    config.ppo.total_timesteps = 4 * 12
    jobshop_train.train(config)
    saved = load_config(tmp_path)
    assert saved["sizes"] == ["3x3", "4x3"]
    assert saved["policy"]["hidden"] == 16
    _, reloaded = jobshop_train.load_policy(tmp_path)
    assert reloaded == config.policy
