"""``pgsuite jobshop bench --suite blocking``: the blocking job shop with swaps under machine
interruptions, the learned dispatcher against the blocking rules and CP-SAT.

Instances: the Lawrence instances la01-la40 and Taillard-style random instances of the
``--blocking-sizes`` (one per seed), each at every shutdown probability of
``--shutdown-probabilities`` (per time unit of processing; resume after repair, mean repair one
mean operation duration). A seed draws the shutdowns (and the random instance), the same for
every method. Methods: ``policy`` (the learned dispatcher, greedy; ``--blocking-policy``, default
the shipped one), the fixed rules (FIFO, SPT, LPT, MOR, MWKR) and ``cpsat`` (CP-SAT on the
blocking model, hinted with the best rule's schedule, ``--cpsat-time-s``, one worker; on the cells
without shutdowns only: elsewhere it would be a clairvoyant reference that knows every shutdown in
advance, so its cells there are left empty).
Every schedule passes the blocking checker.

Writes ``jobshop_blocking.{csv,md}`` (per cell: makespan, whether CP-SAT proved its schedule
optimal, the share of operations that met a shutdown) and ``jobshop_blocking_targets.md`` (per
shutdown probability: each method's mean makespan over the instances, and the learned rule
against the best fixed rule; its note: every method's gap to CP-SAT's schedule without
shutdowns).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pgsuite.apps.scheduling.jobshop.blocking import BlockingSchedule, Interruptions, check_blocking
from pgsuite.apps.scheduling.jobshop.blocking_rules import dispatch_blocking
from pgsuite.apps.scheduling.jobshop.blocking_train import (
    FIXED_RULES,
    greedy_blocking,
    load_blocking_policy,
)
from pgsuite.apps.scheduling.jobshop.cpsat import solve_cpsat
from pgsuite.apps.scheduling.jobshop.instances import (
    JobShopInstance,
    load_benchmark,
    random_instance,
)
from pgsuite.apps.scheduling.jobshop.train import parse_size
from pgsuite.core.bench import run_bench, write_table
from pgsuite.core.cli import CommandOutput
from pgsuite.core.errors import ConfigError

SHIPPED_BLOCKING_POLICY = Path(__file__).parent / "checkpoints" / "blocking_policy"
"""The blocking dispatcher shipped with the package (``made_by.json`` records its command)."""
LAWRENCE = tuple(f"la{i:02d}" for i in range(1, 41))
BLOCKING_METHODS = ("policy", *FIXED_RULES, "cpsat")


@dataclass
class BlockingBenchOptions:
    """The blocking suite's grid (``--suite blocking``)."""

    blocking_methods: tuple[str, ...] = BLOCKING_METHODS
    shutdown_probabilities: tuple[float, ...] = (0.0, 0.0025, 0.005, 0.01)
    """Per time unit of processing; 0.01 interrupts about a third of the operations (35 % of
    la01-la40's)."""
    blocking_sizes: tuple[str, ...] = ("10x5", "15x5", "20x5", "15x10", "20x10", "30x10")
    """Random instances JOBSxMACHINES (durations U[1, 99]), one per seed."""
    lawrence: tuple[str, ...] = LAWRENCE
    """Lawrence instances to include (default la01-la40; none: ``--lawrence`` with no value)."""
    blocking_seeds: tuple[int, ...] = (0, 1, 2)
    blocking_policy: Path | None = None
    """Run folder of the learned dispatcher (default: the shipped one)."""
    cpsat_time_s: float = 5.0
    """CP-SAT's limit per instance."""
    cpsat_workers: int = 1
    """CP-SAT's search workers."""
    blocking_name: str = "jobshop_blocking"
    """Results files ``<name>.{csv,md}`` and ``<name>_targets.md`` (a separate grid, e.g. exact
    optima with a longer CP-SAT, keeps its own files)."""

    def __post_init__(self) -> None:
        unknown = [m for m in self.blocking_methods if m not in BLOCKING_METHODS]
        if unknown:
            raise ConfigError(f"unknown blocking method(s) {unknown}; choose from "
                              f"{', '.join(BLOCKING_METHODS)}")  # fmt: skip
        for size in self.blocking_sizes:
            parse_size(size)
        for p in self.shutdown_probabilities:
            Interruptions(p)
        unknown = [name for name in self.lawrence if name not in LAWRENCE]
        if unknown:
            raise ConfigError(f"unknown Lawrence instance(s) {unknown}: la01 ... la40")


def _instance(name: str, seed: int) -> JobShopInstance:
    """``la01`` or ``random-10x5`` (one instance per seed)."""
    if name.startswith("random-"):
        jobs, machines = parse_size(name.removeprefix("random-"))
        return random_instance(jobs, machines, seed=10_000 + seed, name=f"{name}#{seed}")
    return load_benchmark(name)


def cells(options: BlockingBenchOptions) -> dict[str, tuple[str, float]]:
    """Cell names ``<instance>@p=<probability>`` -> (instance name, probability)."""
    names = [f"random-{size}" for size in options.blocking_sizes]
    names += list(options.lawrence)
    return {f"{name}@p={p:g}": (name, p) for p in options.shutdown_probabilities for name in names}


