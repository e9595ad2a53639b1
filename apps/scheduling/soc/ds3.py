"""Readers for the DS3 emulator's job and SoC resource files (Arda et al., IEEE Trans. Computers
2020), with line-numbered errors.

Job files (``job_*.txt``): ``job_name NAME``, ``add_new_tasks N``, then per task a ``name id
predecessor-ids...`` line, an optional ``name HEAD`` / ``name TAIL`` line and a ``name
earliest_start S deadline D input_vol I output_vol O`` line, then ``comm_vol source destination
volume`` lines giving the data volume of precedence edges (an edge without one carries 0). A task's
name is its type: resource files list execution times by task name.

SoC files (``SoC.*.txt``): blocks ``add_new_resource resource_type T resource_name N resource_ID
i capacity c num_supported_functionalities k DVFS_mode m`` (DS3's own files spell the first key
``resoruce_type`` once; both are read), each followed by ``opp frequency voltage`` (MHz, mV),
``trip_freq`` / ``DTPM_trip_freq``, ``power_profile frequency p1 .. pc`` and ``PG_profile ...``
(W with 1 .. c cores busy, unclamped / power-gated), ``mesh_information`` (network-on-chip layout,
not used) and one ``task_name execution_time_us`` line per supported task (further numbers on that
line are ignored; a task listed twice keeps its first time, as DS3 looks it up: DS3's own
``SoC.MULTIPLE_BAL.txt`` lists ``viterbi_decoder`` and ``descrambler`` twice per CPU cluster); the memory resource (type ``MEM``) has a ``None 0`` line. Then
``comm_band_self B`` and ``comm_band i j B`` (bandwidth between resources ``i`` and ``j``, the
same both ways; data volume / bandwidth is the transfer time in µs).

A compact JSON / YAML form of both, for files written by hand: :func:`read_compact_job`,
:func:`read_compact_soc` (``load_job`` / ``load_soc`` pick it by the ``.json`` / ``.yaml`` suffix).

Comments start with ``#``. Errors are :class:`~pgsuite.core.errors.DataError` naming the file and
line: a missing predecessor, a cycle, a negative time or volume, a resource that lists another
number of tasks than it declares, no memory resource, and (:func:`check_job_runs_on`) a task type
that no processing element supports.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pgsuite.apps.scheduling.common.dag import TaskGraph
from pgsuite.core.cli import read_mapping_file
from pgsuite.core.errors import DataError

DS3_FOLDER = Path(__file__).resolve().parents[4] / "shared" / "data" / "soc" / "ds3"
"""Where ``../shared/data/soc/ds3`` lies for a repository checkout (override: ``PGSUITE_DS3``)."""

JOB_NAMES = ("WIFI_5TXM", "WIFI_5RXM", "SCT", "SCR", "LAG", "TEMP_MIT", "Top")
"""The DS3 jobs that load by name (file stems without ``job_``)."""

SOC_NAMES = ("MULTIPLE_BAL", "BAL_only", "Top", "MULTIPLE_BAL_NoC")
"""The DS3 SoCs that load by name (file stems without ``SoC.``)."""


# -- the SoC -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Resource:
    """One DS3 resource: a cluster of ``capacity`` identical processing elements (cores), or the
    memory.

    Attributes:
        id: ``resource_ID``.
        name: e.g. ``"A7"``, ``"FFT"``, ``"MEMORY"``.
        kind: ``resource_type``, e.g. ``"LTL"``, ``"BIG"``, ``"ACC_2"``, ``"MEM"``.
        capacity: cores of the cluster (tasks it runs at once).
        execution_time_us: task name -> execution time in µs on one core.
        operating_points: ``(frequency MHz, voltage mV)`` pairs.
        power_w: frequency MHz -> power in W with ``1 .. capacity`` cores busy.
        gated_power_w: the same with power gating (``PG_profile``).
    """

    id: int
    name: str
    kind: str
    capacity: int
    execution_time_us: dict[str, float]
    operating_points: tuple[tuple[float, float], ...] = ()
    power_w: dict[float, tuple[float, ...]] = field(default_factory=dict)
    gated_power_w: dict[float, tuple[float, ...]] = field(default_factory=dict)

    @property
    def is_memory(self) -> bool:
        return self.kind == "MEM"


@dataclass(frozen=True)
class SoC:
    """A DS3 system-on-chip: its resources (``resources[i].id == i``) and their bandwidths.

    Attributes:
        name: the file stem (``"SoC.MULTIPLE_BAL"``) or the name given.
        resources: every resource, processing clusters and the memory (and caches), by id.
        bandwidth: ``[R, R]`` bandwidth between resources (symmetric; NaN where the file gives
            none).
        self_bandwidth: ``comm_band_self`` (NaN when absent).
    """

    name: str
    resources: tuple[Resource, ...]
    bandwidth: np.ndarray
    self_bandwidth: float = float("nan")

    @property
    def processing(self) -> tuple[Resource, ...]:
        """The resources that run tasks (not memory or caches)."""
        return tuple(r for r in self.resources if r.execution_time_us)

    @property
    def num_cores(self) -> int:
        """Processing elements in all: the capacities of the processing clusters."""
        return sum(r.capacity for r in self.processing)

    def supporting(self, task_type: str) -> list[int]:
        """Ids of the resources that run ``task_type``."""
        return [r.id for r in self.processing if task_type in r.execution_time_us]


# -- line reading --------------------------------------------------------------------------------
def _lines(path: Path) -> Iterator[tuple[int, list[str]]]:
    """``(line number, tokens)`` of the non-empty, non-comment lines of ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: cannot read ({error})") from None
    for number, line in enumerate(text.splitlines(), start=1):
        tokens = line.split("#", 1)[0].split()
        if tokens:
            yield number, tokens


