"""``pgsuite imaging bench``: heated + fine-tuned classifiers against conventional training, the
random-mask ablation and standard augmentation, same budgets, several seeds.

Every method is a pretraining stage of ``--pretrain-epochs`` followed by the same fine-tuning
stage of ``--finetune-epochs`` without masks (Adam at ``--finetune-lr``, from the pretraining's
best-on-val classifier); the test metrics are those of the fine-tuning's best-on-val classifier.

Methods (the pretraining stage):
    ``conventional``: no masks (so conventional training gets the same total epochs and the same
    fine-tuning as the others); ``heated``: masks from the learned Beta policy, the textbook
    estimator; ``heated-published``: the same with the published estimator;
    ``heated-adversarial``: the policy raises the cross-entropy instead; ``random-mask``:
    masks from the fixed Beta(1, 1); ``augment``: MONAI random noise and coarse dropout;
    ``scratch`` (transfer suite only): no pretraining, the fine-tuning stage alone from random
    weights for the same total epochs.

Suites:
    ``pooled``: pretrain and fine-tune on the pooled sets (9 classes for breast, pneumonia and
    retina), test on the pooled test split: accuracy, balanced accuracy, macro AUC and per-source
    accuracy and AUC (``imaging_pooled.{csv,md}``, ``imaging_pooled_targets.md``,
    ``imaging_pooled.png``).
    ``transfer``: pretrain on every set but ``--transfer-target``, fine-tune a new last layer on
    ``--transfer-fraction`` of the target's training split, test on the target's test split
    (``imaging_transfer.*``).

Each stage is a run folder under ``--runs-dir``; a finished stage (its ``results.json``) is
reused, an interrupted one resumes from its checkpoint, so an interrupted bench loses at most the
epoch in progress. A folder that holds a run of other settings is refused, never overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from pgsuite.apps.imaging.data import load_split
from pgsuite.apps.imaging.estimators import Estimator, Objective
from pgsuite.apps.imaging.models import MODELS
from pgsuite.apps.imaging.train import (
    ClassifierConfig,
    ImagingTrainConfig,
    MaskMode,
    evaluate,
    imaging_trainer_config,
    load_classifier,
    train,
)
from pgsuite.core.bench import run_bench, write_table
from pgsuite.core.cli import CommandOutput
from pgsuite.core.distributed import BackendConfig
from pgsuite.core.errors import ConfigError
from pgsuite.core.runs import jsonable, load_config, load_results, save_results

DOCS = ("docs/imaging.md",)
PRETRAINING: dict[str, tuple[MaskMode, Estimator, Objective]] = {
    "conventional": ("none", "textbook", "cost"),
    "heated": ("policy", "textbook", "cost"),
    "heated-published": ("policy", "published", "cost"),
    "heated-adversarial": ("policy", "textbook", "adversarial"),
    "random-mask": ("random", "textbook", "cost"),
    "augment": ("augment", "textbook", "cost"),
}
METHODS = (*PRETRAINING, "scratch")
DEFAULT_METHODS = ("conventional", "heated", "random-mask", "augment")
COMPARED = ("seed", "epochs", "masks", "estimator", "mask_objective", "learning_rate",
            "batch_size", "sets", "train_fraction", "reset_head", "grid", "mask_sigma")  # fmt: skip
"""The settings a reused run folder must share with the stage the bench asks for."""


@dataclass
class ImagingBenchConfig:
    """pgsuite imaging bench: heated + fine-tuned against the baselines, same budgets."""

    suite: Literal["pooled", "transfer"] = "pooled"
    """pooled (train and test on the pooled sets) or transfer (fine-tune on an unseen set)."""
    data: Path = Path("../shared/data/medmnist")
    sets: tuple[str, ...] = ("breastmnist", "pneumoniamnist", "retinamnist")
    models: tuple[str, ...] = ("resnet18", "resnet10t")
    methods: tuple[str, ...] = DEFAULT_METHODS
    """conventional, heated, heated-published, random-mask, augment (transfer also: scratch)."""
    seeds: tuple[int, ...] = (0, 1, 2)
    pretrain_epochs: int = 10
    finetune_epochs: int = 5
    learning_rate: float = 1e-3
    """Adam learning rate of pretraining (the mask policy's is a tenth)."""
    finetune_lr: float = 1e-4
    batch_size: int = 128
    small_stem: bool = False
    mask_sigma: float = 6.0
    """Gaussian blur (pixels) of the heated and random masks."""
    train_fraction: float = 1.0
    """The share of the training split(s) used for pretraining (and pooled fine-tuning), a
    seeded subset; below 1 only for smoke runs such as the demo (the tables use 1)."""
    transfer_target: str = "retinamnist"
    """transfer: the set held out of pretraining and fine-tuned on."""
    transfer_fraction: float = 0.1
    """transfer: the share of the target's training split used for fine-tuning."""
    runs_dir: Path = Path("runs/imaging_bench")
    results_dir: Path = Path("benchmarks/results")
    backend: BackendConfig = field(default_factory=BackendConfig)

    def __post_init__(self) -> None:
        allowed = METHODS if self.suite == "transfer" else tuple(PRETRAINING)
        unknown = [m for m in self.methods if m not in allowed]
        if unknown:
            raise ConfigError(f"unknown method(s) {unknown} for the {self.suite} suite; choose "
                              f"from {', '.join(allowed)}")  # fmt: skip
        bad_models = [m for m in self.models if m not in MODELS]
        if bad_models:
            raise ConfigError(f"unknown model(s) {bad_models}; choose from {', '.join(MODELS)}")
        if self.pretrain_epochs < 1 or self.finetune_epochs < 1:
            raise ConfigError("pretrain_epochs and finetune_epochs must be >= 1")
        if self.suite == "transfer" and self.transfer_target not in self.sets:
            raise ConfigError(f"transfer_target {self.transfer_target!r} is not among --sets "
                              f"{list(self.sets)}")  # fmt: skip
        if self.suite == "transfer" and len(self.sets) < 2:
            raise ConfigError("the transfer suite needs at least two sets")
        for name in ("train_fraction", "transfer_fraction"):
            if not 0 < getattr(self, name) <= 1:
                raise ConfigError(f"{name} must be in (0, 1], got {getattr(self, name)}")


def _stage(config: ImagingTrainConfig) -> dict[str, Any]:
    """Train ``config`` into its run folder, or reuse / resume what the folder holds."""
    out = config.trainer.out
    if (out / "config.json").is_file():
        saved = load_config(out)
        wanted = jsonable(config)
        defaults = jsonable(ImagingTrainConfig())  # settings added since the folder was written
        differs = [k for k in COMPARED if saved.get(k, defaults.get(k)) != wanted.get(k)]
        differs += ["model"] * (saved["classifier"]["model"] != config.classifier.model)
        if differs:
            raise ConfigError(f"{out} holds a run with other {', '.join(differs)}; delete it or "
                              "choose another --runs-dir")  # fmt: skip
        if (out / "results.json").is_file():
            return load_results(out)
        config.trainer.resume = (out / "checkpoint.pt").is_file()
    summary = train(config)
    save_results(out, summary)
    return summary


def _run_config(config: ImagingBenchConfig, model: str, seed: int, out: Path,
                **options: Any) -> ImagingTrainConfig:  # fmt: skip
    return ImagingTrainConfig(
        data=config.data, classifier=ClassifierConfig(model, config.small_stem),
        batch_size=config.batch_size, seed=seed,
        trainer=imaging_trainer_config(out, progress=False), **options,
    )  # fmt: skip


def _pretrain_sets(config: ImagingBenchConfig) -> tuple[str, ...]:
    if config.suite == "pooled":
        return config.sets
    return tuple(s for s in config.sets if s != config.transfer_target)


def _finetune_sets(config: ImagingBenchConfig) -> tuple[str, ...]:
    return config.sets if config.suite == "pooled" else (config.transfer_target,)


def bench_cell(config: ImagingBenchConfig, method: str, model: str, seed: int) -> dict[str, Any]:
    """One (method, model, seed) cell: its two stages, then the test metrics."""
    root = config.runs_dir / config.suite / model / method / f"seed{seed}"
    transfer = config.suite == "transfer"
    fraction = config.transfer_fraction if transfer else config.train_fraction
    times = {"pretrain_time_s": 0.0}
    if method == "scratch":
        final = root / "finetune"
        summary = _stage(_run_config(
            config, model, seed, final, sets=_finetune_sets(config), train_fraction=fraction,
            epochs=config.pretrain_epochs + config.finetune_epochs, learning_rate=config.finetune_lr,
        ))  # fmt: skip
    else:
        masks, estimator, objective = PRETRAINING[method]
        pre = _stage(_run_config(
            config, model, seed, root / "pretrain", sets=_pretrain_sets(config), masks=masks,
            estimator=estimator, mask_objective=objective, epochs=config.pretrain_epochs, learning_rate=config.learning_rate,
            train_fraction=config.train_fraction, mask_sigma=config.mask_sigma,
        ))  # fmt: skip
        times["pretrain_time_s"] = pre["train_time_s"]
        final = root / "finetune"
        summary = _stage(_run_config(
            config, model, seed, final, sets=_finetune_sets(config), train_fraction=fraction,
            init=root / "pretrain", reset_head=transfer, epochs=config.finetune_epochs,
            learning_rate=config.finetune_lr,
        ))  # fmt: skip
    times["finetune_time_s"] = summary["train_time_s"]
    classifier, _ = load_classifier(final)
    metrics = evaluate(classifier, load_split(config.data, "test", _finetune_sets(config)))
    return {**metrics, **times, "train_time_s": sum(times.values())}


def _metric_columns(config: ImagingBenchConfig) -> list[str]:
    columns = ["accuracy", "balanced_accuracy", "auc"]
    if config.suite == "pooled":
        columns += [f"{kind}/{s}" for kind in ("accuracy", "auc") for s in config.sets]
    return [*columns, "train_time_s"]


def bench(config: ImagingBenchConfig) -> CommandOutput:
    """Run the suite's grid (methods x models x seeds) and write its tables and plot."""
    name = f"imaging_{config.suite}"

    def method_fn(method: str):
        def run(model: str, seed: int) -> dict[str, Any]:
            return bench_cell(config, method, model, seed)

        return run

    where = (f"pooled {'+'.join(config.sets)}" if config.suite == "pooled" else
             f"{'+'.join(_pretrain_sets(config))} -> {config.transfer_target} "
             f"({config.transfer_fraction:g} of its training split)")  # fmt: skip
    rows, paths = run_bench(
        {m: method_fn(m) for m in config.methods},
        {m: m for m in config.models},
        list(config.seeds),
        name=name,
        metrics=_metric_columns(config),
        results_dir=config.results_dir,
        title=f"Imaging, {where}: test metrics after {config.pretrain_epochs} pretraining + "
        f"{config.finetune_epochs} fine-tuning epochs",
        docs=DOCS,
        backend=config.backend,
        config=config,
    )
    targets = target_table(rows, config.sets if config.suite == "pooled" else ())
    write_table(targets, f"{name}_targets", "Heated + fine-tuned against the baselines (points of "
                "test accuracy, mean over seeds)", config.results_dir, note=TARGET_NOTE,
                docs=DOCS, floatfmt=".2f")  # fmt: skip
    plot_accuracy(rows, config.results_dir / f"{name}.png")
    summary = {"csv": str(paths["csv"]), "targets": targets.to_dict(orient="records")}
    return CommandOutput([(f"{name} (test accuracy)", accuracy_table(rows)),
                          ("targets", targets)], summary)  # fmt: skip


TARGET_NOTE = (
    "Per model: the heated + fine-tuned model's pooled test accuracy minus each baseline's "
    "(points, mean over the seeds both have; positive: heated is better), and per source minus "
    "conventional's; `seeds`: heated's runs. "
    "Targets (pooled): at least +2 points over conventional, above conventional on every source, "
    "above random-mask; (transfer): above conventional."
)


def accuracy_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean ± std of test accuracy: a row per method, a column per model."""
    stats = rows.groupby(["method", "group"], sort=False)["accuracy"].agg(["mean", "std", "size"])
    text = stats.apply(lambda r: f"{r['mean']:.3f} ± {np.nan_to_num(r['std']):.3f} "
                       f"(n={int(r['size'])})", axis=1)  # fmt: skip
    return text.unstack("group").reset_index()


def target_table(rows: pd.DataFrame, sources: tuple[str, ...]) -> pd.DataFrame:
    """Heated minus each baseline, per model, over the seeds both have (paired; empty without
    heated rows)."""
    out = []
    for model, part in rows.groupby("group", sort=False):
        heated = part[part["method"] == "heated"].set_index("seed")
        if heated.empty:
            continue
        line: dict[str, Any] = {"model": model, "heated_accuracy": heated["accuracy"].mean(),
                                "seeds": len(heated)}  # fmt: skip
        for baseline, other in part.groupby("method", sort=False):
            if baseline == "heated":
                continue
            other = other.set_index("seed")
            common = heated.index.intersection(other.index)
            if len(common) == 0:
                continue
            line[f"vs_{baseline}"] = 100 * (heated.loc[common, "accuracy"].mean()
                                            - other.loc[common, "accuracy"].mean())  # fmt: skip
            if baseline == "conventional":
                for source in sources:
                    column = f"accuracy/{source}"
                    line[f"{source}_vs_conventional"] = 100 * (
                        heated.loc[common, column].mean() - other.loc[common, column].mean()
                    )
        out.append(line)
    return pd.DataFrame(out)


def plot_accuracy(rows: pd.DataFrame, path: Path) -> Path:
    """Test accuracy by method (bars: mean, whiskers: std over seeds), one panel per model."""
    models = list(rows["group"].unique())
    figure = Figure(figsize=(4.5 * len(models), 3.6))
    FigureCanvasAgg(figure)
    for i, model in enumerate(models):
        ax = figure.add_subplot(1, len(models), i + 1)
        stats = rows[rows["group"] == model].groupby("method", sort=False)["accuracy"]
        mean, std = stats.mean(), stats.std().fillna(0.0)
        ax.bar(range(len(mean)), mean.values, yerr=std.values, capsize=3, color="tab:blue")
        ax.set_xticks(range(len(mean)), mean.index, rotation=30, ha="right")
        ax.set_ylim(
            max(0.0, float((mean - std).min()) - 0.05), min(1.0, float((mean + std).max()) + 0.03)
        )
        ax.set_title(model)
        ax.set_ylabel("test accuracy")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    return path
