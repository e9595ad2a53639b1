"""HDPO: train inventory policies by pathwise gradients through the simulator.

Hindsight Differentiable Policy Optimization (Alvo, Russo, Kanoria, Lee, arXiv 2306.11246): sample
demand scenarios in advance, simulate the system with the policy in the loop, and descend the
gradient of the mean simulated cost through the known dynamics. Protocol (defaults): 32,768
train / dev / test scenarios; train horizon 50 periods with the first 30 left out of the cost, dev
100 (60), test 5,000 (3,000); Adam; early stopping on the dev cost with the best model restored;
orders rounded to integers at dev/test time when demand is integer-valued.

A run folder holds ``config.json`` (everything needed to rebuild the run), the trainer's
``checkpoint.pt`` / ``best.pt`` / ``metrics.csv`` / ``learning_curves.png``, and ``results.json``.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from pgsuite.apps.inventory.network import downstream_matrix
from pgsuite.apps.inventory.policies import (
    AllocationName,
    BaseStockPolicy,
    GNNPolicy,
    VanillaPolicy,
    newsvendor_levels,
)
from pgsuite.apps.inventory.settings import Setting, SettingConfig, build_setting
from pgsuite.apps.inventory.sim import InventorySimulator, Policy
from pgsuite.core.errors import ConfigError
from pgsuite.core.estimators import mean_cost, pathwise_step
from pgsuite.core.progress import progress as progress_report
from pgsuite.core.runs import load_config, save_config
from pgsuite.core.schedules import linear_warmup
from pgsuite.core.seeding import GeneratorState, seed_everything
from pgsuite.core.trainer import Trainer, TrainerConfig, resumable_checkpoint

log = logging.getLogger(__name__)

PolicyName = Literal["vanilla", "gnn", "base_stock", "capped_base_stock", "echelon_base_stock"]


@dataclass
class HDPOConfig:
    """Scenario sets, horizons and optimiser of an HDPO run."""

    policy: PolicyName = "vanilla"
    """Policy to train: vanilla (MLP), gnn (graph network over the supply graph), base_stock,
    capped_base_stock or echelon_base_stock."""
    hidden: tuple[int, ...] = (32, 32, 32)
    """Hidden layer widths of the vanilla policy (gnn: embedding width = first, rounds = count)."""
    allocation: AllocationName = "proportional"
    """How the vanilla / gnn policy's suppliers split their stock: proportional to the orders
    (rationing when short) or softmax shares (HDPO's warehouse policy)."""
    train_samples: int = 32_768
    """Training scenarios (each step draws a minibatch of them)."""
    dev_samples: int = 32_768
    """Dev scenarios (early stopping, model selection)."""
    test_samples: int = 32_768
    """Test scenarios (reported cost), simulated in chunks."""
    train_periods: int = 50
    """Train horizon in periods."""
    train_warmup: int = 30
    """Leading train periods left out of the loss."""
    dev_periods: int = 100
    """Dev horizon in periods."""
    dev_warmup: int = 60
    """Leading dev periods left out of the dev cost."""
    test_periods: int = 5_000
    """Test horizon in periods."""
    test_warmup: int = 3_000
    """Leading test periods left out of the test cost."""
    batch_size: int = 1_024
    """Scenarios per gradient step."""
    learning_rate: float = 3e-2
    """Initial Adam learning rate."""
    lr_decay: float = 0.5
    """Factor applied to the learning rate when the dev cost has not improved (by 0.01%) for
    ``lr_patience`` evaluations in a row (1: constant rate)."""
    lr_patience: int = 2
    """Dev evaluations without improvement before the learning rate decays."""
    lr_warmup_steps: int = 0
    """Steps over which the learning rate rises linearly from ``learning_rate / lr_warmup_steps``
    to ``learning_rate`` (0: no warm-up). Adam's first updates move every weight by about the
    learning rate whatever the gradient, which can throw a network into a policy that orders
    nothing (the serial suite at 3e-2, seed 1); the decay on plateau starts after the warm-up."""
    max_grad_norm: float | None = None
    """Gradient-norm clipping threshold (none: no clipping)."""
    seed: int = 0
    """Seed of the scenarios, the initial policy and the minibatches."""
    quick: bool = False
    """Small scenario sets and horizons (4,096 samples; test 2,000 periods) for a fast run."""

    def __post_init__(self) -> None:
        if self.quick:
            self.train_samples = min(self.train_samples, 4_096)
            self.dev_samples = min(self.dev_samples, 4_096)
            self.test_samples = min(self.test_samples, 4_096)
            self.test_periods, self.test_warmup = (
                min(self.test_periods, 2_000),
                min(self.test_warmup, 1_000),
            )
        for prefix in ("train", "dev", "test"):
            periods, warmup = getattr(self, f"{prefix}_periods"), getattr(self, f"{prefix}_warmup")
            if not 0 <= warmup < periods:
                raise ConfigError(f"{prefix}_warmup must be in [0, {prefix}_periods), got {warmup}")
            if getattr(self, f"{prefix}_samples") < 1:
                raise ConfigError(f"{prefix}_samples must be >= 1")
        self.hidden = tuple(self.hidden)
        if not self.hidden or min(self.hidden) < 1:
            raise ConfigError(
                f"hidden needs at least one layer width, each >= 1; got {list(self.hidden)}"
            )
        if self.seed < 0:
            raise ConfigError(f"seed must be non-negative, got {self.seed}")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.learning_rate <= 0:
            raise ConfigError(f"learning_rate must be > 0, got {self.learning_rate}")
        if not 0 < self.lr_decay <= 1:
            raise ConfigError(f"lr_decay must be in (0, 1], got {self.lr_decay}")
        if self.lr_patience < 0:
            raise ConfigError(f"lr_patience must be >= 0, got {self.lr_patience}")
        if self.lr_warmup_steps < 0:
            raise ConfigError(f"lr_warmup_steps must be >= 0, got {self.lr_warmup_steps}")


SERIAL_PROTOCOL = {"train_periods": 100, "train_warmup": 60, "lr_warmup_steps": 100}
"""HDPO defaults of the serial setting (``train`` and the serial benchmark). The four stages' lead
times add up to 13 periods, so in the default 50-period training horizon (30 warm-up) upstream
orders placed late never reach the store inside the counted window and the trained policy
under-stocks upstream: the dev cost turns up while the training loss falls. Training on the dev
horizon (100 periods, 60 warm-up) removes most of that bias. The learning rate warms up over 100
steps: without it, Adam's first steps at 3e-2 threw seed 1 into a policy that orders nothing (dev
cost 165 -> 3,088 in 50 steps)."""

SETTING_PROTOCOLS: dict[str, dict[str, object]] = {"serial": SERIAL_PROTOCOL}
"""Per-setting HDPO defaults that differ from :class:`HDPOConfig`'s, by setting name."""


def explicit_fields(hdpo: HDPOConfig) -> dict[str, object]:
    """The fields of ``hdpo`` that differ from their defaults: set on the command line, they win
    over a setting's or a suite's protocol and per-method overrides. An option set to its default
    value cannot be told from an unset one and keeps the protocol's value."""
    defaults = HDPOConfig(quick=hdpo.quick).__dict__
    return {name: value for name, value in hdpo.__dict__.items() if value != defaults[name]}


def with_setting_protocol(setting: str, hdpo: HDPOConfig) -> HDPOConfig:
    """``hdpo`` with the defaults of ``setting`` (:data:`SETTING_PROTOCOLS`) in place of
    :class:`HDPOConfig`'s, the options set explicitly (:func:`explicit_fields`) kept."""
    protocol = SETTING_PROTOCOLS.get(setting, {})
    return HDPOConfig(**{**hdpo.__dict__, **protocol, **explicit_fields(hdpo)})


@dataclass
class TrainConfig:
    """pgsuite inventory train: a setting, the HDPO protocol and the training loop."""

    setting: SettingConfig = field(default_factory=SettingConfig)
    hdpo: HDPOConfig = field(default_factory=HDPOConfig)
    trainer: TrainerConfig = field(
        default_factory=lambda: TrainerConfig(
            max_steps=2_000, eval_every=25, patience=20, metric="cost"
        )
    )


def make_policy(setting: Setting, config: HDPOConfig) -> nn.Module:
    """The policy named by ``config.policy``, initialised at the newsvendor levels (heuristics)."""
    net = setting.network
    if config.policy == "vanilla":
        return VanillaPolicy(net, setting.demand_mean, config.hidden, config.allocation)
    if config.policy == "gnn":
        return GNNPolicy(
            net,
            setting.demand_mean,
            hidden=config.hidden[0],
            layers=len(config.hidden),
            allocation=config.allocation,
        )
    levels = newsvendor_levels(net, setting.demand_mean, setting.demand_std, setting.integer_demand)
    if config.policy == "base_stock":
        return BaseStockPolicy(levels)
    if config.policy == "capped_base_stock":
        cap = torch.zeros(net.num_locations)
        cap[net.stores] = 2.0 * setting.demand_mean
        return BaseStockPolicy(levels, cap=cap)
    if config.policy == "echelon_base_stock":
        # a location's echelon covers its own and every downstream location's newsvendor stock
        echelon_levels = downstream_matrix(net) @ levels
        return BaseStockPolicy(echelon_levels, network=net, echelon=True)
    raise ConfigError(f"unknown policy {config.policy!r}")


def evaluate_cost(
    setting: Setting,
    policy: Policy,
    split: Literal["dev", "test"],
    samples: int,
    periods: int,
    warmup: int,
    seed: int,
    chunk: int = 16_384,
    progress: bool = False,
) -> dict[str, float]:
    """Mean cost per period (after ``warmup``) over ``samples`` fresh scenarios, simulated in
    chunks so memory stays bounded; orders are rounded for integer demand.

    Returns ``cost`` and ``cost_se`` (standard error across samples) and ``sample_periods_per_s``.
    """
    simulator = InventorySimulator(setting.network)
    per_sample = []
    start = time.perf_counter()
    chunks = range(math.ceil(samples / chunk))
    with torch.no_grad():
        for i in progress_report(chunks, desc=f"{split} cost", disable=not progress, leave=False):
            size = min(chunk, samples - i * chunk)
            scenarios = setting.scenarios(split, size, periods, seed=seed * 7919 + i)
            costs = simulator.run(policy, scenarios, round_orders=setting.integer_demand)
            per_sample.append(costs[:, warmup:].mean(1))
    values = torch.cat(per_sample).double()
    elapsed = time.perf_counter() - start
    return {
        "cost": float(values.mean()),
        "cost_se": float(values.std() / math.sqrt(len(values))) if len(values) > 1 else math.nan,
        "sample_periods_per_s": samples * periods / elapsed,
    }


class HDPORun:
    """Everything one HDPO training run needs; :meth:`fit` trains, :meth:`test` reports."""

    def __init__(self, config: TrainConfig) -> None:
        self.config = config
        seed_everything(config.hdpo.seed)
        self.setting = build_setting(config.setting)
        self.simulator = InventorySimulator(self.setting.network)
        self.policy = make_policy(self.setting, config.hdpo)
        hdpo = config.hdpo
        self.train_set = self.setting.scenarios(
            "train", hdpo.train_samples, hdpo.train_periods, hdpo.seed
        )
        self.dev_set = self.setting.scenarios("dev", hdpo.dev_samples, hdpo.dev_periods, hdpo.seed)
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=hdpo.learning_rate)
        self.lr_schedule = (
            torch.optim.lr_scheduler.ReduceLROnPlateau(
                self.optimizer, factor=hdpo.lr_decay, patience=hdpo.lr_patience, threshold=1e-4
            )
            if hdpo.lr_decay < 1
            else None  # decay 1: a constant rate
        )
        self.minibatch_generator = torch.Generator().manual_seed(hdpo.seed)
        self.steps_done = 0

    def in_warmup(self, step: int) -> bool:
        """Whether optimiser step ``step`` (0-based) lies in the learning-rate warm-up."""
        return step < self.config.hdpo.lr_warmup_steps

    def step(self, step: int) -> dict[str, float]:
        hdpo = self.config.hdpo
        if self.in_warmup(step):
            for group in self.optimizer.param_groups:
                group["lr"] = hdpo.learning_rate * linear_warmup(step, hdpo.lr_warmup_steps)
        index = torch.randint(
            0,
            len(self.train_set),
            (min(hdpo.batch_size, len(self.train_set)),),
            generator=self.minibatch_generator,
        )
        costs = self.simulator.run(self.policy, self.train_set.subset(index))
        loss = mean_cost(costs, hdpo.train_warmup)
        grad_norm = pathwise_step(
            loss, self.optimizer, self.policy.parameters(), hdpo.max_grad_norm, step
        )
        self.steps_done = step + 1
        return {"loss": loss.item(), "grad_norm": grad_norm}

    def dev_cost(self) -> dict[str, float]:
        costs = self.simulator.run(
            self.policy, self.dev_set, round_orders=self.setting.integer_demand
        )
        cost = mean_cost(costs, self.config.hdpo.dev_warmup).item()
        if self.lr_schedule is not None and not self.in_warmup(self.steps_done):
            self.lr_schedule.step(cost)
        return {"cost": cost, "learning_rate": self.optimizer.param_groups[0]["lr"]}

    def fit(self) -> dict[str, Any]:
        """Train under the shared trainer (checkpoints, resume, early stopping, best restore)."""
        trainer_config = self.config.trainer
        if trainer_config.out is not None:
            if trainer_config.resume:  # a bad checkpoint leaves the run folder untouched
                resumable_checkpoint(trainer_config, self.policy)
            save_config(trainer_config.out, self.config)
        trainer = Trainer(
            trainer_config,
            self.step,
            model=self.policy,
            optimizer=self.optimizer,
            evaluate_fn=self.dev_cost,
            stateful={
                "minibatch_generator": GeneratorState(self.minibatch_generator),
                **({"lr_schedule": self.lr_schedule} if self.lr_schedule is not None else {}),
            },
        )
        result = trainer.fit()
        if result.best_step == 0 and result.steps > 0:
            log.warning(
                "HDPO did not improve on the initial policy's dev cost in %d steps, so the result "
                "is the initial policy; unless that start is already optimal, try a lower "
                "--learning-rate",
                result.steps,
            )
        return {
            "steps": result.steps,
            "stop_reason": result.stop_reason,
            "best_dev_cost": result.best_value,
            "best_step": result.best_step,
            "train_time_s": result.wall_time_s,
        }

    def test(self, progress: bool = True) -> dict[str, float]:
        hdpo = self.config.hdpo
        return evaluate_cost(
            self.setting,
            self.policy,
            "test",
            hdpo.test_samples,
            hdpo.test_periods,
            hdpo.test_warmup,
            hdpo.seed,
            progress=progress,
        )


def load_run(folder: Path) -> HDPORun:
    """Rebuild a run from ``folder/config.json`` with the best (else latest) parameters loaded."""
    from pgsuite.core.checkpoint import load_checkpoint

    raw = load_config(folder, "an inventory run folder")
    setting = raw["setting"]
    if setting.get("demand_csv"):
        setting["demand_csv"] = Path(setting["demand_csv"])
    hdpo = {**raw["hdpo"], "hidden": tuple(raw["hdpo"]["hidden"]), "quick": False}
    trainer = {**raw["trainer"], "out": folder, "resume": False}
    run = HDPORun(
        TrainConfig(SettingConfig(**setting), HDPOConfig(**hdpo), TrainerConfig(**trainer))
    )
    weights = folder / "best.pt" if (folder / "best.pt").exists() else folder / "checkpoint.pt"
    run.policy.load_state_dict(load_checkpoint(weights)["model"])
    return run
