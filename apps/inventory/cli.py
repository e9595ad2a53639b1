"""``pgsuite inventory train|eval|optimal``: the inventory app's commands and its demo part."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pgsuite.apps.inventory.bench import BenchConfig, bench
from pgsuite.apps.inventory.exact import gap_to_reference, known_optimum
from pgsuite.apps.inventory.hdpo import (
    HDPOConfig,
    HDPORun,
    TrainConfig,
    load_run,
    with_setting_protocol,
)
from pgsuite.apps.inventory.settings import SettingConfig
from pgsuite.core.cli import App, Command, CommandOutput
from pgsuite.core.demo import DemoConfig
from pgsuite.core.errors import ConfigError
from pgsuite.core.runs import save_results
from pgsuite.core.sweep import sweep_command
from pgsuite.core.trainer import TrainerConfig


def train(config: TrainConfig) -> CommandOutput:
    """Train a policy with HDPO, then report its test cost (and the optimum or lower bound where
    one is known). Options left at their defaults take the setting's protocol where it has one
    (serial: :data:`~pgsuite.apps.inventory.hdpo.SERIAL_PROTOCOL`)."""
    config.hdpo = with_setting_protocol(config.setting.setting, config.hdpo)
    run = HDPORun(config)
    summary = run.fit()
    summary.update({f"test_{k}": v for k, v in run.test().items()})
    summary.update(gap_to_reference(config.setting, summary["test_cost"]))
    if config.trainer.out is not None:
        save_results(config.trainer.out, summary)
    return CommandOutput([("HDPO training", pd.DataFrame([summary]))], summary)


@dataclass
class EvalConfig:
    """Evaluate a trained run on fresh test scenarios."""

    run: Path = Path("runs/inventory")
    """Run folder written by pgsuite inventory train --out."""
    test_samples: int | None = None
    """Test scenarios (default: the run's)."""
    test_periods: int | None = None
    """Test horizon in periods (default: the run's)."""

    def __post_init__(self) -> None:
        for name in ("test_samples", "test_periods"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"{name} must be >= 1, got {value}")


def evaluate(config: EvalConfig) -> CommandOutput:
    """Test cost of a saved run (best model), next to the optimum where one is known."""
    run = load_run(config.run)
    hdpo = run.config.hdpo
    if config.test_samples is not None:
        hdpo.test_samples = config.test_samples
    if config.test_periods is not None:
        if config.test_periods <= hdpo.test_warmup:
            hdpo.test_warmup = config.test_periods // 2
        hdpo.test_periods = config.test_periods
    summary = {f"test_{k}": v for k, v in run.test().items()}
    summary.update(gap_to_reference(run.config.setting, summary["test_cost"]))
    return CommandOutput([(f"test cost of {config.run}", pd.DataFrame([summary]))], summary)


@dataclass
class OptimalConfig:
    """Exact optimum of a setting (lost sales: dynamic programming; backlog: closed form; serial:
    Clark-Scarf), or a lower bound (transshipment: centralised relaxation)."""

    setting: SettingConfig = field(default_factory=SettingConfig)


def optimum(config: OptimalConfig) -> CommandOutput:
    result = known_optimum(config.setting)
    if not result:
        raise ConfigError(
            f"no exact optimum or bound is known for setting {config.setting.setting!r} with these "
            "options"
        )
    return CommandOutput([("optimal policy", pd.DataFrame([result]))], result)


def demo(demo_config: DemoConfig) -> list[tuple[str, pd.DataFrame]]:
    """One Zipkin instance (Poisson(5), L=2, p=4) trained by HDPO against the DP optimum."""
    quick = demo_config.quick
    config = TrainConfig(
        SettingConfig(setting="one_store_lost", lead_time=2, penalty=4.0),
        HDPOConfig(
            quick=True,
            seed=demo_config.seed,
            test_periods=2_000 if not quick else 200,
            test_warmup=1_000 if not quick else 100,
        ),
        TrainerConfig(max_steps=20 if quick else 400, eval_every=25, patience=20, metric="cost"),
    )
    run = HDPORun(config)
    fitted = run.fit()
    tested = run.test()
    best = known_optimum(config.setting)["optimal_cost"]
    row = {
        "setting": "one_store_lost L=2 p=4 (Zipkin)",
        "hdpo_test_cost": tested["cost"],
        "optimal_cost (DP)": best,
        "gap_%": 100 * (tested["cost"] / best - 1),
        "train_steps": fitted["steps"],
        "train_time_s": fitted["train_time_s"],
    }
    return [("inventory: HDPO vanilla policy vs DP optimum", pd.DataFrame([row]))]


APP = App(
    "inventory",
    "inventory control by HDPO (pathwise gradients through a differentiable simulator)",
    commands=[
        Command(
            "train",
            "train a policy by HDPO and report its test cost",
            TrainConfig,
            train,
            json_output=True,
        ),
        sweep_command(TrainConfig, train),
        Command("eval", "test cost of a trained run", EvalConfig, evaluate, json_output=True),
        Command(
            "optimal",
            "exact optimum of a setting (DP / closed form) or its lower bound",
            OptimalConfig,
            optimum,
            json_output=True,
        ),
        Command(
            "bench",
            "regenerate a benchmark table (benchmarks/results/inventory_*)",
            BenchConfig,
            bench,
            json_output=True,
        ),
    ],
    demo=demo,
)
