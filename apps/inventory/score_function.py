"""Score-function baselines for HDPO: REINFORCE with a baseline and PPO, both from the core.

The HDPO paper argues that pathwise gradients beat score-function estimators on these problems;
its reference code has no score-function implementation, so the comparison could not be rerun.
Here both train a stochastic policy (a Beta distribution per location over ``[0, max_order]``) on
the same simulator and scenarios, and are tested with the distribution's mean as the order.

- REINFORCE: hindsight scenario minibatches as in HDPO; per-period reward-to-go (costs of periods
  after the warm-up) with a per-period batch-mean baseline; :func:`core.estimators.reinforce_loss`.
- PPO: :func:`core.ppo.train_ppo` on :class:`InventoryVecEnv`, a batched environment over the
  simulator (rewards are minus costs divided by ``reward_scale``; episodes of ``horizon`` periods
  cut by a time limit and bootstrapped).
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from pgsuite.apps.inventory.env import InventoryVecEnv
from pgsuite.apps.inventory.hdpo import HDPOConfig
from pgsuite.apps.inventory.network import location_demand_rate
from pgsuite.apps.inventory.policies import observation_features
from pgsuite.apps.inventory.settings import Setting
from pgsuite.apps.inventory.sim import InventorySimulator, Observation, Scenarios
from pgsuite.core.advantages import normalize
from pgsuite.core.distributions import BetaHead
from pgsuite.core.errors import ConfigError
from pgsuite.core.estimators import reinforce_loss
from pgsuite.core.nn import MLP
from pgsuite.core.ppo import PPOConfig, train_ppo
from pgsuite.core.seeding import GeneratorState, seed_everything
from pgsuite.core.trainer import Trainer, TrainerConfig, TrainResult


class BetaActorCritic(nn.Module):
    """Actor: MLP -> Beta per location over ``[0, 4 x demand rate]``; critic: MLP -> value.

    ``forward(features [B, F], action_mask=None) -> (distribution with event [N], value [B])``.
    """

    def __init__(self, setting: Setting, hidden: tuple[int, ...] = (64, 64)) -> None:
        super().__init__()
        net = setting.network
        self.register_buffer("scale", location_demand_rate(net, setting.demand_mean))
        features = net.num_locations * (net.max_lead_time + 1)
        self.body = MLP(features, hidden, hidden[-1])
        self.head = BetaHead(hidden[-1], net.num_locations, low=0.0, high=1.0)
        self.critic = MLP(features, hidden, 1)

    def forward(self, features: torch.Tensor, action_mask: None = None):
        dist = self.head(torch.tanh(self.body(features)))
        return dist, self.critic(features).squeeze(-1)

    def orders(self, unit_actions: torch.Tensor) -> torch.Tensor:
        """Map actions in ``[0, 1]`` to orders ``[0, 4 x demand rate]``."""
        return unit_actions * 4.0 * self.scale

    def mean_orders(self, obs: Observation) -> torch.Tensor:
        """Deterministic policy for testing: the orders at the distribution's mean."""
        dist, _ = self(observation_features(obs, self.scale))
        return self.orders(dist.mean)


def reinforce_step(
    agent: BetaActorCritic,
    simulator: InventorySimulator,
    scenarios: Scenarios,
    warmup: int,
    optimizer: torch.optim.Optimizer,
) -> dict[str, float]:
    """One REINFORCE update on a minibatch of hindsight scenarios; returns the metrics."""
    on_hand, pipeline = scenarios.on_hand, scenarios.pipeline
    slots = simulator.arrival_slots(scenarios.lead_time, pipeline.shape[-1])
    log_probs, costs = [], []
    for t in range(scenarios.periods):
        obs = Observation(on_hand, pipeline, scenarios.lead_time, t)
        dist, _ = agent(observation_features(obs, agent.scale))
        action = dist.sample()
        log_probs.append(dist.log_prob(action))
        with torch.no_grad():
            on_hand, pipeline, flows = simulator.step(
                on_hand, pipeline, agent.orders(action), scenarios.demand[:, t], slots
            )
        costs.append(flows.cost)
    cost = torch.stack(costs, dim=1)
    counted = cost.clone()
    counted[:, :warmup] = 0.0
    cost_to_go = counted.flip(1).cumsum(1).flip(1)  # [B, T]: costs from t on (after warm-up)
    advantages = normalize(-(cost_to_go - cost_to_go.mean(0, keepdim=True)))
    loss = reinforce_loss(torch.stack(log_probs, dim=1), advantages)
    optimizer.zero_grad()
    loss.backward()
    nn.utils.clip_grad_norm_(agent.parameters(), 1.0)
    optimizer.step()
    return {"loss": loss.item(), "train_cost": cost[:, warmup:].mean().item()}


def _dev_cost_fn(agent: BetaActorCritic, setting: Setting, dev: Scenarios, warmup: int):
    simulator = InventorySimulator(setting.network)

    def dev_cost() -> dict[str, float]:
        costs = simulator.run(agent.mean_orders, dev, round_orders=setting.integer_demand)
        return {"cost": costs[:, warmup:].mean().item()}

    return dev_cost


def train_score_function(
    method: str, setting: Setting, hdpo: HDPOConfig, trainer: TrainerConfig
) -> tuple[BetaActorCritic, TrainResult]:
    """Train a :class:`BetaActorCritic` by ``"reinforce"`` or ``"ppo"`` under the shared trainer
    (dev-cost early stopping and best restore, as HDPO); returns the agent and the result."""
    seed_everything(hdpo.seed)
    agent = BetaActorCritic(setting)
    dev = setting.scenarios("dev", hdpo.dev_samples, hdpo.dev_periods, hdpo.seed)
    evaluate = _dev_cost_fn(agent, setting, dev, hdpo.dev_warmup)
    trainer = dataclasses.replace(trainer, metric="cost", mode="min")
    if method == "reinforce":
        train = setting.scenarios("train", hdpo.train_samples, hdpo.train_periods, hdpo.seed)
        simulator = InventorySimulator(setting.network)
        optimizer = torch.optim.Adam(agent.parameters(), lr=3e-4)
        generator = torch.Generator().manual_seed(hdpo.seed)

        def step(step: int) -> dict[str, float]:
            index = torch.randint(0, len(train), (hdpo.batch_size,), generator=generator)
            return reinforce_step(
                agent, simulator, train.subset(index), hdpo.train_warmup, optimizer
            )

        stateful = {"minibatch_generator": GeneratorState(generator)}
        result = Trainer(trainer, step, agent, optimizer, evaluate, stateful).fit()
        return agent, result
    if method == "ppo":
        scale = float(setting.demand_mean.sum() * setting.network.penalty.max())
        env = InventoryVecEnv(setting, 128, hdpo.train_periods * 2, scale, agent.orders)
        config = PPOConfig(
            total_timesteps=10**9, num_steps=64, learning_rate=3e-4, anneal_lr=False, ent_coef=0.0
        )
        result, _ = train_ppo(env, agent, config, trainer, evaluate_fn=evaluate, seed=hdpo.seed)
        return agent, result
    raise ConfigError(f"unknown score-function method {method!r}; choose reinforce or ppo")