def _number(path: Path, line: int, text: str, what: str, integer: bool = False) -> float:
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        kind = "an integer" if integer else "a number"
        raise DataError(f"{path}:{line}: {what} must be {kind}, got {text!r}") from None
    if not np.isfinite(value):
        raise DataError(f"{path}:{line}: {what} must be finite, got {text!r}")
    return value


def _non_negative(path: Path, line: int, text: str, what: str, integer: bool = False) -> float:
    value = _number(path, line, text, what, integer)
    if value < 0:
        raise DataError(f"{path}:{line}: {what} must be >= 0, got {text}")
    return value


def _pairs(path: Path, line: int, tokens: list[str]) -> dict[str, str]:
    if len(tokens) % 2:
        raise DataError(f"{path}:{line}: expected key value pairs, got {' '.join(tokens)!r}")
    return dict(zip(tokens[::2], tokens[1::2], strict=True))


# -- jobs ----------------------------------------------------------------------------------------
@dataclass
class _TaskRecord:
    name: str
    line: int
    predecessors: list[tuple[int, int]]  # (id, line)
    earliest_start: float = 0.0
    deadline: float = float("inf")


def read_job(path: str | Path) -> TaskGraph:
    """The job in a DS3 job file.

    Raises:
        DataError: unreadable file or malformed line (file and line in the message), a task
            defined twice, a predecessor or ``comm_vol`` naming no task or no edge, a task count
            that differs from ``add_new_tasks``, a negative time or volume, a cycle.
    """
    path = Path(path)
    name, declared, declared_line = None, None, 0
    tasks: dict[int, _TaskRecord] = {}
    ids_by_name: dict[str, int] = {}
    volumes: dict[tuple[int, int], float] = {}
    for line, tokens in _lines(path):
        head = tokens[0]
        if head == "job_name":
            if len(tokens) != 2:
                raise DataError(f"{path}:{line}: expected 'job_name NAME'")
            name = tokens[1]
        elif head == "add_new_tasks":
            if len(tokens) != 2:
                raise DataError(f"{path}:{line}: expected 'add_new_tasks N'")
            declared = int(_non_negative(path, line, tokens[1], "add_new_tasks", integer=True))
            declared_line = line
        elif head == "comm_vol":
            if len(tokens) != 4:
                raise DataError(f"{path}:{line}: expected 'comm_vol SOURCE DESTINATION VOLUME'")
            source = int(_number(path, line, tokens[1], "the source task id", integer=True))
            target = int(_number(path, line, tokens[2], "the destination task id", integer=True))
            volume = _non_negative(path, line, tokens[3], "the data volume")
            if source not in tasks or target not in tasks:
                raise DataError(f"{path}:{line}: comm_vol {source} {target} names an unknown task")
            if source not in [p for p, _ in tasks[target].predecessors]:
                raise DataError(
                    f"{path}:{line}: comm_vol {source} {target}: task {target} does not follow "
                    f"task {source}"
                )
            volumes[(source, target)] = volume
        elif len(tokens) >= 2 and tokens[1] in ("HEAD", "TAIL"):
            if head not in ids_by_name:
                raise DataError(f"{path}:{line}: {tokens[1]} of task {head!r} before its id line")
        elif len(tokens) >= 2 and tokens[1] == "earliest_start":
            if head not in ids_by_name:
                raise DataError(f"{path}:{line}: times of task {head!r} before its id line")
            values = _pairs(path, line, tokens[1:])
            record = tasks[ids_by_name[head]]
            if "earliest_start" in values:
                record.earliest_start = _non_negative(
                    path, line, values["earliest_start"], "earliest_start"
                )
            if "deadline" in values:
                record.deadline = _non_negative(path, line, values["deadline"], "deadline")
        else:
            task_id = int(
                _number(path, line, tokens[1] if len(tokens) > 1 else "", "a task id", True)
            )
            if task_id in tasks:
                raise DataError(f"{path}:{line}: task id {task_id} defined twice")
            if head in ids_by_name:
                raise DataError(f"{path}:{line}: task name {head!r} defined twice")
            predecessors = [
                (int(_number(path, line, t, "a predecessor id", integer=True)), line)
                for t in tokens[2:]
            ]
            tasks[task_id] = _TaskRecord(head, line, predecessors)
            ids_by_name[head] = task_id
    if name is None:
        raise DataError(f"{path}: no 'job_name' line")
    if not tasks:
        raise DataError(f"{path}: no task")
    if declared is not None and declared != len(tasks):
        raise DataError(
            f"{path}:{declared_line}: add_new_tasks {declared}, but {len(tasks)} tasks follow"
        )
    if sorted(tasks) != list(range(len(tasks))):
        raise DataError(f"{path}: task ids must be 0 .. {len(tasks) - 1}, got {sorted(tasks)}")
    edges, edge_volumes = [], []
    for task_id in range(len(tasks)):
        for predecessor, line in tasks[task_id].predecessors:
            if predecessor not in tasks:
                raise DataError(
                    f"{path}:{line}: task {tasks[task_id].name!r} follows task {predecessor}, "
                    "which the file does not define"
                )
            edges.append((predecessor, task_id))
            edge_volumes.append(volumes.get((predecessor, task_id), 0.0))
    records = [tasks[i] for i in range(len(tasks))]
    try:
        return TaskGraph(
            name,
            tuple(r.name for r in records),
            np.asarray(edges, dtype=np.int64).reshape(-1, 2),
            np.asarray(edge_volumes),
            np.asarray([r.earliest_start for r in records]),
            np.asarray([r.deadline for r in records]),
        )
    except DataError as error:
        raise DataError(f"{path}: {error}") from None


