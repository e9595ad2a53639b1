"""Hyper-parameter sweeps of any app's training with Ray Tune: ``pgsuite <app> sweep``.

A sweep runs an app's own ``train`` command many times with options drawn from a *search space*
file, each run (a *trial*) a normal run folder ``<out>/trials/<trial id>/`` (checkpoints, metrics,
``config.json``, ``results.json``, plus ``options.json``: every option value of the trial). Trials
report each dev evaluation of the shared :class:`~pgsuite.core.trainer.Trainer` to Tune (through
:func:`~pgsuite.core.trainer.evaluation_listener`); the trainer's ``--metric`` / ``--mode`` are the
sweep's objective, and ASHA (asynchronous successive halving) stops trials whose dev metric lags
behind at its rungs. At the end the sweep writes ``<out>/trials.csv`` / ``trials.md`` (one row per
trial) and ``<out>/best_config.json``: every option of the best trial (by its best dev evaluation),
which ``pgsuite <app> train --config <out>/best_config.json --out runs/best`` trains again.

The search space is a YAML or JSON mapping from train option names to a distribution or a
constant::

    learning_rate: {loguniform: [1.0e-4, 1.0e-2]}   # low > 0, high
    entropy: {uniform: [0.0, 0.05]}                   # low, high
    batch_size: {randint: [256, 2049]}                # integers, low inclusive, high exclusive
    hidden: {choice: [[32, 32], [64, 64, 64]]}        # one of the candidates
    max_steps: 400                                    # a constant for every trial

Trials are drawn by random search (seeded by ``--search-seed``); each runs as a Ray task with
``--cpus-per-trial`` CPUs (its torch threads) and ``--gpus-per-trial`` GPUs, on a Ray instance
started for the sweep or on a cluster (``--ray-address``; see ``docs/cluster.md``).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import math
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import torch

from pgsuite.core.cli import (
    Command,
    CommandOutput,
    config_from_args,
    flat_config,
    markdown_table,
    option_name,
    read_mapping_file,
)
from pgsuite.core.distributed import BackendConfig, connect
from pgsuite.core.errors import ConfigError, PgsuiteError
from pgsuite.core.runs import read_json, write_json
from pgsuite.core.trainer import evaluation_listener

DISTRIBUTIONS = ("uniform", "loguniform", "randint", "choice")
"""The distributions a search-space file may name (Ray Tune's of the same names)."""

_RUN_OPTIONS = ("out", "resume")
"""Options the sweep sets for each trial itself: they cannot be searched or fixed by the space."""

OPTIONS_NAME = "options.json"
BEST_CONFIG_NAME = "best_config.json"


class SweepError(PgsuiteError):
    """No trial of a sweep produced a dev evaluation (the message quotes the first error)."""

    exit_code = 1


@dataclass
class SweepOptions:
    """How a sweep searches (the app's train options say what each trial trains)."""

    space: Path
    """Search space: a YAML or JSON file mapping train option names to a distribution
    ({uniform: [low, high]}, loguniform, randint, {choice: [...]}) or to a constant."""
    trials: int = 8
    """Trials to run (configurations drawn from the space)."""
    scheduler: Literal["asha", "fifo"] = "asha"
    """asha (stop trials whose dev metric lags at successive-halving rungs) or fifo (run every
    trial to its end)."""
    grace_period: int = 2
    """Dev evaluations every trial gets before ASHA may stop it."""
    reduction_factor: int = 3
    """ASHA keeps the best 1/reduction_factor of the trials at each rung."""
    max_evaluations: int | None = None
    """ASHA's horizon: a trial reaching this many dev evaluations is stopped (default: one more
    than a full training run makes, max_steps / eval_every + 2)."""
    search_seed: int = 0
    """Seed of the random search over the space (each trial's own seed is a train option)."""
    cpus_per_trial: float = 1.0
    """CPUs each trial requests (its torch threads: the integer part, at least 1)."""
    gpus_per_trial: float = 0.0
    """GPUs each trial requests (fractions share a GPU)."""
    ray_address: str | None = None
    """Ray cluster to run on: auto or HOST:PORT (default: start a Ray instance on this machine)."""
    ray_num_cpus: int | None = None
    """CPUs of the Ray instance started on this machine (default: all; ignored with
    ray_address)."""

    def __post_init__(self) -> None:
        self.space = Path(self.space)
        for name in ("trials", "grace_period"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.reduction_factor < 2:
            raise ConfigError(f"reduction_factor must be >= 2, got {self.reduction_factor}")
        if self.max_evaluations is not None and self.max_evaluations < self.grace_period:
            raise ConfigError(
                f"max_evaluations ({self.max_evaluations}) must be >= grace_period "
                f"({self.grace_period})"
            )
        if self.search_seed < 0:
            raise ConfigError(f"search_seed must be >= 0, got {self.search_seed}")
        if not self.cpus_per_trial > 0 or self.gpus_per_trial < 0:
            raise ConfigError("cpus_per_trial must be > 0 and gpus_per_trial >= 0")
        if self.scheduler not in ("asha", "fifo"):
            raise ConfigError(f"scheduler must be asha or fifo, got {self.scheduler!r}")
        # the same checks as a bench's Ray options
        BackendConfig("ray", self.ray_address, ray_num_cpus=self.ray_num_cpus)


@dataclass(frozen=True)
class Dimension:
    """One searched option: ``kind`` is a :data:`DISTRIBUTIONS` name or ``"constant"``;
    ``values`` are (low, high), the candidates, or the constant."""

    name: str
    kind: str
    values: tuple[Any, ...]

    def tune_domain(self) -> Any:
        """The Ray Tune search domain (or the constant itself)."""
        from ray import tune

        if self.kind == "constant":
            return self.values[0]
        if self.kind == "choice":
            return tune.choice(list(self.values))
        return getattr(tune, self.kind)(*self.values)


def _numbers(path: Path, name: str, kind: str, values: Any) -> tuple[float, float]:
    if (
        not isinstance(values, list)
        or len(values) != 2
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    ):
        raise ConfigError(f"search space {path}: {name}: {kind} takes [low, high], got {values!r}")
    low, high = values
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ConfigError(f"search space {path}: {name}: {kind} needs finite low < high")
    if kind == "loguniform" and low <= 0:
        raise ConfigError(f"search space {path}: {name}: loguniform needs low > 0, got {low}")
    if kind == "randint" and not all(float(v).is_integer() for v in values):
        raise ConfigError(f"search space {path}: {name}: randint takes integers, got {values}")
    return (int(low), int(high)) if kind == "randint" else (float(low), float(high))


def _dimension(path: Path, name: str, spec: Any) -> Dimension:
    if not isinstance(spec, dict):
        return Dimension(name, "constant", (spec,))
    if len(spec) != 1 or next(iter(spec)) not in DISTRIBUTIONS:
        raise ConfigError(
            f"search space {path}: {name}: expected one of {list(DISTRIBUTIONS)} (e.g. "
            f"{{uniform: [0.1, 0.5]}}) or a constant, got {spec!r}"
        )
    kind, values = next(iter(spec.items()))
    if kind == "choice":
        if not isinstance(values, list) or not values:
            raise ConfigError(f"search space {path}: {name}: choice takes a non-empty list")
        return Dimension(name, kind, tuple(values))
    return Dimension(name, kind, _numbers(path, name, kind, values))


def _candidates(dimension: Dimension) -> list[Any]:
    """Values that must all be valid for the option: the candidates, constant or range ends."""
    if dimension.kind == "randint":
        return [dimension.values[0], dimension.values[1] - 1]
    return list(dimension.values)


def read_space(path: Path, train_config: type, base: Mapping[str, Any]) -> list[Dimension]:
    """The searched options of ``path``, each value checked by building the train config with it.

    Args:
        path: the search-space file (YAML or JSON).
        train_config: the app's train config class (a dataclass, nested ones flattened).
        base: ``{option: value}`` of every train option (the values not searched).

    Raises:
        ConfigError: unreadable file, unknown option, malformed distribution, or a value the
            train config rejects (the message names the option and the value).
    """
    dimensions = []
    for key, spec in read_mapping_file(path, "search space").items():
        name = option_name(key)
        if name in _RUN_OPTIONS:
            raise ConfigError(f"search space {path}: {name} is set by the sweep for each trial")
        if name not in base:
            raise ConfigError(f"search space {path}: the train command has no option {name!r}")
        dimension = _dimension(path, name, spec)
        for value in _candidates(dimension):
            try:
                build_config(train_config, {**base, name: value})
            except (ConfigError, TypeError, ValueError) as error:
                raise ConfigError(f"search space {path}: {name}={value!r}: {error}") from None
        dimensions.append(dimension)
    if not dimensions:
        raise ConfigError(f"search space {path} names no option")
    return dimensions


def build_config(train_config: type, values: Mapping[str, Any]) -> Any:
    """``train_config`` built (and validated by its ``__post_init__``) from flat option values."""
    return config_from_args(train_config, argparse.Namespace(**values))


def _absolute(values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` with relative paths made absolute: trials may run in another directory."""
    return {k: v.resolve() if isinstance(v, Path) else v for k, v in values.items()}


def run_trial(
    params: Mapping[str, Any],
    *,
    train_config: type,
    train: Callable[[Any], Any],
    base: Mapping[str, Any],
    root: Path,
    threads: int,
) -> None:
    """One trial inside a Ray Tune worker: the app's train command on ``base`` updated with
    ``params``, in ``<root>/trials/<trial id>``, reporting every dev evaluation to Tune."""
    from ray import tune

    from pgsuite.core.cli import silence_known_warnings

    silence_known_warnings()
    torch.set_num_threads(threads)
    folder = root / "trials" / tune.get_context().get_trial_id()
    values = {**base, **params, "out": folder, "resume": False, "progress": False}
    write_json(folder / OPTIONS_NAME, {k: v for k, v in values.items() if k not in _RUN_OPTIONS})
    config = build_config(train_config, values)
    with evaluation_listener(lambda step, metrics: tune.report({**metrics, "step": step})):
        train(config)


def _scheduler(options: SweepOptions, base: Mapping[str, Any]) -> Any:
    from ray.tune.schedulers import ASHAScheduler, FIFOScheduler

    if options.scheduler == "fifo":
        return FIFOScheduler()
    horizon = options.max_evaluations
    if horizon is None:  # one past the evaluations of a full run: ASHA stops trials at max_t
        horizon = max(options.grace_period, base["max_steps"] // base["eval_every"] + 2)
    return ASHAScheduler(
        max_t=horizon,
        grace_period=options.grace_period,
        reduction_factor=options.reduction_factor,
    )


def _trial_row(result: Any, root: Path, metric: str, mode: str, names: list[str]) -> dict:
    """One row of ``trials.csv``: the trial's options, status, evaluations and best dev metric."""
    history = result.metrics_dataframe
    trial_id = (result.metrics or {}).get("trial_id") or Path(result.path).name
    folder = root / "trials" / trial_id
    row: dict[str, Any] = {"trial": trial_id}
    row.update({name: (result.config or {}).get(name) for name in names})
    if result.error is not None:
        row["status"] = "error: " + " ".join(str(result.error).split())[-200:]
    elif (folder / "results.json").is_file():
        row["status"] = "completed"
    else:
        row["status"] = "stopped early"
    evaluated = history is not None and metric in history
    row["evaluations"] = len(history) if evaluated else 0
    if evaluated:
        best = history[metric].idxmin() if mode == "min" else history[metric].idxmax()
        row[f"best_{metric}"] = float(history[metric][best])
        row["best_step"] = int(history["step"][best])
    else:
        row[f"best_{metric}"], row["best_step"] = math.nan, None
    if row["status"] == "completed":
        final = read_json(folder / "results.json", "a trial's results")
        row.update({f"final_{k}": v for k, v in final.items() if isinstance(v, (int, float))})
    row["folder"] = str(folder)
    return row


def sweep(options: SweepOptions, train_values: Any, train: Callable[[Any], Any]) -> CommandOutput:
    """Run the sweep described by ``options`` over the app's train config ``train_values`` (its
    non-searched options) with the app's train command ``train``; see the module docstring."""
    if train_values.trainer.out is None:
        raise ConfigError("a sweep needs --out: the folder that receives its trials")
    train_config = type(train_values)
    base = _absolute(flat_config(train_values))
    root: Path = base["out"]
    dimensions = read_space(options.space, train_config, base)
    metric, mode = base["metric"], base["mode"]
    connect(BackendConfig("ray", options.ray_address, ray_num_cpus=options.ray_num_cpus))
    from ray import tune
    from ray.tune.search import BasicVariantGenerator

    os.environ.setdefault("RAY_CHDIR_TO_TRIAL_DIR", "0")
    trainable = tune.with_parameters(
        run_trial,
        train_config=train_config,
        train=train,
        base=base,
        root=root,
        threads=max(1, int(options.cpus_per_trial)),
    )
    resources = {"cpu": options.cpus_per_trial, "gpu": options.gpus_per_trial}
    tuner = tune.Tuner(
        tune.with_resources(trainable, resources),
        param_space={d.name: d.tune_domain() for d in dimensions},
        tune_config=tune.TuneConfig(
            metric=metric,
            mode=mode,
            num_samples=options.trials,
            scheduler=_scheduler(options, base),
            search_alg=BasicVariantGenerator(random_state=options.search_seed),
        ),
        run_config=tune.RunConfig(name="tune", storage_path=str(root), verbose=0),
    )
    with contextlib.redirect_stdout(sys.stderr):  # Tune's reports; stdout is the command's
        results = tuner.fit()
    names = [d.name for d in dimensions]
    rows = [_trial_row(results[i], root, metric, mode, names) for i in range(len(results))]
    table = pd.DataFrame(rows)
    scored = table.dropna(subset=[f"best_{metric}"])
    if scored.empty:
        raise SweepError(f"no trial reported a dev evaluation; first trial: {rows[0]['status']}")
    best = scored[f"best_{metric}"].idxmin() if mode == "min" else scored[f"best_{metric}"].idxmax()
    best_row = table.loc[best]
    best_values = {**base, **{name: best_row[name] for name in names}}
    best_config = {k: v for k, v in best_values.items() if k not in _RUN_OPTIONS}
    best_path = write_json(root / BEST_CONFIG_NAME, best_config)
    table.to_csv(root / "trials.csv", index=False)
    (root / "trials.md").write_text(markdown_table(table, floatfmt=".4g") + "\n")
    counts = table["status"].str.split(":").str[0].value_counts()
    summary = {
        "metric": metric,
        "mode": mode,
        "best_trial": best_row["trial"],
        f"best_{metric}": best_row[f"best_{metric}"],
        "best_params": {name: best_row[name] for name in names},
        "best_config": str(best_path),
        "trials": len(table),
        **{f"trials_{status.replace(' ', '_')}": int(n) for status, n in counts.items()},
    }
    shown = ["trial", *names, "status", "evaluations", f"best_{metric}", "best_step"]
    return CommandOutput([(f"sweep trials ({metric}, {mode})", table[shown])], summary)


def sweep_command(train_config: type, train: Callable[[Any], Any]) -> Command:
    """``pgsuite <app> sweep``: a :class:`SweepOptions` plus every option of ``train_config``
    (the non-searched values; ``--out`` is the sweep folder), running ``train`` per trial."""
    config = dataclasses.make_dataclass(
        f"{train_config.__name__}Sweep",
        [
            ("sweep", SweepOptions),
            ("train", train_config, field(default_factory=train_config)),
        ],
    )
    config.__doc__ = (
        "Search the train options named in --space with Ray Tune (ASHA stops weak trials early); "
        "every other option is the train command's, --metric/--mode the objective, --out the "
        "sweep folder (trials/, trials.csv, best_config.json)."
    )
    return Command(
        "sweep",
        "tune train options with Ray Tune; writes the best config for train --config",
        config,
        lambda values: sweep(values.sweep, values.train, train),
        json_output=True,
    )
