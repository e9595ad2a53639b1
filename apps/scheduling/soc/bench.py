"""``pgsuite soc bench``: the SoC schedulers over load and noise, single-job gaps to the CP-SAT
optimum, and the simulator's speed.

Suites:
    ``latency``: mean latency (p95, throughput, utilisation, energy per job) of every scheduler on
    the 16-PE SoC over DS3's injection rates (mean inter-arrival 2000 ... 50 µs) x noise levels x
    seeds; every scheduler of a cell runs the same workload (arrivals and noise from the seed).
    Writes ``soc_latency.{csv,md}``, the wide table ``soc_latency_wide.md``, the plot
    ``soc_latency.png`` (latency vs injection rate per noise level) and ``soc_targets.md``.
    ``single``: each DS3 job alone on the idle SoC without noise: every heuristic's latency and
    its gap to CP-SAT's optimum (``soc_single.md``).
    ``speed``: scheduled tasks per second of the simulator with each heuristic, the checker
    included (``soc_speed.md``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from pgsuite.apps.scheduling.soc.cpsat import optimal_schedule
from pgsuite.apps.scheduling.soc.ds3 import JOB_NAMES, load_job, load_soc
from pgsuite.apps.scheduling.soc.inference import SCHEDULER_NAMES, make_scheduler
from pgsuite.apps.scheduling.soc.metrics import run_metrics
from pgsuite.apps.scheduling.soc.platform import Platform
from pgsuite.apps.scheduling.soc.schedulers import HEURISTICS, make_heuristic
from pgsuite.apps.scheduling.soc.simulator import SoCSimulator
from pgsuite.apps.scheduling.soc.workload import JobInstance, WorkloadConfig, generate_workload
from pgsuite.core.bench import run_bench, write_table
from pgsuite.core.cli import CommandOutput
from pgsuite.core.distributed import BackendConfig
from pgsuite.core.errors import ConfigError

DOCS = ("docs/soc.md",)
DS3_SCALES = (2000.0, 300.0, 200.0, 150.0, 125.0, 100.0, 80.0, 60.0, 50.0)
DEFAULT_METHODS = ("policy", "heft", "heft-rt", "etf", "eft", "stf", "met")
METRICS = ("mean_latency", "p95_latency", "throughput", "utilisation", "energy_per_job")


@dataclass
class SoCBenchConfig:
    """pgsuite soc bench: regenerate a benchmark table."""

    suite: Literal["latency", "single", "speed"] = "latency"
    """latency (schedulers over load x noise), single (one job vs the CP-SAT optimum) or speed."""
    soc: str = "MULTIPLE_BAL"
    jobs: tuple[str, ...] = ("WIFI_5TXM:0.8", "WIFI_5RXM:0.2")
    """Job mix of the latency suite."""
    scales: tuple[float, ...] = DS3_SCALES
    """Mean inter-arrival times (µs)."""
    noises: tuple[float, ...] = (0.0, 0.1, 0.3, 0.5)
    seeds: tuple[int, ...] = (0, 1, 2)
    methods: tuple[str, ...] = DEFAULT_METHODS
    """Schedulers: the heuristics by name and policy (the run folder --policy)."""
    policy: Path | None = None
    """Run folder of the policy (default: the shipped one)."""
    num_jobs: int = 300
    warmup_jobs: int = 30
    cpsat_time_limit_s: float = 60.0
    """single: CP-SAT's limit per job (the gap is to its best schedule; its bound is reported)."""
    results_dir: Path = Path("benchmarks/results")
    backend: BackendConfig = field(default_factory=BackendConfig)

    def __post_init__(self) -> None:
        unknown = [m for m in self.methods if m not in SCHEDULER_NAMES]
        if unknown:
            raise ConfigError(f"unknown scheduler(s) {unknown}; choose from "
                              f"{', '.join(SCHEDULER_NAMES)}")  # fmt: skip
        if self.warmup_jobs >= self.num_jobs:
            raise ConfigError("warmup_jobs must be below num_jobs")


def _scheduler(config: SoCBenchConfig, name: str, seed: int):
    return make_scheduler(name, config.policy, seed)


def cell_name(scale: float, noise: float) -> str:
    return f"scale={scale:g} noise={noise:g}"


