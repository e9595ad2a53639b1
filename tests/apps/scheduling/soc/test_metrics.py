"""Run metrics by hand: latency, utilisation and energy from busy-core counts and the power
profile, inside the measurement window."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pgsuite.apps.scheduling.soc.check import ScheduleLog
from pgsuite.apps.scheduling.soc.ds3 import read_compact_soc, read_soc
from pgsuite.apps.scheduling.soc.metrics import cluster_energy_uj, run_metrics
from pgsuite.apps.scheduling.soc.platform import Platform
from pgsuite.apps.scheduling.soc.schedulers import EarliestFinish
from pgsuite.apps.scheduling.soc.simulator import RunResult, SoCSimulator
from pgsuite.apps.scheduling.soc.workload import WorkloadConfig, generate_workload
from pgsuite.core.errors import ConfigError

POWERED = """soc: powered
resources:
  - {name: core, kind: CPU, capacity: 2, times: {first: 10, second: 20},
     power_w: {600: [0.05, 0.08], 1000: [0.1, 0.2]}}
  - {name: fast, kind: ACC, times: {second: 4}, power_w: {1000: [0.5]}}
  - {name: MEMORY, kind: MEM}
bandwidth: [[core, fast, 4], [core, MEMORY, 2], [fast, MEMORY, 2]]
"""


def _log(pe, start, end) -> RunResult:
    n = len(pe)
    log = ScheduleLog(np.zeros(n, int), np.arange(n), np.asarray(pe), np.asarray(start, float),
                      np.asarray(end, float))  # fmt: skip
    return RunResult(np.zeros(1), log, float(max(end)))


def test_energy_counts_busy_cores_at_the_top_frequency(tmp_path: Path) -> None:
    (tmp_path / "powered.yaml").write_text(POWERED)
    platform = Platform(read_compact_soc(tmp_path / "powered.yaml"))
    run = _log([0, 1, 2, 0], [0, 5, 2, 20], [10, 15, 6, 30])
    # cores: 0-5 one busy (0.1 W), 5-10 two (0.2 W), 10-15 one: 0.5 + 1 + 0.5; fast 4 x 0.5
    assert cluster_energy_uj(platform, run, 0, 15) == pytest.approx(4.0)
    assert cluster_energy_uj(platform, run, 0, 12) == pytest.approx(3.7)  # window clipped
    assert cluster_energy_uj(platform, run, 7, 12) == pytest.approx(0.8)  # 3 x 0.2 + 2 x 0.1


def test_one_job_metrics_by_hand(pair_files) -> None:
    soc_file, job_file = pair_files
    platform = Platform(read_soc(soc_file))
    jobs = generate_workload(platform, WorkloadConfig(jobs=(str(job_file),), num_jobs=1))
    metrics = run_metrics(platform, jobs, SoCSimulator(platform, jobs).run(EarliestFinish()))
    assert metrics.mean_latency_us == metrics.p95_latency_us == 16.0
    assert metrics.utilisation == pytest.approx((10 + 4) / (3 * 16))
    assert metrics.throughput_jobs_per_ms == pytest.approx(1000 / 16)
    assert metrics.energy_per_job_uj == 0.0  # the pair's SoC has no power profile


def test_warmup_is_left_out_and_checked(pair_files) -> None:
    soc_file, job_file = pair_files
    platform = Platform(read_soc(soc_file))
    config = WorkloadConfig(jobs=(str(job_file),), num_jobs=20, scale_us=5.0, seed=1)
    jobs = generate_workload(platform, config)
    result = SoCSimulator(platform, jobs).run(EarliestFinish())
    assert run_metrics(platform, jobs, result, 5).mean_latency_us == result.latency_us[5:].mean()
    assert run_metrics(platform, jobs, result, 5).jobs == 15
    with pytest.raises(ConfigError, match="warmup_jobs"):
        run_metrics(platform, jobs, result, 20)