# -- SoCs ----------------------------------------------------------------------------------------
_RESOURCE_KEYS = {
    "resource_type": "kind",
    "resoruce_type": "kind",  # DS3's SoC.Top.txt spells it so
    "resource_name": "name",
    "resource_ID": "id",
    "capacity": "capacity",
    "num_supported_functionalities": "declared",
    "DVFS_mode": "dvfs",
}
_IGNORED = ("trip_freq", "DTPM_trip_freq", "mesh_information")


@dataclass
class _ResourceRecord:
    line: int
    id: int
    name: str
    kind: str
    capacity: int
    declared: int
    listed: int = 0
    times: dict[str, float] = field(default_factory=dict)
    points: list[tuple[float, float]] = field(default_factory=list)
    power: dict[float, tuple[float, ...]] = field(default_factory=dict)
    gated: dict[float, tuple[float, ...]] = field(default_factory=dict)


def _resource_header(path: Path, line: int, tokens: list[str]) -> _ResourceRecord:
    values = {}
    for key, value in _pairs(path, line, tokens[1:]).items():
        if key not in _RESOURCE_KEYS:
            raise DataError(f"{path}:{line}: unknown resource attribute {key!r}")
        values[_RESOURCE_KEYS[key]] = value
    missing = sorted({"kind", "name", "id", "capacity"} - set(values))
    if missing:
        raise DataError(f"{path}:{line}: add_new_resource lacks {', '.join(missing)}")
    capacity = int(_number(path, line, values["capacity"], "capacity", integer=True))
    if capacity < 1:
        raise DataError(f"{path}:{line}: capacity must be >= 1, got {capacity}")
    declared = values.get("declared", "0")
    return _ResourceRecord(
        line,
        int(_non_negative(path, line, values["id"], "resource_ID", integer=True)),
        values["name"],
        values["kind"],
        capacity,
        int(_non_negative(path, line, declared, "num_supported_functionalities", True)),
    )


