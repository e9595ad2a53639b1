"""The DS3 readers: the shipped jobs and SoCs load by name with the figures of their files (when
../shared/data/soc/ds3 is present), a hand-written pair round-trips, and every malformed file is a
DataError naming its line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pgsuite.apps.scheduling.soc.ds3 import (
    DS3_FOLDER,
    JOB_NAMES,
    SOC_NAMES,
    check_job_runs_on,
    load_job,
    load_soc,
    read_job,
    read_soc,
)
from pgsuite.core.errors import DataError

needs_ds3 = pytest.mark.skipif(
    not (DS3_FOLDER / "config_Jobs").is_dir(),
    reason=f"the DS3 configuration files are not at {DS3_FOLDER}",
)

JOB = """# a two-task job
job_name pair
add_new_tasks 2
first 0
first HEAD
first earliest_start 0 deadline 50 input_vol 0 output_vol 8
second 1 0
second TAIL
second earliest_start 2 deadline 60 input_vol 8 output_vol 0

comm_vol 0 1 8
"""

SOC = """add_new_resource resource_type CPU resource_name core resource_ID 0 capacity 2 num_supported_functionalities 2 DVFS_mode performance
opp 1000 900
trip_freq -1 -1 -1
power_profile 1000 0.1 0.2
PG_profile 1000 0.05 0.1
first 10
second 20

add_new_resource resource_type ACC resource_name fast resource_ID 1 capacity 1 num_supported_functionalities 1 DVFS_mode performance
opp 1000 900
power_profile 1000 0.05
second 4 4

add_new_resource resource_type MEM resource_name MEMORY resource_ID 2 capacity 1 num_supported_functionalities 1 DVFS_mode none
None 0

comm_band_self 1000
comm_band 0 1 4
comm_band 0 2 2
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_hand_written_job_and_soc_load(tmp_path) -> None:
    job = read_job(_write(tmp_path, "job_pair.txt", JOB))
    assert job.name == "pair"
    assert job.task_types == ("first", "second")
    assert job.edges.tolist() == [[0, 1]]
    assert job.volumes.tolist() == [8.0]
    assert job.earliest_start.tolist() == [0.0, 2.0]
    assert job.deadline.tolist() == [50.0, 60.0]
    soc = read_soc(_write(tmp_path, "SoC.pair.txt", SOC))
    assert [r.name for r in soc.processing] == ["core", "fast"]
    assert soc.num_cores == 3
    assert soc.resources[0].execution_time_us == {"first": 10.0, "second": 20.0}
    assert soc.resources[0].power_w == {1000.0: (0.1, 0.2)}
    assert soc.resources[1].execution_time_us == {"second": 4.0}
    assert soc.supporting("second") == [0, 1]
    assert soc.bandwidth[1, 0] == soc.bandwidth[0, 1] == 4.0
    assert np.isnan(soc.bandwidth[1, 2])
    assert soc.self_bandwidth == 1000.0
    check_job_runs_on(job, soc)


BAD_JOBS = {
    "missing predecessor": (
        JOB.replace("second 1 0", "second 1 7").replace("comm_vol 0 1 8", ""),
        ":7: task 'second' follows task 7",
    ),
    "cycle": (JOB.replace("first 0\n", "first 0 1\n"), "cycle: first -> second -> first"),
    "negative deadline": (JOB.replace("deadline 60", "deadline -3"), ":9: deadline must be >= 0"),
    "negative volume": (JOB.replace("comm_vol 0 1 8", "comm_vol 0 1 -8"), ":11: the data volume"),
    "comm_vol without edge": (JOB.replace("comm_vol 0 1 8", "comm_vol 1 0 8"), "does not follow"),
    "count": (JOB.replace("add_new_tasks 2", "add_new_tasks 3"), ":3: add_new_tasks 3, but 2"),
    "duplicate id": (JOB.replace("second 1 0", "second 0"), ":7: task id 0 defined twice"),
    "no name": (JOB.replace("job_name pair\n", ""), "no 'job_name' line"),
    "bad id": (JOB.replace("second 1 0", "second one 0"), ":7: a task id must be an integer"),
    "times first": (JOB.replace("first 0\n", ""), ":4: HEAD of task 'first' before its id line"),
}


