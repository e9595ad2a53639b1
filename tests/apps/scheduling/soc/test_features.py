"""The learned scheduler's observation by hand on the two-task pair, and the graph of several
jobs in the system (finished tasks and jobs leave it)."""

from __future__ import annotations

import numpy as np
import pytest

from pgsuite.apps.scheduling.soc.ds3 import read_soc
from pgsuite.apps.scheduling.soc.features import NODE_FEATURES, FeatureBuilder
from pgsuite.apps.scheduling.soc.platform import Platform
from pgsuite.apps.scheduling.soc.simulator import SoCSimulator
from pgsuite.apps.scheduling.soc.workload import WorkloadConfig, generate_workload

F = {name: i for i, name in enumerate(NODE_FEATURES)}


@pytest.fixture
def sim(pair_files) -> SoCSimulator:
    soc_file, job_file = pair_files
    platform = Platform(read_soc(soc_file))
    config = WorkloadConfig(jobs=(str(job_file),), num_jobs=2, scale_us=1e-6)
    return SoCSimulator(platform, generate_workload(platform, config))


def test_first_epoch_by_hand(sim) -> None:
    ready = sim.next_epoch()
    features = FeatureBuilder(sim, max_ready=4, time_unit_us=1.0)
    obs = features.observe()
    assert ready.tolist() == [0]  # the second job arrives a moment later
    assert obs.x.shape == (2, len(NODE_FEATURES))
    assert obs.edge_index.T.tolist() == [[0, 1]]
    x = obs.x[0]
    assert (x[F["ready"]], x[F["dispatched"]]) == (1, 0)
    assert (x[F["fastest_time"]], x[F["mean_time"]]) == (10, 10)  # 'first' runs on cores only
    # rank: 10 + 8 x (mean transfer per volume 0.5) + (20 + 20 + 4) / 3
    assert x[F["upward_rank"]] == pytest.approx(10 + 4 + 44 / 3)
    assert x[F["successors"]] == 0.25
    assert x[F["job_work_left"]] == 14  # fastest times 10 + 4
    assert x[F["job_tasks_left"]] == 1.0
    assert x[F["expected_finish"]] == 10  # on an idle core
    assert obs.x[1, F["ready"]] == 0
    assert obs.ready_task.tolist() == [0]
    assert obs.u[:2].tolist() == pytest.approx([0.1, 0.1])  # one job in the system, one ready
    assert obs.u[2:].tolist() == [0.0, 0.0]  # both clusters idle


def test_dispatched_and_finished_tasks(sim) -> None:
    features = FeatureBuilder(sim, max_ready=4, time_unit_us=1.0)
    ready = sim.next_epoch()
    while ready is not None and 1 not in set(ready.tolist()):
        for task in ready.tolist():
            sim.dispatch(task, int(np.argmin(sim.expected_finish(task))))
        obs = features.observe()
        assert (obs.x[:, F["dispatched"]] == (sim.pe[np.flatnonzero(~sim.finished)[: len(obs.x)]]
                                              >= 0)).all()  # fmt: skip
        ready = sim.next_epoch()
    obs = features.observe()  # task 0 has finished: the first job has one node left
    assert sim.finished[0]
    assert 0 not in obs.ready_task.tolist()
    job0_nodes = int((obs.job == 0).sum())
    assert job0_nodes == 1
    assert obs.x[0, F["job_tasks_left"]] == 0.5
