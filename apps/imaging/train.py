"""Training of the imaging app under the core's :class:`~pgsuite.core.trainer.Trainer` (one step =
one epoch; checkpoints, resume, early stopping on val accuracy, CSV logs, progress).

Pretraining ``--masks``:

- ``policy``: the noise-mask method: each batch's images are multiplied by masks sampled from the
  :class:`~pgsuite.apps.imaging.masks.MaskPolicy`; the classifier descends the cross-entropy on
  the masked images, and so does the policy, by policy gradient (``--mask-objective
  adversarial``: it ascends it; :func:`~pgsuite.apps.imaging.estimators.mask_policy_loss`, at a
  tenth of the classifier's learning rate). The result is the *heated*
  classifier; the policy is checkpointed beside it but never needed at inference.
- ``random``: masks from the fixed Beta(1, 1) per cell (the policy's starting distribution, never
  trained): the ablation that shows whether the policy matters.
- ``augment``: no masks, MONAI random noise and coarse dropout (the standard-augmentation baseline).
- ``none``: conventional training.

Fine-tuning is the same loop with ``--masks none`` and ``--init RUN`` (the heated classifier's
weights). Validation never uses masks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch.distributions import Beta
from torch.utils.data import DataLoader

from pgsuite.apps.imaging.data import ImageSet, load_split
from pgsuite.apps.imaging.datasets import image_dataset
from pgsuite.apps.imaging.estimators import Estimator, Objective, mask_policy_loss
from pgsuite.apps.imaging.masks import MaskPolicy, upsample_masks
from pgsuite.apps.imaging.metrics import classification_metrics
from pgsuite.apps.imaging.models import make_model
from pgsuite.core.checkpoint import load_checkpoint
from pgsuite.core.errors import ConfigError, DataError
from pgsuite.core.runs import load_config, save_config, trained_model
from pgsuite.core.seeding import seed_everything
from pgsuite.core.trainer import Trainer, TrainerConfig

MaskMode = Literal["policy", "random", "augment", "none"]


@dataclass
class ClassifierConfig:
    """The classifier (saved in the run folder's config.json)."""

    model: str = "resnet18"
    """timm model: resnet10t, resnet18 or resnet50."""
    small_stem: bool = False
    """3x3 stride-1 first convolution without max-pool (MedMNIST's choice for 28x28 images; on
    one thread about 5x the time of the standard stem: 149 s per pooled epoch of resnet10t
    against 27 s, validation included)."""
    num_classes: int = 0
    """Set from the data when training starts."""


def imaging_trainer_config(out: Path | None = None, progress: bool = True) -> TrainerConfig:
    """The trainer of the imaging runs: one step per epoch, validation and a checkpoint after
    each, the best val accuracy kept, no early stop (the budget is the epoch count)."""
    return TrainerConfig(eval_every=1, metric="val_accuracy", mode="max", checkpoint_every=1,
                         patience=None, out=out, progress=progress)  # fmt: skip


@dataclass
class ImagingTrainConfig:
    """Pretrain (with masks) or fine-tune (from --init) a classifier."""

    data: Path = Path("../shared/data/medmnist")
    """A folder of MedMNIST .npz files (with --sets) or an image-folder tree."""
    sets: tuple[str, ...] = ("breastmnist", "pneumoniamnist", "retinamnist")
    """MedMNIST sets to pool (ignored names are an error for image trees)."""
    size: int | None = None
    """Resize image-folder images to size x size (MedMNIST keeps its size)."""
    train_fraction: float = 1.0
    """Use this fraction of the training split (a fixed, seeded subset)."""
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)
    masks: MaskMode = "none"
    """policy | random | augment | none (see the module docstring)."""
    estimator: Estimator = "textbook"
    """Policy-gradient estimator of --masks policy: textbook or published."""
    mask_objective: Objective = "cost"
    """--masks policy: the policy lowers the classifier's cross-entropy (cost, as published) or
    raises it (adversarial)."""
    grid: int = 7
    """Mask cells per side."""
    mask_sigma: float = 6.0
    """Gaussian blur (pixels) of the upsampled masks (policy and random masks); 6 as published
    for 224 px images, where 28 px images may want about 1.5."""
    policy_trunk: str = "resnet10t"
    init: Path | None = None
    """Start from this run's classifier (fine-tuning a heated model; its architecture, not
    --model, is used)."""
    reset_head: bool = False
    """With --init: replace the classifier's last layer by a fresh one for this data's classes
    (transfer to a new label space); without it the class counts must match."""
    epochs: int = 30
    batch_size: int = 128
    learning_rate: float = 1e-3
    """Adam learning rate of the classifier (the policy's is a tenth)."""
    seed: int = 0
    trainer: TrainerConfig = field(default_factory=lambda: imaging_trainer_config())

    def __post_init__(self) -> None:
        if self.masks not in ("policy", "random", "augment", "none"):
            raise ConfigError(f"masks must be policy, random, augment or none, got {self.masks!r}")
        if self.epochs < 1 or self.batch_size < 1 or not self.learning_rate > 0:
            raise ConfigError("need epochs >= 1, batch_size >= 1 and learning_rate > 0")
        if self.mask_objective not in ("cost", "adversarial"):
            raise ConfigError(f"mask_objective must be cost or adversarial, got "
                              f"{self.mask_objective!r}")  # fmt: skip
        if self.estimator == "published" and self.mask_objective != "cost":
            raise ConfigError("the published estimator minimises the cost; use --estimator "
                              "textbook with --mask-objective adversarial")  # fmt: skip
        if not 0 < self.train_fraction <= 1:
            raise ConfigError(f"train_fraction must be in (0, 1], got {self.train_fraction}")
        if not self.mask_sigma > 0:
            raise ConfigError(f"mask_sigma must be > 0, got {self.mask_sigma}")


