"""``pgsuite iot simulate|train|eval|bench`` and the app's part of ``pgsuite demo``."""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pgsuite.apps.scheduling.iot.bench import BATCH_METHODS, IoTBenchConfig, bench, stream_cell
from pgsuite.apps.scheduling.iot.cluster import load_cluster
from pgsuite.apps.scheduling.iot.metrics import run_metrics
from pgsuite.apps.scheduling.iot.simulator import IoTSimulator
from pgsuite.apps.scheduling.iot.tasks import DEFAULT_SLA, parse_sla, read_task_csv
from pgsuite.apps.scheduling.iot.train import IoTTrainConfig, make_scheduler, train
from pgsuite.apps.scheduling.iot.workloads import (
    DATA_MB_PER_MI,
    GeneratorConfig,
    TraceConfig,
    generated_tasks,
    trace_tasks,
)
from pgsuite.core.cli import App, Command, CommandOutput
from pgsuite.core.demo import DemoConfig
from pgsuite.core.errors import ConfigError
from pgsuite.core.runs import save_results


@dataclass
class StreamOptions:
    """The cluster and the task stream."""

    cluster: str = "small"
    """small | large | a cluster file (JSON / YAML)."""
    source: str = "trace"
    """trace (the Alibaba 2018 trace), generator (seeded synthetic) or tasks (--tasks FILE)."""
    trace_options: TraceConfig = field(default_factory=TraceConfig)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    tasks: Path | None = None
    """A task CSV file (--source tasks)."""
    window: tuple[float, float] | None = None
    """Keep the tasks arriving in [BEGIN, END) s (after time compression), shifted to 0."""
    sla: tuple[str, ...] = tuple(f"{c.name}:{c.share:g}:{c.slack:g}" for c in DEFAULT_SLA)
    """SLA classes NAME:SHARE:SLACK (deadline = arrival + SLACK x best-case response)."""
    data_mb_per_mi: float = DATA_MB_PER_MI
    """Input MB per MI of work (output: a tenth); the trace has no data sizes."""
    seed: int = 0
    """Seed of the SLA draws and of the generator (the same stream for every scheduler)."""

    def build(self):
        cluster = load_cluster(self.cluster)
        sla = parse_sla(self.sla)
        if self.source == "trace":
            tasks = trace_tasks(cluster, self.trace_options, sla=sla, data_mb_per_mi=self.data_mb_per_mi,
                                seed=self.seed)  # fmt: skip
        elif self.source == "generator":
            tasks = generated_tasks(cluster, self.generator, sla=sla,
                                    data_mb_per_mi=self.data_mb_per_mi, seed=self.seed)  # fmt: skip
        elif self.source == "tasks":
            if self.tasks is None:
                raise ConfigError("--source tasks needs --tasks FILE")
            tasks = read_task_csv(self.tasks)
        else:
            raise ConfigError(f"source must be trace, generator or tasks, got {self.source!r}")
        if self.window is not None:
            tasks = tasks.window(*self.window)
        return cluster, tasks


@dataclass
class SimulateConfig:
    """Run one scheduler on one task stream; the run is checked before it is reported."""

    stream: StreamOptions = field(default_factory=StreamOptions)
    scheduler: str = "mct"
    """round-robin | least-loaded | olb | met | mct | min-min | max-min | sufferage | aco | ga |
    rl | hybrid (the colony started from the policy's assignment) | hybrid-heuristic (the
    policy's probabilities weighed into every ant's choice)."""
    policy: Path | None = None
    """Run folder of a trained policy (--scheduler rl or hybrid; default: the shipped one)."""
    batch_s: float = 0.0
    """Assign the tasks of each window of this many seconds together (0: each on arrival)."""


def _simulate(config: SimulateConfig) -> dict:
    scheduler = make_scheduler(config.scheduler, config.stream.seed, config.policy)
    cluster, tasks = config.stream.build()
    began = time.perf_counter()
    result = IoTSimulator(cluster, tasks, config.batch_s).run(scheduler)
    elapsed = time.perf_counter() - began
    return {"scheduler": config.scheduler, "cluster": cluster.name,
            **run_metrics(cluster, tasks, result).as_dict(),
            "decisions_per_s": len(tasks) / elapsed}  # fmt: skip


def simulate_command(config: SimulateConfig) -> CommandOutput:
    """Response times in s, energy in kWh, SLA compliance as a share."""
    summary = _simulate(config)
    return CommandOutput([("checked IoT run", pd.DataFrame([summary]))], summary)


