"""The simulator on the hand-computed case: times, energy, utilisation, deadlines; batch windows;
a refused assignment; and a replay that is the same run twice."""

from __future__ import annotations

import numpy as np
import pytest

from pgsuite.apps.scheduling.iot.schedulers import make_heuristic
from pgsuite.apps.scheduling.iot.simulator import IoTSimulator
from pgsuite.apps.scheduling.iot.workloads import GeneratorConfig, generated_tasks
from pgsuite.core.errors import ConfigError

from .conftest import three_tasks


def test_mct_run_by_hand(two_nodes) -> None:
    result = IoTSimulator(two_nodes, three_tasks()).run(make_heuristic("mct"))
    log = result.log
    # t0 -> b: data there at 0.2, runs 1; t1 -> b: data at 0.1, waits for the core until 1.2
    assert log.start.tolist() == pytest.approx([0.2, 1.2, 0.0])
    assert log.end.tolist() == pytest.approx([1.2, 3.2, 1.0])
    assert result.horizon_s == pytest.approx(3.3)
    # a: busy [0, 1] at 20 W, idle 2.3 s at 10 W; b: idle 0.3 s at 50 W, busy 3 s at 100 W
    assert result.energy_j.tolist() == pytest.approx([43.0, 315.0])
    assert result.busy_core_s.tolist() == pytest.approx([1.0, 3.0])
    # deadlines 2, 3, 10: t1 is back at 3.3
    assert result.met_deadline.tolist() == [True, False, True]


def test_batch_window_delays_decisions(two_nodes) -> None:
    tasks = three_tasks(arrival=(0.5, 0.5, 2.5))
    result = IoTSimulator(two_nodes, tasks, batch_s=2.0).run(make_heuristic("mct"))
    assert result.log.decided.tolist() == [2.0, 2.0, 4.0]
    assert result.response_s[0] == pytest.approx(2.0 - 0.5 + 1.3)


class _Stubborn:
    def reset(self, sim) -> None:
        pass

    def choose(self, sim, pending):
        return int(pending[0]), 1  # node b, which cannot hold t2


def test_a_node_without_the_memory_is_refused(two_nodes) -> None:
    with pytest.raises(ConfigError, match="task 2 needs 3 GB; node b"):
        IoTSimulator(two_nodes, three_tasks()).run(_Stubborn())


def test_generated_replay_repeats_and_conserves_work(two_nodes) -> None:
    tasks = generated_tasks(two_nodes, GeneratorConfig(duration_s=200, peak_rate=0.05,
                                                       offpeak_rate=0.02, memory_gb=(0.1, 1.0)))  # fmt: skip
    first = IoTSimulator(two_nodes, tasks).run(make_heuristic("mct"))
    again = IoTSimulator(two_nodes, tasks).run(make_heuristic("mct"))
    assert np.array_equal(first.log.start, again.log.start)
    mips = np.asarray([1000.0, 2000.0])[first.log.node]
    assert first.busy_core_s.sum() == pytest.approx((tasks.length_mi / mips).sum())
    assert (first.response_s > 0).all()
