"""``pgsuite jobshop bench``: gaps to the best-known makespans, per size class and method.

Suites:
    ``taillard``: ta01-ta80 (ten instances per size class, 15x15 ... 100x20).
    ``classic``: the other classic families (ft, la, abz, orb, swv, yn).
    ``speed``: simulator decisions per second without a policy (random valid actions) and the
    greedy policy's time on one instance of each size.
    ``blocking``: the blocking job shop with swaps under machine interruptions
    (:mod:`~pgsuite.apps.scheduling.jobshop.blocking_bench`; its options are the ``--blocking-*``,
    ``--shutdown-probabilities`` and ``--cpsat-time-s`` ones).

Every schedule is verified by the independent feasibility checker before its makespan counts
(:class:`~pgsuite.apps.scheduling.jobshop.solver.Solver`). Rows accumulate in
``benchmarks/results/jobshop_<suite>.csv``: a run replaces the rows of the (instance, method) pairs
it ran and keeps the others, so long methods (CP-SAT at 60 s) can be added by separate runs; the
Markdown reports are rebuilt from all rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from pgsuite.apps.scheduling.jobshop.blocking_bench import BlockingBenchOptions, blocking_bench
from pgsuite.apps.scheduling.jobshop.cpsat import NoScheduleError
from pgsuite.apps.scheduling.jobshop.instances import (
    JobShopInstance,
    benchmark_names,
    load_benchmark,
    taillard_names,
)
from pgsuite.apps.scheduling.jobshop.rules import RULES
from pgsuite.apps.scheduling.jobshop.simulator import JobShopSimulator
from pgsuite.apps.scheduling.jobshop.solver import SolverOptions, parse_method
from pgsuite.core.bench import run_bench, write_table
from pgsuite.core.cli import CommandOutput
from pgsuite.core.distributed import BackendConfig
from pgsuite.core.errors import ConfigError

DOCS = ("docs/jobshop.md",)
"""The doc page whose results blocks the suites refresh (see :mod:`pgsuite.core.doctables`)."""

DEFAULT_METHODS = (
    "greedy",
    "sample:128",
    "bisample:128",
    *RULES,
    "cpsat:10",
    "cpsat+policy:10",
    "cpsat:60",
    "cpsat+policy:60",
)
CLASSIC_FAMILIES = ("ft", "la", "abz", "orb", "swv", "yn")


@dataclass
class JobShopBenchConfig:
    """pgsuite jobshop bench: regenerate a benchmark table."""

    suite: Literal["taillard", "classic", "speed", "blocking"] = "taillard"
    """taillard (ta01-ta80 by size class), classic (ft, la, abz, orb, swv, yn), speed or
    blocking (the blocking job shop under interruptions)."""
    instances: tuple[str, ...] = ()
    """Only these instances (default: the whole suite)."""
    methods: tuple[str, ...] = DEFAULT_METHODS
    """Methods as in pgsuite jobshop solve --method (the classic suites)."""
    options: SolverOptions = field(default_factory=SolverOptions)
    blocking: BlockingBenchOptions = field(default_factory=BlockingBenchOptions)
    results_dir: Path = Path("benchmarks/results")
    """Folder for the CSV / Markdown results."""
    backend: BackendConfig = field(default_factory=BackendConfig)

    def __post_init__(self) -> None:
        for method in self.methods:
            parse_method(method)
        known = set(benchmark_names())
        unknown = [name for name in self.instances if name not in known]
        if unknown:
            raise ConfigError(f"unknown instance(s) {unknown}; see pgsuite jobshop solve --help")


def size_class(instance: JobShopInstance) -> str:
    """Group label of a classic instance: ``"ta01-10 (15x15)"`` for Taillard, else the family."""
    name = instance.name
    if name.startswith("ta"):
        first = (int(name[2:]) - 1) // 10 * 10 + 1
        return f"ta{first:02d}-{first + 9:02d} ({instance.size})"
    return name.rstrip("0123456789")


def suite_instances(config: JobShopBenchConfig) -> list[str]:
    if config.instances:
        return list(config.instances)
    if config.suite == "taillard":
        return taillard_names()
    return [n for n in benchmark_names() if n.rstrip("0123456789") in CLASSIC_FAMILIES]


def _ordered(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted by instance order, then by the default method order (others last)."""
    order = {m: i for i, m in enumerate(DEFAULT_METHODS)}
    rank = rows["method"].map(lambda m: order.get(m, len(order)))
    number = rows["instance"].str.extract(r"(\d+)$")[0].astype(float)
    family = rows["instance"].str.rstrip("0123456789")
    return (
        rows.assign(_family=family, _number=number, _rank=rank)
        .sort_values(["_family", "_number", "_rank", "method"])
        .drop(columns=["_family", "_number", "_rank"])
        .reset_index(drop=True)
    )