def _subset(images: ImageSet, fraction: float, seed: int) -> ImageSet:
    if fraction == 1:
        return images
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.permutation(len(images))[: max(1, round(fraction * len(images)))])
    return images.subset(keep)


def predict(model: torch.nn.Module, images: ImageSet, batch_size: int = 256) -> np.ndarray:
    """Class probabilities ``[N, C]`` of ``model`` on ``images`` (no masks)."""
    loader = DataLoader(image_dataset(images), batch_size=batch_size, shuffle=False)
    model.eval()
    out = []
    with torch.no_grad():
        for batch in loader:
            out.append(torch.softmax(model(batch["image"]), dim=1).numpy())
    return np.concatenate(out)


def evaluate(model: torch.nn.Module, images: ImageSet) -> dict[str, float]:
    """The metrics of :func:`~pgsuite.apps.imaging.metrics.classification_metrics`."""
    source_classes = [np.asarray([i for i, c in enumerate(images.classes) if c.source == name])
                      for name in images.source_names]  # fmt: skip
    return classification_metrics(images.labels, predict(model, images), images.sources,
                                  images.source_names, source_classes)  # fmt: skip


def load_classifier(path: str | Path) -> tuple[torch.nn.Module, ClassifierConfig]:
    """A trained classifier from a run folder (best.pt, else checkpoint.pt)."""
    config, weights, _ = trained_model(path, "classifier", ClassifierConfig, "an imaging run")
    model = make_model(config.model, config.num_classes, config.small_stem)
    model.load_state_dict(weights)
    return model.eval(), config


def load_mask_policy(path: str | Path) -> MaskPolicy:
    """The mask policy of a ``--masks policy`` run folder, as its last checkpoint holds it.

    Raises:
        DataError: the folder has no checkpoint, or its run trained no mask policy.
    """
    path = Path(path)
    config = load_config(path, "an imaging run")
    if config.get("masks") != "policy":
        raise DataError(f"{path} was trained with --masks {config.get('masks')}, not with the "
                        "mask policy; give a run of `pgsuite imaging pretrain --masks policy`")  # fmt: skip
    payload = load_checkpoint(path / "checkpoint.pt")
    classifier = config["classifier"]
    policy = MaskPolicy(config["policy_trunk"], config["grid"], sigma=config.get("mask_sigma", 6.0),
                        small_stem=classifier.get("small_stem", False))  # fmt: skip
    policy.load_state_dict(payload["stateful"]["policy"])
    return policy.eval()


