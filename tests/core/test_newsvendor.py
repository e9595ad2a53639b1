"""Newsvendor: closed form vs Monte Carlo, and pathwise training reaches the critical fractile."""

from __future__ import annotations

import pytest
import torch

from pgsuite.core.newsvendor import (
    expected_newsvendor_cost,
    fit_newsvendor,
    newsvendor_cost,
    newsvendor_optimum,
)


@pytest.mark.parametrize("order", [6.0, 10.0, 13.0])
def test_closed_form_cost_matches_monte_carlo(order: float) -> None:
    demand = 10.0 + 2.0 * torch.randn(
        400_000, generator=torch.Generator().manual_seed(0), dtype=torch.float64
    )
    cost = newsvendor_cost(torch.tensor(order, dtype=torch.float64), demand, 1.0, 9.0)
    standard_error = float(cost.std()) / len(cost) ** 0.5
    assert (
        abs(float(cost.mean()) - expected_newsvendor_cost(order, 10.0, 2.0, 1.0, 9.0))
        < 4 * standard_error
    )


def test_optimum_is_the_minimum_of_the_closed_form() -> None:
    best_order, best_cost = newsvendor_optimum(10.0, 2.0, 1.0, 9.0)
    assert best_order == pytest.approx(10.0 + 2.0 * 1.2815516, abs=1e-6)
    for delta in (-0.05, 0.05):
        assert expected_newsvendor_cost(best_order + delta, 10.0, 2.0, 1.0, 9.0) > best_cost


@pytest.mark.parametrize(("holding", "penalty"), [(1.0, 1.0), (1.0, 9.0), (3.0, 1.0)])
def test_pathwise_training_reaches_the_optimum(holding: float, penalty: float) -> None:
    learned = fit_newsvendor(10.0, 2.0, holding, penalty, steps=400, seed=0)
    best_order, best_cost = newsvendor_optimum(10.0, 2.0, holding, penalty)
    assert learned == pytest.approx(best_order, abs=0.05)
    gap = expected_newsvendor_cost(learned, 10.0, 2.0, holding, penalty) / best_cost - 1
    assert gap < 1e-3
