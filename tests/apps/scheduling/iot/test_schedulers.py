"""Every heuristic on the hand-computed 3-task x 2-node case (all tasks arrive at 0).

Times (s): t0 runs 2 on a, 1 on b, and its 1 MB input takes 1 to reach a, 0.2 to reach b; t1
runs 4 on a, 2 on b (reaching b takes 0.1); t2 runs 1 on a and does not fit b. Node b's output
link adds 0.1 to every response there.
"""

from __future__ import annotations

import numpy as np
import pytest

from pgsuite.apps.scheduling.iot.schedulers import HEURISTICS, make_heuristic
from pgsuite.apps.scheduling.iot.simulator import IoTSimulator
from pgsuite.core.errors import ConfigError

from .conftest import three_tasks

# (nodes, responses) per heuristic, worked out by hand in the module docstring's times
EXPECTED = {
    # MCT: t0 -> b (back 1.3 < 3), t1 -> b (starts 1.2, back 3.3 < 4), t2 -> a
    "mct": ([1, 1, 0], [1.3, 3.3, 1.0]),
    # MET: the fastest node, whatever the queue: the same here
    "met": ([1, 1, 0], [1.3, 3.3, 1.0]),
    # OLB: both free at 0 -> a; b frees first for t1; t2 waits for a until 3
    "olb": ([0, 1, 0], [3.0, 2.2, 4.0]),
    "round-robin": ([0, 1, 0], [3.0, 2.2, 4.0]),
    # least-loaded: no load -> a; a has one task -> b; t2 fits a only
    "least-loaded": ([0, 1, 0], [3.0, 2.2, 4.0]),
}
BATCH = {
    # best completions 1.3 (t0, b), 2.2 (t1, b), 1 (t2, a): t2 first, then t0 (1.3), t1 (3.3)
    "min-min": ([1, 1, 0], [1.3, 3.3, 1.0]),
    # t1 first (2.2, b), then t0: a 3 vs b 3.2 -> a; t2 waits for a: 4
    "max-min": ([0, 1, 0], [3.0, 2.2, 4.0]),
    # t2 cannot go elsewhere (suffers infinitely) -> a; then t1 (5 - 2.2) -> b; t0 -> a (3)
    "sufferage": ([0, 1, 0], [3.0, 2.2, 1.0]),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_immediate_heuristics_by_hand(two_nodes, name) -> None:
    result = IoTSimulator(two_nodes, three_tasks()).run(make_heuristic(name))
    nodes, responses = EXPECTED[name]
    assert result.log.node.tolist() == nodes
    assert result.response_s == pytest.approx(responses)


@pytest.mark.parametrize("name", sorted(BATCH))
def test_batch_heuristics_by_hand(two_nodes, name) -> None:
    result = IoTSimulator(two_nodes, three_tasks(), batch_s=1.0).run(make_heuristic(name))
    nodes, responses = BATCH[name]
    assert result.log.node.tolist() == nodes
    assert result.response_s == pytest.approx(responses)


def test_batch_rules_are_mct_one_task_at_a_time(two_nodes) -> None:
    mct = IoTSimulator(two_nodes, three_tasks()).run(make_heuristic("mct"))
    for name in BATCH:
        result = IoTSimulator(two_nodes, three_tasks()).run(make_heuristic(name))
        assert np.array_equal(result.log.node, mct.log.node)


def test_every_heuristic_respects_memory_and_unknown_names_are_refused(two_nodes) -> None:
    for name in HEURISTICS:
        result = IoTSimulator(two_nodes, three_tasks(), batch_s=1.0).run(make_heuristic(name))
        assert result.log.node[2] == 0  # t2 fits node a only
    with pytest.raises(ConfigError, match="unknown IoT scheduler 'fifo'"):
        make_heuristic("fifo")
