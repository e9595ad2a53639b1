"""``pgsuite inventory bench``: the app's benchmark tables (``benchmarks/results/inventory_*``).

Suites:

- ``zipkin``: the 16 lost-sales instances of Zipkin (2008) (Poisson(5), h=1, L in 1..4, p in
  {4, 9, 19, 39}): HDPO (vanilla policy, wall-clock budget per instance) test cost against the
  dynamic-programming optimum and the best base-stock and capped base-stock policies (exact costs).
- ``backlog``: one store with backlogged Normal(5, 1.6) demand: HDPO against the optimal
  base-stock policy (closed form).
- ``serial``: four stages in series: HDPO with the vanilla network and with a trained echelon
  base-stock policy against the Clark-Scarf optimum.
- ``estimators``: HDPO against REINFORCE (with a baseline) and PPO from the core, each with the
  same wall-clock budget, on Zipkin instances and one warehouse with ``stores`` stores.
- ``speed``: simulator throughput, forward + backward, in sample-periods per second.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd
import torch

from apps.inventory import optimal
from apps.inventory.exact import known_optimum
from apps.inventory.hdpo import HDPOConfig, HDPORun, TrainConfig, evaluate_cost, make_policy
from apps.inventory.score_function import train_score_function
from apps.inventory.settings import SettingConfig, build_setting
from apps.inventory.sim import InventorySimulator
from core.bench import run_grid, summarize, write_results
from core.cli import CommandOutput
from core.estimators import mean_cost
from core.trainer import TrainerConfig


@dataclass
class BenchConfig:
    """pgsuite inventory bench: regenerate a benchmark table."""

    suite: Literal["zipkin", "backlog", "serial", "estimators", "speed"] = "zipkin"
    """zipkin (16 lost-sales instances vs DP), backlog (one store vs optimal base-stock), serial
    (4 stages vs Clark-Scarf), estimators (HDPO vs REINFORCE vs PPO at equal wall time) or speed
    (simulator throughput)."""
    lead_times: tuple[int, ...] = (1, 2, 3, 4)
    """Store lead times of the zipkin / backlog instances (the backlog grid: 1 4 7 10 15 20)."""
    penalties: tuple[float, ...] = (4.0, 9.0, 19.0, 39.0)
    """Store penalty costs of the zipkin / backlog instances."""
    stores: int = 5
    """Stores of the one-warehouse instance (estimators suite)."""
    seeds: tuple[int, ...] = (0,)
    """Training seeds per instance."""
    time_limit_s: float = 120.0
    """Wall-clock training budget per instance and seed, in seconds."""
    hdpo: HDPOConfig = field(default_factory=HDPOConfig)
    results_dir: Path = Path("benchmarks/results")
    """Folder for the CSV / Markdown / PNG results."""


def _hdpo_method(
    config: BenchConfig, policy: str, extra: Callable[[SettingConfig], dict] | None = None
):
    """``method(setting_config, seed)``: train ``policy`` by HDPO within the time budget, report its
    test cost against the setting's exact optimum (plus ``extra(setting)`` figures)."""

    def method(setting: SettingConfig, seed: int) -> dict[str, float]:
        hdpo = HDPOConfig(**{**config.hdpo.__dict__, "policy": policy, "seed": seed})
        trainer = TrainerConfig(
            max_steps=100_000,
            max_time_s=config.time_limit_s,
            eval_every=50,
            metric="cost",
            progress=False,
        )
        run = HDPORun(TrainConfig(setting, hdpo, trainer))
        fitted = run.fit()
        tested = run.test(progress=False)
        best = known_optimum(setting).get("optimal_cost", math.nan)
        row = {
            "test_cost": tested["cost"],
            "test_cost_se": tested["cost_se"],
            "optimal_cost": best,
            "gap_pct": 100 * (tested["cost"] / best - 1),
            "train_steps": fitted["steps"],
            "train_time_s": fitted["train_time_s"],
        }
        return row | (extra(setting) if extra is not None else {})

    return method


def _lost_sales_heuristics(setting: SettingConfig) -> dict[str, float]:
    lead, penalty = setting.lead_time, setting.penalty
    _, base_stock = optimal.best_base_stock_lost_sales(
        setting.demand_mean, lead, setting.holding, penalty
    )
    _, _, capped = optimal.best_capped_base_stock_lost_sales(
        setting.demand_mean, lead, setting.holding, penalty
    )
    return {"base_stock_cost": base_stock, "capped_base_stock_cost": capped}


def _report(
    config: BenchConfig,
    methods: dict,
    instances: dict[str, SettingConfig],
    name: str,
    title: str,
    metrics: list[str],
) -> CommandOutput:
    rows = run_grid(methods, instances, config.seeds)
    write_results(rows, name, metrics, config.results_dir, title=title)
    table = summarize(rows, metrics, by=("method", "instance"))
    table = table[["method", "instance", *[f"{m}_mean" for m in metrics]]]
    table.columns = ["method", "instance", *metrics]
    summary = {
        "mean_gap_pct": float(rows["gap_pct"].mean()),
        "max_gap_pct": float(rows["gap_pct"].max()),
        "max_train_time_s": float(rows["train_time_s"].max()),
    }
    return CommandOutput([(title + " (mean over seeds)", table)], summary)


