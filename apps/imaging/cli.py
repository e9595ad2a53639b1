"""``pgsuite imaging pretrain|finetune|eval|bench|masks``: the imaging app's commands."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from pgsuite.apps.imaging.bench import ImagingBenchConfig, bench, bench_cell
from pgsuite.apps.imaging.data import ImageSet, load_split, medmnist_folder
from pgsuite.apps.imaging.datasets import image_dataset
from pgsuite.apps.imaging.figures import save_mask_grid
from pgsuite.apps.imaging.train import (
    ImagingTrainConfig,
    evaluate,
    load_classifier,
    load_mask_policy,
    train,
)
from pgsuite.core.cli import App, Command, CommandOutput
from pgsuite.core.demo import DemoConfig
from pgsuite.core.errors import ConfigError, DataError
from pgsuite.core.runs import load_config, save_results


@dataclass
class PretrainConfig(ImagingTrainConfig):
    """Pretrain a classifier with noise masks (default: the learned policy) -> a heated model."""

    masks: str = "policy"
    """policy | random | augment | none."""


@dataclass
class FinetuneConfig(ImagingTrainConfig):
    """Fine-tune a (heated) classifier without masks: --init RUN is required."""

    epochs: int = 10


def _train_output(config: ImagingTrainConfig, title: str) -> CommandOutput:
    summary = train(config)
    if config.trainer.out is not None:
        save_results(config.trainer.out, summary)
    return CommandOutput([(title, pd.DataFrame([summary]))], summary)


def pretrain_command(config: PretrainConfig) -> CommandOutput:
    return _train_output(config, f"pretraining, masks: {config.masks}")


def finetune_command(config: FinetuneConfig) -> CommandOutput:
    if config.init is None:
        raise ConfigError("finetune needs --init RUN, the run folder of the model to start from")
    return _train_output(config, f"fine-tuning from {config.init}")


@dataclass
class RunData:
    """A run folder and the data to read with it (by default the data it was trained on)."""

    data: Path | None = None
    """The data (default: the run's own)."""
    sets: tuple[str, ...] = ()
    """MedMNIST sets (default: the run's own)."""

    def images(self, run: Path, split: str) -> ImageSet:
        """``split`` of this data, the run's own where not given."""
        trained_on = load_config(run, "an imaging run")
        return load_split(self.data or Path(trained_on["data"]), split,
                          self.sets or tuple(trained_on.get("sets", ())),
                          trained_on.get("size"))  # fmt: skip


@dataclass
class EvalConfig(RunData):
    """Evaluate a trained classifier on a split (no masks)."""

    run: Path = Path("runs/ft")
    """The run folder of the classifier."""
    split: str = "test"
    """train, val or test."""


def eval_command(config: EvalConfig) -> CommandOutput:
    """Accuracy, balanced accuracy, macro AUC, and each per source."""
    model, _ = load_classifier(config.run)
    images = config.images(config.run, config.split)
    metrics = evaluate(model, images)
    summary = {"run": str(config.run), "split": config.split, "images": len(images), **metrics}
    return CommandOutput([(f"{config.run} on {config.split}", pd.DataFrame([summary]))], summary)


@dataclass
class MasksConfig(RunData):
    """Save a PNG of images, the masks a trained policy samples for them, and the masked images."""

    run: Path = Path("runs/heated")
    """A run folder of `pgsuite imaging pretrain --masks policy`."""
    split: str = "val"
    """train, val or test."""
    count: int = 8
    """Images to show (spread evenly over the split's sources)."""
    mean: bool = False
    """Show the running-mean mask (what evaluation during pretraining uses) instead of samples."""
    seed: int = 0
    out: Path = Path("masks.png")

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ConfigError(f"count must be >= 1, got {self.count}")


def masks_command(config: MasksConfig) -> CommandOutput:
    """The PNG grid, and each shown mask's mean and range."""
    policy = load_mask_policy(config.run)
    images = config.images(config.run, config.split)
    rng = np.random.default_rng(config.seed)
    per_source = [rng.permutation(np.flatnonzero(images.sources == s))
                  for s in range(len(images.source_names))]  # fmt: skip
    picked = [i for group in zip(*per_source, strict=False) for i in group][: config.count]
    dataset = image_dataset(images.subset(np.asarray(picked)))
    batch = torch.stack([dataset[i]["image"] for i in range(len(dataset))])
    torch.manual_seed(config.seed)
    with torch.no_grad():
        masks = policy.mean_masks(batch) if config.mean else policy.sample_masks(batch)[0]
    titles = [images.classes[images.labels[i]].name for i in picked]
    path = save_mask_grid(batch.numpy(), masks.numpy(), titles, config.out)
    table = pd.DataFrame({
        "image": picked, "class": titles,
        "mask_mean": masks.mean(dim=(1, 2, 3)).numpy(),
        "mask_min": masks.amin(dim=(1, 2, 3)).numpy(),
        "mask_max": masks.amax(dim=(1, 2, 3)).numpy(),
    })  # fmt: skip
    summary = {"png": str(path), "masks": table.to_dict(orient="records")}
    return CommandOutput([(f"masks of {config.run} ({path})", table)], summary)


DEMO_MASKS = Path("runs/demo/imaging_masks.png")


def demo(demo_config: DemoConfig) -> list[tuple[str, pd.DataFrame]]:
    """Conventional against heated pretraining, each + the same fine-tuning, on a quarter of the
    pooled MedMNIST training images (resnet10t, 3 + 2 epochs; the bench uses all images and more
    epochs), and the learned masks saved as a PNG. Skipped, with the reason, without MedMNIST."""
    try:
        data = medmnist_folder()
    except DataError as error:
        return [("imaging: skipped", pd.DataFrame({"reason": [str(error)]}))]
    epochs = (1, 1) if demo_config.quick else (3, 2)
    rows = []
    with tempfile.TemporaryDirectory() as runs:
        config = ImagingBenchConfig(
            data=data, models=("resnet10t",), pretrain_epochs=epochs[0],
            finetune_epochs=epochs[1], train_fraction=0.1 if demo_config.quick else 0.25,
            runs_dir=Path(runs),
        )  # fmt: skip
        for method in ("conventional", "heated"):
            cell = bench_cell(config, method, "resnet10t", demo_config.seed)
            rows.append({"method": method, **{k: cell[k] for k in (
                "accuracy", "balanced_accuracy", "auc", "train_time_s")}})  # fmt: skip
        heated = Path(runs) / "pooled" / "resnet10t" / "heated" / f"seed{demo_config.seed}"
        masks_command(MasksConfig(run=heated / "pretrain", data=data, out=DEMO_MASKS))
    title = (f"imaging: conventional vs heated pretraining + fine-tuning (resnet10t, "
             f"{config.train_fraction:g} of pooled MedMNIST train, {epochs[0]} + {epochs[1]} "
             f"epochs; pooled test; masks in {DEMO_MASKS})")  # fmt: skip
    return [(title, pd.DataFrame(rows).round(3))]


APP = App(
    "imaging",
    "medical image classification pretrained with policy-gradient noise masks",
    commands=[
        Command(
            "pretrain",
            "pretrain a classifier with noise masks",
            PretrainConfig,
            pretrain_command,
            json_output=True,
        ),
        Command(
            "finetune",
            "fine-tune a classifier without masks",
            FinetuneConfig,
            finetune_command,
            json_output=True,
        ),
        Command(
            "eval", "evaluate a classifier on a split", EvalConfig, eval_command, json_output=True
        ),
        Command(
            "bench",
            "heated + fine-tuned against conventional, random masks and augmentation",
            ImagingBenchConfig,
            bench,
            json_output=True,
        ),
        Command(
            "masks",
            "save a PNG of images, their learned masks and the masked images",
            MasksConfig,
            masks_command,
            json_output=True,
        ),
    ],
    demo=demo,
)
