"""Workloads: streams of DAG jobs arriving at a SoC, with their realised execution times.

Jobs arrive as a Poisson process (exponential inter-arrival times of mean ``scale_us``); each is a
copy of a job drawn from the mix (``NAME:PROBABILITY``: the DS3 job names or job files). The
workload ends after ``num_jobs`` jobs or at ``duration_us``, whichever comes first. Execution
times are noisy as in DeepSoCS and SoCRATES: each task's realised time on a cluster is
``max(round(N(t, noise_std * t)), 1)`` for its mean ``t`` there (exactly ``t`` without noise),
drawn once per job instance and cluster before anything is scheduled, so every scheduler run on
the same seed meets the same arrivals and the same realised times.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pgsuite.apps.scheduling.common.dag import TaskGraph
from pgsuite.apps.scheduling.soc.ds3 import load_job
from pgsuite.apps.scheduling.soc.platform import Platform
from pgsuite.core.errors import ConfigError
from pgsuite.core.seeding import derive_seed


@dataclass(frozen=True)
class JobInstance:
    """One arrived job.

    Attributes:
        index: position in the workload (0, 1, ...).
        job: its task graph.
        arrival_us: arrival time.
        mean_time: ``[T, P]`` mean execution times (``inf``: the PE does not run the task), what
            schedulers may know before a task runs.
        realised_time: ``[T, P]`` the times the tasks take when they run there.
    """

    index: int
    job: TaskGraph
    arrival_us: float
    mean_time: np.ndarray
    realised_time: np.ndarray


@dataclass(frozen=True)
class WorkloadConfig:
    """Arrivals, job mix and noise of a workload."""

    jobs: tuple[str, ...] = ("WIFI_5TXM:0.8", "WIFI_5RXM:0.2")
    """Job mix NAME:PROBABILITY (DS3 job names or job files; probabilities are normalised)."""
    scale_us: float = 100.0
    """Mean inter-arrival time of jobs in µs (DS3's scale; smaller is more load)."""
    num_jobs: int | None = 100
    """Jobs to inject (None: until duration_us)."""
    duration_us: float | None = None
    """Inject jobs arriving before this time only (None: num_jobs decides)."""
    noise_std: float = 0.0
    """Execution-time noise: relative standard deviation of each realised time."""
    warmup_jobs: int = 0
    """Jobs at the start excluded from the statistics."""
    seed: int = 0
    """Seed of the arrivals, the job draws and the noise."""

    def __post_init__(self) -> None:
        if not self.jobs:
            raise ConfigError("give at least one job, e.g. --jobs WIFI_5TXM:0.8 WIFI_5RXM:0.2")
        if not (np.isfinite(self.scale_us) and self.scale_us > 0):
            raise ConfigError(f"scale_us must be > 0, got {self.scale_us}")
        if self.num_jobs is None and self.duration_us is None:
            raise ConfigError("give num_jobs or duration_us (or both)")
        if self.num_jobs is not None and self.num_jobs < 1:
            raise ConfigError(f"num_jobs must be >= 1, got {self.num_jobs}")
        if self.duration_us is not None and not self.duration_us > 0:
            raise ConfigError(f"duration_us must be > 0, got {self.duration_us}")
        if not (np.isfinite(self.noise_std) and self.noise_std >= 0):
            raise ConfigError(f"noise_std must be >= 0, got {self.noise_std}")
        if self.warmup_jobs < 0 or self.seed < 0:
            raise ConfigError("warmup_jobs and seed must be >= 0")

    def mix(self) -> tuple[list[str], np.ndarray]:
        """(job names or files, probabilities summing to 1)."""
        names, weights = [], []
        for entry in self.jobs:
            name, _, weight = entry.rpartition(":")
            if not name:
                name, weight = entry, "1"
            try:
                value = float(weight)
            except ValueError:
                raise ConfigError(f"job mix entries are NAME:PROBABILITY, got {entry!r}") from None
            if not (np.isfinite(value) and value >= 0):
                raise ConfigError(f"job probability must be >= 0, got {entry!r}")
            names.append(name)
            weights.append(value)
        total = sum(weights)
        if total <= 0:
            raise ConfigError("the job probabilities sum to 0")
        return names, np.asarray(weights) / total


def realised_times(mean_time: np.ndarray, cluster: np.ndarray, noise_std: float, rng) -> np.ndarray:
    """``[T, P]`` realised times: ``max(round(N(t, noise_std t)), 1)`` drawn once per task and
    cluster (the cores of a cluster are identical); ``mean_time`` itself without noise."""
    if noise_std == 0:
        return mean_time.copy()
    clusters, first_pe = np.unique(cluster, return_index=True)
    means = mean_time[:, first_pe]  # [T, C]
    finite = np.isfinite(means)
    draws = rng.normal(np.where(finite, means, 0.0), noise_std * np.where(finite, means, 0.0))
    per_cluster = np.where(finite, np.maximum(np.round(draws), 1.0), np.inf)
    column = np.searchsorted(clusters, cluster)
    return per_cluster[:, column]


def generate_workload(platform: Platform, config: WorkloadConfig) -> list[JobInstance]:
    """The jobs of ``config`` on ``platform``, in arrival order."""
    names, probabilities = config.mix()
    jobs = [load_job(name) for name in names]
    tables = [platform.execution_times(job) for job in jobs]
    arrivals_rng = np.random.default_rng(derive_seed(config.seed, "soc-arrivals"))
    noise_rng = np.random.default_rng(derive_seed(config.seed, "soc-noise"))
    instances: list[JobInstance] = []
    time = 0.0
    while config.num_jobs is None or len(instances) < config.num_jobs:
        time += float(arrivals_rng.exponential(config.scale_us))
        if config.duration_us is not None and time >= config.duration_us:
            break
        kind = int(arrivals_rng.choice(len(jobs), p=probabilities))
        realised = realised_times(tables[kind], platform.cluster, config.noise_std, noise_rng)
        instances.append(JobInstance(len(instances), jobs[kind], time, tables[kind], realised))
    if not instances:
        raise ConfigError(
            f"no job arrives before duration_us={config.duration_us} at scale_us={config.scale_us}"
        )
    return instances
