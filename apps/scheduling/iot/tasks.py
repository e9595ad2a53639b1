"""IoT data-processing tasks: the arrays every scheduler and the simulator read, SLA classes and
their deadlines, and a plain CSV form of a task stream with line-numbered validation.

A task arrives at the IoT gateway at ``arrival_s``, uploads ``input_mb`` to the node it is given,
runs ``length_mi`` million instructions on one core, needs ``memory_gb`` while it runs, sends
``output_mb`` back, and should be back by ``deadline_s`` (absolute). Its SLA class says how much
slack its deadline has: ``slack`` x its best-case response time on the cluster (the fastest node
that can hold it, idle, transfers included).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pgsuite.apps.scheduling.iot.cluster import Cluster
from pgsuite.core.errors import ConfigError, DataError

COLUMNS = ("arrival_s", "length_mi", "input_mb", "output_mb", "memory_gb", "deadline_s")
"""The columns of a task CSV file (``sla`` optional, a class name)."""


@dataclass(frozen=True)
class SLAClass:
    """A deadline class: ``share`` of the tasks, ``slack`` x the best-case response time."""

    name: str
    share: float
    slack: float


DEFAULT_SLA = (SLAClass("strict", 0.2, 2.0), SLAClass("standard", 0.5, 5.0),
               SLAClass("relaxed", 0.3, 20.0))  # fmt: skip
"""Three classes: a fifth of the tasks must be back within twice their best-case time."""


def parse_sla(specs: tuple[str, ...]) -> tuple[SLAClass, ...]:
    """SLA classes from ``NAME:SHARE:SLACK`` strings (shares must sum to 1).

    Raises:
        ConfigError: a malformed spec, a slack below 1, shares that do not sum to 1.
    """
    classes = []
    for spec in specs:
        parts = spec.split(":")
        try:
            name, share, slack = parts[0], float(parts[1]), float(parts[2])
        except (IndexError, ValueError):
            raise ConfigError(f"SLA class {spec!r} must be NAME:SHARE:SLACK") from None
        if len(parts) != 3 or not 0 < share <= 1 or not slack >= 1:
            raise ConfigError(f"SLA class {spec!r}: need 0 < share <= 1 and slack >= 1")
        classes.append(SLAClass(name, share, slack))
    if not classes or abs(sum(c.share for c in classes) - 1) > 1e-9:
        raise ConfigError("SLA class shares must sum to 1")
    return tuple(classes)


@dataclass(frozen=True)
class TaskSet:
    """``N`` tasks in arrival order (arrays ``[N]``; seconds, MI, MB, GB)."""

    arrival_s: np.ndarray
    length_mi: np.ndarray
    input_mb: np.ndarray
    output_mb: np.ndarray
    memory_gb: np.ndarray
    deadline_s: np.ndarray
    sla: np.ndarray
    """int index into ``sla_names``."""
    sla_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.arrival_s)

    def __post_init__(self) -> None:
        if len(self) == 0:
            raise DataError("a task stream needs at least one task")
        if np.any(np.diff(self.arrival_s) < 0):
            raise DataError("tasks must be in arrival order")

    def window(self, begin_s: float, end_s: float) -> TaskSet:
        """The tasks arriving in ``[begin_s, end_s)``, times shifted to start at 0."""
        keep = (self.arrival_s >= begin_s) & (self.arrival_s < end_s)
        if not keep.any():
            raise DataError(f"no task arrives in [{begin_s:g}, {end_s:g}) s")
        return TaskSet(self.arrival_s[keep] - begin_s, self.length_mi[keep],
                       self.input_mb[keep], self.output_mb[keep], self.memory_gb[keep],
                       self.deadline_s[keep] - begin_s, self.sla[keep], self.sla_names)  # fmt: skip


def transfer_s(cluster: Cluster, megabytes: np.ndarray) -> np.ndarray:
    """``[N, M]`` time (s) to move each task's ``megabytes`` over each node's gateway link."""
    latency = cluster.column("latency_ms") / 1000.0
    return latency[None, :] + 8.0 * np.asarray(megabytes)[:, None] / cluster.column(
        "bandwidth_mbps"
    )


def execution_s(cluster: Cluster, length_mi: np.ndarray) -> np.ndarray:
    """``[N, M]`` run time (s) of each task on one core of each node."""
    return np.asarray(length_mi)[:, None] / cluster.column("mips")[None, :]


def fits(cluster: Cluster, memory_gb: np.ndarray) -> np.ndarray:
    """bool ``[N, M]``: the node can hold the task: its memory is at most the node's memory per
    core, so that every core can run a task at once (the simulator's memory rule)."""
    per_core = cluster.column("memory_gb") / cluster.column("cores")
    return np.asarray(memory_gb)[:, None] <= per_core[None, :]


def best_response_s(cluster: Cluster, tasks_arrays: dict[str, np.ndarray]) -> np.ndarray:
    """``[N]`` each task's response time on the fastest node that holds it, idle.

    Raises:
        DataError: a task no node can hold (its memory exceeds every node's per-core memory).
    """
    total = (transfer_s(cluster, tasks_arrays["input_mb"])
             + execution_s(cluster, tasks_arrays["length_mi"])
             + transfer_s(cluster, tasks_arrays["output_mb"]))  # fmt: skip
    ok = fits(cluster, tasks_arrays["memory_gb"])
    orphan = np.flatnonzero(~ok.any(axis=1))
    if len(orphan):
        raise DataError(f"{len(orphan)} task(s) need more memory than any node of cluster "
                        f"{cluster.name!r} has per core (first: task {orphan[0]}, "
                        f"{tasks_arrays['memory_gb'][orphan[0]]:g} GB)")  # fmt: skip
    return np.where(ok, total, np.inf).min(axis=1)


def with_sla_deadlines(
    cluster: Cluster,
    arrays: dict[str, np.ndarray],
    sla: tuple[SLAClass, ...],
    rng: np.random.Generator,
) -> TaskSet:
    """A :class:`TaskSet` from arrays without deadlines: each task draws its SLA class by the
    shares; its deadline is arrival + slack x :func:`best_response_s`."""
    classes = rng.choice(len(sla), size=len(arrays["arrival_s"]), p=[c.share for c in sla])
    slack = np.asarray([c.slack for c in sla])[classes]
    deadline = arrays["arrival_s"] + slack * best_response_s(cluster, arrays)
    return TaskSet(arrays["arrival_s"], arrays["length_mi"], arrays["input_mb"],
                   arrays["output_mb"], arrays["memory_gb"], deadline, classes.astype(np.int64),
                   tuple(c.name for c in sla))  # fmt: skip


def numeric_rows(
    path: Path, columns: tuple[str, ...], what: str, hint: str = ""
) -> Iterator[tuple[int, list[float], dict[str, str]]]:
    """The rows of a CSV file as ``(line, values of columns, the row)``, each value a finite
    number >= 0.

    Raises:
        DataError: a missing file (``what`` and ``hint`` in the message) or column, and with the
            line number: a value that is not a number, negative or not finite.
    """
    if not path.is_file():
        raise DataError(f"no {what} at {path}{hint}")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in columns if c not in (reader.fieldnames or [])]
        if missing:
            raise DataError(f"{path}: missing column(s) {missing}; a {what} needs "
                            f"{', '.join(columns)}")  # fmt: skip
        for row in reader:
            line, values = reader.line_num, []
            for column in columns:
                try:
                    value = float(row[column])
                except (TypeError, ValueError):
                    raise DataError(f"{path}:{line}: {column} is not a number: "
                                    f"{row[column]!r}") from None  # fmt: skip
                if not np.isfinite(value) or value < 0:
                    raise DataError(f"{path}:{line}: {column} must be finite and >= 0, got {value}")
                values.append(value)
            yield line, values, row


