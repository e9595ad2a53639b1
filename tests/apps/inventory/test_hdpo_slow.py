"""Slow learning check: HDPO trains a Zipkin instance to within 1% of the DP optimum."""

from __future__ import annotations

import pytest

from pgsuite.apps.inventory import optimal
from pgsuite.apps.inventory.hdpo import HDPOConfig, HDPORun, TrainConfig
from pgsuite.apps.inventory.settings import SettingConfig
from pgsuite.core.trainer import TrainerConfig


@pytest.mark.slow
def test_hdpo_reaches_zipkin_optimum_within_one_percent() -> None:
    config = TrainConfig(
        SettingConfig(setting="one_store_lost", lead_time=2, penalty=4.0),
        HDPOConfig(quick=True, seed=0),
        TrainerConfig(max_steps=600, eval_every=50, metric="cost", progress=False),
    )
    run = HDPORun(config)
    run.fit()
    tested = run.test(progress=False)
    best = optimal.lost_sales_optimum(5.0, 2, 1.0, 4.0).cost
    assert tested["cost"] <= 1.01 * best
