"""The compiled loop of the immediate heuristics gives, bit for bit, the Python loop's run
(nodes, order, decisions, starts, ends, responses, energy, busy core-seconds) on loaded and light
generated streams of both presets; batch runs and subclasses keep the Python loop."""

from __future__ import annotations

import numpy as np
import pytest

from pgsuite.apps.scheduling.iot.cluster import load_cluster
from pgsuite.apps.scheduling.iot.kernel import RULES
from pgsuite.apps.scheduling.iot.schedulers import MinimumCompletionTime, make_heuristic
from pgsuite.apps.scheduling.iot.simulator import IoTSimulator
from pgsuite.apps.scheduling.iot.workloads import GeneratorConfig, generated_tasks


@pytest.mark.parametrize("preset", ["small", "large"])
@pytest.mark.parametrize("rate", [0.3, 6.0])
@pytest.mark.parametrize("rule", sorted(RULES))
def test_compiled_loop_equals_the_python_loop(preset, rate, rule) -> None:
    cluster = load_cluster(preset)
    config = GeneratorConfig(duration_s=150, peak_rate=rate, offpeak_rate=rate / 3)
    tasks = generated_tasks(cluster, config, seed=7)
    expected = IoTSimulator(cluster, tasks).run(make_heuristic(rule), compiled=False)
    result = IoTSimulator(cluster, tasks).run(make_heuristic(rule))
    for name in ("node", "order", "decided", "start", "end", "back"):
        assert np.array_equal(getattr(result.log, name), getattr(expected.log, name)), name
    assert np.array_equal(result.energy_j, expected.energy_j)
    assert np.array_equal(result.busy_core_s, expected.busy_core_s)
    assert result.horizon_s == expected.horizon_s


def test_subclasses_and_batches_keep_the_python_loop() -> None:
    cluster = load_cluster("small")
    tasks = generated_tasks(cluster, GeneratorConfig(duration_s=60), seed=1)
    calls = []

    class Counting(MinimumCompletionTime):
        def node(self, sim, task):
            calls.append(task)
            return super().node(sim, task)

    result = IoTSimulator(cluster, tasks).run(Counting())
    assert len(calls) == len(tasks)
    plain = IoTSimulator(cluster, tasks).run(make_heuristic("mct"))
    assert np.array_equal(result.log.back, plain.log.back)
    calls.clear()
    IoTSimulator(cluster, tasks, batch_s=1.0).run(Counting())
    assert len(calls) == len(tasks)
