"""Errors the schedulers of every scheduling app share."""

from __future__ import annotations

from pgsuite.core.errors import PgsuiteError


class NoScheduleError(PgsuiteError):
    """An exact solver ended without a schedule (its time limit too short for the instance)."""

    exit_code = 1