@pytest.mark.parametrize("case", sorted(BAD_JOBS))
def test_malformed_jobs_name_the_file_and_line(tmp_path, case) -> None:
    text, message = BAD_JOBS[case]
    path = _write(tmp_path, "job_bad.txt", text)
    with pytest.raises(DataError) as error:
        read_job(path)
    assert str(path) in str(error.value)
    assert message in str(error.value)


BAD_SOCS = {
    "no memory": (SOC.split("add_new_resource resource_type MEM")[0] + "comm_band 0 1 4\n",
                  "no memory resource"),
    "negative time": (SOC.replace("second 20", "second -20"), ":7: the execution time of 'second'"),
    "declared count": (SOC.replace("capacity 1 num_supported_functionalities 1 DVFS_mode performance",
                                   "capacity 1 num_supported_functionalities 2 DVFS_mode performance"),
                       ":9: resource 'fast' declares 2 supported tasks but lists 1"),
    "zero capacity": (SOC.replace("capacity 2", "capacity 0"), ":1: capacity must be >= 1"),
    "unknown band": (SOC.replace("comm_band 0 2 2", "comm_band 0 9 2"), "comm_band names resource 9"),
    "ids": (SOC.replace("resource_ID 1", "resource_ID 4"), "resource ids must be 0 .. 2"),
    "before resource": ("first 10\n" + SOC, ":1: 'first' before the first add_new_resource"),
    "unknown key": (SOC.replace("DVFS_mode none", "DVFS none"), "unknown resource attribute 'DVFS'"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_SOCS))
def test_malformed_socs_name_the_file_and_line(tmp_path, case) -> None:
    text, message = BAD_SOCS[case]
    path = _write(tmp_path, "SoC.bad.txt", text)
    with pytest.raises(DataError) as error:
        read_soc(path)
    assert str(path) in str(error.value)
    assert message in str(error.value)


def test_a_task_no_processing_element_runs_is_named(tmp_path) -> None:
    job = read_job(_write(tmp_path, "job_pair.txt", JOB.replace("second", "third")))
    soc = read_soc(_write(tmp_path, "SoC.pair.txt", SOC))
    with pytest.raises(DataError, match=r"task 1 \('third'\) runs on no processing element"):
        check_job_runs_on(job, soc)


def test_unknown_names_and_missing_folders_are_clear(tmp_path, monkeypatch) -> None:
    with pytest.raises(DataError, match=r"no job file nope\.txt"):
        load_job("nope.txt")
    with pytest.raises(DataError, match="no SoC file"):
        load_soc(tmp_path / "none.txt")
    monkeypatch.setenv("PGSUITE_DS3", str(tmp_path))
    with pytest.raises(DataError, match="DS3 configuration folder is not at"):
        load_job("Top")


@needs_ds3
def test_the_ds3_jobs_load_by_name_with_their_sizes() -> None:
    sizes = {name: load_job(name).num_tasks for name in JOB_NAMES}
    assert sizes == {
        "WIFI_5TXM": 27, "WIFI_5RXM": 34, "SCT": 8, "SCR": 8, "LAG": 7, "TEMP_MIT": 10, "Top": 10,
    }  # fmt: skip
    top = load_job("Top")  # the canonical DAG of the HEFT paper: its 15 edges and data volumes
    edges = {(int(a) + 1, int(b) + 1): v for (a, b), v in zip(top.edges, top.volumes, strict=True)}
    assert edges == {
        (1, 2): 18, (1, 3): 12, (1, 4): 9, (1, 5): 11, (1, 6): 14, (2, 8): 19, (2, 9): 16,
        (3, 7): 23, (4, 8): 27, (4, 9): 23, (5, 9): 13, (6, 8): 15, (7, 10): 17, (8, 10): 11,
        (9, 10): 13,
    }  # fmt: skip


@needs_ds3
def test_the_ds3_socs_load_by_name_and_run_their_jobs() -> None:
    soc = load_soc("MULTIPLE_BAL")
    assert [(r.name, r.capacity) for r in soc.processing] == [
        ("A7", 4), ("A15", 4), ("MM", 2), ("FFT", 4), ("VIT", 2),
    ]  # fmt: skip
    assert soc.num_cores == 16
    a7, a15 = soc.resources[0].execution_time_us, soc.resources[1].execution_time_us
    assert (a7["ifft_1"], a15["ifft_1"], soc.resources[3].execution_time_us["ifft_1"]) == (
        296,
        118,
        16,
    )
    assert (a7["viterbi_decoder"], a15["viterbi_decoder"]) == (1828, 739)  # the first listing
    for name in JOB_NAMES[:-1]:
        check_job_runs_on(load_job(name), soc)
    top = load_soc("Top")
    assert [r.execution_time_us["task_1"] for r in top.processing] == [14, 16, 9]
    check_job_runs_on(load_job("Top"), top)
    for name in SOC_NAMES:
        assert load_soc(name).num_cores >= 3


