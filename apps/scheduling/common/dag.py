"""Task graphs: the DAG jobs that the SoC and cloud schedulers place on processing elements.

A :class:`TaskGraph` is a job of ``T`` tasks numbered ``0 .. T-1``; each task has a *type* (what
it computes, which decides where it can run and how long it takes), an earliest start and a
deadline relative to the job's arrival, and each precedence edge ``(before, after)`` carries the
data volume ``before`` sends to ``after``. The graph is checked on construction: edges inside the
graph, no self-loops or repeated edges, no cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pgsuite.core.errors import DataError


@dataclass(frozen=True)
class TaskGraph:
    """One DAG job.

    Attributes:
        name: the job's name (e.g. ``"WiFi_Transmitter"``).
        task_types: ``[T]`` the type of each task (e.g. ``"scrambler_encoder"``).
        edges: int ``[E, 2]`` precedence pairs ``(before, after)``.
        volumes: ``[E]`` data volume of each edge (the unit of the resource file's bandwidths).
        earliest_start: ``[T]`` earliest start of each task after the job's arrival (µs).
        deadline: ``[T]`` deadline of each task after the job's arrival (µs; ``inf``: none).
        task_names: ``[T]`` readable names (default: the types).
    """

    name: str
    task_types: tuple[str, ...]
    edges: np.ndarray
    volumes: np.ndarray
    earliest_start: np.ndarray = field(default=None)  # type: ignore[assignment]
    deadline: np.ndarray = field(default=None)  # type: ignore[assignment]
    task_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        count = len(self.task_types)
        if count == 0:
            raise DataError(f"job {self.name!r} has no task")
        edges = np.asarray(self.edges, dtype=np.int64).reshape(-1, 2)
        volumes = np.asarray(self.volumes, dtype=float).reshape(-1)
        if len(volumes) != len(edges):
            raise DataError(f"job {self.name!r}: {len(edges)} edges but {len(volumes)} volumes")
        start = self._per_task(self.earliest_start, 0.0, "earliest_start")
        deadline = self._per_task(self.deadline, np.inf, "deadline")
        object.__setattr__(self, "edges", edges)
        object.__setattr__(self, "volumes", volumes)
        object.__setattr__(self, "earliest_start", start)
        object.__setattr__(self, "deadline", deadline)
        object.__setattr__(self, "task_names", tuple(self.task_names or self.task_types))
        if len(self.task_names) != count:
            raise DataError(f"job {self.name!r}: {count} tasks but {len(self.task_names)} names")
        self._check_edges()
        self._check_times()

    def _per_task(self, values: np.ndarray | None, default: float, what: str) -> np.ndarray:
        count = len(self.task_types)
        if values is None:
            return np.full(count, default)
        values = np.asarray(values, dtype=float).reshape(-1)
        if len(values) != count:
            raise DataError(f"job {self.name!r}: {count} tasks but {len(values)} {what} values")
        return values

    def _check_edges(self) -> None:
        count = len(self.task_types)
        outside = (self.edges < 0) | (self.edges >= count)
        if outside.any():
            before, after = self.edges[outside.any(axis=1)][0]
            raise DataError(
                f"job {self.name!r}: edge {before} -> {after} names a task outside 0..{count - 1}"
            )
        loops = self.edges[:, 0] == self.edges[:, 1]
        if loops.any():
            raise DataError(f"job {self.name!r}: task {self.edges[loops][0, 0]} precedes itself")
        pairs = [tuple(map(int, pair)) for pair in self.edges]
        if len(set(pairs)) != len(pairs):
            repeated = next(p for p in pairs if pairs.count(p) > 1)
            raise DataError(f"job {self.name!r}: edge {repeated[0]} -> {repeated[1]} given twice")
        if (self.volumes < 0).any() or not np.isfinite(self.volumes).all():
            raise DataError(f"job {self.name!r}: data volumes must be finite and >= 0")
        cycle = self.find_cycle()
        if cycle:
            path = " -> ".join(self.task_names[t] for t in [*cycle, cycle[0]])
            raise DataError(f"job {self.name!r}: the precedences form a cycle: {path}")

    def _check_times(self) -> None:
        if (self.earliest_start < 0).any() or np.isnan(self.earliest_start).any():
            raise DataError(f"job {self.name!r}: earliest start times must be >= 0")
        early = self.deadline < self.earliest_start
        if early.any():
            task = int(np.flatnonzero(early)[0])
            raise DataError(
                f"job {self.name!r}: task {self.task_names[task]!r} has a deadline before its "
                "earliest start"
            )

    @property
    def num_tasks(self) -> int:
        return len(self.task_types)

    def predecessors(self, task: int) -> np.ndarray:
        """int: the tasks with an edge into ``task``."""
        return self.edges[self.edges[:, 1] == task, 0]

    def successors(self, task: int) -> np.ndarray:
        """int: the tasks ``task`` has an edge to."""
        return self.edges[self.edges[:, 0] == task, 1]

    @property
    def heads(self) -> np.ndarray:
        """int: the tasks without predecessors (where the job starts)."""
        return np.setdiff1d(np.arange(self.num_tasks), self.edges[:, 1])

    @property
    def tails(self) -> np.ndarray:
        """int: the tasks without successors (the job ends when all have finished)."""
        return np.setdiff1d(np.arange(self.num_tasks), self.edges[:, 0])

    def find_cycle(self) -> list[int]:
        """The tasks of one precedence cycle, in order (empty when the graph is acyclic)."""
        successors: list[list[int]] = [[] for _ in range(self.num_tasks)]
        for before, after in self.edges:
            successors[int(before)].append(int(after))
        state = [0] * self.num_tasks  # 0 unseen, 1 on the current path, 2 done
        for root in range(self.num_tasks):
            if state[root]:
                continue
            path, iterators = [root], [iter(successors[root])]
            state[root] = 1
            while path:
                step = next(iterators[-1], None)
                if step is None:
                    state[path.pop()] = 2
                    iterators.pop()
                elif state[step] == 1:
                    return path[path.index(step) :]
                elif state[step] == 0:
                    state[step] = 1
                    path.append(step)
                    iterators.append(iter(successors[step]))
        return []

    def topological_order(self) -> np.ndarray:
        """int ``[T]``: every task after all of its predecessors (ties by task id)."""
        indegree = np.bincount(self.edges[:, 1], minlength=self.num_tasks)
        ready = sorted(np.flatnonzero(indegree == 0).tolist())
        order = []
        while ready:
            task = ready.pop(0)
            order.append(task)
            for successor in sorted(self.successors(task).tolist()):
                indegree[successor] -= 1
                if indegree[successor] == 0:
                    ready.append(successor)
            ready.sort()
        return np.asarray(order, dtype=np.int64)
