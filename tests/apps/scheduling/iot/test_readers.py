"""Cluster files and presets, task CSV files, the Alibaba trace conversion and the generator:
what they read, and a one-line error naming the line or key for each kind of bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pgsuite.apps.scheduling.iot.cluster import load_cluster, preset_names, read_cluster
from pgsuite.apps.scheduling.iot.tasks import parse_sla, read_task_csv, write_task_csv
from pgsuite.apps.scheduling.iot.workloads import (
    TRACE_FILE,
    GeneratorConfig,
    TraceConfig,
    arrival_times,
    generated_tasks,
    trace_tasks,
)
from pgsuite.core.errors import ConfigError, DataError

from .conftest import TWO_NODES, three_tasks, write_cluster


def test_presets_have_the_documented_sizes() -> None:
    assert preset_names() == ["large", "small"]
    small, large = load_cluster("small"), load_cluster("large")
    assert (small.size, large.size) == (10, 120)
    assert {n.tier for n in small.nodes} == {"edge", "cloud"}
    g4 = small.nodes[0]
    assert g4.power_w(0.0) == 86
    assert g4.power_w(0.25) == pytest.approx((92.6 + 96) / 2)
    cloud = small.nodes[-1]
    assert cloud.power_w(0.5) == pytest.approx((1332 + 1648) / 2)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"mips": -1}, r"nodes\[0\].mips must be > 0"),
        ({"cores": 1.5}, r"nodes\[0\].cores must be an integer"),
        ({"tier": "fog"}, "tier must be edge or cloud"),
        ({"speed": 3}, "unknown key"),
        ({"power_max_w": 5}, "power must not fall"),
        ({"power_table_w": [1, 2]}, "must list 11 values"),
    ],
)
def test_bad_cluster_files_name_the_key(tmp_path: Path, change, message) -> None:
    document = {"nodes": [{**TWO_NODES["nodes"][0], **change}]}
    if "power_table_w" in change:
        del document["nodes"][0]["power_idle_w"], document["nodes"][0]["power_max_w"]
    with pytest.raises(DataError, match=message):
        read_cluster(write_cluster(tmp_path / "c.yaml", document))
    with pytest.raises(DataError, match="no cluster preset or file 'medium'"):
        load_cluster("medium")


def test_task_csv_round_trip_and_bad_rows(tmp_path: Path) -> None:
    tasks = three_tasks(arrival=(0.0, 1.5, 2.0))
    path = write_task_csv(tasks, tmp_path / "tasks.csv")
    again = read_task_csv(path)
    assert np.array_equal(again.length_mi, tasks.length_mi)
    assert np.array_equal(again.deadline_s, tasks.deadline_s)
    lines = path.read_text().splitlines()
    for row, message in [("3.0,-5,0,0,1,9,default", ":5: length_mi must be finite and >= 0"),
                         ("3.0,5,0,0,1,2,default", ":5: deadline_s 2 is before arrival_s 3"),
                         ("1.0,5,0,0,1,9,default", ":5: arrival_s goes back in time"),
                         ("3.0,x,0,0,1,9,default", ":5: length_mi is not a number")]:  # fmt: skip
        bad = tmp_path / "bad.csv"
        bad.write_text("\n".join([*lines, row]) + "\n")
        with pytest.raises(DataError, match=message):
            read_task_csv(bad)
    bad.write_text("arrival_s,length_mi\n0,1\n")
    with pytest.raises(DataError, match="missing column"):
        read_task_csv(bad)


def test_sla_specs() -> None:
    classes = parse_sla(("gold:0.25:2", "rest:0.75:10"))
    assert [c.slack for c in classes] == [2.0, 10.0]
    with pytest.raises(ConfigError, match="sum to 1"):
        parse_sla(("gold:0.5:2",))


def _trace(path: Path, rows: list[str]) -> Path:
    header = ",submit_time,duration,cpu,memory,job_id,task_id,instances_num,disk"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_trace_conversion_by_hand(tmp_path: Path, two_nodes) -> None:
    path = _trace(
        tmp_path / "t.csv", ["0,10,4.0,0.5,0.03125,1,1,120,0", "1,2,1.0,1.0,0.03125,1,2,1,0"]
    )
    config = TraceConfig(trace=path, instances_per_request=50, reference_mips=1000,
                         machine_memory_gb=32, time_compression=2.0)  # fmt: skip
    tasks = trace_tasks(two_nodes, config)
    # row 2 (1 request at 2 s) first; row 1: 3 requests spread over [10, 14) -> 10, 11.33, 12.67
    assert tasks.arrival_s.tolist() == pytest.approx([1.0, 5.0, 5 + 4 / 6, 5 + 8 / 6])
    assert tasks.length_mi.tolist() == pytest.approx([1000.0, 2000.0, 2000.0, 2000.0])
    assert tasks.memory_gb.tolist() == pytest.approx([1.0] * 4)
    assert (tasks.deadline_s > tasks.arrival_s).all()
    bursts = trace_tasks(two_nodes, TraceConfig(trace=path, spread=False))
    assert bursts.arrival_s.tolist() == [2.0, 10.0, 10.0, 10.0]


@pytest.mark.parametrize(
    ("row", "message"),
    [("0,10,-4,0.5,0.1,1,1,1,0", ":2: duration must be finite and >= 0, got -4"),
     ("0,10,0,0.5,0.1,1,1,1,0", ":2: duration and cpu must be > 0"),
     ("0,x,4,0.5,0.1,1,1,1,0", ":2: submit_time is not a number: 'x'")],
)  # fmt: skip
def test_bad_trace_rows_name_the_line(tmp_path: Path, two_nodes, row, message) -> None:
    with pytest.raises(DataError, match=message):
        trace_tasks(two_nodes, TraceConfig(trace=_trace(tmp_path / "t.csv", [row])))
    (tmp_path / "cols.csv").write_text("submit_time,duration\n0,1\n")
    with pytest.raises(DataError, match="missing column"):
        trace_tasks(two_nodes, TraceConfig(trace=tmp_path / "cols.csv"))


@pytest.mark.skipif(
    not TRACE_FILE.is_file(), reason="the Alibaba trace (../shared/data/cloud) is absent"
)
def test_the_real_trace_converts() -> None:
    tasks = trace_tasks(load_cluster("small"), TraceConfig())
    assert len(tasks) == 76_470  # sum of ceil(instances / 50) over the 31,756 rows
    assert tasks.arrival_s[-1] <= 59_829 + 3_700
    assert (np.diff(tasks.arrival_s) >= 0).all()


def test_generator_rates_and_seeds(two_nodes) -> None:
    config = GeneratorConfig(duration_s=20_000, peak_rate=2.0, offpeak_rate=0.5, period_s=100,
                             peak_fraction=0.5, memory_gb=(0.1, 1.0))  # fmt: skip
    times = arrival_times(config, np.random.default_rng(0))
    in_peak = (times % 100) < 50
    assert in_peak.sum() / 10_000 == pytest.approx(2.0, rel=0.05)
    assert (~in_peak).sum() / 10_000 == pytest.approx(0.5, rel=0.05)
    small = GeneratorConfig(duration_s=100, memory_gb=(0.1, 1.0))
    a, b = generated_tasks(two_nodes, small), generated_tasks(two_nodes, small)
    assert np.array_equal(a.length_mi, b.length_mi)
    assert (a.length_mi >= 15_000).all()
    assert (a.length_mi <= 900_000).all()
