"""Linear learning-rate warm-up factors."""

from __future__ import annotations

import pytest

from pgsuite.core.schedules import linear_warmup


def test_linear_warmup_reaches_the_full_rate_on_its_last_step() -> None:
    assert [linear_warmup(step, 4) for step in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]


def test_no_warmup_is_the_full_rate_from_the_first_step() -> None:
    assert linear_warmup(0, 0) == 1.0


def test_negative_warmup_is_rejected() -> None:
    with pytest.raises(ValueError, match="warmup_steps"):
        linear_warmup(0, -1)