def train(config: ImagingTrainConfig) -> dict[str, Any]:
    """Run the configured training; returns the summary (best val accuracy, time, ...)."""
    seed_everything(config.seed)
    train_set = _subset(load_split(config.data, "train", config.sets, config.size),
                        config.train_fraction, config.seed)  # fmt: skip
    val_set = load_split(config.data, "val", config.sets, config.size)
    config.classifier.num_classes = train_set.num_classes
    if config.init is not None:
        model, init_config = load_classifier(config.init)
        if config.reset_head:
            model.reset_classifier(train_set.num_classes)
        elif init_config.num_classes != train_set.num_classes:
            raise DataError(f"{config.init}: the classifier has {init_config.num_classes} classes, "
                            f"this data {train_set.num_classes} (--reset-head gives it a new "
                            "last layer)")  # fmt: skip
        config.classifier = ClassifierConfig(init_config.model, init_config.small_stem,
                                             train_set.num_classes)  # fmt: skip
        model.train()
    else:
        model = make_model(config.classifier.model, train_set.num_classes,
                           config.classifier.small_stem)  # fmt: skip
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    policy = policy_optimizer = None
    stateful: dict[str, Any] = {}
    if config.masks == "policy":
        policy = MaskPolicy(config.policy_trunk, config.grid, sigma=config.mask_sigma,
                            small_stem=config.classifier.small_stem)  # fmt: skip
        policy_optimizer = torch.optim.Adam(policy.parameters(), lr=config.learning_rate / 10)
        stateful = {"policy": policy, "policy_optimizer": policy_optimizer}
    generator = torch.Generator().manual_seed(config.seed)
    loader = DataLoader(image_dataset(train_set, augment=config.masks == "augment", seed=config.seed),
                        batch_size=config.batch_size, shuffle=True, generator=generator)  # fmt: skip

    def masked(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        if config.masks == "policy":
            masks, log_density = policy.sample_masks(images)
            return images * masks, log_density
        if config.masks == "random":
            cells = Beta(1.0, 1.0).sample((len(images), config.grid * config.grid))
            masks = upsample_masks(cells, config.grid, images.shape[-2:], sigma=config.mask_sigma)
            return images * masks, None
        return images, None

    def step(epoch: int) -> dict[str, float]:
        model.train()
        total, policy_total, seen = 0.0, 0.0, 0
        for batch in loader:
            images, labels = batch["image"], batch["label"]
            inputs, log_density = masked(images)
            costs = F.cross_entropy(model(inputs), labels, reduction="none")
            loss = costs.mean()
            optimizer.zero_grad()
            if log_density is not None:
                policy_optimizer.zero_grad()
                policy_loss = mask_policy_loss(
                    config.estimator, costs, log_density, config.mask_objective
                )
                (loss + policy_loss).backward()  # the textbook loss detaches the costs
                policy_optimizer.step()
                policy_total += float(policy_loss.detach()) * len(labels)
            else:
                loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(labels)
            seen += len(labels)
        metrics = {"loss": total / seen}
        if policy is not None:
            metrics["policy_loss"] = policy_total / seen
        return metrics

    def dev() -> dict[str, float]:
        return {f"val_{k}": v for k, v in evaluate(model, val_set).items()}

    trainer_config = config.trainer
    trainer_config.max_steps = config.epochs
    if trainer_config.out is not None:
        save_config(trainer_config.out, config)
    result = Trainer(trainer_config, step, model, optimizer, dev, stateful).fit()
    return {
        "masks": config.masks,
        "model": config.classifier.model,
        "epochs": result.steps,
        "stop_reason": result.stop_reason,
        "best_val_accuracy": result.best_value,
        "best_epoch": result.best_step,
        "train_time_s": result.wall_time_s,
        "train_images": len(train_set),
    }
