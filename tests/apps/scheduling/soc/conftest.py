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
