"""Random layered jobs: reproducible from the seed, of the asked shape and CCR, valid DAGs whose
tasks the SoC runs."""

from __future__ import annotations

import numpy as np
import pytest

from pgsuite.apps.scheduling.common.dag import TaskGraph
from pgsuite.apps.scheduling.soc.ds3 import Resource, SoC, check_job_runs_on
from pgsuite.apps.scheduling.soc.generators import LayeredDAGConfig, layered_dag, measured_ccr
from pgsuite.core.errors import ConfigError

SOC = SoC(
    "two",
    (
        Resource(0, "cpu", "CPU", 2, {"a": 10.0, "b": 20.0, "c": 30.0}),
        Resource(1, "acc", "ACC", 1, {"b": 2.0}),
        Resource(2, "MEMORY", "MEM", 1, {}),
    ),
    np.array([[np.nan, 4.0, 2.0], [4.0, np.nan, 2.0], [2.0, 2.0, 0.0]]),
)


def _longest_chain(job: TaskGraph) -> int:
    length = np.ones(job.num_tasks, dtype=int)
    for task in job.topological_order():
        for successor in job.successors(task):
            length[successor] = max(length[successor], length[task] + 1)
    return int(length.max())


def test_jobs_are_reproducible_and_have_the_asked_shape() -> None:
    config = LayeredDAGConfig(depth=5, width=4, max_predecessors=3, ccr=1.0)
    first, again = layered_dag(SOC, config, 3), layered_dag(SOC, config, 3)
    assert first.task_types == again.task_types
    assert np.array_equal(first.edges, again.edges)
    assert np.array_equal(first.volumes, again.volumes)
    for seed in range(30):
        job = layered_dag(SOC, config, seed)
        check_job_runs_on(job, SOC)
        assert _longest_chain(job) == 5
        assert all(len(job.predecessors(t)) <= 3 for t in range(job.num_tasks))
        assert job.num_tasks <= 5 * 4
        assert set(job.task_types) <= {"a", "b", "c"}
    assert not np.array_equal(layered_dag(SOC, config, 1).edges, layered_dag(SOC, config, 2).edges)


@pytest.mark.parametrize("ccr", [0.0, 0.1, 1.0, 10.0])
def test_the_ccr_is_the_asked_one_on_average(ccr: float) -> None:
    config = LayeredDAGConfig(depth=6, width=4, ccr=ccr)
    measured = np.mean([measured_ccr(layered_dag(SOC, config, s), SOC) for s in range(40)])
    assert measured == pytest.approx(ccr, rel=0.1, abs=1e-12)


def test_task_types_can_be_restricted_and_bad_shapes_are_refused() -> None:
    job = layered_dag(SOC, LayeredDAGConfig(task_types=("b",)), 0)
    assert set(job.task_types) == {"b"}
    with pytest.raises(ConfigError, match="run on no processing element"):
        layered_dag(SOC, LayeredDAGConfig(task_types=("z",)), 0)
    for bad in ({"depth": 0}, {"width": 0}, {"max_predecessors": 0}, {"ccr": -1.0}):
        with pytest.raises(ConfigError):
            LayeredDAGConfig(**bad)
