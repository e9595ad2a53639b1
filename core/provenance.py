"""Where a result came from: the code's commit, the date and the effective configuration.

Every benchmark row carries these three columns (:func:`provenance`), so a table built from rows
measured by several commands, on several days, still says which code and which settings made
each row; a row from before provenance was recorded reads as empty there.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import json
import subprocess
from pathlib import Path
from typing import Any

from pgsuite.core import __version__

PROVENANCE_COLUMNS = ("commit", "date", "config")
_SOURCE = Path(__file__).resolve().parent


@functools.cache
def code_version() -> str:
    """The git commit of the code that runs (12 hex digits, ``+dirty`` when tracked files have
    uncommitted changes), or ``pgsuite <version>`` outside a git checkout (an installed wheel)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(_SOURCE), *args], capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        commit = git("rev-parse", "--short=12", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return f"pgsuite {__version__}"
    return commit + ("+dirty" if dirty else "")


def config_record(config: Any) -> str:
    """``config`` (a dataclass, nested ones included, or a mapping) as compact, key-sorted JSON,
    every field with its effective value (defaults included, paths as strings)."""
    from pgsuite.core.cli import strict_jsonable

    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        config = dataclasses.asdict(config)
    return json.dumps(strict_jsonable(config), sort_keys=True, separators=(",", ":"))


def provenance(config: Any) -> dict[str, str]:
    """``{"commit", "date", "config"}`` for rows measured now with ``config``; the date is UTC,
    ISO 8601 to the second."""
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    return {"commit": code_version(), "date": now.isoformat(), "config": config_record(config)}