def wide_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean gap % per group (rows, then ``all``) and method (columns, default order first)."""
    gaps = rows.pivot_table(index="group", columns="method", values="gap_pct", aggfunc="mean")
    gaps.loc["all"] = rows.groupby("method")["gap_pct"].mean()
    methods = [m for m in DEFAULT_METHODS if m in gaps.columns]
    methods += sorted(set(gaps.columns) - set(methods))
    groups = [*pd.unique(rows["group"]), "all"]
    return gaps.loc[groups, methods].round(2)


def quality(config: JobShopBenchConfig) -> CommandOutput:
    solver = config.options.solver()
    names = suite_instances(config)
    instances = {name: load_benchmark(name) for name in names}

    def method_fn(method: str):
        def run(instance, seed):
            try:
                solution = solver.solve(instance, method)
            except NoScheduleError:  # counted as a missing cell, not a crash of the whole grid
                return {"makespan": np.nan, "best_known": instance.best_known, "gap_pct": np.nan}
            return {
                "makespan": solution.makespan,
                "best_known": instance.best_known or np.nan,
                "gap_pct": solution.gap_pct,
            }

        return run

    name = f"jobshop_{config.suite}"
    title = f"Job shop, {config.suite}: gap % to the best-known makespan and time per instance"
    if config.options.mtbf is not None:
        name += f"_breakdowns_mtbf{config.options.mtbf:g}_mttr{config.options.mttr:g}"
        title = (
            f"Job shop, {config.suite}, random breakdowns (mtbf {config.options.mtbf:g}, mttr "
            f"{config.options.mttr:g} mean durations): makespan over the breakdown-free best known, %"
        )
    rows, paths = run_bench(
        {m: method_fn(m) for m in config.methods},
        instances,
        [config.options.seed],
        name=name,
        metrics=["gap_pct", "time_s"],
        results_dir=config.results_dir,
        title=title,
        docs=DOCS,
        groups={key: size_class(instance) for key, instance in instances.items()},
        keys=("instance", "method"),
        order=_ordered,
        backend=config.backend,
        config=config,
    )
    wide = wide_table(rows)
    counts = rows.groupby("method")["instance"].nunique()
    note = ", ".join(f"{m}: {counts[m]}" for m in wide.columns)
    wide_path = write_table(
        wide.reset_index(),
        f"{name}_wide",
        title,
        config.results_dir,
        note=f"Mean gap % per size class (instances per method: {note}).",
        docs=DOCS,
        floatfmt="g",
    )
    summary = {
        "csv": str(paths["csv"]),
        "md": str(wide_path),
        "mean_gap_pct": wide.loc["all"].to_dict(),
    }
    return CommandOutput([("mean gap % to best known", wide.reset_index())], summary)


def simulator_throughput(name: str, batch: int, seed: int = 0) -> float:
    """Decisions per second of the simulator alone (uniformly random valid jobs, non-delay
    candidates, insertion on) on ``batch`` copies of instance ``name``."""
    instance = load_benchmark(name)
    sim = JobShopSimulator.from_instances([instance] * batch, insertion=True)
    rng = np.random.default_rng(seed)
    began = time.perf_counter()
    while not sim.done:
        mask = sim.valid_jobs(nondelay=True)
        sim.step(np.where(mask, rng.random(mask.shape), -1.0).argmax(1))
    return batch * instance.num_operations / (time.perf_counter() - began)


def speed(config: JobShopBenchConfig) -> CommandOutput:
    rows = [
        {
            "case": f"simulator, ta01 (15x15), batch {b}",
            "value": simulator_throughput("ta01", b),
            "unit": "decisions/s",
        }
        for b in (1, 16, 256)
    ]
    solver = config.options.solver()
    for name in ("ta01", "ta41", "ta71"):
        instance = load_benchmark(name)
        solution = solver.solve(instance, "greedy")
        rows.append(
            {
                "case": f"greedy policy, {name} ({instance.size})",
                "value": solution.time_s,
                "unit": "s",
            }
        )
    table = pd.DataFrame(rows)
    write_table(
        table,
        "jobshop_speed",
        "Job shop: simulator and policy speed",
        config.results_dir,
        docs=DOCS,
        csv=True,
        floatfmt="g",
    )
    return CommandOutput([("speed", table)], {r["case"]: r["value"] for r in rows})


def bench(config: JobShopBenchConfig) -> CommandOutput:
    if config.suite == "blocking":
        return blocking_bench(config.blocking, config.results_dir, config.backend, config)
    return speed(config) if config.suite == "speed" else quality(config)