def latency_cell(
    config: SoCBenchConfig,
    method: str,
    cell: tuple[float, float],
    seed: int,
    platform: Platform | None = None,
) -> dict[str, float]:
    """One cell of the latency suite: ``method`` on the workload of (scale, noise) ``cell`` and
    ``seed``."""
    platform = platform or Platform(load_soc(config.soc))
    scale, noise = cell
    workload = WorkloadConfig(
        jobs=config.jobs, scale_us=scale, num_jobs=config.num_jobs, noise_std=noise,
        warmup_jobs=config.warmup_jobs, seed=seed,
    )  # fmt: skip
    jobs = generate_workload(platform, workload)
    result = SoCSimulator(platform, jobs).run(_scheduler(config, method, seed))
    metrics = run_metrics(platform, jobs, result, config.warmup_jobs)
    return {
        "scale_us": scale,
        "noise_std": noise,
        "mean_latency": metrics.mean_latency_us,
        "p95_latency": metrics.p95_latency_us,
        "throughput": metrics.throughput_jobs_per_ms,
        "utilisation": metrics.utilisation,
        "energy_per_job": metrics.energy_per_job_uj,
    }


def latency(config: SoCBenchConfig) -> CommandOutput:
    platform = Platform(load_soc(config.soc))
    cells = {cell_name(s, n): (s, n) for n in config.noises for s in config.scales}

    def method_fn(method: str):
        def run(cell: tuple[float, float], seed: int) -> dict[str, float]:
            return latency_cell(config, method, cell, seed, platform)

        return run

    rows, paths = run_bench(
        {m: method_fn(m) for m in config.methods},
        cells,
        list(config.seeds),
        name="soc_latency",
        metrics=list(METRICS),
        results_dir=config.results_dir,
        title=f"SoC schedulers on {config.soc}: latency (µs), throughput (jobs/ms), utilisation, "
        "energy per job (µJ)",
        docs=DOCS,
        groups={name: f"noise={n:g}" for name, (_, n) in cells.items()},
        backend=config.backend,
        config=config,
    )
    wide = wide_latency(rows)
    write_table(wide, "soc_latency_wide", "Mean latency (µs) by noise, scale and scheduler "
                "(mean over seeds)", config.results_dir, docs=DOCS, floatfmt=".1f")  # fmt: skip
    plot_latency(rows, config.results_dir / "soc_latency.png")
    targets = target_table(rows)
    write_table(targets, "soc_targets", "The learned scheduler against HEFT and the best "
                "heuristic", config.results_dir, note=TARGET_NOTE, docs=DOCS,
                floatfmt=".2f")  # fmt: skip
    summary = {"csv": str(paths["csv"]), "targets": targets.to_dict(orient="records")}
    return CommandOutput([("mean latency (µs)", wide), ("targets", targets)], summary)


