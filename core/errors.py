"""User-facing errors.

Every error a user can cause (a bad setting, a malformed file, a missing data folder) or meet during a
run (a NaN loss) is a :class:`PgsuiteError`. The CLI prints its message on one line and exits with
``exit_code``; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import math

import torch


class PgsuiteError(Exception):
    """Base class of errors whose message is meant for the user."""

    exit_code: int = 1


class ConfigError(PgsuiteError, ValueError):
    """An invalid option or combination of options."""

    exit_code = 2


class DataError(PgsuiteError):
    """A missing, unreadable or malformed input file or folder."""

    exit_code = 2


class NonFiniteLossError(PgsuiteError, FloatingPointError):
    """A loss or metric became NaN or infinite during training."""

    exit_code = 1


def check_finite(value: torch.Tensor | float, what: str, step: int | None = None) -> None:
    """Raise :class:`NonFiniteLossError` if ``value`` holds a NaN or an infinity.

    Args:
        value: a scalar or tensor (any shape) to check.
        what: name used in the message, e.g. ``"loss"``.
        step: training step, reported in the message when given.
    """
    if isinstance(value, torch.Tensor):
        finite = bool(torch.isfinite(value).all())
    else:
        finite = math.isfinite(float(value))
    if not finite:
        where = f" at step {step}" if step is not None else ""
        raise NonFiniteLossError(
            f"{what} is not finite{where} (value: {value if not isinstance(value, torch.Tensor) else value.flatten()[:4].tolist()}); "
            "training stopped, the last good checkpoint is kept"
        )
