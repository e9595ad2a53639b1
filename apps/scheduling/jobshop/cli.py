"""``pgsuite jobshop train|solve|gantt|bench``: the job-shop app's commands and its demo part."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pgsuite.apps.scheduling.common.gantt import plot_gantt
from pgsuite.apps.scheduling.jobshop.bench import JobShopBenchConfig, bench
from pgsuite.apps.scheduling.jobshop.blocking_bench import (
    BLOCKING_METHODS,
    SHIPPED_BLOCKING_POLICY,
    BlockingBenchOptions,
    blocking_cell,
)
from pgsuite.apps.scheduling.jobshop.blocking_train import (
    BlockingTrainConfig,
    load_blocking_policy,
    train_blocking,
)
from pgsuite.apps.scheduling.jobshop.breakdowns import real_downtimes
from pgsuite.apps.scheduling.jobshop.instances import (
    InstanceFormat,
    JobShopInstance,
    load_benchmark,
    read_instance,
)
from pgsuite.apps.scheduling.jobshop.solver import Solution, Solver, SolverOptions
from pgsuite.apps.scheduling.jobshop.train import JobShopTrainConfig, train
from pgsuite.core.cli import App, Command, CommandOutput
from pgsuite.core.demo import DemoConfig
from pgsuite.core.errors import ConfigError
from pgsuite.core.runs import save_results
from pgsuite.core.sweep import sweep_command


def train_command(config: JobShopTrainConfig) -> CommandOutput:
    """Train the dispatching policy with PPO; report the best dev gap to MWKR."""
    summary = train(config)
    if config.trainer.out is not None:
        save_results(config.trainer.out, summary)
    return CommandOutput([("PPO dispatching policy", pd.DataFrame([summary]))], summary)


def train_blocking_command(config: BlockingTrainConfig) -> CommandOutput:
    """Train the blocking dispatcher with PPO; report the best dev gap to the best rule."""
    summary = train_blocking(config)
    if config.trainer.out is not None:
        save_results(config.trainer.out, summary)
    return CommandOutput([("PPO blocking dispatcher", pd.DataFrame([summary]))], summary)


@dataclass
class InstanceConfig:
    """Which instance to schedule."""

    instance: str | None = None
    """A classic instance by name (ft06, la01, ta01, ...; 162 known)."""
    instance_file: Path | None = None
    """Or an instance file."""
    format: InstanceFormat = "standard"
    """Format of --instance-file: standard (n m, then machine/duration pairs per job) or taillard
    (n m, duration matrix, 1-based machine matrix)."""

    def load(self) -> JobShopInstance:
        if (self.instance is None) == (self.instance_file is None):
            raise ConfigError("give exactly one of --instance NAME or --instance-file PATH")
        if self.instance is not None:
            return load_benchmark(self.instance)
        return read_instance(self.instance_file, self.format)


@dataclass
class SolveConfig:
    """Schedule one instance with a method; the schedule is verified before it is reported."""

    where: InstanceConfig = field(default_factory=InstanceConfig)
    method: str = "greedy"
    """greedy | sample:N[@TEMPERATURE] | bisample:N[@TEMPERATURE] (half of the N on the
    time-reversed instance) | spt | lpt | mwkr | mor | fdd/mwkr | fifo | random | cpsat:SECONDS |
    cpsat+policy:SECONDS."""
    options: SolverOptions = field(default_factory=SolverOptions)
    schedule_out: Path | None = None
    """Write the schedule (start/end per operation) as CSV here."""


def _solve(config: SolveConfig) -> tuple[JobShopInstance, Solution]:
    instance = config.where.load()
    return instance, config.options.solver().solve(instance, config.method)


def _summary(instance: JobShopInstance, solution: Solution) -> dict:
    return {
        "instance": instance.name,
        "size": instance.size,
        "method": solution.method,
        "makespan": solution.makespan,
        "best_known": instance.best_known,
        "gap_pct": solution.gap_pct,
        "time_s": solution.time_s,
    }


def schedule_table(instance: JobShopInstance, solution: Solution) -> pd.DataFrame:
    """One row per operation: job, position in the job, machine, start, end."""
    n, m = instance.num_jobs, instance.num_machines
    return pd.DataFrame(
        {
            "job": [j for j in range(n) for _ in range(m)],
            "operation": list(range(m)) * n,
            "machine": instance.machines.reshape(-1),
            "start": solution.start.reshape(-1),
            "end": solution.end.reshape(-1),
        }
    )


def solve_command(config: SolveConfig) -> CommandOutput:
    instance, solution = _solve(config)
    if config.schedule_out is not None:
        config.schedule_out.parent.mkdir(parents=True, exist_ok=True)
        schedule_table(instance, solution).to_csv(config.schedule_out, index=False)
    summary = _summary(instance, solution)
    return CommandOutput([("verified schedule", pd.DataFrame([summary]))], summary)


@dataclass
class GanttConfig(SolveConfig):
    """Solve one instance and save a Gantt chart of the schedule (PNG, SVG or PDF)."""

    out: Path = Path("gantt.png")
    """Output image; the suffix picks the format."""


def gantt_command(config: GanttConfig) -> CommandOutput:
    instance = config.where.load()
    solver = config.options.solver()
    solution = solver.solve(instance, config.method)
    downtimes = solver.downtimes(instance)
    n, m = instance.num_jobs, instance.num_machines
    title = f"{instance.name} ({instance.size}), {solution.method}: makespan {solution.makespan}"
    path = plot_gantt(
        solution.start.reshape(-1),
        solution.end.reshape(-1),
        instance.machines.reshape(-1),
        (pd.RangeIndex(n * m) // m).to_numpy(),
        config.out,
        title,
        blocked=None if downtimes is None else real_downtimes(downtimes),
    )
    summary = {**_summary(instance, solution), "gantt": str(path)}
    return CommandOutput([("verified schedule", pd.DataFrame([summary]))], summary)


def demo(demo_config: DemoConfig) -> list[tuple[str, pd.DataFrame]]:
    """The shipped policy (greedy, best of 32 samples, best of 32 bidirectional samples) against
    rules and a short CP-SAT run on the first Taillard instance of three size classes."""
    quick = demo_config.quick
    names = ["ta01"] if quick else ["ta01", "ta21", "ta41"]
    samples = 8 if quick else 32
    methods = ["greedy", f"sample:{samples}", f"bisample:{samples}", "mwkr", "spt"]
    methods.append("cpsat:1" if quick else "cpsat:5")
    solver = Solver(seed=demo_config.seed)
    rows = []
    for name in names:
        instance = load_benchmark(name)
        for method in methods:
            rows.append(_summary(instance, solver.solve(instance, method)))
    table = pd.DataFrame(rows).pivot(index="method", columns="instance", values="gap_pct")
    table = table.loc[methods].round(2).add_suffix(" gap %").reset_index()
    return [("jobshop: shipped PPO policy vs rules and CP-SAT (gap % to best known)", table),
            blocking_demo(quick, demo_config.seed)]  # fmt: skip


def blocking_demo(quick: bool, seed: int) -> tuple[str, pd.DataFrame]:
    """The shipped blocking dispatcher against the rules (and CP-SAT without shutdowns) on
    Lawrence instances under blocking with swaps, without and with shutdowns."""
    options = BlockingBenchOptions(cpsat_time_s=2.0)
    agent = load_blocking_policy(SHIPPED_BLOCKING_POLICY)
    names = ["la01"] if quick else ["la01", "la06", "la11"]
    rows = [{"instance": f"{name} p={p:g}", "method": method,
             "makespan": blocking_cell(options, method, (name, p), seed, agent)["makespan"]}
            for name in names for p in (0.0, 0.01) for method in BLOCKING_METHODS]  # fmt: skip
    table = pd.DataFrame(rows).pivot(index="method", columns="instance", values="makespan")
    table = table.loc[list(BLOCKING_METHODS)].reset_index()
    return ("jobshop, blocking with swaps: makespan without and with shutdowns (p per time unit; "
            "CP-SAT 2 s without shutdowns)", table)  # fmt: skip


APP = App(
    "jobshop",
    "job-shop scheduling: PPO dispatching vs priority rules and CP-SAT",
    commands=[
        Command(
            "train",
            "train the dispatching policy with PPO on random instances",
            JobShopTrainConfig,
            train_command,
            json_output=True,
        ),
        sweep_command(JobShopTrainConfig, train_command),
        Command(
            "train-blocking",
            "train the blocking job shop's dispatcher (swaps, interruptions) with PPO",
            BlockingTrainConfig,
            train_blocking_command,
            json_output=True,
        ),
        Command("solve", "schedule one instance", SolveConfig, solve_command, json_output=True),
        Command(
            "gantt", "schedule one instance and draw its Gantt chart", GanttConfig, gantt_command
        ),
        Command(
            "bench",
            "regenerate a benchmark table (benchmarks/results/jobshop_*)",
            JobShopBenchConfig,
            bench,
            json_output=True,
        ),
    ],
    demo=demo,
)
