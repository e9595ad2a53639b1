"""The compiled loop of the list heuristics gives, bit for bit, the schedule of the Python loop
(PEs, starts, ends, the jobs-in-system integral) on loaded, noisy random workloads with and
without a switching delay; subclasses and schedulers it does not know keep the Python loop."""

from __future__ import annotations

import numpy as np
import pytest

from pgsuite.apps.scheduling.soc.ds3 import read_compact_soc
from pgsuite.apps.scheduling.soc.generators import LayeredDAGConfig, layered_dag
from pgsuite.apps.scheduling.soc.kernel import RULES
from pgsuite.apps.scheduling.soc.platform import Platform
from pgsuite.apps.scheduling.soc.schedulers import EarliestFinish, make_heuristic
from pgsuite.apps.scheduling.soc.simulator import SoCSimulator
from pgsuite.apps.scheduling.soc.workload import JobInstance


def _workload(soc, platform: Platform, seed: int, gap_us: float) -> list[JobInstance]:
    rng = np.random.default_rng(seed)
    jobs = []
    for index in range(40):
        config = LayeredDAGConfig(depth=4, width=4, max_predecessors=3, ccr=1.0)
        job = layered_dag(soc, config, seed * 100 + index)
        mean = platform.execution_times(job)
        noisy = np.maximum(np.round(rng.normal(mean, 0.4 * mean)), 1.0)
        jobs.append(JobInstance(index, job, gap_us * index, mean, noisy))
    return jobs


@pytest.mark.parametrize("delay", [0.0, 3.0])
@pytest.mark.parametrize("gap_us", [2.0, 40.0])
@pytest.mark.parametrize("name", sorted(RULES))
def test_compiled_loop_equals_the_python_loop(canonical_files, name, gap_us, delay) -> None:
    soc = read_compact_soc(canonical_files[0])
    platform = Platform(soc, switching_delay_us=delay)
    for seed in range(3):
        jobs = _workload(soc, platform, seed, gap_us)
        python, compiled = SoCSimulator(platform, jobs), SoCSimulator(platform, jobs)
        expected = python.run(make_heuristic(name), compiled=False)
        result = compiled.run(make_heuristic(name))
        assert np.array_equal(result.log.pe, expected.log.pe)
        assert np.array_equal(result.log.start, expected.log.start)
        assert np.array_equal(result.log.end, expected.log.end)
        assert np.array_equal(result.latency_us, expected.latency_us)
        assert compiled.latency_integral_us == python.latency_integral_us
        assert compiled.now == python.now


def test_a_subclass_keeps_the_python_loop(canonical_files) -> None:
    soc = read_compact_soc(canonical_files[0])
    platform = Platform(soc)
    calls = []

    class Counting(EarliestFinish):
        def choose(self, sim, ready):
            calls.append(int(ready[0]))
            return super().choose(sim, ready)

    jobs = _workload(soc, platform, 0, 10.0)
    result = SoCSimulator(platform, jobs).run(Counting())
    assert len(calls) == len(result.log.pe)  # every dispatch went through choose()
    plain = SoCSimulator(platform, jobs).run(make_heuristic("eft"))
    assert np.array_equal(result.log.end, plain.log.end)
