"""``pgsuite iot bench``: every scheduler on the same task streams, the hybrid against the best
heuristic and RL alone.

Streams (the instances; each seed draws the SLA classes, the generator's arrivals and the
metaheuristics' random choices; every method of a cell gets the same stream):
    ``<cluster>/trace``: a window of the Alibaba 2018 trace (``--trace-window``, never used in
    training: the policy trains on generated streams only).
    ``<cluster>/load=L``: the generator with its rates scaled to a mean offered work of ``L`` x
    the cluster's capacity (:func:`~pgsuite.apps.scheduling.iot.workloads.at_load`).

Decision modes: the immediate rules (round-robin, least-loaded, OLB, MET, MCT) and ``rl`` assign
each task on arrival; the batch rules (Min-Min, Max-Min, Sufferage), ``aco``, ``ga`` and
``hybrid`` (the colony started from the policy's assignment) and ``hybrid-heuristic`` (the
ablation: the policy's probabilities weighed into every ant's choice instead) assign the tasks of
each ``--batch-s`` window together (so they wait for the window's end).

Writes ``iot_streams.{csv,md}`` (per cell: mean / p95 response s, utilisation, energy kWh, SLA
compliance, load imbalance, decisions per second), ``iot_targets.md`` (the hybrid against the
best heuristic and RL alone per stream) and ``iot_load.png`` (response time and energy vs
load).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from pgsuite.apps.scheduling.iot.cluster import Cluster, load_cluster
from pgsuite.apps.scheduling.iot.metrics import run_metrics
from pgsuite.apps.scheduling.iot.schedulers import HEURISTICS
from pgsuite.apps.scheduling.iot.simulator import IoTSimulator
from pgsuite.apps.scheduling.iot.tasks import TaskSet
from pgsuite.apps.scheduling.iot.train import ALL_SCHEDULERS, make_scheduler
from pgsuite.apps.scheduling.iot.workloads import (
    GeneratorConfig,
    TraceConfig,
    at_load,
    generated_tasks,
    trace_tasks,
)
from pgsuite.core.bench import run_bench, write_table
from pgsuite.core.cli import CommandOutput
from pgsuite.core.distributed import BackendConfig
from pgsuite.core.errors import ConfigError

DOCS = ("docs/iot.md",)
METHODS = ALL_SCHEDULERS
BATCH_METHODS = ("min-min", "max-min", "sufferage", "aco", "ga", "hybrid", "hybrid-heuristic")
METRICS = ("mean_response_s", "p95_response_s", "utilisation", "energy_kwh", "sla_compliance",
           "load_imbalance", "decisions_per_s")  # fmt: skip


@dataclass
class IoTBenchConfig:
    """pgsuite iot bench: every scheduler on the same streams (see the module docstring)."""

    clusters: tuple[str, ...] = ("small",)
    """Presets or cluster files."""
    loads: tuple[float, ...] = (0.3, 0.5, 0.7)
    """Generator streams: mean offered work / capacity."""
    with_trace: bool = True
    """Also the trace window."""
    trace_options: TraceConfig = field(default_factory=TraceConfig)
    trace_window: tuple[float, float] = (0.0, 900.0)
    """The trace's held-out window [BEGIN, END) s."""
    duration_s: float = 600.0
    """Arrivals of a generated stream (s): two peak / off-peak periods."""
    seeds: tuple[int, ...] = (0, 1, 2)
    methods: tuple[str, ...] = METHODS
    batch_s: float = 2.0
    """Batch window of the batch methods (s)."""
    policy: Path | None = None
    """Run folder of the policy of rl and hybrid (default: the shipped one)."""
    results_dir: Path = Path("benchmarks/results")
    backend: BackendConfig = field(default_factory=BackendConfig)

    def __post_init__(self) -> None:
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown:
            raise ConfigError(f"unknown scheduler(s) {unknown}; choose from {', '.join(METHODS)}")
        if not self.batch_s > 0:
            raise ConfigError(f"batch_s must be > 0, got {self.batch_s}")
        if not self.loads and not self.with_trace:
            raise ConfigError("no stream: give --loads or --with-trace")


def stream(config: IoTBenchConfig, instance: str, seed: int) -> tuple[Cluster, TaskSet]:
    """The cluster and task stream of ``instance`` (``<cluster>/trace`` or ``<cluster>/load=L``)
    for ``seed``."""
    name, kind = instance.rsplit("/", 1)
    cluster = load_cluster(name)
    if kind == "trace":
        return cluster, trace_tasks(cluster, config.trace_options, seed=seed).window(
            *config.trace_window
        )
    load = float(kind.removeprefix("load="))
    generator = at_load(cluster, GeneratorConfig(duration_s=config.duration_s), load)
    return cluster, generated_tasks(cluster, generator, seed=seed)


