"""The hand-written two-task job and three-PE SoC that the checker and simulator tests compute by
hand."""

from __future__ import annotations

from pathlib import Path

import pytest

# the pair of test_ds3.py: a core cluster of 2 (first 10, second 20), an accelerator (second 4),
# core <-> fast at bandwidth 4, core <-> memory at 2 (so core.0 -> core.1 goes through the memory)
JOB = """job_name pair
add_new_tasks 2
first 0
first earliest_start 0 deadline 50 input_vol 0 output_vol 8
second 1 0
second earliest_start 2 deadline 60 input_vol 8 output_vol 0
comm_vol 0 1 8
"""
SOC = """add_new_resource resource_type CPU resource_name core resource_ID 0 capacity 2 num_supported_functionalities 2 DVFS_mode performance
first 10
second 20
add_new_resource resource_type ACC resource_name fast resource_ID 1 capacity 1 num_supported_functionalities 1 DVFS_mode performance
second 4
add_new_resource resource_type MEM resource_name MEMORY resource_ID 2 capacity 1 num_supported_functionalities 1 DVFS_mode none
None 0
comm_band 0 1 4
comm_band 0 2 2
comm_band 1 2 2
"""


@pytest.fixture
def pair_files(tmp_path: Path) -> tuple[Path, Path]:
    """(SoC file, job file) of the pair, written into ``tmp_path``."""
    (tmp_path / "job_pair.txt").write_text(JOB)
    (tmp_path / "SoC.pair.txt").write_text(SOC)
    return tmp_path / "SoC.pair.txt", tmp_path / "job_pair.txt"


# the canonical 10-task, 3-PE example of the HEFT paper (Topcuoglu et al. 2002, Fig. 2): every
# transfer between different PEs takes the edge's volume in µs
CANONICAL_SOC = """soc: heft_canonical
resources:
  - {name: P1, kind: CPU, times: {T1: 14, T2: 13, T3: 11, T4: 13, T5: 12, T6: 13, T7: 7, T8: 5, T9: 18, T10: 21}}
  - {name: P2, kind: CPU, times: {T1: 16, T2: 19, T3: 13, T4: 8, T5: 13, T6: 16, T7: 15, T8: 11, T9: 12, T10: 7}}
  - {name: P3, kind: CPU, times: {T1: 9, T2: 18, T3: 19, T4: 17, T5: 10, T6: 9, T7: 11, T8: 14, T9: 20, T10: 16}}
  - {name: MEMORY, kind: MEM}
bandwidth: [[P1, P2, 1], [P1, P3, 1], [P2, P3, 1], [P1, MEMORY, 1], [P2, MEMORY, 1], [P3, MEMORY, 1]]
"""
CANONICAL_JOB = """job: heft_canonical
tasks:
  T1: {}
  T2: {after: {T1: 18}}
  T3: {after: {T1: 12}}
  T4: {after: {T1: 9}}
  T5: {after: {T1: 11}}
  T6: {after: {T1: 14}}
  T7: {after: {T3: 23}}
  T8: {after: {T2: 19, T4: 27, T6: 15}}
  T9: {after: {T2: 16, T4: 23, T5: 13}}
  T10: {after: {T7: 17, T8: 11, T9: 13}}
"""


@pytest.fixture
def canonical_files(tmp_path: Path) -> tuple[Path, Path]:
    """(SoC file, job file) of the HEFT paper's canonical example, compact YAML."""
    (tmp_path / "canonical_soc.yaml").write_text(CANONICAL_SOC)
    (tmp_path / "canonical_job.yaml").write_text(CANONICAL_JOB)
    return tmp_path / "canonical_soc.yaml", tmp_path / "canonical_job.yaml"


@pytest.fixture(scope="module")
def canonical_files_module(tmp_path_factory) -> tuple[Path, Path]:
    """:func:`canonical_files` for module-scoped fixtures."""
    folder = tmp_path_factory.mktemp("canonical")
    (folder / "canonical_soc.yaml").write_text(CANONICAL_SOC)
    (folder / "canonical_job.yaml").write_text(CANONICAL_JOB)
    return folder / "canonical_soc.yaml", folder / "canonical_job.yaml"
