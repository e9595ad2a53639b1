"""HDPO run mechanics: configuration checks and the learning-rate schedule on dev plateaus."""

from __future__ import annotations

import pytest

from apps.inventory.hdpo import HDPOConfig, HDPORun, TrainConfig
from apps.inventory.settings import SettingConfig
from core.errors import ConfigError


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lr_decay": 0.0}, "lr_decay"),
        ({"lr_decay": 1.5}, "lr_decay"),
        ({"lr_patience": -1}, "lr_patience"),
    ],
)
def test_bad_schedule_settings_are_config_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        HDPOConfig(**kwargs)


def _run(**hdpo: object) -> HDPORun:
    config = HDPOConfig(
        train_samples=32, dev_samples=32, test_samples=32, dev_periods=10, dev_warmup=2, **hdpo
    )
    return HDPORun(TrainConfig(SettingConfig(setting="one_store_backlog"), config))


def test_learning_rate_decays_after_patience_evaluations_without_improvement() -> None:
    run = _run(learning_rate=0.04, lr_decay=0.5, lr_patience=2)
    rates = [run.dev_cost()["learning_rate"] for _ in range(4)]  # the policy never changes
    assert rates == [0.04, 0.04, 0.04, 0.02]
    assert run.lr_schedule.state_dict()["num_bad_epochs"] == 0


def test_decay_one_keeps_the_rate_constant() -> None:
    run = _run(learning_rate=0.04, lr_decay=1.0, lr_patience=0)
    assert {run.dev_cost()["learning_rate"] for _ in range(5)} == {0.04}
