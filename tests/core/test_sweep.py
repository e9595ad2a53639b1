"""core.sweep without Ray: search-space files are read and every value checked against the train
config before any trial starts; the options and the sweep command are checked."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pgsuite.core.cli import flat_config
from pgsuite.core.errors import ConfigError
from pgsuite.core.sweep import Dimension, SweepOptions, build_config, read_space, sweep_command
from pgsuite.core.trainer import TrainerConfig


@dataclass
class ToyTrain:
    """A train config with a nested trainer, as the apps have."""

    learning_rate: float = 0.1
    width: int = 4
    hidden: tuple[int, ...] = (8,)
    trainer: TrainerConfig = field(default_factory=lambda: TrainerConfig(metric="cost"))

    def __post_init__(self) -> None:
        if self.width < 1:
            raise ConfigError(f"width must be >= 1, got {self.width}")


BASE = flat_config(ToyTrain())


def _space(tmp_path: Path, text: str, suffix: str = ".yaml") -> Path:
    path = tmp_path / f"space{suffix}"
    path.write_text(text)
    return path


def test_space_reads_every_distribution_and_constants(tmp_path) -> None:
    text = (
        "learning-rate: {loguniform: [1.0e-4, 1.0e-2]}\nwidth: {randint: [1, 9]}\n"
        "hidden: {choice: [[8], [16, 16]]}\nmax_steps: 40\n"
    )
    dimensions = read_space(_space(tmp_path, text), ToyTrain, BASE)
    assert dimensions == [
        Dimension("learning_rate", "loguniform", (1e-4, 1e-2)),
        Dimension("width", "randint", (1, 9)),
        Dimension("hidden", "choice", ([8], [16, 16])),
        Dimension("max_steps", "constant", (40,)),
    ]
    assert dimensions[3].tune_domain() == 40
    json_space = _space(tmp_path, '{"width": {"choice": [2, 3]}}', ".json")
    assert read_space(json_space, ToyTrain, BASE) == [Dimension("width", "choice", (2, 3))]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bogus: {uniform: [0, 1]}\n", "the train command has no option 'bogus'"),
        ("out: /tmp/x\n", "out is set by the sweep for each trial"),
        ("learning_rate: {normal: [0, 1]}\n", "expected one of ['uniform', 'loguniform'"),
        ("learning_rate: {uniform: [1, 0]}\n", "needs finite low < high"),
        ("learning_rate: {uniform: [0, 1, 2]}\n", "uniform takes [low, high]"),
        ("learning_rate: {loguniform: [0, 1]}\n", "loguniform needs low > 0"),
        ("width: {randint: [1.5, 4]}\n", "randint takes integers"),
        ("width: {choice: []}\n", "choice takes a non-empty list"),
        ("width: {randint: [0, 4]}\n", "width=0: width must be >= 1"),
        ("width: {choice: [2, 0]}\n", "width=0: width must be >= 1"),
        ("max_steps: 0\n", "max_steps=0: max_steps must be >= 1"),
        ("{}\n", "names no option"),
        ("[1, 2]\n", "expected a mapping"),
    ],
)
def test_bad_spaces_are_refused_before_any_trial(tmp_path, text, message) -> None:
    with pytest.raises(ConfigError, match="search space") as error:
        read_space(_space(tmp_path, text), ToyTrain, BASE)
    assert message in str(error.value)


def test_build_config_validates_like_the_command_line() -> None:
    config = build_config(ToyTrain, {**BASE, "width": 7, "max_steps": 3})
    assert config.width == 7
    assert config.trainer.max_steps == 3
    with pytest.raises(ConfigError, match="width must be >= 1"):
        build_config(ToyTrain, {**BASE, "width": 0})


@pytest.mark.parametrize(
    "bad",
    [
        {"trials": 0},
        {"grace_period": 0},
        {"reduction_factor": 1},
        {"grace_period": 3, "max_evaluations": 2},
        {"search_seed": -1},
        {"cpus_per_trial": 0},
        {"scheduler": "pbt"},
        {"ray_num_cpus": 0},
    ],
)
def test_bad_sweep_options_are_config_errors(bad) -> None:
    with pytest.raises(ConfigError):
        SweepOptions(space=Path("s.yaml"), **bad)


def test_sweep_command_offers_every_train_option() -> None:
    command = sweep_command(ToyTrain, lambda config: None)
    assert command.name == "sweep"
    assert command.json_output
    values = command.config(SweepOptions(Path("s.yaml")), ToyTrain(width=2))
    assert values.train.width == 2
    assert values.sweep.trials == 8