COMPACT_JOB = """job: pair
tasks:
  first: {deadline: 50}
  second: {after: {first: 8}, earliest_start: 2, deadline: 60}
"""

COMPACT_SOC = """soc: pair
resources:
  - {name: core, kind: CPU, capacity: 2, times: {first: 10, second: 20},
     power_w: {1000: [0.1, 0.2]}}
  - {name: fast, kind: ACC, times: {second: 4}}
  - {name: MEMORY, kind: MEM}
self_bandwidth: 1000
bandwidth: [[core, fast, 4], [core, MEMORY, 2]]
"""


def test_the_compact_form_reads_as_the_ds3_text_form(tmp_path) -> None:
    text_job = read_job(_write(tmp_path, "job_pair.txt", JOB))
    compact_job = load_job(_write(tmp_path, "pair.yaml", COMPACT_JOB))
    for name in ("edges", "volumes", "earliest_start", "deadline"):
        assert np.array_equal(getattr(text_job, name), getattr(compact_job, name)), name
    assert compact_job.task_types == text_job.task_types
    assert compact_job.name == "pair"
    text_soc = read_soc(_write(tmp_path, "SoC.pair.txt", SOC))
    compact_soc = load_soc(_write(tmp_path, "pair_soc.yaml", COMPACT_SOC))
    assert np.array_equal(text_soc.bandwidth, compact_soc.bandwidth, equal_nan=True)
    assert compact_soc.self_bandwidth == text_soc.self_bandwidth
    for mine, theirs in zip(compact_soc.resources, text_soc.resources, strict=True):
        assert (mine.name, mine.kind, mine.capacity) == (theirs.name, theirs.kind, theirs.capacity)
        assert mine.execution_time_us == theirs.execution_time_us
    assert compact_soc.resources[0].power_w == {1000.0: (0.1, 0.2)}
    json_job = _write(tmp_path, "pair.json", '{"tasks": {"a": {}, "b": {"after": ["a"]}}}')
    assert load_job(json_job).edges.tolist() == [[0, 1]]


BAD_COMPACT = {
    "unknown predecessor": ("job", COMPACT_JOB.replace("{first: 8}", "{zero: 8}"),
                            "tasks.second.after names unknown task 'zero'"),
    "negative volume": ("job", COMPACT_JOB.replace("{first: 8}", "{first: -8}"),
                        "tasks.second.after.first must be a number >= 0"),
    "cycle": ("job", COMPACT_JOB.replace("first: {deadline: 50}",
                                         "first: {deadline: 50, after: [second]}"), "cycle"),
    "unknown key": ("job", COMPACT_JOB.replace("deadline: 50", "dedline: 50"), "unknown key(s)"),
    "no tasks": ("job", "job: empty\n", "'tasks' must map task names"),
    "not yaml": ("job", "tasks: [unclosed\n", "job file"),
    "no memory": ("soc", COMPACT_SOC.replace("  - {name: MEMORY, kind: MEM}\n", "")
                  .replace(", [core, MEMORY, 2]", ""), "no memory resource"),
    "negative time": ("soc", COMPACT_SOC.replace("second: 4", "second: -4"),
                      "resources[1].times.second must be a number >= 0"),
    "unknown resource": ("soc", COMPACT_SOC.replace("[core, fast, 4]", "[core, slow, 4]"),
                         "bandwidth names unknown resource 'slow'"),
    "capacity": ("soc", COMPACT_SOC.replace("capacity: 2", "capacity: 0"), "capacity must be >= 1"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(BAD_COMPACT))
def test_malformed_compact_files_are_data_errors(tmp_path, case) -> None:
    kind, text, message = BAD_COMPACT[case]
    path = _write(tmp_path, f"bad_{kind}.yaml", text)
    with pytest.raises(DataError) as error:
        (load_job if kind == "job" else load_soc)(path)
    assert str(path) in str(error.value)
    assert message in str(error.value)
