from __future__ import annotations

import datetime
import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from pgsuite.core import provenance as prov


@dataclass
class Inner:
    rate: float = 0.5
    """A rate."""


@dataclass
class Outer:
    name: str = "x"
    sizes: tuple[int, ...] = (1, 2)
    out: Path = Path("runs/a")
    limit: float = float("inf")
    inner: Inner = field(default_factory=Inner)


def test_config_record_holds_every_effective_field_as_strict_json():
    record = json.loads(prov.config_record(Outer(name="y")))
    assert record == {
        "name": "y",
        "sizes": [1, 2],
        "out": "runs/a",
        "limit": None,
        "inner": {"rate": 0.5},
    }


def test_provenance_names_this_checkout_and_now():
    record = prov.provenance(Outer())
    head = subprocess.run(
        ["git", "-C", str(Path(prov.__file__).parent), "rev-parse", "--short=12", "HEAD"],
        capture_output=True,
        text=True,
    )
    if head.returncode == 0:
        assert re.fullmatch(re.escape(head.stdout.strip()) + r"(\+dirty)?", record["commit"])
    else:
        assert record["commit"].startswith("pgsuite ")
    date = datetime.datetime.fromisoformat(record["date"])
    assert abs(datetime.datetime.now(datetime.UTC) - date) < datetime.timedelta(minutes=1)
    assert tuple(record) == prov.PROVENANCE_COLUMNS


def test_outside_a_checkout_the_version_stands_in(monkeypatch, tmp_path):
    prov.code_version.cache_clear()
    monkeypatch.setattr(prov, "_SOURCE", tmp_path)
    try:
        assert prov.code_version() == f"pgsuite {prov.__version__}"
    finally:
        prov.code_version.cache_clear()
