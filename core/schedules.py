"""Learning-rate schedules the apps share."""

from __future__ import annotations


def linear_warmup(step: int, warmup_steps: int) -> float:
    """Learning-rate factor of optimiser step ``step`` (0-based) under a linear warm-up.

    The factor rises as ``(step + 1) / warmup_steps``, so the first step already moves at
    ``1 / warmup_steps`` of the rate and step ``warmup_steps - 1`` at the full rate; it is 1 from
    then on, and always with ``warmup_steps = 0``. Use it as a ``LambdaLR`` factor, or set the
    rate by hand where another scheduler (e.g. ``ReduceLROnPlateau``) owns it afterwards.
    """
    if warmup_steps < 0:
        raise ValueError(f"warmup_steps must be >= 0, got {warmup_steps}")
    if warmup_steps == 0:
        return 1.0
    return min(1.0, (step + 1) / warmup_steps)