@dataclass
class EvalConfig:
    """Schedulers (a trained policy and the hybrid on it among them) on the same streams: one
    row per scheduler, the mean over ``seeds`` streams."""

    stream: StreamOptions = field(default_factory=lambda: StreamOptions(window=(0.0, 900.0)))
    """Default: the trace's first 900 s (the bench's held-out window)."""
    policy: Path | None = None
    """Run folder of the policy of rl and hybrid (default: the shipped one)."""
    schedulers: tuple[str, ...] = ("hybrid", "rl", "aco", "mct", "min-min", "sufferage", "olb")
    batch_s: float = 2.0
    """Batch window of the batch rules, aco, ga and hybrid (s); the others assign on arrival."""
    seeds: int = 3
    """Streams (seeds seed .. seed + seeds - 1: SLA draws, generator, random choices)."""

    def __post_init__(self) -> None:
        if self.seeds < 1:
            raise ConfigError(f"seeds must be >= 1, got {self.seeds}")
        if not self.batch_s > 0:
            raise ConfigError(f"batch_s must be > 0, got {self.batch_s}")


def eval_command(config: EvalConfig) -> CommandOutput:
    """Mean response and p95 in s, energy in kWh, SLA compliance as a share; every run checked."""
    rows = []
    for name in config.schedulers:
        batch_s = config.batch_s if name in BATCH_METHODS else 0.0
        for offset in range(config.seeds):
            stream = dataclasses.replace(config.stream, seed=config.stream.seed + offset)
            rows.append(_simulate(SimulateConfig(stream, name, config.policy, batch_s)))
    table = pd.DataFrame(rows).groupby(["scheduler", "cluster"], sort=False)
    table = table.mean(numeric_only=True).reset_index()
    summary = {"rows": table.to_dict(orient="records"), "seeds": config.seeds}
    title = (f"IoT schedulers, {config.stream.cluster} cluster, {config.stream.source} stream, "
             f"mean over {config.seeds} seeds")  # fmt: skip
    return CommandOutput([(title, table.round(3))], summary)


def train_command(config: IoTTrainConfig) -> CommandOutput:
    """Train the node-scoring policy with PPO on generated streams."""
    summary = train(config)
    if config.trainer.out is not None:
        save_results(config.trainer.out, summary)
    return CommandOutput([("IoT policy training", pd.DataFrame([summary]))], summary)


def demo(demo_config: DemoConfig) -> list[tuple[str, pd.DataFrame]]:
    """The hybrid (shipped policy + colony) against RL alone and the best rules on the first
    minutes of the trace, small cluster (skipped, with the reason, where the trace is absent)."""
    options = TraceConfig()
    if not options.trace.is_file():
        return [("iot: skipped", pd.DataFrame({"reason": [f"{options.trace} is absent (see "
                                                          "../shared/data/README.md)"]}))]  # fmt: skip
    minutes = 1 if demo_config.quick else 5
    config = IoTBenchConfig(trace_window=(0.0, 60.0 * minutes), loads=())
    rows = [{"scheduler": method, **stream_cell(config, method, "small/trace", demo_config.seed)}
            for method in ("hybrid", "rl", "mct", "min-min", "olb")]  # fmt: skip
    table = pd.DataFrame(rows)[["scheduler", "tasks", "batch_s", "mean_response_s",
                                "p95_response_s", "utilisation", "energy_kwh", "sla_compliance",
                                "decisions_per_s"]]  # fmt: skip
    title = (f"iot: the hybrid vs RL alone and the rules (Alibaba trace, first {minutes} min, small "
             "cluster; response s, energy kWh)")  # fmt: skip
    return [(title, table.round(3))]


APP = App(
    "iot",
    "IoT tasks on edge and cloud nodes: heuristics, ACO, GA, a PPO policy and their hybrid",
    commands=[
        Command(
            "simulate",
            "run one scheduler on one task stream",
            SimulateConfig,
            simulate_command,
            json_output=True,
        ),
        Command(
            "train",
            "train the node-scoring policy with PPO",
            IoTTrainConfig,
            train_command,
            json_output=True,
        ),
        Command(
            "eval",
            "schedulers (the policy among them) on the same streams, one row each",
            EvalConfig,
            eval_command,
            json_output=True,
        ),
        Command(
            "bench",
            "every scheduler on the same streams (benchmarks/results/iot_*)",
            IoTBenchConfig,
            bench,
            json_output=True,
        ),
    ],
    demo=demo,
)
