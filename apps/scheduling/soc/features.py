"""What a learned SoC scheduler observes at a decision epoch: the task graph of the jobs in the
system, node features of every unfinished task, a global feature vector, and the ready slots.

Nodes are the unfinished tasks of the jobs that have arrived and not finished, in global id order
(oldest job first); edges are the DAG edges between them (predecessor -> successor). Ready
*slots* are the first ``max_ready`` ready tasks in id order; the action picks a slot. Times are in
units of ``time_unit_us``.

Node features (:data:`NODE_FEATURES`): ready, dispatched (queued or running), the task's fastest
and mean execution time, its upward rank, its successor count / 4, its job's age, the job's
remaining work (fastest times of its unfinished tasks) and the fraction of its tasks left, and for
ready tasks the expected finish on their earliest-finish PE and the earliest data arrival on any
PE, both relative to now (0 for tasks not ready). Global features: jobs in the system / 10, ready
tasks / 10, and for each cluster of the SoC the mean remaining expected work of its PEs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch_geometric.data import Data

from pgsuite.apps.scheduling.soc.heft import run_ranks
from pgsuite.apps.scheduling.soc.simulator import SoCSimulator

NODE_FEATURES = (
    "ready",
    "dispatched",
    "fastest_time",
    "mean_time",
    "upward_rank",
    "successors",
    "job_age",
    "job_work_left",
    "job_tasks_left",
    "expected_finish",
    "data_ready",
)


@dataclass(frozen=True)
class Observation:
    """One epoch's observation as arrays (the graph and the padded gym forms derive from it).

    Attributes:
        x: float32 ``[n, F]`` node features.
        edge_index: int64 ``[2, e]`` node ids (predecessor, successor).
        job: int64 ``[n]`` the node's job, numbered 0.. within this observation.
        ready_node: int64 ``[R]`` the node of each ready slot (``R <= max_ready``).
        ready_task: int64 ``[R]`` the global task id of each slot.
        u: float32 ``[G]`` global features.
    """

    x: np.ndarray
    edge_index: np.ndarray
    job: np.ndarray
    ready_node: np.ndarray
    ready_task: np.ndarray
    u: np.ndarray

    def to_data(self) -> Data:
        """A torch-geometric graph; ``ready_index`` is shifted by PyG's batching like
        ``edge_index``, ``job_index`` too (so jobs of different graphs never share an id)."""
        return Data(
            x=torch.from_numpy(self.x),
            edge_index=torch.from_numpy(self.edge_index),
            job_index=torch.from_numpy(self.job),
            ready_index=torch.from_numpy(self.ready_node),
            num_ready=torch.tensor([len(self.ready_node)]),
            u=torch.from_numpy(self.u).unsqueeze(0),
            num_nodes=len(self.x),
        )


class FeatureBuilder:
    """Builds :class:`Observation` s of one simulation run.

    Args:
        sim: the run (its static per-task quantities are computed once here).
        max_ready: ready slots offered.
        time_unit_us: µs per unit of every time feature.
    """

    def __init__(self, sim: SoCSimulator, max_ready: int, time_unit_us: float) -> None:
        self.sim, self.max_ready, self.unit = sim, max_ready, float(time_unit_us)
        finite = np.isfinite(sim.mean_time)
        self.fastest = sim.mean_time.min(axis=1)
        self.mean = np.where(finite, sim.mean_time, 0.0).sum(axis=1) / finite.sum(axis=1)
        self.rank = run_ranks(sim.jobs, sim.platform)
        self.successors = np.bincount(sim.edges[:, 0], minlength=len(self.fastest)) / 4.0
        self.job_size = np.diff(sim.offsets)
        self.clusters = [np.flatnonzero(sim.platform.cluster == c)
                         for c in np.unique(sim.platform.cluster)]  # fmt: skip

    @property
    def num_global_features(self) -> int:
        return 2 + len(self.clusters)

    def observe(self) -> Observation:
        sim, unit = self.sim, self.unit
        now = sim.now
        jobs = sim.jobs_present()
        tasks = sim.tasks_of_jobs(jobs)
        tasks = tasks[~sim.finished[tasks]]
        job_of = sim.job_of[tasks]
        local_job = np.searchsorted(jobs, job_of)
        work_left = np.bincount(local_job, weights=self.fastest[tasks], minlength=len(jobs))
        ready = np.asarray(sim.ready_tasks[: self.max_ready], dtype=np.int64)
        ready_node = np.searchsorted(tasks, ready)
        x = np.zeros((len(tasks), len(NODE_FEATURES)), dtype=np.float32)
        x[ready_node, 0] = 1.0
        x[:, 1] = sim.pe[tasks] >= 0
        x[:, 2] = self.fastest[tasks] / unit
        x[:, 3] = self.mean[tasks] / unit
        x[:, 4] = self.rank[tasks] / unit
        x[:, 5] = self.successors[tasks]
        x[:, 6] = (now - sim.arrival_us[job_of]) / unit
        x[:, 7] = work_left[local_job] / unit
        x[:, 8] = sim.tasks_left[job_of] / self.job_size[job_of]
        for node, task in zip(ready_node.tolist(), ready.tolist(), strict=True):
            x[node, 9] = (sim.expected_finish(task).min() - now) / unit
            x[node, 10] = (sim.data_ready(task).min() - now) / unit
        bounds = sim.edge_offsets
        edges = np.concatenate([sim.edges[bounds[j] : bounds[j + 1]] for j in jobs])
        keep = ~(sim.finished[edges[:, 0]] | sim.finished[edges[:, 1]])
        edge_index = np.searchsorted(tasks, edges[keep]).T.astype(np.int64)
        backlog = np.maximum(sim.expected_free - now, 0.0) / unit
        u = np.concatenate(
            [[len(jobs) / 10.0, len(sim.ready_tasks) / 10.0],
             [backlog[pes].mean() for pes in self.clusters]]
        ).astype(np.float32)  # fmt: skip
        return Observation(x, np.ascontiguousarray(edge_index), local_job.astype(np.int64),
                           ready_node.astype(np.int64), ready, u)  # fmt: skip
