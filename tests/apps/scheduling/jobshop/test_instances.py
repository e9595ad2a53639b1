"""Instances: both file formats round-trip, malformed files give line-numbered errors, the classic
set loads with its bounds, the random generator is seeded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pgsuite.apps.scheduling.jobshop.instances import (
    benchmark_names,
    load_benchmark,
    random_instance,
    read_instance,
    write_instance,
)
from pgsuite.core.errors import ConfigError, DataError

STANDARD = """# a comment line
2 3
0 3 1 2 2 2   # job 0
0 2 2 1 1 4
"""
TAILLARD = """2 3
3 2 2
2 1 4
1 2 3
1 3 2
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "instance.txt"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("text", "fmt"), [(STANDARD, "standard"), (TAILLARD, "taillard")])
def test_both_formats_read_the_same_instance(tmp_path: Path, text: str, fmt: str) -> None:
    instance = read_instance(_write(tmp_path, text), fmt)
    np.testing.assert_array_equal(instance.durations, [[3, 2, 2], [2, 1, 4]])
    np.testing.assert_array_equal(instance.machines, [[0, 1, 2], [0, 2, 1]])


@pytest.mark.parametrize("fmt", ["standard", "taillard"])
def test_write_then_read_round_trips(tmp_path: Path, fmt: str) -> None:
    instance = random_instance(5, 4, seed=3)
    path = tmp_path / f"x.{fmt}"
    write_instance(instance, path, fmt)
    again = read_instance(path, fmt)
    np.testing.assert_array_equal(again.durations, instance.durations)
    np.testing.assert_array_equal(again.machines, instance.machines)


@pytest.mark.parametrize(
    ("text", "fmt", "message"),
    [
        ("", "standard", "empty instance file"),
        ("2\n", "standard", ":1: expected 2 integers"),
        ("2 3\n0 3 1 2 2 2\n", "standard", "expected 2 data lines"),
        ("2 3\n0 3 1 2 2 2\n0 2 2 1 1\n", "standard", ":3: expected 6 integers"),
        (
            "2 3\n0 3 1 x 2 2\n0 2 2 1 1 4\n",
            "standard",
            ":2: machine duration pairs must be integers",
        ),
        ("2 3\n0 3 0 2 2 2\n0 2 2 1 1 4\n", "standard", ":2: job 0 must visit every machine"),
        ("2 3\n0 3 1 -2 2 2\n0 2 2 1 1 4\n", "standard", ":2: negative duration"),
        (
            "2 3\n3 2 2\n2 1 4\n1 2 3\n0 3 2\n",
            "taillard",
            ":5: job 1 must visit every machine 1..3",
        ),
        ("2 3\n3 2 2\n2 1 4\n1 2 3\n", "taillard", "expected 4 data lines"),
    ],
)
def test_malformed_files_name_the_line(tmp_path: Path, text: str, fmt: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        read_instance(_write(tmp_path, text), fmt)


def test_missing_file_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such instance file"):
        read_instance(tmp_path / "nope.txt")


def test_classic_set_and_corrected_taillard_optima() -> None:
    names = benchmark_names()
    assert len(names) == 162
    assert {"ft06", "la01", "abz5", "orb01", "swv01", "yn1", "ta01", "ta80"} <= set(names)
    assert [load_benchmark(n).optimum for n in ("ta03", "ta06", "ta09")] == [1218, 1238, 1274]
    ft06 = load_benchmark("ft06")
    assert (ft06.size, ft06.optimum, ft06.best_known) == ("6x6", 55, 55)
    assert load_benchmark("ta71").size == "100x20"
    with pytest.raises(ConfigError, match="unknown benchmark instance"):
        load_benchmark("ta99")


def test_random_instances_are_seeded_taillard_style() -> None:
    a, b, c = random_instance(6, 4, 1), random_instance(6, 4, 1), random_instance(6, 4, 2)
    np.testing.assert_array_equal(a.durations, b.durations)
    np.testing.assert_array_equal(a.machines, b.machines)
    assert not np.array_equal(a.durations, c.durations)
    assert a.durations.min() >= 1
    assert a.durations.max() <= 99
    assert (np.sort(a.machines, axis=1) == np.arange(4)).all()
