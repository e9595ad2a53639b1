"""The imaging bench on two tiny npz sets: every method's two stages run, the tables and the
targets are written, finished stages are reused, a run folder of other settings is refused, and
the transfer suite fine-tunes a new head on the held-out set."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from pgsuite.apps.imaging.bench import ImagingBenchConfig, bench
from pgsuite.core.bench import BenchmarkError
from pgsuite.core.errors import ConfigError

from .conftest import write_npz


def _npz(path: Path, classes: int, n: int = 16, size: int = 12) -> None:
    write_npz(path, classes, n, size)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("npz")
    _npz(folder / "a.npz", 2)
    _npz(folder / "b.npz", 3)
    return folder


def _config(data: Path, tmp_path: Path, **options) -> ImagingBenchConfig:
    settings = dict(data=data, sets=("a", "b"), models=("resnet10t",), seeds=(0,),
                    pretrain_epochs=1, finetune_epochs=1, batch_size=8,
                    runs_dir=tmp_path / "runs", results_dir=tmp_path / "results")  # fmt: skip
    return ImagingBenchConfig(**{**settings, **options})


def test_pooled_suite_writes_tables_and_reuses_finished_stages(data: Path, tmp_path: Path) -> None:
    config = _config(data, tmp_path, methods=("conventional", "heated"))
    output = bench(config)
    rows = pd.read_csv(tmp_path / "results" / "imaging_pooled.csv")
    assert sorted(rows["method"]) == ["conventional", "heated"]
    assert {"accuracy", "balanced_accuracy", "auc", "accuracy/a", "auc/b", "train_time_s",
            "pretrain_time_s", "finetune_time_s"} <= set(rows.columns)  # fmt: skip
    assert (rows["train_time_s"] > 0).all()
    targets = output.summary["targets"]
    assert [t["model"] for t in targets] == ["resnet10t"]
    assert set(targets[0]) >= {"vs_conventional", "a_vs_conventional", "b_vs_conventional"}
    assert (tmp_path / "results" / "imaging_pooled.png").stat().st_size > 1000
    heated = tmp_path / "runs" / "pooled" / "resnet10t" / "heated" / "seed0"
    stamp = (heated / "finetune" / "best.pt").stat().st_mtime_ns
    again = pd.read_csv(tmp_path / "results" / "imaging_pooled.csv")
    bench(config)  # every stage is finished: reused, only evaluated
    assert (heated / "finetune" / "best.pt").stat().st_mtime_ns == stamp
    pd.testing.assert_series_equal(
        pd.read_csv(tmp_path / "results" / "imaging_pooled.csv")["accuracy"], again["accuracy"]
    )
    with pytest.raises(BenchmarkError, match="holds a run with other epochs"):
        bench(_config(data, tmp_path, methods=("heated",), pretrain_epochs=2))


def test_transfer_suite_fine_tunes_the_held_out_set(data: Path, tmp_path: Path) -> None:
    config = _config(data, tmp_path, suite="transfer", transfer_target="a",
                     transfer_fraction=0.5, methods=("conventional", "scratch"))  # fmt: skip
    bench(config)
    rows = pd.read_csv(tmp_path / "results" / "imaging_transfer.csv")
    assert sorted(rows["method"]) == ["conventional", "scratch"]
    scratch = rows.set_index("method").loc["scratch"]
    assert scratch["pretrain_time_s"] == 0
    assert "accuracy/b" not in rows.columns  # tested on the target only
    runs = tmp_path / "runs" / "transfer" / "resnet10t"
    assert not (runs / "scratch" / "seed0" / "pretrain").exists()
    pre = json.loads((runs / "conventional" / "seed0" / "pretrain" / "config.json").read_text())
    ft = json.loads((runs / "conventional" / "seed0" / "finetune" / "config.json").read_text())
    assert (pre["sets"], ft["sets"], ft["reset_head"]) == (["b"], ["a"], True)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"methods": ("scratch",)}, "unknown method"),
        ({"models": ("vgg",)}, "unknown model"),
        ({"suite": "transfer", "transfer_target": "c"}, "not among --sets"),
        ({"train_fraction": 0.0}, "train_fraction"),
    ],
)
def test_bad_settings_are_refused(data: Path, tmp_path: Path, options, message) -> None:
    with pytest.raises(ConfigError, match=message):
        _config(data, tmp_path, **options)