def stream_cell(config: IoTBenchConfig, method: str, instance: str, seed: int) -> dict[str, Any]:
    """One cell: ``method`` on the stream of ``instance`` and ``seed``, checked."""
    cluster, tasks = stream(config, instance, seed)
    scheduler = make_scheduler(method, seed, config.policy)
    batch_s = config.batch_s if method in BATCH_METHODS else 0.0
    began = time.perf_counter()
    result = IoTSimulator(cluster, tasks, batch_s).run(scheduler)
    elapsed = time.perf_counter() - began
    return {**run_metrics(cluster, tasks, result).as_dict(), "batch_s": batch_s,
            "decisions_per_s": len(tasks) / elapsed}  # fmt: skip


def instances(config: IoTBenchConfig) -> list[str]:
    names = []
    for cluster in config.clusters:
        names += [f"{cluster}/trace"] * config.with_trace
        names += [f"{cluster}/load={load:g}" for load in config.loads]
    return names


TARGET_NOTE = (
    "Per stream (mean over seeds): the hybrid's mean response, utilisation and energy relative "
    "to the best heuristic's (lowest mean response among the eight rules) and to RL alone's, in "
    "percent; its SLA compliance. Targets on the trace window: response <= -18.4 %, utilisation "
    ">= +12.7 %, energy <= -9.3 % against both, SLA >= 0.99."
)


def target_table(rows: pd.DataFrame) -> pd.DataFrame:
    """The hybrid against the best heuristic and RL alone, per stream (empty without them)."""
    means = rows.groupby(["instance", "method"])[list(METRICS)].mean()
    out = []
    for instance, part in means.groupby(level=0):
        part = part.droplevel(0)
        rules = [m for m in part.index if m in HEURISTICS]
        if "hybrid" not in part.index or not rules:
            continue
        best = part.loc[rules, "mean_response_s"].idxmin()
        row = {"stream": instance, "best_heuristic": best,
               "hybrid_sla": part.loc["hybrid", "sla_compliance"]}  # fmt: skip
        for other, label in ((best, "best"), ("rl", "rl")):
            if other not in part.index:
                continue
            for metric, short in (("mean_response_s", "response"), ("utilisation", "util"),
                                  ("energy_kwh", "energy")):  # fmt: skip
                row[f"{short}_vs_{label}_pct"] = 100 * (
                    part.loc["hybrid", metric] / part.loc[other, metric] - 1
                )
        out.append(row)
    return pd.DataFrame(out)


def plot_load(rows: pd.DataFrame, path: Path) -> Path | None:
    """Mean response time and energy vs load, one row of panels per cluster."""
    rows = rows[rows["instance"].str.contains("/load=")].copy()
    if rows.empty:
        return None
    rows["cluster"] = rows["instance"].str.rsplit("/", n=1).str[0]
    rows["load"] = rows["instance"].str.rsplit("=", n=1).str[1].astype(float)
    clusters = sorted(rows["cluster"].unique())
    figure = Figure(figsize=(9, 3.4 * len(clusters)))
    FigureCanvasAgg(figure)
    for i, cluster in enumerate(clusters):
        part = rows[rows["cluster"] == cluster]
        for j, (metric, label) in enumerate((("mean_response_s", "mean response (s)"),
                                             ("energy_kwh", "energy (kWh)"))):  # fmt: skip
            ax = figure.add_subplot(len(clusters), 2, 2 * i + j + 1)
            for method, group in part.groupby("method", sort=False):
                curve = group.groupby("load")[metric].mean()
                ax.plot(curve.index, curve.values, marker="o", ms=3, label=method)
            ax.set_xlabel("offered load (share of capacity)")
            ax.set_ylabel(label)
            ax.set_title(cluster)
    figure.axes[0].legend(fontsize=6, ncol=2)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    return path


def bench(config: IoTBenchConfig) -> CommandOutput:
    """Run the grid (methods x streams x seeds) and write its tables and plot."""
    names = instances(config)

    def method_fn(method: str):
        def run(instance: str, seed: int) -> dict[str, Any]:
            return stream_cell(config, method, instance, seed)

        return run

    rows, paths = run_bench(
        {m: method_fn(m) for m in config.methods},
        {name: name for name in names},
        list(config.seeds),
        name="iot_streams",
        metrics=list(METRICS),
        results_dir=config.results_dir,
        title="IoT schedulers: response (s), utilisation, energy (kWh), SLA compliance, load "
        "imbalance, decisions per second",
        docs=DOCS,
        groups={name: name for name in names},
        backend=config.backend,
        config=config,
    )
    targets = target_table(rows)
    write_table(targets, "iot_targets", "The hybrid against the best heuristic and RL alone",
                config.results_dir, note=TARGET_NOTE, docs=DOCS, floatfmt=".2f")  # fmt: skip
    plot_load(rows, config.results_dir / "iot_load.png")
    summary = {"csv": str(paths["csv"]), "targets": targets.to_dict(orient="records")}
    return CommandOutput([("targets", targets)], summary)
