"""Settings and demand: validation with one-line errors, CSV traces, seeded scenario sets."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from pgsuite.apps.inventory.demand import load_demand_csv
from pgsuite.apps.inventory.settings import SettingConfig, build_setting
from pgsuite.core.errors import ConfigError, DataError


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lead_time": -1}, "lead time must be >= 1"),
        ({"lead_time": 0}, "lead time must be >= 1"),
        ({"penalty": 0.0}, "penalty must be > 0"),
        ({"holding": -1.0}, "holding cost must be >= 0"),
        ({"demand_mean": 0.0}, "demand mean must be > 0"),
        ({"stores": 0}, "stores must be >= 1"),
    ],
)
def test_invalid_settings_are_config_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        SettingConfig(**kwargs)


def test_splits_are_seeded_and_disjoint() -> None:
    setting = build_setting(SettingConfig(setting="one_store_lost"))
    a = setting.scenarios("train", 8, 20, seed=3)
    b = setting.scenarios("train", 8, 20, seed=3)
    dev = setting.scenarios("dev", 8, 20, seed=3)
    assert torch.equal(a.demand, b.demand)
    assert not torch.equal(a.demand, dev.demand)
    assert setting.integer_demand
    assert torch.equal(a.demand, a.demand.round())


def test_correlated_store_demand() -> None:
    setting = build_setting(SettingConfig(setting="one_warehouse_lost", stores=4))
    demand = setting.scenarios("train", 4_000, 50, seed=0).demand.reshape(-1, 4)
    corr = torch.corrcoef(demand.T)
    off_diagonal = corr[~torch.eye(4, dtype=torch.bool)]
    assert off_diagonal.min() > 0.4  # 0.5 before clipping at 0 (rarely binding: CV <= 0.5)
    torch.testing.assert_close(demand.mean(0), setting.demand_mean, rtol=0.03, atol=0.05)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "demand.csv"
    path.write_text(text)
    return path


def test_demand_csv_round_trip_and_split(tmp_path: Path) -> None:
    rows = "\n".join(f"{t},A,{t % 7}" for t in range(50))
    path = _write(tmp_path, "period,location,demand\n" + rows + "\n")
    config = SettingConfig(setting="one_store_lost", demand_csv=path)
    setting = build_setting(config)
    test = setting.scenarios("test", 5, 8, seed=0).demand
    assert test.shape == (5, 8, 1)
    history = torch.tensor([t % 7 for t in range(40, 50)], dtype=torch.float32)
    for sample in test[:, :, 0]:  # every test window comes from the last 20% of the history
        assert any(torch.equal(sample, history[i : i + 8]) for i in range(3))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("period,store,demand\n0,A,1\n", "missing column"),
        ("period,location,demand\n0,A,1\n1,A,x\n", r"demand.csv:3: demand is not a number"),
        ("period,location,demand\n0,A,-2\n", r"demand.csv:2: negative demand"),
        ("period,location,demand\n0,A,1\n0,A,2\n", "appears twice"),
        ("period,location,demand\n0,A,1\n0,B,2\n1,A,3\n", "have no demand row"),
    ],
)
def test_malformed_demand_csv(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(DataError, match=message):
        load_demand_csv(_write(tmp_path, text))


def test_missing_csv_and_wrong_store_count(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="not found"):
        build_setting(SettingConfig(demand_csv=tmp_path / "nope.csv"))
    path = _write(
        tmp_path, "period,location,demand\n" + "".join(f"{t},A,1\n{t},B,2\n" for t in range(10))
    )
    with pytest.raises(DataError, match="2 locations in the CSV, the setting has 1 stores"):
        build_setting(SettingConfig(setting="one_store_backlog", demand_csv=path))


def test_initial_state_holds_about_one_period_of_demand_per_slot() -> None:
    """On-hand stock and every in-transit slot within a location's lead time are uniform on
    [0, 2 x its demand rate]; slots beyond the lead time are empty (serial: lead times 4 3 2 4)."""
    setting = build_setting(SettingConfig(setting="serial"))
    net = setting.network
    scenarios = setting.scenarios("train", 20_000, 1, seed=0)
    rate = 5.0  # every stage of the serial line serves the store's demand
    assert (scenarios.on_hand >= 0).all()
    assert (scenarios.on_hand <= 2 * rate).all()
    for location, lead in enumerate(net.lead_time.tolist()):
        slots = scenarios.pipeline[:, location]
        assert (slots[:, lead:] == 0).all()
        torch.testing.assert_close(
            slots[:, :lead].mean(0), torch.full((lead,), rate), rtol=0.02, atol=0.0
        )
        assert slots[:, :lead].max() <= 2 * rate
