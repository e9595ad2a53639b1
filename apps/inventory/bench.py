"""``pgsuite inventory bench``: the app's benchmark tables (``benchmarks/results/inventory_*``).

Suites:

- ``zipkin``: the 16 lost-sales instances of Zipkin (2008) (Poisson(5), h=1, L in 1..4, p in
  {4, 9, 19, 39}): HDPO (vanilla policy, wall-clock budget per instance) test cost against the
  dynamic-programming optimum and the best base-stock and capped base-stock policies (exact costs).
- ``backlog``: one store with backlogged Normal(5, 1.6) demand: HDPO against the optimal
  base-stock policy (closed form).
- ``serial``: four stages in series: HDPO with the vanilla network, the GNN and a trained
  echelon base-stock policy against the Clark-Scarf optimum.
- ``warehouse``: one warehouse and ``n`` stores (lost sales), data efficiency: the vanilla network
  and the GNN trained on 16 / 256 / 8,192 scenarios, against a trained base-stock policy
  (:data:`WAREHOUSE_PROTOCOL`: 2,048 dev scenarios; batches of 256; test 2,048 scenarios x 1,000
  periods, the first 500 left out).
- ``transshipment``: a centre that ships everything to ``n`` stores (backlog): the vanilla network
  (softmax allocation, Adam 3e-3: at the default 3e-2 its first steps can throw it into a policy
  that orders nothing, as at n=3), the GNN and a trained echelon base-stock policy against the
  lower bound of the centralised relaxation.
- ``estimators``: HDPO against REINFORCE (with a baseline) and PPO from the core, each with the
  same wall-clock budget, on Zipkin instances and one warehouse with ``stores`` stores.
- ``speed``: simulator throughput, forward + backward, in sample-periods per second.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

import pandas as pd
import torch

from pgsuite.apps.inventory import optimal
from pgsuite.apps.inventory.exact import gap_to_reference
from pgsuite.apps.inventory.hdpo import (
    SERIAL_PROTOCOL,
    HDPOConfig,
    HDPORun,
    TrainConfig,
    evaluate_cost,
    explicit_fields,
    make_policy,
)
from pgsuite.apps.inventory.score_function import train_score_function
from pgsuite.apps.inventory.settings import SettingConfig, build_setting
from pgsuite.apps.inventory.sim import InventorySimulator
from pgsuite.core.bench import run_bench, summarize, write_table
from pgsuite.core.cli import CommandOutput
from pgsuite.core.distributed import BackendConfig
from pgsuite.core.errors import ConfigError
from pgsuite.core.estimators import mean_cost
from pgsuite.core.trainer import TrainerConfig

DOCS = ("docs/inventory.md",)
"""The doc page whose results blocks the suites refresh (see :mod:`pgsuite.core.doctables`)."""


@dataclass
class BenchConfig:
    """pgsuite inventory bench: regenerate a benchmark table."""

    suite: Literal[
        "zipkin", "backlog", "serial", "warehouse", "transshipment", "estimators", "speed"
    ] = "zipkin"
    """zipkin (16 lost-sales instances vs DP), backlog (one store vs optimal base-stock), serial
    (4 stages vs Clark-Scarf), warehouse (vanilla vs GNN data efficiency), transshipment (vs the
    relaxation bound), estimators (HDPO vs REINFORCE vs PPO at equal wall time) or speed
    (simulator throughput)."""
    lead_times: tuple[int, ...] = (1, 2, 3, 4)
    """Store lead times of the zipkin / backlog instances (the backlog grid: 1 4 7 10 15 20)."""
    penalties: tuple[float, ...] = (4.0, 9.0, 19.0, 39.0)
    """Store penalty costs of the zipkin / backlog instances."""
    stores: int = 5
    """Stores of the one-warehouse instance (estimators suite)."""
    store_counts: tuple[int, ...] = (3, 5, 10, 20, 30, 50)
    """Store counts of the warehouse suite (transshipment: the reference uses 3 5 10)."""
    train_sizes: tuple[int, ...] = (16, 256, 8_192)
    """Training scenario counts of the warehouse (data-efficiency) suite."""
    max_steps: int = 100_000
    """Gradient steps per HDPO run at most (the time budget usually binds first)."""
    methods: tuple[str, ...] = ()
    """Only the suite's methods with these table names, e.g. "HDPO vanilla" (default: all)."""
    seeds: tuple[int, ...] = (0,)
    """Training seeds per instance."""
    time_limit_s: float = 120.0
    """Wall-clock training budget per instance and seed, in seconds."""
    hdpo: HDPOConfig = field(default_factory=HDPOConfig)
    results_dir: Path = Path("benchmarks/results")
    """Folder for the CSV / Markdown / PNG results."""
    backend: BackendConfig = field(default_factory=BackendConfig)


@dataclass
class Instance:
    """One benchmark system and the protocol changes it needs (``HDPOConfig`` field overrides)."""

    setting: SettingConfig
    hdpo: dict = field(default_factory=dict)