def _profile(path: Path, line: int, tokens: list[str]) -> tuple[float, tuple[float, ...]]:
    if len(tokens) < 3:
        raise DataError(f"{path}:{line}: expected '{tokens[0]} FREQUENCY POWER...'")
    frequency = _non_negative(path, line, tokens[1], "the frequency")
    return frequency, tuple(_non_negative(path, line, t, "a power") for t in tokens[2:])


def read_soc(path: str | Path) -> SoC:
    """The SoC in a DS3 resource file.

    Raises:
        DataError: unreadable file or malformed line (file and line in the message), resource ids
            that are not 0 .. R-1, a resource listing another number of tasks than it declares, a
            negative execution time or bandwidth, a bandwidth between unknown resources, no
            memory resource (type MEM).
    """
    path = Path(path)
    records: list[_ResourceRecord] = []
    bands: list[tuple[int, int, int, float]] = []
    self_bandwidth = float("nan")
    for line, tokens in _lines(path):
        head = tokens[0]
        if head == "add_new_resource":
            records.append(_resource_header(path, line, tokens))
        elif head == "comm_band_self":
            if len(tokens) != 2:
                raise DataError(f"{path}:{line}: expected 'comm_band_self BANDWIDTH'")
            self_bandwidth = _non_negative(path, line, tokens[1], "the bandwidth")
        elif head == "comm_band":
            if len(tokens) != 4:
                raise DataError(f"{path}:{line}: expected 'comm_band SOURCE DESTINATION BANDWIDTH'")
            source = int(_non_negative(path, line, tokens[1], "a resource id", integer=True))
            target = int(_non_negative(path, line, tokens[2], "a resource id", integer=True))
            bands.append((line, source, target, _non_negative(path, line, tokens[3], "bandwidth")))
        elif not records:
            raise DataError(f"{path}:{line}: {head!r} before the first add_new_resource")
        elif head in _IGNORED:
            continue
        elif head == "opp":
            if len(tokens) != 3:
                raise DataError(f"{path}:{line}: expected 'opp FREQUENCY VOLTAGE'")
            records[-1].points.append(
                (
                    _non_negative(path, line, tokens[1], "the frequency"),
                    _non_negative(path, line, tokens[2], "the voltage"),
                )
            )
        elif head in ("power_profile", "PG_profile"):
            frequency, powers = _profile(path, line, tokens)
            (records[-1].power if head == "power_profile" else records[-1].gated)[frequency] = (
                powers
            )
        elif head == "None":
            continue  # the memory's placeholder task line
        else:
            if len(tokens) < 2:
                raise DataError(f"{path}:{line}: expected 'TASK_NAME EXECUTION_TIME_US'")
            time = _non_negative(path, line, tokens[1], f"the execution time of {head!r}")
            records[-1].listed += 1
            records[-1].times.setdefault(head, time)  # DS3 looks the first one up
    return _soc(path, records, bands, self_bandwidth)


def _soc(
    path: Path,
    records: list[_ResourceRecord],
    bands: list[tuple[int, int, int, float]],
    self_bandwidth: float,
) -> SoC:
    if not records:
        raise DataError(f"{path}: no add_new_resource")
    ids = [r.id for r in records]
    if ids != list(range(len(records))):
        raise DataError(f"{path}: resource ids must be 0 .. {len(records) - 1} in order, got {ids}")
    for record in records:
        if record.kind != "MEM" and record.listed and record.listed != record.declared:
            raise DataError(
                f"{path}:{record.line}: resource {record.name!r} declares "
                f"{record.declared} supported tasks but lists {record.listed}"
            )
    if not any(r.kind == "MEM" for r in records):
        raise DataError(f"{path}: no memory resource (add_new_resource resource_type MEM ...)")
    bandwidth = np.full((len(records), len(records)), np.nan)
    for line, source, target, value in bands:
        if max(source, target) >= len(records):
            raise DataError(f"{path}:{line}: comm_band names resource {max(source, target)}, "
                            f"the SoC has 0 .. {len(records) - 1}")  # fmt: skip
        bandwidth[source, target] = bandwidth[target, source] = value
    resources = tuple(
        Resource(
            r.id,
            r.name,
            r.kind,
            r.capacity,
            r.times,
            tuple(r.points),
            r.power,
            r.gated,
        )
        for r in records
    )
    return SoC(path.stem, resources, bandwidth, self_bandwidth)


