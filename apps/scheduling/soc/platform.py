"""The processing elements (PEs) of a SoC and the time model every scheduler and the checker share.

A DS3 resource of capacity ``c`` is a cluster of ``c`` identical cores; each core is one PE that
runs one task at a time. Times, in µs:

- execution: the task type's time on the PE's cluster (``inf`` where the cluster does not run it);
- data transfer of an edge of volume ``v`` from a task on PE ``q`` to one on PE ``p``: 0 on the same
  PE; ``v / bandwidth[cluster(q), cluster(p)]`` where the SoC gives that bandwidth (cores of one
  cluster share its ``comm_band i i``); else through the memory, ``v / bandwidth[cluster(q), MEM] +
  v / bandwidth[MEM, cluster(p)]`` (DS3's ``SoC.Top.txt`` gives only the memory links, which makes
  the transfer time of the HEFT paper's canonical example its data volume);
- an optional switching delay added to every transfer between different PEs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pgsuite.apps.scheduling.common.dag import TaskGraph
from pgsuite.apps.scheduling.soc.ds3 import SoC
from pgsuite.core.errors import ConfigError, DataError


@dataclass(frozen=True)
class Platform:
    """The PEs of ``soc`` and its transfer-time model.

    Attributes:
        soc: the SoC.
        switching_delay_us: added to every transfer between different PEs (µs).
        cluster: int ``[P]`` the resource id of each PE.
        names: ``[P]`` readable PE names (``"A7.0"``, ``"A7.1"``, ...).
        transfer_per_volume: ``[P, P]`` µs per unit of data volume between PEs (0 on the diagonal).
    """

    soc: SoC
    switching_delay_us: float = 0.0
    cluster: np.ndarray = field(init=False)
    names: tuple[str, ...] = field(init=False)
    transfer_per_volume: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        if not (np.isfinite(self.switching_delay_us) and self.switching_delay_us >= 0):
            raise ConfigError(f"switching_delay_us must be >= 0, got {self.switching_delay_us}")
        clusters = [r for r in self.soc.processing for _ in range(r.capacity)]
        object.__setattr__(self, "cluster", np.asarray([r.id for r in clusters], dtype=np.int64))
        names, seen = [], {}
        for r in clusters:
            seen[r.id] = seen.get(r.id, -1) + 1
            names.append(f"{r.name}.{seen[r.id]}")
        object.__setattr__(self, "names", tuple(names))
        object.__setattr__(self, "transfer_per_volume", self._transfer_table())

    def _transfer_table(self) -> np.ndarray:
        band = self.soc.bandwidth
        memory = next(r.id for r in self.soc.resources if r.is_memory)

        def per_volume(a: int, b: int) -> float:
            direct = band[a, b]
            if np.isfinite(direct) and direct > 0:
                return 1.0 / direct
            up, down = band[a, memory], band[memory, b]
            if np.isfinite(up) and up > 0 and np.isfinite(down) and down > 0:
                return 1.0 / up + 1.0 / down
            names = self.soc.resources[a].name, self.soc.resources[b].name
            raise DataError(
                f"{self.soc.name}: no bandwidth from {names[0]} to {names[1]}, directly or through "
                "the memory"
            )

        pes = len(self.cluster)
        table = np.zeros((pes, pes))
        for p in range(pes):
            for q in range(pes):
                if p != q:
                    table[p, q] = per_volume(int(self.cluster[p]), int(self.cluster[q]))
        return table

    @property
    def num_pes(self) -> int:
        return len(self.cluster)

    def execution_times(self, job: TaskGraph) -> np.ndarray:
        """``[T, P]`` mean execution time of each task of ``job`` on each PE (``inf``: the PE does
        not run the task's type)."""
        table = np.full((job.num_tasks, self.num_pes), np.inf)
        for task, task_type in enumerate(job.task_types):
            for pe, resource in enumerate(self.cluster):
                time = self.soc.resources[int(resource)].execution_time_us.get(task_type)
                if time is not None:
                    table[task, pe] = time
        unsupported = np.isinf(table).all(axis=1)
        if unsupported.any():
            task = int(np.flatnonzero(unsupported)[0])
            raise DataError(
                f"job {job.name!r}: task {task} ({job.task_types[task]!r}) runs on no PE of "
                f"{self.soc.name}"
            )
        return table

    def transfer_time(self, volume: np.ndarray, source_pe: np.ndarray, target_pe: np.ndarray):
        """µs to move ``volume`` from ``source_pe`` to ``target_pe`` (elementwise; 0 on the same
        PE, plus the switching delay between different PEs)."""
        source_pe, target_pe = np.asarray(source_pe), np.asarray(target_pe)
        time = np.asarray(volume, dtype=float) * self.transfer_per_volume[source_pe, target_pe]
        return time + np.where(source_pe != target_pe, self.switching_delay_us, 0.0)
