"""A hand-computable two-node cluster and three tasks (see test_schedulers.py for the figures)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from pgsuite.apps.scheduling.iot.cluster import Cluster, read_cluster
from pgsuite.apps.scheduling.iot.tasks import TaskSet

TWO_NODES = {
    "cluster": "two",
    "nodes": [
        # 1 MB takes 1 s to reach a, 0.1 s + 0.1 s to reach b
        {"name": "a", "tier": "edge", "mips": 1000, "cores": 1, "memory_gb": 4, "latency_ms": 0,
         "bandwidth_mbps": 8, "power_idle_w": 10, "power_max_w": 20},
        {"name": "b", "tier": "cloud", "mips": 2000, "cores": 1, "memory_gb": 2, "latency_ms": 100,
         "bandwidth_mbps": 80, "power_idle_w": 50, "power_max_w": 100},
    ],
}  # fmt: skip


def write_cluster(path: Path, document: dict) -> Path:
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.fixture
def two_nodes(tmp_path: Path) -> Cluster:
    return read_cluster(write_cluster(tmp_path / "two.yaml", TWO_NODES))


def three_tasks(arrival: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> TaskSet:
    """t0: 2000 MI, 1 MB in; t1: 4000 MI; t2: 1000 MI needing 3 GB (only node a holds it)."""
    return TaskSet(
        arrival_s=np.asarray(arrival), length_mi=np.asarray([2000.0, 4000.0, 1000.0]),
        input_mb=np.asarray([1.0, 0.0, 0.0]), output_mb=np.zeros(3),
        memory_gb=np.asarray([1.0, 1.0, 3.0]), deadline_s=np.asarray([2.0, 3.0, 10.0]),
        sla=np.zeros(3, dtype=np.int64), sla_names=("default",),
    )  # fmt: skip
