"""HDPO run mechanics: configuration checks and the learning-rate schedule on dev plateaus."""

from __future__ import annotations

import logging

import pytest

from pgsuite.apps.inventory.hdpo import HDPOConfig, HDPORun, TrainConfig
from pgsuite.apps.inventory.settings import SettingConfig
from pgsuite.core.errors import ConfigError
from pgsuite.core.trainer import TrainerConfig


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lr_decay": 0.0}, "lr_decay"),
        ({"lr_decay": 1.5}, "lr_decay"),
        ({"lr_patience": -1}, "lr_patience"),
        ({"lr_warmup_steps": -1}, "lr_warmup_steps"),
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


def test_warmup_raises_the_rate_linearly_and_holds_the_plateau_decay_until_it_ends() -> None:
    run = _run(learning_rate=0.04, lr_decay=0.5, lr_patience=0, lr_warmup_steps=4, batch_size=8)
    rates = []
    for step in range(4):
        run.step(step)
        rates.append(run.optimizer.param_groups[0]["lr"])
        if step < 3:  # dev evaluations inside the warm-up never decay the rate
            run.dev_cost()
    assert rates == pytest.approx([0.01, 0.02, 0.03, 0.04])
    run.step(4)
    assert run.optimizer.param_groups[0]["lr"] == pytest.approx(0.04)  # the warm-up has ended
    first, second = run.dev_cost()["learning_rate"], run.dev_cost()["learning_rate"]
    assert (first, second) == pytest.approx((0.04, 0.02))  # patience 0: the 2nd one decays


def test_a_run_that_never_beats_its_start_warns(caplog: pytest.LogCaptureFixture) -> None:
    # base-stock starts at the optimal backlog level; a huge rate can only move it away
    run = _run(policy="base_stock", learning_rate=50.0, lr_decay=1.0)
    run.config.trainer = TrainerConfig(max_steps=3, eval_every=1, metric="cost", progress=False)
    with caplog.at_level(logging.WARNING, logger="pgsuite.apps.inventory.hdpo"):
        fitted = run.fit()
    assert fitted["best_step"] == 0
    assert "did not improve on the initial policy" in caplog.text
