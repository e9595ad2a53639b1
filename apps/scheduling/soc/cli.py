"""``pgsuite soc simulate|train|eval|bench|gantt``: the SoC app's commands and its demo part."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pgsuite.apps.scheduling.common.gantt import plot_gantt
from pgsuite.apps.scheduling.soc.bench import SoCBenchConfig, bench
from pgsuite.apps.scheduling.soc.ds3 import ds3_folder, load_soc
from pgsuite.apps.scheduling.soc.inference import SCHEDULER_NAMES, make_scheduler
from pgsuite.apps.scheduling.soc.metrics import run_metrics
from pgsuite.apps.scheduling.soc.platform import Platform
from pgsuite.apps.scheduling.soc.simulator import RunResult, SoCSimulator
from pgsuite.apps.scheduling.soc.train import SoCTrainConfig, train
from pgsuite.apps.scheduling.soc.workload import WorkloadConfig, generate_workload
from pgsuite.core.cli import App, Command, CommandOutput
from pgsuite.core.demo import DemoConfig
from pgsuite.core.errors import ConfigError, DataError
from pgsuite.core.runs import save_results


def split_mix(entries: tuple[str, ...]) -> tuple[str, ...]:
    """``("A:0.8,B:0.2",)`` or ``("A:0.8", "B:0.2")`` -> ``("A:0.8", "B:0.2")``."""
    return tuple(part.strip() for entry in entries for part in entry.split(",") if part.strip())


@dataclass
class WorkloadOptions:
    """The SoC and the jobs that arrive on it."""

    soc: str = "MULTIPLE_BAL"
    """A DS3 SoC by name (MULTIPLE_BAL: 16 PEs, BAL_only, MULTIPLE_BAL_NoC, Top) or a SoC file."""
    jobs: tuple[str, ...] = ("WIFI_5TXM:0.8", "WIFI_5RXM:0.2")
    """Job mix NAME:P (comma or space separated): WIFI_5TXM, WIFI_5RXM, SCT, SCR, LAG,
    TEMP_MIT, Top or job files."""
    scale: float = 100.0
    """Mean inter-arrival time of jobs (µs)."""
    noise: float = 0.0
    """Execution-time noise: realised time max(round(N(t, noise t)), 1)."""
    num_jobs: int = 200
    """Jobs to inject."""
    warmup_jobs: int = 20
    """First jobs left out of the statistics."""
    switching_delay: float = 0.0
    """µs added to every transfer between different PEs."""
    seed: int = 0
    """Seed of the arrivals and the noise (the same for every scheduler)."""

    def build(self) -> tuple[Platform, list]:
        platform = Platform(load_soc(self.soc), self.switching_delay)
        config = WorkloadConfig(
            jobs=split_mix(self.jobs), scale_us=self.scale, num_jobs=self.num_jobs,
            noise_std=self.noise, warmup_jobs=self.warmup_jobs, seed=self.seed,
        )  # fmt: skip
        if self.warmup_jobs >= self.num_jobs:
            raise ConfigError(f"--warmup-jobs {self.warmup_jobs} leaves no job of {self.num_jobs}")
        return platform, generate_workload(platform, config)


@dataclass
class SimulateConfig:
    """Run one scheduler on one workload; every schedule is checked before it is reported."""

    workload: WorkloadOptions = field(default_factory=WorkloadOptions)
    scheduler: str = "heft"
    """met | etf | eft | stf | heft | heft-rt | random | policy."""
    policy: Path | None = None
    """Run folder of a trained policy (--scheduler policy; default: the shipped one)."""


def _simulate(config: SimulateConfig) -> tuple[Platform, list, RunResult, dict]:
    if config.scheduler not in SCHEDULER_NAMES:
        raise ConfigError(
            f"unknown scheduler {config.scheduler!r}; choose from {', '.join(SCHEDULER_NAMES)}"
        )
    platform, jobs = config.workload.build()
    scheduler = make_scheduler(config.scheduler, config.policy, config.workload.seed)
    result = SoCSimulator(platform, jobs).run(scheduler)
    metrics = run_metrics(platform, jobs, result, config.workload.warmup_jobs)
    summary = {
        "scheduler": config.scheduler,
        "soc": config.workload.soc,
        "scale_us": config.workload.scale,
        "noise_std": config.workload.noise,
        "mean_latency": metrics.mean_latency_us,
        "p95_latency": metrics.p95_latency_us,
        "throughput": metrics.throughput_jobs_per_ms,
        "utilisation": metrics.utilisation,
        "energy_per_job": metrics.energy_per_job_uj,
        "jobs": metrics.jobs,
    }
    return platform, jobs, result, summary


def simulate_command(config: SimulateConfig) -> CommandOutput:
    """Latencies in µs, throughput in jobs/ms, energy in µJ per job."""
    *_, summary = _simulate(config)
    return CommandOutput([("checked SoC run", pd.DataFrame([summary]))], summary)


@dataclass
class EvalConfig:
    """Every scheduler (the policy included) on the same workloads: one row per scheduler."""

    workload: WorkloadOptions = field(default_factory=WorkloadOptions)
    policy: Path | None = None
    """Run folder of a trained policy (default: the shipped one)."""
    schedulers: tuple[str, ...] = ("policy", "heft", "heft-rt", "etf", "eft", "stf", "met")
    seeds: int = 3
    """Workloads (seeds seed .. seed + seeds - 1) averaged per row."""


def eval_command(config: EvalConfig) -> CommandOutput:
    rows = []
    for name in config.schedulers:
        for offset in range(config.seeds):
            options = dataclasses.replace(config.workload, seed=config.workload.seed + offset)
            *_, summary = _simulate(SimulateConfig(options, name, config.policy))
            rows.append(summary)
    table = pd.DataFrame(rows).groupby("scheduler", sort=False).mean(numeric_only=True)
    table = table.drop(columns=["scale_us", "noise_std", "jobs"]).reset_index()
    summary = {"rows": table.to_dict(orient="records"), "seeds": config.seeds}
    title = f"SoC schedulers, scale {config.workload.scale:g} µs, noise {config.workload.noise:g}"
    return CommandOutput([(title, table.round(3))], summary)


def train_command(config: SoCTrainConfig) -> CommandOutput:
    """Train the graph policy; report the best dev gap to EFT."""
    summary = train(config)
    if config.trainer.out is not None:
        save_results(config.trainer.out, summary)
    return CommandOutput([("SoC scheduling policy", pd.DataFrame([summary]))], summary)


@dataclass
class GanttConfig(SimulateConfig):
    """Run one scheduler and draw a PE-by-time chart of a window of the run."""

    out: Path = Path("soc_gantt.png")
    """Output image; the suffix picks the format."""
    start: float | None = None
    """Window start (µs; default: the arrival of the first measured job)."""
    length: float = 2000.0
    """Window length (µs)."""


def gantt_command(config: GanttConfig) -> CommandOutput:
    platform, jobs, result, summary = _simulate(config)
    log = result.log
    begin = config.start
    if begin is None:
        begin = jobs[min(config.workload.warmup_jobs, len(jobs) - 1)].arrival_us
    end = begin + config.length
    shown = (log.end > begin) & (log.start < end)
    if not shown.any():
        raise ConfigError(f"no task runs between {begin:g} and {end:g} µs")
    title = (f"{config.scheduler} on {config.workload.soc}, scale {config.workload.scale:g} µs, "
             f"noise {config.workload.noise:g}: mean latency {summary['mean_latency']:.1f} µs")  # fmt: skip
    path = plot_gantt(
        log.start[shown], log.end[shown], log.pe[shown], log.job[shown], config.out, title,
        resource_label="PE", resource_names=platform.names, window=(begin, end),
    )  # fmt: skip
    return CommandOutput([("checked SoC run", pd.DataFrame([summary]))], {**summary,
                         "gantt": str(path)})  # fmt: skip


def demo(demo_config: DemoConfig) -> list[tuple[str, pd.DataFrame]]:
    """The shipped policy against HEFT, HEFT-RT and ETF on one noisy, loaded workload (skipped,
    with the reason, where the DS3 configuration files are absent)."""
    try:
        ds3_folder()
    except DataError as error:
        return [("soc: skipped", pd.DataFrame({"reason": [str(error)]}))]
    jobs = 100 if demo_config.quick else 300
    options = WorkloadOptions(scale=60.0, noise=0.3, num_jobs=jobs, seed=demo_config.seed)
    rows = []
    for name in ("policy", "heft", "heft-rt", "etf"):
        *_, summary = _simulate(SimulateConfig(options, name))
        rows.append(summary)
    table = pd.DataFrame(rows)[["scheduler", "mean_latency", "p95_latency", "utilisation",
                                "energy_per_job"]]  # fmt: skip
    title = (f"soc: shipped policy vs HEFT and the list heuristics (16-PE SoC, WiFi TX/RX, "
             f"{jobs} jobs, scale 60 µs, noise 0.3; latency µs, energy µJ)")  # fmt: skip
    return [(title, table.round(2))]


APP = App(
    "soc",
    "SoC scheduling: a graph policy (DeepSoCS-style) vs HEFT and the list heuristics",
    commands=[
        Command(
            "simulate",
            "run one scheduler on one workload",
            SimulateConfig,
            simulate_command,
            json_output=True,
        ),
        Command(
            "train",
            "train the graph policy by policy gradient",
            SoCTrainConfig,
            train_command,
            json_output=True,
        ),
        Command(
            "eval",
            "compare every scheduler on the same workloads",
            EvalConfig,
            eval_command,
            json_output=True,
        ),
        Command(
            "bench",
            "regenerate a benchmark table (benchmarks/results/soc_*)",
            SoCBenchConfig,
            bench,
            json_output=True,
        ),
        Command(
            "gantt", "run one scheduler and draw its PE-by-time chart", GanttConfig, gantt_command
        ),
    ],
    demo=demo,
)
