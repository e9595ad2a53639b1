"""Where a benchmark grid's cells run: in this process, or as Ray tasks on a local Ray instance or a
cluster.

:func:`pgsuite.core.bench.run_grid` hands its cells here. With the Ray backend every
(method, instance, seed) cell is one Ray task requesting ``ray_cpus_per_task`` CPUs (and
``ray_gpus_per_task`` GPUs); the task sets torch's intra-op threads to its CPU share. Methods and
instances go into Ray's object store once, so a cell ships only its method name, instance name and
seed. Cells finish in any order; the caller sees each as it arrives and gets the rows back in grid
order. A cell whose method raises is reported (a warning naming the cell and the error) and
submitted once more; a second failure stops the grid with the error.

A cluster: ``ray start --head`` on one machine, ``ray start --address HEAD:6379`` on the others
(each with pgsuite installed the same way), then the same command with ``--backend ray
--ray-address HEAD:6379`` (or ``auto`` on a cluster machine). See ``docs/cluster.md``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch

from pgsuite.core.errors import ConfigError

log = logging.getLogger(__name__)

Cell = tuple[str, str, int]
"""(method name, instance name, seed)."""


@dataclass
class BackendConfig:
    """Where a benchmark grid's cells run (``--backend``, ``--ray-*``)."""

    backend: Literal["local", "ray"] = "local"
    """local (one cell after another in this process) or ray (every cell a Ray task)."""
    ray_address: str | None = None
    """Ray cluster to join: auto (the cluster this machine belongs to) or HOST:PORT (default:
    start a Ray instance on this machine for the run)."""
    ray_cpus_per_task: float = 1.0
    """CPUs each cell requests (torch threads per cell: its integer part, at least 1)."""
    ray_gpus_per_task: float = 0.0
    """GPUs each cell requests (fractions share a GPU)."""
    ray_num_cpus: int | None = None
    """CPUs of the Ray instance started on this machine (default: all; ignored with
    ray_address)."""

    def __post_init__(self) -> None:
        if self.backend not in ("local", "ray"):
            raise ConfigError(f"backend must be local or ray, got {self.backend!r}")
        if not self.ray_cpus_per_task > 0:
            raise ConfigError(f"ray_cpus_per_task must be > 0, got {self.ray_cpus_per_task}")
        if self.ray_gpus_per_task < 0:
            raise ConfigError(f"ray_gpus_per_task must be >= 0, got {self.ray_gpus_per_task}")
        if self.ray_num_cpus is not None and self.ray_num_cpus < 1:
            raise ConfigError(f"ray_num_cpus must be >= 1, got {self.ray_num_cpus}")
        if self.ray_address is not None and not self.ray_address.strip():
            raise ConfigError("ray_address is empty: give auto or HOST:PORT")


class CellError(Exception):
    """A cell's method raised; ``cell`` names it and ``__cause__`` (or ``detail``) says why."""

    def __init__(self, cell: Cell, detail: str) -> None:
        super().__init__(detail)
        self.cell, self.detail = cell, detail


def timed_call(
    method: Callable[[Any, int], Mapping[str, Any]], instance: Any, seed: int
) -> tuple[dict[str, float], float]:
    """``method(instance, seed)`` with its metrics as floats and its wall time in seconds."""
    start = time.perf_counter()
    metrics = method(instance, seed)
    elapsed = time.perf_counter() - start
    return {k: float(v) for k, v in metrics.items()}, elapsed


def run_local(
    methods: Mapping[str, Callable], instances: Mapping[str, Any], cells: Sequence[Cell]
) -> Iterator[tuple[int, dict[str, float], float]]:
    """Yields ``(cell index, metrics, seconds)`` for each cell, in order, in this process.

    Raises:
        CellError: a method raised (chained from its exception).
    """
    for index, (method, instance, seed) in enumerate(cells):
        try:
            metrics, elapsed = timed_call(methods[method], instances[instance], seed)
        except Exception as exc:
            raise CellError(cells[index], f"{type(exc).__name__}: {exc}") from exc
        yield index, metrics, elapsed


def _ray_task(
    methods: Mapping[str, Callable], instances: Mapping[str, Any], cell: Cell, threads: int
) -> tuple[dict[str, float], float]:
    """One cell inside a Ray worker (the method and instance tables come from the object store)."""
    from pgsuite.core.cli import silence_known_warnings

    silence_known_warnings()
    torch.set_num_threads(threads)
    method, instance, seed = cell
    return timed_call(methods[method], instances[instance], seed)


def connect(config: BackendConfig) -> Any:
    """The ``ray`` module, connected: to ``config.ray_address`` when given, else to a Ray
    instance started here (with ``ray_num_cpus`` CPUs). A connection made before is reused.

    Raises:
        ConfigError: Ray is not installed, or the cluster cannot be reached.
    """
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "the ray backend needs Ray: pip install 'pgsuite[ray]' (or -e '.[ray]')"
        ) from None
    if ray.is_initialized():
        return ray
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    options: dict[str, Any] = {
        "include_dashboard": False,
        "logging_level": logging.WARNING,
        # before a task's functions are unpickled (which imports the apps and their libraries)
        "runtime_env": {"worker_process_setup_hook": "pgsuite.core.cli.silence_known_warnings"},
    }
    if config.ray_address is None:
        options["num_cpus"] = config.ray_num_cpus
    else:
        options["address"] = config.ray_address
    try:
        ray.init(**options)
    except (ConnectionError, RuntimeError, ValueError) as error:
        where = config.ray_address or "a local instance"
        raise ConfigError(f"cannot start or reach Ray at {where}: {error}") from None
    return ray


def run_ray(
    methods: Mapping[str, Callable],
    instances: Mapping[str, Any],
    cells: Sequence[Cell],
    config: BackendConfig,
) -> Iterator[tuple[int, dict[str, float], float]]:
    """Yields ``(cell index, metrics, seconds)`` for each cell as its Ray task finishes (any
    order). A failed cell is logged and run once more; a second failure cancels what is left.

    Raises:
        CellError: a cell failed twice (its second error as ``detail``).
    """
    ray = connect(config)
    task = ray.remote(_ray_task).options(
        num_cpus=config.ray_cpus_per_task, num_gpus=config.ray_gpus_per_task, max_retries=0
    )
    threads = max(1, int(config.ray_cpus_per_task))
    methods_ref, instances_ref = ray.put(dict(methods)), ray.put(dict(instances))

    def submit(index: int) -> Any:
        return task.remote(methods_ref, instances_ref, cells[index], threads)

    pending = {submit(index): index for index in range(len(cells))}
    attempts = dict.fromkeys(range(len(cells)), 1)
    try:
        while pending:
            done, _ = ray.wait(list(pending), num_returns=1)
            index = pending.pop(done[0])
            try:
                metrics, elapsed = ray.get(done[0])
            except ray.exceptions.RayError as error:
                detail = _ray_error_text(error)
                if attempts[index] >= 2:
                    raise CellError(cells[index], detail) from None
                log.warning("cell %s failed (%s); retrying it once", cells[index], detail)
                attempts[index] += 1
                pending[submit(index)] = index
                continue
            yield index, metrics, elapsed
    finally:
        for ref in pending:
            ray.cancel(ref)


def _ray_error_text(error: Exception) -> str:
    """``Type: message`` of the exception a Ray task raised (else Ray's own error)."""
    cause = getattr(error, "cause", None)
    if isinstance(cause, BaseException):
        return f"{type(cause).__name__}: {cause}"
    return f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
