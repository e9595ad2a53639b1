"""Where task streams come from: the Alibaba 2018 cluster trace replayed as an IoT stream, and a
seeded generator for training.

**The trace conversion** (``TraceConfig``; the file is CloudSimPy's extract of the batch_task
table, ``../shared/data/cloud/alibaba2018_tasks.csv``): each row is a task of ``instances_num``
identical instances, each running ``duration`` seconds on ``cpu`` of Alibaba's cores.

- Requests: a row becomes ``ceil(instances_num / instances_per_request)`` requests, spread evenly
  over ``[submit, submit + duration)`` (a sensor stream emitting while the task ran in the trace;
  ``spread=False``: all at the submit time, the trace's bursts as they are).
- Length: ``duration x cpu x reference_mips`` MI (the work of one instance on a core of
  ``reference_mips``).
- Memory: ``memory x machine_memory_gb`` (the trace normalises memory to a machine's).
- Data: ``input_mb = length x data_mb_per_mi`` (the trace has no data sizes), output a tenth of it.
  ``data_mb_per_mi`` and the ``seed`` of the SLA draws are arguments of both sources.
- Time: submit times divided by ``time_compression`` (1: the trace's own 16.6 hours).
- SLA classes drawn by their shares (seeded); deadlines as :mod:`~pgsuite.apps.scheduling.iot.tasks`
  defines them. Rows are sorted by submit time (the file is not).

**The generator** (``GeneratorConfig``): Poisson arrivals whose rate is ``peak_rate`` for the
first ``peak_fraction`` of every ``period_s`` and ``offpeak_rate`` for the rest; lengths from
GoCJ's classes (Hussain & Aleem 2018: small 15-55 k, medium 59-99 k, large 101-135 k,
extra-large 150-337.5 k, huge 525-900 k MI, uniform within a class, class shares as options);
memory uniform in ``memory_gb``; data as for the trace.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from pgsuite.apps.scheduling.iot.cluster import Cluster
from pgsuite.apps.scheduling.iot.tasks import (
    DEFAULT_SLA,
    SLAClass,
    TaskSet,
    numeric_rows,
    with_sla_deadlines,
)
from pgsuite.core.errors import ConfigError, DataError

TRACE_FOLDER = Path(__file__).resolve().parents[4] / "shared" / "data" / "cloud"
"""Where ``../shared/data/cloud`` lies for a repository checkout."""
TRACE_FILE = TRACE_FOLDER / "alibaba2018_tasks.csv"
TRACE_COLUMNS = ("submit_time", "duration", "cpu", "memory", "instances_num")

DATA_MB_PER_MI = 0.0005
"""Input data per MI of work (MB; the output is a tenth of it): 15,500 MI, the trace's median
request, uploads 7.75 MB."""
GOCJ_CLASSES_MI = ((15_000, 55_000), (59_000, 99_000), (101_000, 135_000), (150_000, 337_500),
                   (525_000, 900_000))  # fmt: skip
"""GoCJ's job-length classes (MI): small, medium, large, extra-large, huge."""


@dataclass
class TraceConfig:
    """How the Alibaba trace becomes an IoT task stream (see the module docstring)."""

    trace: Path = TRACE_FILE
    """The trace file (CloudSimPy's extract of Alibaba's 2018 batch_task table)."""
    instances_per_request: int = 50
    """Trace instances per IoT request (a row becomes ceil(instances_num / this) requests)."""
    reference_mips: float = 1000.0
    """MIPS of the trace's cores: a request's length is duration x cpu x this (MI)."""
    machine_memory_gb: float = 32.0
    """Memory of the trace's machines (its memory column is a share of it)."""
    time_compression: float = 1.0
    """Divide the trace's times by this (2: the same work in half the time, twice the load)."""
    spread: bool = True
    """Spread a row's requests evenly over its duration (False: all at its submit time)."""

    def __post_init__(self) -> None:
        self.trace = Path(self.trace)
        if self.instances_per_request < 1:
            raise ConfigError("instances_per_request must be >= 1")
        for name in ("reference_mips", "machine_memory_gb", "time_compression"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name)}")


def _check_data(data_mb_per_mi: float) -> None:
    if not data_mb_per_mi >= 0:
        raise ConfigError(f"data_mb_per_mi must be >= 0, got {data_mb_per_mi}")


