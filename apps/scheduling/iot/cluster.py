"""Cloud and edge nodes: speed, cores, memory, the gateway link, the power model; cluster files.

A cluster file (JSON or YAML) lists node kinds; ``count`` repeats a kind (names get ``-0``,
``-1``, ... suffixes)::

    cluster: small
    nodes:
      - {name: edge, count: 4, tier: edge, mips: 1860, cores: 2, memory_gb: 4, latency_ms: 3,
         bandwidth_mbps: 100, power_table_w: [86, 89.4, 92.6, 96, 99.5, 102, 106, 108, 112, 114, 117]}
      - {name: cloud, tier: cloud, mips: 2800, cores: 16, memory_gb: 64, latency_ms: 100,
         bandwidth_mbps: 1000, power_idle_w: 1332, power_max_w: 1648}

``mips`` is per core (a task runs on one core: its time is ``length_mi / mips``); ``latency_ms``
and ``bandwidth_mbps`` describe the link between the IoT gateway and the node (a transfer of
``s`` MB takes ``latency + 8 s / bandwidth``; links are not shared). Power (W) at utilisation
``u`` (busy cores / cores): linear ``P_idle + (P_max - P_idle) u``, or a SPECpower table of 11
points at 0, 10, ..., 100 % interpolated linearly. Nodes are always on: an idle node draws its
idle power (CloudSim's ``PowerModelLinear`` would count an idle host as switched off; here it is
not). Presets ``small`` (10 nodes) and ``large`` (120) ship in ``clusters/``.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pgsuite.core.cli import read_mapping_file
from pgsuite.core.errors import DataError

PRESETS = Path(__file__).resolve().parent / "clusters"
TIERS = ("edge", "cloud")
_KEYS = {"name", "count", "tier", "mips", "cores", "memory_gb", "latency_ms", "bandwidth_mbps",
         "power_idle_w", "power_max_w", "power_table_w"}  # fmt: skip


@dataclass(frozen=True)
class Node:
    """One node (units in the field names)."""

    name: str
    tier: str
    mips: float
    """Million instructions per second of one core."""
    cores: int
    memory_gb: float
    latency_ms: float
    bandwidth_mbps: float
    power_table_w: tuple[float, ...]
    """Power at 0, 10, ..., 100 % utilisation (a linear model is its two end points)."""

    def power_w(self, utilisation: float | np.ndarray) -> float | np.ndarray:
        """Power draw (W) at ``utilisation`` in [0, 1]."""
        table = self.power_table_w
        return np.interp(utilisation, np.linspace(0, 1, len(table)), table)


@dataclass(frozen=True)
class Cluster:
    """The nodes, and their figures as arrays ``[M]`` for the simulator and the schedulers."""

    name: str
    nodes: tuple[Node, ...]

    def __post_init__(self) -> None:
        if not self.nodes:
            raise DataError(f"cluster {self.name!r} has no nodes")
        names = [n.name for n in self.nodes]
        if len(set(names)) != len(names):
            raise DataError(f"cluster {self.name!r} has two nodes of one name")

    @property
    def size(self) -> int:
        return len(self.nodes)

    def column(self, field: str) -> np.ndarray:
        """``[M]`` one field of every node (e.g. ``"mips"``)."""
        return np.asarray([getattr(n, field) for n in self.nodes], dtype=float)

    @property
    def names(self) -> list[str]:
        return [n.name for n in self.nodes]


def _number(path: Path, where: str, value: Any, *, positive: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise DataError(f"{path}: {where} must be a number, got {value!r}")
    if value < 0 or (positive and value == 0):
        raise DataError(f"{path}: {where} must be {'> 0' if positive else '>= 0'}, got {value}")
    return float(value)


def _node_kind(path: Path, index: int, spec: Any) -> list[Node]:
    where = f"nodes[{index}]"
    if not isinstance(spec, dict) or "name" not in spec:
        raise DataError(f"{path}: {where} must be a mapping with at least a name")
    unknown = sorted(set(spec) - _KEYS)
    if unknown:
        raise DataError(f"{path}: {where}: unknown key(s) {unknown}; known: {sorted(_KEYS)}")
    missing = sorted({"tier", "mips", "cores", "memory_gb", "latency_ms", "bandwidth_mbps"}
                     - set(spec))  # fmt: skip
    if missing:
        raise DataError(f"{path}: {where} ({spec['name']}): missing key(s) {missing}")
    if spec["tier"] not in TIERS:
        raise DataError(f"{path}: {where}.tier must be edge or cloud, got {spec['tier']!r}")
    cores, count = spec["cores"], spec.get("count", 1)
    for key, value in (("cores", cores), ("count", count)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise DataError(f"{path}: {where}.{key} must be an integer >= 1, got {value!r}")
    if "power_table_w" in spec:
        if {"power_idle_w", "power_max_w"} & set(spec):
            raise DataError(f"{path}: {where}: give power_table_w or power_idle_w/power_max_w")
        table = spec["power_table_w"]
        if not isinstance(table, list) or len(table) != 11:
            raise DataError(f"{path}: {where}.power_table_w must list 11 values (0..100 %)")
        power = tuple(_number(path, f"{where}.power_table_w", p, positive=False) for p in table)
    elif {"power_idle_w", "power_max_w"} <= set(spec):
        idle = _number(path, f"{where}.power_idle_w", spec["power_idle_w"], positive=False)
        peak = _number(path, f"{where}.power_max_w", spec["power_max_w"], positive=False)
        power = (idle, peak)
    else:
        raise DataError(f"{path}: {where}: give power_table_w or power_idle_w and power_max_w")
    if any(b < a for a, b in itertools.pairwise(power)):
        raise DataError(f"{path}: {where}: power must not fall as utilisation grows")
    figures = {key: _number(path, f"{where}.{key}", spec[key])
               for key in ("mips", "memory_gb", "bandwidth_mbps")}  # fmt: skip
    latency = _number(path, f"{where}.latency_ms", spec["latency_ms"], positive=False)
    names = [str(spec["name"])] if count == 1 else [f"{spec['name']}-{i}" for i in range(count)]
    return [Node(name, spec["tier"], figures["mips"], cores, figures["memory_gb"], latency,
                 figures["bandwidth_mbps"], power) for name in names]  # fmt: skip


def read_cluster(path: str | Path) -> Cluster:
    """A cluster file (see the module docstring).

    Raises:
        DataError: unreadable file, no nodes, a missing / unknown key, a non-positive speed,
            core count, memory or bandwidth, a negative latency or power, a power table of another
            length than 11 or falling with load, an unknown tier, two nodes of one name.
    """
    path = Path(path)
    document = read_mapping_file(path, "cluster file", "a mapping with a 'nodes' list", DataError)
    specs = document.get("nodes")
    if not isinstance(specs, list) or not specs:
        raise DataError(f"{path}: 'nodes' must be a non-empty list of node kinds")
    nodes = [node for i, spec in enumerate(specs) for node in _node_kind(path, i, spec)]
    return Cluster(str(document.get("cluster", path.stem)), tuple(nodes))


def load_cluster(name_or_path: str | Path) -> Cluster:
    """A preset by name (``small``, ``large``) or a cluster file by path.

    Raises:
        DataError: neither a preset nor a readable cluster file.
    """
    preset = PRESETS / f"{name_or_path}.yaml"
    if str(name_or_path) in preset_names():
        return read_cluster(preset)
    path = Path(name_or_path)
    if not path.is_file():
        raise DataError(f"no cluster preset or file {name_or_path!r}; presets: "
                        f"{', '.join(preset_names())}")  # fmt: skip
    return read_cluster(path)


def preset_names() -> list[str]:
    """The shipped cluster presets."""
    return sorted(p.stem for p in PRESETS.glob("*.yaml"))