def check_job_runs_on(job: TaskGraph, soc: SoC) -> None:
    """Raise :class:`DataError` naming the first task type of ``job`` that no processing element
    of ``soc`` supports."""
    for task, task_type in enumerate(job.task_types):
        if not soc.supporting(task_type):
            raise DataError(
                f"job {job.name!r}: task {task} ({task_type!r}) runs on no processing element of "
                f"{soc.name} ({', '.join(r.name for r in soc.processing)})"
            )


# -- by name -------------------------------------------------------------------------------------
def ds3_folder() -> Path:
    """The DS3 configuration folder: ``$PGSUITE_DS3``, else ``../shared/data/soc/ds3``.

    Raises:
        DataError: the folder is missing (the message says where it was looked for).
    """
    folder = Path(os.environ.get("PGSUITE_DS3", DS3_FOLDER))
    if not (folder / "config_Jobs").is_dir():
        raise DataError(
            f"the DS3 configuration folder is not at {folder} (it needs config_Jobs/ and "
            "config_SoC/); set PGSUITE_DS3 or give a file path"
        )
    return folder


def _load(
    name_or_path: str | Path,
    names: tuple[str, ...],
    file_name: str,
    kind: str,
    readers: tuple[Callable[[Path], Any], Callable[[Path], Any]],
) -> Any:
    """The file of DS3 name ``name_or_path`` (``file_name`` formats it, under :func:`ds3_folder`)
    or at that path, read by ``readers`` = (DS3 text reader, compact reader): the compact one for
    the :data:`COMPACT_SUFFIXES`."""
    read_text, read_compact = readers
    if str(name_or_path) in names:
        return read_text(ds3_folder() / file_name.format(name_or_path))
    path = Path(name_or_path)
    if not path.is_file():
        raise DataError(f"no {kind} file {path} (DS3 {kind}s by name: {', '.join(names)})")
    return read_compact(path) if path.suffix in COMPACT_SUFFIXES else read_text(path)


def load_job(name_or_path: str | Path) -> TaskGraph:
    """A job by DS3 name (:data:`JOB_NAMES`, e.g. ``"WIFI_5TXM"``) or by file path (DS3 text, or
    the compact form for ``.json`` / ``.yaml``)."""
    readers = (read_job, read_compact_job)
    return _load(name_or_path, JOB_NAMES, "config_Jobs/job_{}.txt", "job", readers)


def load_soc(name_or_path: str | Path) -> SoC:
    """A SoC by DS3 name (:data:`SOC_NAMES`, e.g. ``"MULTIPLE_BAL"``) or by file path (DS3 text,
    or the compact form for ``.json`` / ``.yaml``)."""
    readers = (read_soc, read_compact_soc)
    return _load(name_or_path, SOC_NAMES, "config_SoC/SoC.{}.txt", "SoC", readers)


# -- the compact JSON / YAML form ----------------------------------------------------------------
COMPACT_SUFFIXES = (".json", ".yaml", ".yml")
"""Files in the compact form; any other suffix is read as a DS3 text file."""


def _document(path: Path, kind: str) -> dict[str, Any]:
    return read_mapping_file(
        path, f"{kind} file", "a mapping (see the module docstring)", DataError
    )


def _field_number(path: Path, where: str, value: Any, *, integer: bool = False) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not ok or (integer and not float(value).is_integer()) or not np.isfinite(value) or value < 0:
        kind = "an integer" if integer else "a number"
        raise DataError(f"{path}: {where} must be {kind} >= 0, got {value!r}")
    return int(value) if integer else float(value)