def _trace_rows(path: Path) -> np.ndarray:
    """``[R, 5]`` the :data:`TRACE_COLUMNS` of every row, validated with line numbers (read-only;
    read once per file version, as a benchmark replays the trace for every cell)."""
    path = Path(path).resolve()
    stat = path.stat() if path.is_file() else None
    return _read_trace_rows(path, stat and (stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=4)
def _read_trace_rows(path: Path, version: tuple[int, int] | None) -> np.ndarray:
    del version  # part of the cache key only
    rows = []
    for line, values, _ in numeric_rows(path, TRACE_COLUMNS, "Alibaba trace",
                                        " (see ../shared/data/README.md)"):  # fmt: skip
        if values[1] == 0 or values[2] == 0 or values[4] < 1:
            raise DataError(f"{path}:{line}: duration and cpu must be > 0 and instances_num "
                            ">= 1")  # fmt: skip
        rows.append(values)
    if not rows:
        raise DataError(f"{path}: no task rows")
    rows = np.asarray(rows)
    rows.setflags(write=False)
    return rows


def trace_tasks(cluster: Cluster, config: TraceConfig, *, sla: tuple[SLAClass, ...] = DEFAULT_SLA,
                data_mb_per_mi: float = DATA_MB_PER_MI, seed: int = 0) -> TaskSet:  # fmt: skip
    """The trace as an IoT task stream for ``cluster`` (see the module docstring); ``seed``
    seeds the SLA class draws."""
    _check_data(data_mb_per_mi)
    rows = _trace_rows(config.trace)
    rows = rows[np.argsort(rows[:, 0], kind="stable")]
    submit, duration, cpu, memory, instances = rows.T
    requests = np.ceil(instances / config.instances_per_request).astype(np.int64)
    length = np.repeat(duration * cpu * config.reference_mips, requests)
    arrival = np.repeat(submit, requests)
    if config.spread:
        first = np.repeat(np.cumsum(requests) - requests, requests)
        place = np.arange(len(arrival)) - first  # 0 .. requests - 1 within each row
        arrival = arrival + place * np.repeat(duration / requests, requests)
        order = np.argsort(arrival, kind="stable")
    else:
        order = np.arange(len(arrival))
    length = length[order]
    arrays = {
        "arrival_s": arrival[order] / config.time_compression,
        "length_mi": length,
        "input_mb": length * data_mb_per_mi,
        "output_mb": length * data_mb_per_mi / 10,
        "memory_gb": np.repeat(memory * config.machine_memory_gb, requests)[order],
    }
    return with_sla_deadlines(cluster, arrays, sla, np.random.default_rng(seed))


@dataclass
class GeneratorConfig:
    """A seeded synthetic stream (see the module docstring)."""

    duration_s: float = 600.0
    """Simulated time of arrivals (s)."""
    peak_rate: float = 4.0
    """Arrivals per second in the peak part of each period."""
    offpeak_rate: float = 1.0
    """Arrivals per second in the rest of each period."""
    period_s: float = 300.0
    """Length of one peak / off-peak cycle (s)."""
    peak_fraction: float = 0.3
    """Share of each period at the peak rate (its start)."""
    class_shares: tuple[float, ...] = (0.4, 0.25, 0.15, 0.15, 0.05)
    """Shares of GoCJ's small, medium, large, extra-large and huge lengths."""
    memory_gb: tuple[float, float] = (0.1, 1.5)
    """Memory of a task, uniform in (LOW, HIGH) GB."""

    def __post_init__(self) -> None:
        if not (self.duration_s > 0 and self.period_s > 0 and 0 <= self.peak_fraction <= 1):
            raise ConfigError("need duration_s > 0, period_s > 0 and 0 <= peak_fraction <= 1")
        if self.peak_rate < 0 or self.offpeak_rate < 0 or self.peak_rate + self.offpeak_rate == 0:
            raise ConfigError("arrival rates must be >= 0 and not both 0")
        if (
            len(self.class_shares) != len(GOCJ_CLASSES_MI)
            or min(self.class_shares) < 0
            or abs(sum(self.class_shares) - 1) > 1e-9
        ):
            raise ConfigError(f"class_shares must be {len(GOCJ_CLASSES_MI)} shares summing to 1")
        low, high = self.memory_gb
        if not 0 <= low <= high:
            raise ConfigError("memory_gb must be (low, high) with 0 <= low <= high")


def arrival_times(config: GeneratorConfig, rng: np.random.Generator) -> np.ndarray:
    """Arrivals of the piecewise-constant-rate Poisson process on ``[0, duration_s)`` (thinning
    of a process at the peak rate)."""
    top = max(config.peak_rate, config.offpeak_rate)
    count = rng.poisson(top * config.duration_s)
    times = np.sort(rng.uniform(0, config.duration_s, count))
    in_peak = (times % config.period_s) < config.peak_fraction * config.period_s
    rate = np.where(in_peak, config.peak_rate, config.offpeak_rate)
    return times[rng.uniform(0, top, count) < rate]


def generated_tasks(cluster: Cluster, config: GeneratorConfig, *,
                    sla: tuple[SLAClass, ...] = DEFAULT_SLA, data_mb_per_mi: float = DATA_MB_PER_MI,
                    seed: int = 0) -> TaskSet:  # fmt: skip
    """A synthetic stream for ``cluster`` (see the module docstring), drawn with ``seed``."""
    _check_data(data_mb_per_mi)
    rng = np.random.default_rng(seed)
    arrival = arrival_times(config, rng)
    if len(arrival) == 0:
        raise DataError("the generator drew no task; raise the rates or the duration")
    classes = rng.choice(len(GOCJ_CLASSES_MI), size=len(arrival), p=config.class_shares)
    bounds = np.asarray(GOCJ_CLASSES_MI, dtype=float)[classes]
    length = rng.uniform(bounds[:, 0], bounds[:, 1])
    arrays = {
        "arrival_s": arrival,
        "length_mi": length,
        "input_mb": length * data_mb_per_mi,
        "output_mb": length * data_mb_per_mi / 10,
        "memory_gb": rng.uniform(*config.memory_gb, size=len(arrival)),
    }
    return with_sla_deadlines(cluster, arrays, sla, rng)


def at_load(cluster: Cluster, config: GeneratorConfig, load: float) -> GeneratorConfig:
    """``config`` with its rates scaled so that the mean offered work is ``load`` x the cluster's
    capacity (MI/s over every core), keeping the peak / off-peak ratio (``load`` 0.5 with the
    default 4 : 1 rates puts the peaks at 1.05 x capacity)."""
    if not load > 0:
        raise ConfigError(f"load must be > 0, got {load}")
    mean_mi = float(np.dot(config.class_shares, np.mean(GOCJ_CLASSES_MI, axis=1)))
    shape = (
        config.peak_fraction * config.peak_rate + (1 - config.peak_fraction) * config.offpeak_rate
    )
    capacity = float((cluster.column("mips") * cluster.column("cores")).sum())
    scale = load * capacity / mean_mi / shape
    return replace(config, peak_rate=config.peak_rate * scale,
                   offpeak_rate=config.offpeak_rate * scale)  # fmt: skip
