"""The figures of an IoT run, as users of such tools report them together."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from pgsuite.apps.scheduling.iot.cluster import Cluster
from pgsuite.apps.scheduling.iot.simulator import RunResult
from pgsuite.apps.scheduling.iot.tasks import TaskSet


@dataclass(frozen=True)
class RunMetrics:
    """``mean/p95_response_s``: response time (arrival to output back at the gateway);
    ``utilisation``: busy core-seconds over cores x horizon; ``energy_kwh``: every node, always
    on, over the horizon; ``sla_compliance``: share of tasks back by their deadline;
    ``load_imbalance``: coefficient of variation of the nodes' utilisations; ``throughput``:
    tasks per second of horizon."""

    tasks: int
    mean_response_s: float
    p95_response_s: float
    utilisation: float
    energy_kwh: float
    sla_compliance: float
    load_imbalance: float
    throughput: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def run_metrics(cluster: Cluster, tasks: TaskSet, result: RunResult) -> RunMetrics:
    """The :class:`RunMetrics` of a checked run."""
    cores = cluster.column("cores")
    per_node = result.busy_core_s / (cores * result.horizon_s)
    mean = per_node.mean()
    return RunMetrics(
        tasks=len(tasks),
        mean_response_s=float(result.response_s.mean()),
        p95_response_s=float(np.percentile(result.response_s, 95)),
        utilisation=float(result.busy_core_s.sum() / (cores.sum() * result.horizon_s)),
        energy_kwh=float(result.energy_j.sum() / 3.6e6),
        sla_compliance=float(result.met_deadline.mean()),
        load_imbalance=float(per_node.std() / mean) if mean > 0 else 0.0,
        throughput=float(len(tasks) / result.horizon_s),
    )