def read_compact_job(path: str | Path) -> TaskGraph:
    """A job in the compact form::

        job: pair                     # the job's name
        tasks:                        # in any order; ids follow this order
          first: {type: scrambler_encoder, deadline: 50}   # type defaults to the task's name
          second: {after: {first: 8}, earliest_start: 2}   # predecessor -> data volume
          third: {after: [second]}                          # or a list: volumes 0

    Raises:
        DataError: unreadable file, a missing key, an unknown predecessor, a negative time or
            volume, a cycle (the message names the task).
    """
    path = Path(path)
    document = _document(path, "job")
    tasks = document.get("tasks")
    if not isinstance(tasks, dict) or not tasks:
        raise DataError(f"{path}: 'tasks' must map task names to their attributes")
    names = [str(name) for name in tasks]
    index = {name: i for i, name in enumerate(names)}
    types, starts, deadlines, edges, volumes = [], [], [], [], []
    for name, spec in zip(names, tasks.values(), strict=True):
        spec = spec or {}
        if not isinstance(spec, dict):
            raise DataError(f"{path}: tasks.{name} must be a mapping, got {spec!r}")
        unknown = sorted(set(spec) - {"type", "after", "earliest_start", "deadline"})
        if unknown:
            raise DataError(f"{path}: tasks.{name}: unknown key(s) {unknown}")
        types.append(str(spec.get("type", name)))
        starts.append(_field_number(path, f"tasks.{name}.earliest_start",
                                    spec.get("earliest_start", 0)))  # fmt: skip
        deadline = spec.get("deadline")
        deadlines.append(np.inf if deadline is None
                         else _field_number(path, f"tasks.{name}.deadline", deadline))  # fmt: skip
        after = spec.get("after", {})
        after = dict.fromkeys(after, 0) if isinstance(after, list) else after
        if not isinstance(after, dict):
            raise DataError(f"{path}: tasks.{name}.after must list or map predecessors")
        for predecessor, volume in after.items():
            if str(predecessor) not in index:
                raise DataError(f"{path}: tasks.{name}.after names unknown task {predecessor!r}")
            edges.append((index[str(predecessor)], index[name]))
            volumes.append(_field_number(path, f"tasks.{name}.after.{predecessor}", volume))
    try:
        return TaskGraph(
            str(document.get("job", path.stem)),
            tuple(types),
            np.asarray(edges, dtype=np.int64).reshape(-1, 2),
            np.asarray(volumes),
            np.asarray(starts),
            np.asarray(deadlines),
            task_names=tuple(names),
        )
    except DataError as error:
        raise DataError(f"{path}: {error}") from None


def read_compact_soc(path: str | Path) -> SoC:
    """A SoC in the compact form::

        soc: tiny
        resources:                    # ids follow this order
          - {name: core, kind: CPU, capacity: 2, times: {first: 10, second: 20},
             power_w: {1000: [0.1, 0.2]}}
          - {name: MEMORY, kind: MEM}
        self_bandwidth: 1000
        bandwidth: [[core, MEMORY, 2]]   # resource, resource, bandwidth (both ways)

    Raises:
        DataError: unreadable file, a missing or unknown key, a negative time or bandwidth, a
            bandwidth naming an unknown resource, no memory resource.
    """
    path = Path(path)
    document = _document(path, "SoC")
    specs = document.get("resources")
    if not isinstance(specs, list) or not specs:
        raise DataError(f"{path}: 'resources' must be a list of resources")
    records = []
    for i, spec in enumerate(specs):
        if not isinstance(spec, dict) or "name" not in spec or "kind" not in spec:
            raise DataError(f"{path}: resources[{i}] needs at least a name and a kind")
        unknown = sorted(set(spec) - {"name", "kind", "capacity", "times", "power_w"})
        if unknown:
            raise DataError(f"{path}: resources[{i}]: unknown key(s) {unknown}")
        capacity = _field_number(path, f"resources[{i}].capacity", spec.get("capacity", 1),
                                 integer=True)  # fmt: skip
        if capacity < 1:
            raise DataError(f"{path}: resources[{i}].capacity must be >= 1")
        times = {str(t): _field_number(path, f"resources[{i}].times.{t}", v)
                 for t, v in (spec.get("times") or {}).items()}  # fmt: skip
        power = {
            float(f): tuple(_field_number(path, f"resources[{i}].power_w", p) for p in values)
            for f, values in (spec.get("power_w") or {}).items()
        }
        record = _ResourceRecord(0, i, str(spec["name"]), str(spec["kind"]), int(capacity),
                                 len(times), len(times), times)  # fmt: skip
        record.power = power
        records.append(record)
    ids = {r.name: r.id for r in records}
    bands = []
    for entry in document.get("bandwidth") or []:
        if not (isinstance(entry, list) and len(entry) == 3):
            raise DataError(f"{path}: bandwidth entries are [resource, resource, bandwidth]")
        source, target, value = entry
        for name in (source, target):
            if str(name) not in ids:
                raise DataError(f"{path}: bandwidth names unknown resource {name!r}")
        value = _field_number(path, f"the bandwidth {source}-{target}", value)
        bands.append((0, ids[str(source)], ids[str(target)], value))
    self_bandwidth = document.get("self_bandwidth")
    self_value = (float("nan") if self_bandwidth is None
                  else _field_number(path, "self_bandwidth", self_bandwidth))  # fmt: skip
    soc = _soc(path, records, bands, self_value)
    return SoC(
        str(document.get("soc", path.stem)), soc.resources, soc.bandwidth, soc.self_bandwidth
    )