def read_task_csv(path: str | Path) -> TaskSet:
    """A task stream in CSV: a header with :data:`COLUMNS` (and optionally ``sla``), one task per
    row, in arrival order.

    Raises:
        DataError: a missing file or column, and with its line number: a non-number, a negative
            or non-finite value, a zero length, a deadline before the arrival, rows out of
            arrival order.
    """
    path = Path(path)
    rows: list[list[float]] = []
    names: list[str] = []
    for line, values, row in numeric_rows(path, COLUMNS, "task file"):
        task = dict(zip(COLUMNS, values, strict=True))
        if task["length_mi"] == 0:
            raise DataError(f"{path}:{line}: length_mi must be > 0")
        if task["deadline_s"] < task["arrival_s"]:
            raise DataError(f"{path}:{line}: deadline_s {task['deadline_s']:g} is before "
                            f"arrival_s {task['arrival_s']:g}")  # fmt: skip
        if rows and task["arrival_s"] < rows[-1][0]:
            raise DataError(f"{path}:{line}: arrival_s goes back in time (rows must be in "
                            "arrival order)")  # fmt: skip
        rows.append(values)
        names.append(row.get("sla") or "default")
    if not rows:
        raise DataError(f"{path}: no task rows")
    sla_names = tuple(dict.fromkeys(names))
    arrays = dict(zip(COLUMNS, np.asarray(rows).T, strict=True))
    return TaskSet(**arrays, sla=np.asarray([sla_names.index(n) for n in names]),
                   sla_names=sla_names)  # fmt: skip


def write_task_csv(tasks: TaskSet, path: str | Path) -> Path:
    """Write ``tasks`` in the form :func:`read_task_csv` reads."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([*COLUMNS, "sla"])
        for i in range(len(tasks)):
            writer.writerow([repr(float(getattr(tasks, c)[i])) for c in COLUMNS]
                            + [tasks.sla_names[tasks.sla[i]]])  # fmt: skip
    return path
