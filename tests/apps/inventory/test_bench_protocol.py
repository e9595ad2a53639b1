"""Which HDPO settings a benchmark run gets: defaults < suite protocol < method < command line."""

from __future__ import annotations

from pgsuite.apps.inventory import bench
from pgsuite.apps.inventory.hdpo import HDPOConfig, with_setting_protocol
from pgsuite.apps.inventory.settings import SettingConfig

SERIAL = bench.Instance(SettingConfig(setting="serial"), {"train_periods": 100, "train_warmup": 60})
WAREHOUSE = bench.Instance(SettingConfig(setting="one_warehouse_lost"), bench.WAREHOUSE_PROTOCOL)


def test_suite_protocol_applies_over_the_defaults() -> None:
    hdpo = bench.hdpo_config(bench.BenchConfig(), SERIAL, "vanilla", seed=3)
    assert (hdpo.train_periods, hdpo.train_warmup) == (100, 60)
    assert (hdpo.policy, hdpo.seed) == ("vanilla", 3)
    assert hdpo.dev_periods == HDPOConfig().dev_periods


def test_options_set_on_the_command_line_win() -> None:
    config = bench.BenchConfig(hdpo=HDPOConfig(train_periods=80, train_warmup=40, dev_samples=512))
    serial = bench.hdpo_config(config, SERIAL, "vanilla", seed=0)
    assert (serial.train_periods, serial.train_warmup) == (80, 40)
    warehouse = bench.hdpo_config(config, WAREHOUSE, "gnn", seed=0, hidden=(32, 32))
    assert warehouse.dev_samples == 512
    assert warehouse.test_samples == bench.WAREHOUSE_PROTOCOL["test_samples"]
    assert warehouse.hidden == (32, 32)


def test_method_override_applies_unless_the_command_line_sets_it() -> None:
    default = bench.hdpo_config(bench.BenchConfig(), WAREHOUSE, "vanilla", 0, learning_rate=3e-3)
    assert default.learning_rate == 3e-3
    config = bench.BenchConfig(hdpo=HDPOConfig(learning_rate=1e-2))
    explicit = bench.hdpo_config(config, WAREHOUSE, "vanilla", 0, learning_rate=3e-3)
    assert explicit.learning_rate == 1e-2


def test_quick_mode_does_not_count_as_explicit() -> None:
    config = bench.BenchConfig(hdpo=HDPOConfig(quick=True))
    hdpo = bench.hdpo_config(config, WAREHOUSE, "vanilla", seed=0)
    assert hdpo.dev_samples == bench.WAREHOUSE_PROTOCOL["dev_samples"]


def test_train_takes_the_serial_protocol_for_options_left_at_their_defaults() -> None:
    serial = with_setting_protocol("serial", HDPOConfig())
    assert (serial.train_periods, serial.train_warmup, serial.lr_warmup_steps) == (100, 60, 100)
    explicit = with_setting_protocol("serial", HDPOConfig(train_periods=80, train_warmup=40))
    assert (explicit.train_periods, explicit.train_warmup) == (80, 40)
    assert explicit.lr_warmup_steps == 100
    assert with_setting_protocol("one_store_lost", HDPOConfig()) == HDPOConfig()
