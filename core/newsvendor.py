"""The newsvendor: the smallest differentiable simulation with a closed-form optimum.

Order ``q`` units before demand ``D ~ Normal(mu, sigma)`` is seen; pay ``h`` per unit left over and
``p`` per unit short: ``c(q, D) = h (q - D)^+ + p (D - q)^+``. The optimum is the critical fractile
``q* = mu + sigma z``, ``z = Phi^{-1}(p / (p + h))``, with expected cost ``(h + p) sigma phi(z)``.
``dc/dq = h 1[q > D] - p 1[q < D]`` almost surely, so backpropagating the sample mean cost is an
unbiased pathwise estimate of ``dE[c]/dq = h F(q) - p (1 - F(q))``. The core uses it as a known-answer
check of the pathwise estimator (tests and ``pgsuite demo``).
"""

from __future__ import annotations

import torch
from scipy.stats import norm

from pgsuite.core.estimators import mean_cost, pathwise_step


def newsvendor_cost(
    order: torch.Tensor, demand: torch.Tensor, holding: float, penalty: float
) -> torch.Tensor:
    """Per-sample cost ``h (q - D)^+ + p (D - q)^+``; ``order`` broadcasts against ``demand``."""
    return holding * torch.relu(order - demand) + penalty * torch.relu(demand - order)


def expected_newsvendor_cost(
    order: float, mean: float, std: float, holding: float, penalty: float
) -> float:
    """Exact ``E[c(q, D)]`` for normal demand: ``h (q - mu) + (h + p) sigma L(z)``, where
    ``z = (q - mu) / sigma`` and ``L(z) = phi(z) - z (1 - Phi(z))`` is the standard normal loss."""
    z = (order - mean) / std
    loss = norm.pdf(z) - z * norm.sf(z)
    return float(holding * (order - mean) + (holding + penalty) * std * loss)


def newsvendor_optimum(
    mean: float, std: float, holding: float, penalty: float
) -> tuple[float, float]:
    """``(q*, E[c(q*, D)])`` by the critical fractile."""
    order = mean + std * norm.ppf(penalty / (penalty + holding))
    return float(order), expected_newsvendor_cost(order, mean, std, holding, penalty)


def fit_newsvendor(
    mean: float,
    std: float,
    holding: float,
    penalty: float,
    steps: int = 400,
    batch_size: int = 4096,
    lr: float = 0.1,
    seed: int = 0,
) -> float:
    """Learn ``q`` by Adam on pathwise gradients of sampled mean cost; returns the learned order.

    Starts from ``q = mean`` (the risk-neutral guess) and uses a fresh demand batch every step,
    with the learning rate decayed linearly to 5% so the iterate settles.
    """
    generator = torch.Generator().manual_seed(seed)
    order = torch.tensor(float(mean), requires_grad=True)
    optimizer = torch.optim.Adam([order], lr=lr)
    schedule = torch.optim.lr_scheduler.LinearLR(optimizer, 1.0, 0.05, total_iters=steps)
    for step in range(steps):
        demand = mean + std * torch.randn(batch_size, 1, generator=generator)
        loss = mean_cost(newsvendor_cost(order, demand, holding, penalty))
        pathwise_step(loss, optimizer, [order], step=step)
        schedule.step()
    return float(order.detach())
