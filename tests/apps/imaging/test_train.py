"""The training loop on a tiny pooled npz pair: every mask mode trains, checkpoints and reports;
a heated run fine-tunes from its classifier; a class-count mismatch is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from pgsuite.apps.imaging.data import load_split
from pgsuite.apps.imaging.train import (
    ClassifierConfig,
    ImagingTrainConfig,
    evaluate,
    load_classifier,
    train,
)
from pgsuite.core.errors import ConfigError, DataError
from pgsuite.core.trainer import TrainerConfig

from .conftest import write_npz


def _npz(path: Path, classes: int, n: int = 24, size: int = 12) -> None:
    write_npz(path, classes, n, size, cue=True)


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("npz")
    _npz(folder / "a.npz", 2)
    _npz(folder / "b.npz", 3)
    return folder


def _trainer(out: Path) -> TrainerConfig:
    return TrainerConfig(eval_every=1, metric="val_accuracy", mode="max", out=out, progress=False)


def _config(data: Path, out: Path, **options) -> ImagingTrainConfig:
    return ImagingTrainConfig(
        data=data, sets=("a", "b"), classifier=ClassifierConfig("resnet10t"), epochs=2,
        batch_size=16, grid=3, trainer=_trainer(out), **options,
    )  # fmt: skip


@pytest.mark.parametrize("masks", ["policy", "random", "augment", "none"])
def test_every_mask_mode_trains_and_checkpoints(data: Path, tmp_path: Path, masks: str) -> None:
    summary = train(_config(data, tmp_path / masks, masks=masks))
    assert summary["epochs"] == 2
    assert 0 <= summary["best_val_accuracy"] <= 1
    assert (tmp_path / masks / "best.pt").is_file()
    model, config = load_classifier(tmp_path / masks)
    assert config.num_classes == 5
    metrics = evaluate(model, load_split(data, "test", ["a", "b"]))
    assert {"accuracy", "balanced_accuracy", "auc", "accuracy/a", "auc/b"} <= set(metrics)


def test_heated_run_fine_tunes_and_mismatch_is_refused(data: Path, tmp_path: Path) -> None:
    train(_config(data, tmp_path / "heated", masks="policy", estimator="published"))
    summary = train(_config(data, tmp_path / "ft", init=tmp_path / "heated", train_fraction=0.5))
    assert summary["train_images"] == 24
    with pytest.raises(DataError, match="classes"):
        train(ImagingTrainConfig(data=data, sets=("a",), init=tmp_path / "heated", epochs=1,
                                 trainer=TrainerConfig(progress=False)))  # fmt: skip


def test_reset_head_transfers_to_a_new_label_space_with_the_init_architecture(
    data: Path, tmp_path: Path
) -> None:
    train(ImagingTrainConfig(data=data, sets=("b",), classifier=ClassifierConfig("resnet10t"),
                             epochs=1, batch_size=16, trainer=_trainer(tmp_path / "pre")))  # fmt: skip
    summary = train(ImagingTrainConfig(
        data=data, sets=("a",), init=tmp_path / "pre", reset_head=True, epochs=1, batch_size=16,
        classifier=ClassifierConfig("resnet18"), trainer=_trainer(tmp_path / "ft"),
    ))  # fmt: skip
    assert summary["model"] == "resnet10t"  # the init run's architecture, whatever --model says
    model, config = load_classifier(tmp_path / "ft")
    assert (config.model, config.num_classes) == ("resnet10t", 2)
    pretrained, _ = load_classifier(tmp_path / "pre")
    assert pretrained.fc.out_features == 3
    assert model.fc.out_features == 2
    assert model.state_dict().keys() == pretrained.state_dict().keys()


def test_mask_sigma_must_be_positive(data: Path) -> None:
    with pytest.raises(ConfigError, match="mask_sigma"):
        ImagingTrainConfig(data=data, mask_sigma=0.0)
