"""``pgsuite imaging pretrain|finetune|eval``: the imaging app's commands (the bench, the masks
picture and the demo part follow, issue 25)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pgsuite.apps.imaging.bench import ImagingBenchConfig, bench
from pgsuite.apps.imaging.data import load_split
from pgsuite.apps.imaging.train import ImagingTrainConfig, evaluate, load_classifier, train
from pgsuite.core.cli import App, Command, CommandOutput
from pgsuite.core.errors import ConfigError
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
class EvalConfig:
    """Evaluate a trained classifier on a split (no masks)."""

    run: Path = Path("runs/ft")
    """The run folder of the classifier."""
    data: Path | None = None
    """The data (default: the run's own)."""
    sets: tuple[str, ...] = ()
    """MedMNIST sets (default: the run's own)."""
    split: str = "test"
    """train, val or test."""


def eval_command(config: EvalConfig) -> CommandOutput:
    """Accuracy, balanced accuracy, macro AUC, and each per source."""
    model, _ = load_classifier(config.run)
    trained_on = load_config(config.run, "an imaging run")
    data = config.data or Path(trained_on["data"])
    sets = config.sets or tuple(trained_on.get("sets", ()))
    images = load_split(data, config.split, sets, trained_on.get("size"))
    metrics = evaluate(model, images)
    summary = {"run": str(config.run), "split": config.split, "images": len(images), **metrics}
    return CommandOutput([(f"{config.run} on {config.split}", pd.DataFrame([summary]))], summary)


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
    ],
)