def zipkin(config: BenchConfig) -> CommandOutput:
    instances = {
        f"L={L} p={p:g}": SettingConfig(setting="one_store_lost", lead_time=L, penalty=p)
        for L in config.lead_times
        for p in config.penalties
    }
    methods = {"HDPO vanilla": _hdpo_method(config, "vanilla", _lost_sales_heuristics)}
    metrics = [
        "test_cost", "optimal_cost", "gap_pct", "base_stock_cost", "capped_base_stock_cost",
        "train_time_s",
    ]  # fmt: skip
    return _report(
        config,
        methods,
        instances,
        "inventory_zipkin",
        "Zipkin lost-sales instances: HDPO vs DP optimum",
        metrics,
    )


def backlog(config: BenchConfig) -> CommandOutput:
    instances = {
        f"L={L} p={p:g}": SettingConfig(setting="one_store_backlog", lead_time=L, penalty=p)
        for L in config.lead_times
        for p in config.penalties
    }
    methods = {"HDPO vanilla": _hdpo_method(config, "vanilla")}
    metrics = ["test_cost", "optimal_cost", "gap_pct", "train_time_s"]
    return _report(
        config,
        methods,
        instances,
        "inventory_backlog",
        "One store with backlog: HDPO vs optimal base-stock",
        metrics,
    )


def serial(config: BenchConfig) -> CommandOutput:
    instances = {"4 stages": SettingConfig(setting="serial")}
    methods = {
        "HDPO vanilla": _hdpo_method(config, "vanilla"),
        "HDPO echelon base-stock": _hdpo_method(config, "echelon_base_stock"),
    }
    metrics = ["test_cost", "optimal_cost", "gap_pct", "train_time_s"]
    return _report(
        config,
        methods,
        instances,
        "inventory_serial",
        "Serial system (4 stages): HDPO vs Clark-Scarf optimum",
        metrics,
    )


def _score_function_method(config: BenchConfig, method: str):
    """Like :func:`_hdpo_method` for REINFORCE / PPO (Beta policy, tested at its mean)."""

    def run(setting: SettingConfig, seed: int) -> dict[str, float]:
        built = build_setting(setting)
        hdpo = HDPOConfig(**{**config.hdpo.__dict__, "seed": seed})
        trainer = TrainerConfig(
            max_steps=10**9,
            max_time_s=config.time_limit_s,
            eval_every=10,
            metric="cost",
            progress=False,
        )
        agent, result = train_score_function(method, built, hdpo, trainer)
        tested = evaluate_cost(
            built,
            agent.mean_orders,
            "test",
            hdpo.test_samples,
            hdpo.test_periods,
            hdpo.test_warmup,
            seed,
        )
        best = known_optimum(setting).get("optimal_cost", math.nan)
        return {
            "test_cost": tested["cost"],
            "test_cost_se": tested["cost_se"],
            "optimal_cost": best,
            "gap_pct": 100 * (tested["cost"] / best - 1),
            "train_steps": result.steps,
            "train_time_s": result.wall_time_s,
        }

    return run


def estimators(config: BenchConfig) -> CommandOutput:
    """HDPO vs REINFORCE vs PPO at the same wall-clock budget."""
    instances = {
        f"lost L={L} p={p:g}": SettingConfig(setting="one_store_lost", lead_time=L, penalty=p)
        for L in config.lead_times
        for p in config.penalties
    }
    instances[f"warehouse + {config.stores} stores"] = SettingConfig(
        setting="one_warehouse_lost", stores=config.stores
    )
    methods = {
        "HDPO (pathwise)": _hdpo_method(config, "vanilla"),
        "REINFORCE (baseline)": _score_function_method(config, "reinforce"),
        "PPO": _score_function_method(config, "ppo"),
    }
    metrics = ["test_cost", "optimal_cost", "gap_pct", "train_steps", "train_time_s"]
    return _report(
        config,
        methods,
        instances,
        "inventory_estimators",
        "Pathwise (HDPO) vs score-function estimators at equal wall time",
        metrics,
    )


def speed(config: BenchConfig) -> CommandOutput:
    """Forward + backward sample-periods per second of a training step."""
    cases = {
        "one store, L=4, B=8192": SettingConfig(setting="one_store_lost", lead_time=4),
        "one warehouse, 10 stores, B=8192": SettingConfig(setting="one_warehouse_lost", stores=10),
    }
    rows = []
    for name, setting_config in cases.items():
        setting = build_setting(setting_config)
        policy = make_policy(setting, HDPOConfig(hidden=(32, 32, 32)))
        simulator = InventorySimulator(setting.network)
        scenarios = setting.scenarios("train", 8_192, 50, seed=0)
        timings = []
        for _ in range(4):
            start = time.perf_counter()
            loss = mean_cost(simulator.run(policy, scenarios), 30)
            loss.backward()
            timings.append(time.perf_counter() - start)
        best = min(timings[1:])
        rows.append({"case": name, "sample_periods_per_s": 8_192 * 50 / best, "step_time_s": best})
    table = pd.DataFrame(rows)
    config.results_dir.mkdir(parents=True, exist_ok=True)
    table.to_csv(config.results_dir / "inventory_speed.csv", index=False)
    (config.results_dir / "inventory_speed.md").write_text(
        f"# Simulator speed (forward + backward, {torch.get_num_threads()} torch thread(s))\n\n"
        + table.to_markdown(index=False, floatfmt=".4g")
        + "\n"
    )
    return CommandOutput(
        [("simulator speed", table)], {r["case"]: r["sample_periods_per_s"] for r in rows}
    )


def bench(config: BenchConfig) -> CommandOutput:
    """Run the benchmark suite named by ``config.suite``."""
    suites = {
        "zipkin": zipkin, "backlog": backlog, "serial": serial, "estimators": estimators,
        "speed": speed,
    }  # fmt: skip
    return suites[config.suite](config)