def blocking_cell(options: BlockingBenchOptions, method: str, cell: tuple[str, float],
                  seed: int, agent: Any = None) -> dict[str, float]:  # fmt: skip
    """One cell: ``method`` on the instance and shutdowns of ``cell`` and ``seed``, checked."""
    name, probability = cell
    instance = _instance(name, seed)
    plan = Interruptions(probability).sample(instance, seed)
    if method == "policy":
        schedule = greedy_blocking(agent, instance, plan)
        optimal = False
    elif method == "cpsat":
        if probability > 0:
            return {"makespan": np.nan, "cpsat_optimal": 0.0,
                    "interrupted_share": plan.share_interrupted()}  # fmt: skip
        realised = JobShopInstance(instance.name, plan.hold(), instance.machines)
        hint = min((dispatch_blocking(instance, rule, plan) for rule in FIXED_RULES),
                   key=lambda s: s.makespan)  # fmt: skip
        result = solve_cpsat(realised, options.cpsat_time_s, options.cpsat_workers, seed=seed,
                             blocking=True, hint_start=hint.start)  # fmt: skip
        schedule = BlockingSchedule.from_times(result.start, result.end)
        check_blocking(instance, schedule, plan)
        optimal = result.optimal
    else:
        schedule = dispatch_blocking(instance, method, plan, seed=seed)
        optimal = False
    return {"makespan": float(schedule.makespan), "cpsat_optimal": float(optimal),
            "interrupted_share": plan.share_interrupted()}  # fmt: skip


def target_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Per shutdown probability (and over the grid): mean makespan per method, the best fixed
    rule, and the learned rule's difference to it in percent."""
    rows = rows.copy()
    rows["p"] = rows["instance"].str.rsplit("=", n=1).str[1].astype(float)
    means = rows.pivot_table(index="p", columns="method", values="makespan", aggfunc="mean")
    rules = [r for r in FIXED_RULES if r in means.columns]
    if "policy" not in means.columns or not rules:
        return means.reset_index()
    out = means[[m for m in BLOCKING_METHODS if m in means.columns]].copy()
    out["best_rule"] = out[rules].idxmin(axis=1)
    best = out[rules].min(axis=1)
    out["policy_vs_best_rule_pct"] = 100 * (out["policy"] / best - 1)
    out.loc["grid mean", "policy_vs_best_rule_pct"] = out["policy_vs_best_rule_pct"].mean()
    return out.reset_index().rename(columns={"index": "p"})


TARGET_NOTE = (
    "Mean makespan over the suite's instances and seeds per shutdown probability (per time unit "
    "of processing). Target: the learned rule at least as good as the best fixed rule at every "
    "probability (policy_vs_best_rule_pct <= 0) and at least 5 % better on the grid mean."
)


def blocking_bench(options: BlockingBenchOptions, results_dir: Path, backend: Any,
                   config: Any) -> CommandOutput:  # fmt: skip
    """Run the blocking grid and write its tables (see the module docstring)."""
    policy_path = options.blocking_policy or SHIPPED_BLOCKING_POLICY
    agent = load_blocking_policy(policy_path) if "policy" in options.blocking_methods else None
    grid = cells(options)

    def method_fn(method: str):
        def run(cell: tuple[str, float], seed: int) -> dict[str, float]:
            return blocking_cell(options, method, cell, seed, agent)

        return run

    rows, paths = run_bench(
        {m: method_fn(m) for m in options.blocking_methods},
        grid,
        list(options.blocking_seeds),
        name=options.blocking_name,
        metrics=["makespan", "interrupted_share"],
        results_dir=results_dir,
        title="Blocking job shop with swaps under interruptions: makespan per method",
        docs=("docs/jobshop.md",),
        groups={name: f"p={p:g}" for name, (_, p) in grid.items()},
        backend=backend,
        config=config,
    )
    targets = target_table(rows)
    exact = rows[(rows["method"] == "cpsat") & rows["makespan"].notna()]
    reference = exact.set_index(["instance", "seed"])["makespan"].rename("cpsat_makespan")
    gaps = rows.join(reference, on=["instance", "seed"]).dropna(subset=["cpsat_makespan"])
    note = TARGET_NOTE
    if not gaps.empty:
        gaps = gaps[gaps["method"] != "cpsat"]
        gap = 100 * (gaps["makespan"] / gaps["cpsat_makespan"] - 1)
        listed = ", ".join(f"{m} {g:.1f}" for m, g in gap.groupby(gaps["method"]).mean().items())
        note += (f" Without shutdowns, mean gap % to CP-SAT's schedule ({options.cpsat_time_s:g} "
                 f"s, {options.cpsat_workers} worker(s); proven optimal in {int(exact['cpsat_optimal'].sum())} of "
                 f"{len(exact)} cells): {listed}.")  # fmt: skip
    write_table(targets, f"{options.blocking_name}_targets", "Blocking job shop: the learned rule "
                "against the best fixed rule per shutdown probability", results_dir, note=note,
                docs=("docs/jobshop.md",), floatfmt=".2f")  # fmt: skip
    summary = {"csv": str(paths["csv"]), "targets": targets.to_dict(orient="records")}
    return CommandOutput([("blocking targets", targets)], summary)