WAREHOUSE_PROTOCOL = {
    "dev_samples": 2_048, "test_samples": 2_048, "test_periods": 1_000, "test_warmup": 500,
    "batch_size": 256,
}  # fmt: skip
"""HDPO overrides of the warehouse / transshipment suites: smaller dev / test sets and test horizon
than the reference protocol (8,192 scenarios), so that a GNN over 50 stores trains and tests in
minutes on one CPU core."""


def hdpo_config(
    config: BenchConfig, instance: Instance, policy: str, seed: int, **overrides: object
) -> HDPOConfig:
    """The HDPO settings of one benchmark run: the defaults, then the instance's protocol, then the
    method's ``overrides``, then the options set on the command line
    (:func:`~pgsuite.apps.inventory.hdpo.explicit_fields`)."""
    fields = {**config.hdpo.__dict__, **instance.hdpo, **overrides, **explicit_fields(config.hdpo)}
    return HDPOConfig(**{**fields, "policy": policy, "seed": seed})


def _gap(setting: SettingConfig, test_cost: float) -> dict[str, float]:
    """:func:`gap_to_reference` with ``gap_pct`` NaN where no reference is known."""
    return {"gap_pct": math.nan} | gap_to_reference(setting, test_cost)


def _trainer(config: BenchConfig, equal_time: bool = False) -> TrainerConfig:
    """Trainer of one benchmark run: ``config``'s step and time budgets, the best dev cost's
    policy kept. ``equal_time``: evaluate on dev every tenth of the time budget instead of every
    50 steps, so that methods whose steps differ in cost spend a similar share of it evaluating."""
    if equal_time:
        cadence = {"eval_every": config.max_steps, "eval_every_s": config.time_limit_s / 10}
    else:
        cadence = {"eval_every": min(50, max(1, config.max_steps // 20))}
    return TrainerConfig(
        max_steps=config.max_steps,
        max_time_s=config.time_limit_s,
        metric="cost",
        progress=False,
        **cadence,
    )


def _hdpo_method(
    config: BenchConfig,
    policy: str,
    extra: Callable[[SettingConfig], dict] | None = None,
    equal_time: bool = False,
    **hdpo_overrides: object,
):
    """``method(instance, seed)``: train ``policy`` by HDPO within the step and time budgets,
    report its test cost against the setting's exact optimum or lower bound (plus
    ``extra(setting)`` figures)."""

    def method(instance: Instance, seed: int) -> dict[str, float]:
        hdpo = hdpo_config(config, instance, policy, seed, **hdpo_overrides)
        run = HDPORun(TrainConfig(instance.setting, hdpo, _trainer(config, equal_time)))
        fitted = run.fit()
        tested = run.test(progress=False)
        row = {
            "test_cost": tested["cost"],
            "test_cost_se": tested["cost_se"],
            **_gap(instance.setting, tested["cost"]),
            "train_steps": fitted["steps"],
            "train_time_s": fitted["train_time_s"],
        }
        return row | (extra(instance.setting) if extra is not None else {})

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


def _selected(config: BenchConfig, methods: dict) -> dict:
    """The suite's ``methods`` narrowed to ``config.methods`` (all when empty)."""
    unknown = [name for name in config.methods if name not in methods]
    if unknown:
        raise ConfigError(
            f"{config.suite} suite has no method(s) {unknown}; choose from {list(methods)}"
        )
    if not config.methods:
        return methods
    return {name: run for name, run in methods.items() if name in config.methods}


def _run(
    config: BenchConfig,
    methods: dict,
    instances: dict[str, Instance],
    name: str,
    title: str,
    metrics: list[str],
) -> pd.DataFrame:
    """The selected methods' grid, each finished cell saved into ``<name>.csv``, and its report
    files written; returns every row of the table."""
    rows, _ = run_bench(
        _selected(config, methods),
        instances,
        config.seeds,
        name=name,
        metrics=metrics,
        results_dir=config.results_dir,
        title=title,
        docs=DOCS,
        backend=config.backend,
        config=config,
    )
    return rows


def _report(
    config: BenchConfig,
    methods: dict,
    instances: dict[str, Instance],
    name: str,
    title: str,
    metrics: list[str],
) -> CommandOutput:
    rows = _run(config, methods, instances, name, title, metrics)
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
        f"L={L} p={p:g}": Instance(SettingConfig(setting="one_store_lost", lead_time=L, penalty=p))
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
        f"L={L} p={p:g}": Instance(
            SettingConfig(setting="one_store_backlog", lead_time=L, penalty=p)
        )
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
    instances = {"4 stages": Instance(SettingConfig(setting="serial"), SERIAL_PROTOCOL)}
    methods = {
        # the rate halves after four dev evaluations without improvement, not two: with two,
        # seed 0 ended at 1.25% instead of 0.10% (1,200 s)
        "HDPO vanilla": _hdpo_method(config, "vanilla", lr_patience=4),
        # three rounds of message passing, so the top stage sees the store (two did not: 1.23%);
        # a GNN step costs several vanilla ones: smaller batches, so more of them fit the budget;
        # Adam 1e-2 (3e-2 diverged after the warm-up)
        "HDPO GNN": _hdpo_method(
            config, "gnn", hidden=(32, 32, 32), batch_size=256, learning_rate=1e-2
        ),
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


def warehouse(config: BenchConfig) -> CommandOutput:
    """Data efficiency on one warehouse with n stores: vanilla vs GNN vs trained base-stock."""
    instances = {
        f"n={n} train={m}": Instance(
            SettingConfig(setting="one_warehouse_lost", stores=n),
            {**WAREHOUSE_PROTOCOL, "train_samples": m},
        )
        for n in config.store_counts
        for m in config.train_sizes
    }
    methods = {
        "HDPO vanilla": _hdpo_method(config, "vanilla"),
        "HDPO GNN": _hdpo_method(config, "gnn", hidden=(32, 32)),
        "HDPO base-stock": _hdpo_method(config, "base_stock"),
    }
    metrics = ["test_cost", "train_steps", "train_time_s"]
    title = "One warehouse, n stores (lost sales): test cost by training-set size"
    rows = _run(config, methods, instances, "inventory_warehouse", title, metrics)
    wide = rows.pivot_table(index="instance", columns="method", values="test_cost", sort=False)
    both = {"HDPO GNN", "HDPO vanilla"} <= set(wide.columns)
    wide["GNN vs vanilla %"] = (
        100 * (wide["HDPO GNN"] / wide["HDPO vanilla"] - 1) if both else math.nan
    )
    wide = wide.reset_index()
    write_table(wide, "inventory_warehouse_wide", title, config.results_dir, docs=DOCS)
    train_size = wide["instance"].str.extract(r"train=(\d+)", expand=False).astype(int)
    small_data = wide.loc[train_size <= 256, "GNN vs vanilla %"]
    summary = {
        "gnn_no_worse_everywhere": bool((wide["GNN vs vanilla %"] <= 0.0).all()),
        "gnn_better_with_small_data": len(small_data) > 0 and bool((small_data < 0.0).all()),
        "max_gnn_vs_vanilla_pct": float(wide["GNN vs vanilla %"].max()),
    }
    return CommandOutput([(title, wide)], summary)


def transshipment(config: BenchConfig) -> CommandOutput:
    """A transshipment centre and n stores: HDPO policies against the relaxation's lower bound."""
    instances = {
        f"n={n}": Instance(SettingConfig(setting="transshipment", stores=n), WAREHOUSE_PROTOCOL)
        for n in config.store_counts
    }
    methods = {
        "HDPO vanilla (softmax)": _hdpo_method(
            config, "vanilla", allocation="softmax", learning_rate=3e-3
        ),
        "HDPO GNN": _hdpo_method(config, "gnn", hidden=(32, 32)),
        "HDPO echelon base-stock": _hdpo_method(config, "echelon_base_stock"),
    }
    metrics = ["test_cost", "lower_bound", "gap_pct", "train_steps", "train_time_s"]
    return _report(
        config,
        methods,
        instances,
        "inventory_transshipment",
        "Transshipment centre + n stores: HDPO vs the centralised lower bound",
        metrics,
    )


def _score_function_method(config: BenchConfig, method: str):
    """Like :func:`_hdpo_method` for REINFORCE / PPO (Beta policy, tested at its mean), with
    evaluation on dev every tenth of the time budget."""

    def run(instance: Instance, seed: int) -> dict[str, float]:
        built = build_setting(instance.setting)
        hdpo = replace(config.hdpo, seed=seed)
        trainer = _trainer(config, equal_time=True)
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
        return {
            "test_cost": tested["cost"],
            "test_cost_se": tested["cost_se"],
            **_gap(instance.setting, tested["cost"]),
            "train_steps": result.steps,
            "train_time_s": result.wall_time_s,
        }

    return run


def estimators(config: BenchConfig) -> CommandOutput:
    """HDPO vs REINFORCE vs PPO at the same wall-clock budget."""
    instances = {
        f"lost L={L} p={p:g}": Instance(
            SettingConfig(setting="one_store_lost", lead_time=L, penalty=p)
        )
        for L in config.lead_times
        for p in config.penalties
    }
    instances[f"warehouse + {config.stores} stores"] = Instance(
        SettingConfig(setting="one_warehouse_lost", stores=config.stores)
    )
    methods = {
        "HDPO (pathwise)": _hdpo_method(config, "vanilla", equal_time=True),
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
    title = f"Simulator speed (forward + backward, {torch.get_num_threads()} torch thread(s))"
    write_table(table, "inventory_speed", title, config.results_dir, docs=DOCS, csv=True)
    return CommandOutput(
        [("simulator speed", table)], {r["case"]: r["sample_periods_per_s"] for r in rows}
    )


def bench(config: BenchConfig) -> CommandOutput:
    """Run the benchmark suite named by ``config.suite``."""
    suites = {
        "zipkin": zipkin, "backlog": backlog, "serial": serial, "warehouse": warehouse,
        "transshipment": transshipment, "estimators": estimators, "speed": speed,
    }  # fmt: skip
    return suites[config.suite](config)
