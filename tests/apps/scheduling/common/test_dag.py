"""TaskGraph: a DAG job is checked on construction (edges, cycles, times) and answers
predecessors, successors, heads, tails and a topological order."""

from __future__ import annotations

import numpy as np
import pytest

from pgsuite.apps.scheduling.common.dag import TaskGraph
from pgsuite.core.errors import DataError

DIAMOND = TaskGraph("diamond", ("a", "b", "c", "d"), [[0, 1], [0, 2], [1, 3], [2, 3]], [1, 2, 3, 4])


def test_a_diamond_answers_its_structure() -> None:
    assert DIAMOND.num_tasks == 4
    assert DIAMOND.predecessors(3).tolist() == [1, 2]
    assert DIAMOND.successors(0).tolist() == [1, 2]
    assert DIAMOND.heads.tolist() == [0]
    assert DIAMOND.tails.tolist() == [3]
    assert DIAMOND.topological_order().tolist() == [0, 1, 2, 3]
    assert DIAMOND.find_cycle() == []
    assert DIAMOND.earliest_start.tolist() == [0, 0, 0, 0]
    assert np.isinf(DIAMOND.deadline).all()
    assert DIAMOND.task_names == ("a", "b", "c", "d")


def test_topological_order_puts_every_task_after_its_predecessors() -> None:
    rng = np.random.default_rng(0)
    for _ in range(50):
        count = int(rng.integers(2, 12))
        pairs = {(int(a), int(b)) for a, b in rng.integers(0, count, size=(20, 2)) if a < b}
        permutation = rng.permutation(count)  # relabel, so ids are not already in order
        edges = [[permutation[a], permutation[b]] for a, b in sorted(pairs)]
        graph = TaskGraph("g", ("t",) * count, np.asarray(edges).reshape(-1, 2), [1.0] * len(edges))
        position = np.empty(count, dtype=int)
        position[graph.topological_order()] = np.arange(count)
        assert all(position[a] < position[b] for a, b in graph.edges)


@pytest.mark.parametrize(
    ("edges", "message"),
    [
        ([[0, 1], [1, 2], [2, 0]], "cycle: a -> b -> c -> a"),
        ([[0, 1], [1, 0]], "cycle"),
        ([[0, 0]], "precedes itself"),
        ([[0, 5]], "outside 0..2"),
        ([[0, 1], [0, 1]], "given twice"),
    ],
)
def test_malformed_graphs_are_refused(edges, message) -> None:
    with pytest.raises(DataError, match="job 'bad'") as error:
        TaskGraph("bad", ("a", "b", "c"), edges, [1.0] * len(edges))
    assert message in str(error.value)


def test_bad_volumes_and_times_are_refused() -> None:
    with pytest.raises(DataError, match="volumes must be finite and >= 0"):
        TaskGraph("bad", ("a", "b"), [[0, 1]], [-1.0])
    with pytest.raises(DataError, match="earliest start times must be >= 0"):
        TaskGraph("bad", ("a", "b"), [[0, 1]], [1.0], earliest_start=[-1, 0])
    with pytest.raises(DataError, match="deadline before its earliest start"):
        TaskGraph("bad", ("a", "b"), [[0, 1]], [1.0], earliest_start=[5, 0], deadline=[4, 9])
    with pytest.raises(DataError, match="no task"):
        TaskGraph("bad", (), [], [])