def wide_latency(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean latency per (noise, scale) row and scheduler column."""
    table = rows.pivot_table(index=["noise_std", "scale_us"], columns="method",
                             values="mean_latency", aggfunc="mean")  # fmt: skip
    table = table.sort_index(level=[0, 1], ascending=[True, False])
    methods = [m for m in DEFAULT_METHODS if m in table.columns]
    methods += sorted(set(table.columns) - set(methods))
    return table[methods].reset_index()


TARGET_NOTE = (
    "Per noise level and scale (mean over seeds): the policy's mean latency relative to HEFT's "
    "and to the best heuristic's of that cell (negative: the policy is better). `heft_loaded`: "
    "HEFT's latency is at least twice its lightest-load (largest scale) value at that noise. "
    "Targets: at noise >= 0.3 on the loaded cells the policy at least 10% below HEFT; at noise 0 "
    "within 2% of the best heuristic."
)


def target_table(rows: pd.DataFrame) -> pd.DataFrame:
    """The issue's two targets cell by cell (empty without a policy and HEFT)."""
    wide = wide_latency(rows)
    if "policy" not in wide or "heft" not in wide:
        return pd.DataFrame()
    heuristics = [m for m in wide.columns if m in HEURISTICS and m != "random"]
    out = wide[["noise_std", "scale_us"]].copy()
    light = wide.loc[wide.groupby("noise_std")["scale_us"].idxmax(), ["noise_std", "heft"]]
    light = dict(zip(light["noise_std"], light["heft"], strict=True))
    out["heft_loaded"] = wide["heft"] >= 2 * wide["noise_std"].map(light)
    out["best_heuristic"] = wide[heuristics].idxmin(axis=1)
    out["policy_vs_heft_pct"] = 100 * (wide["policy"] / wide["heft"] - 1)
    out["policy_vs_best_pct"] = 100 * (wide["policy"] / wide[heuristics].min(axis=1) - 1)
    return out


def plot_latency(rows: pd.DataFrame, path: Path) -> Path:
    """Mean latency vs injection rate (jobs/ms = 1000 / scale), one panel per noise level."""
    noises = sorted(rows["noise_std"].unique())
    figure = Figure(figsize=(4.2 * len(noises), 3.6))
    FigureCanvasAgg(figure)
    for i, noise in enumerate(noises):
        ax = figure.add_subplot(1, len(noises), i + 1)
        part = rows[rows["noise_std"] == noise]
        for method, group in part.groupby("method", sort=False):
            curve = group.groupby("scale_us")["mean_latency"].mean().sort_index(ascending=False)
            ax.plot(1000.0 / curve.index, curve.values, marker="o", ms=3, label=method)
        ax.set_yscale("log")
        ax.set_xlabel("injection rate (jobs/ms)")
        ax.set_title(f"noise std {noise:g}")
        if i == 0:
            ax.set_ylabel("mean latency (µs)")
    figure.axes[-1].legend(fontsize=7)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    return path


def single(config: SoCBenchConfig) -> CommandOutput:
    platform = Platform(load_soc(config.soc))
    heuristics = [m for m in config.methods if m != "policy"]
    rows = []
    for name in JOB_NAMES:
        if name == "Top":  # the HEFT paper's DAG, for SoC.Top only
            continue
        job = load_job(name)
        mean = platform.execution_times(job)
        optimum = optimal_schedule(platform, job, time_limit_s=config.cpsat_time_limit_s)
        row = {"job": name, "tasks": job.num_tasks, "cpsat": optimum.makespan,
               "cpsat_bound": optimum.lower_bound, "proven": optimum.optimal}  # fmt: skip
        for method in [*heuristics, *(["policy"] if "policy" in config.methods else [])]:
            instance = JobInstance(0, job, 0.0, mean, mean)
            result = SoCSimulator(platform, [instance]).run(_scheduler(config, method, 0))
            row[method] = float(result.latency_us[0])
        rows.append(row)
    table = pd.DataFrame(rows)
    for method in [m for m in config.methods if m in table]:
        table[f"{method} gap %"] = 100 * (table[method] / table["cpsat"] - 1)
    note = (f"Each job alone on the idle {config.soc} without noise; latency (µs) per scheduler "
            f"and its gap to CP-SAT's best schedule ({config.cpsat_time_limit_s:g} s, 2 workers; "
            "`proven`: optimal).")  # fmt: skip
    path = write_table(table, "soc_single", "Single-job latency vs the CP-SAT optimum",
                       config.results_dir, note=note, docs=DOCS, csv=True, floatfmt=".4g")  # fmt: skip
    return CommandOutput([("single-job latency (µs)", table)], {"md": str(path)})


def speed(config: SoCBenchConfig) -> CommandOutput:
    platform = Platform(load_soc(config.soc))
    workload = WorkloadConfig(jobs=config.jobs, scale_us=100.0, num_jobs=2000, noise_std=0.3,
                              seed=0)  # fmt: skip
    jobs = generate_workload(platform, workload)
    tasks = sum(j.job.num_tasks for j in jobs)
    SoCSimulator(platform, jobs[:5]).run(make_heuristic("eft"))  # compile / load the kernel
    rows = []
    for method in [m for m in config.methods if m != "policy"] + ["random"]:
        compiled = hasattr(HEURISTICS[method], "compiled_rule")
        for loop in ("compiled", "python") if compiled else ("python",):
            began = time.perf_counter()
            SoCSimulator(platform, jobs).run(make_heuristic(method), compiled=loop == "compiled")
            elapsed = time.perf_counter() - began
            rows.append({"scheduler": method, "loop": loop, "tasks": tasks, "time_s": elapsed,
                         "tasks_per_s": tasks / elapsed})  # fmt: skip
    table = pd.DataFrame(rows)
    note = ("2,000 WiFi TX/RX jobs at scale 100 µs, noise 0.3, on one core; the simulator's set-up "
            "and the independent checker's time included. `compiled`: the numba loop of the list "
            "heuristics (warm: compiled before timing); `python`: the step-by-step loop the "
            "environment, HEFT and the learned scheduler use.")  # fmt: skip
    path = write_table(table, "soc_speed", "Simulator speed (scheduled tasks per second)",
                       config.results_dir, note=note, docs=DOCS, floatfmt=".4g")  # fmt: skip
    fastest = table.groupby("scheduler", sort=False)["tasks_per_s"].max()
    return CommandOutput([("simulator speed", table)], {"md": str(path),
                         "tasks_per_s": fastest.to_dict()})  # fmt: skip


def bench(config: SoCBenchConfig) -> CommandOutput:
    return {"latency": latency, "single": single, "speed": speed}[config.suite](config)
