"""The IoT bench: load scaling of the generator, one cell, the target table, a tiny grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pgsuite.apps.scheduling.iot.bench import (
    IoTBenchConfig,
    bench,
    instances,
    stream,
    stream_cell,
    target_table,
)
from pgsuite.apps.scheduling.iot.cluster import load_cluster
from pgsuite.apps.scheduling.iot.workloads import GOCJ_CLASSES_MI, GeneratorConfig, at_load
from pgsuite.core.errors import ConfigError


def test_at_load_offers_the_share_of_capacity() -> None:
    cluster = load_cluster("small")
    scaled = at_load(cluster, GeneratorConfig(), 0.5)
    assert scaled.peak_rate / scaled.offpeak_rate == pytest.approx(4.0)
    mean_rate = 0.3 * scaled.peak_rate + 0.7 * scaled.offpeak_rate
    mean_mi = np.dot((0.4, 0.25, 0.15, 0.15, 0.05), np.mean(GOCJ_CLASSES_MI, axis=1))
    assert mean_rate * mean_mi == pytest.approx(0.5 * 165_240)
    with pytest.raises(ConfigError, match="load"):
        at_load(cluster, GeneratorConfig(), 0.0)


def test_every_method_of_a_cell_gets_the_same_stream() -> None:
    config = IoTBenchConfig(loads=(0.5,), with_trace=False, duration_s=60.0)
    assert instances(config) == ["small/load=0.5"]
    _, first = stream(config, "small/load=0.5", 1)
    _, again = stream(config, "small/load=0.5", 1)
    _, other = stream(config, "small/load=0.5", 2)
    assert np.array_equal(first.arrival_s, again.arrival_s)
    assert not np.array_equal(first.arrival_s[:5], other.arrival_s[:5])
    mct = stream_cell(config, "mct", "small/load=0.5", 1)
    batch = stream_cell(config, "min-min", "small/load=0.5", 1)
    assert mct["tasks"] == batch["tasks"] == len(first)
    assert (mct["batch_s"], batch["batch_s"]) == (0.0, 2.0)
    assert (
        stream_cell(config, "mct", "small/load=0.5", 1)["mean_response_s"]
        == (mct["mean_response_s"])
    )


def test_target_table_by_hand() -> None:
    rows = pd.DataFrame([
        {"instance": "s/trace", "method": m, "seed": 0, "mean_response_s": r, "utilisation": u,
         "energy_kwh": e, "sla_compliance": 1.0, "p95_response_s": 0.0, "load_imbalance": 0.0,
         "decisions_per_s": 1.0}
        for m, r, u, e in (("mct", 10.0, 0.5, 2.0), ("olb", 20.0, 0.5, 2.0),
                           ("rl", 12.5, 0.4, 2.5), ("hybrid", 8.0, 0.6, 1.5))
    ])  # fmt: skip
    table = target_table(rows).iloc[0]
    assert table["best_heuristic"] == "mct"
    assert table["response_vs_best_pct"] == pytest.approx(-20.0)
    assert table["util_vs_best_pct"] == pytest.approx(20.0)
    assert table["energy_vs_best_pct"] == pytest.approx(-25.0)
    assert table["response_vs_rl_pct"] == pytest.approx(-36.0)
    assert target_table(rows[rows.method != "hybrid"]).empty


def test_tiny_grid_writes_its_tables(tmp_path: Path) -> None:
    config = IoTBenchConfig(loads=(0.4,), with_trace=False, duration_s=40.0, seeds=(0,),
                            methods=("mct", "rl", "hybrid"), results_dir=tmp_path)  # fmt: skip
    output = bench(config)
    rows = pd.read_csv(tmp_path / "iot_streams.csv")
    assert sorted(rows["method"]) == ["hybrid", "mct", "rl"]
    assert (tmp_path / "iot_targets.md").is_file()
    assert (tmp_path / "iot_load.png").is_file()
    assert output.summary["targets"][0]["stream"] == "small/load=0.4"


@pytest.mark.parametrize(("options", "message"), [
    ({"methods": ("mct", "magic")}, "magic"),
    ({"batch_s": 0.0}, "batch_s"),
    ({"loads": (), "with_trace": False}, "no stream"),
])  # fmt: skip
def test_bad_settings(options, message) -> None:
    with pytest.raises(ConfigError, match=message):
        IoTBenchConfig(**options)
