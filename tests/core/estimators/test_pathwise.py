from __future__ import annotations

import pytest
import torch
from scipy.stats import norm

from pgsuite.core.errors import NonFiniteLossError
from pgsuite.core.estimators import clip_gradients, mean_cost, pathwise_step

F64 = torch.float64
MU, SIGMA, H, P = 100.0, 20.0, 1.0, 4.0
N_SAMPLES = 200_000


def _demand() -> torch.Tensor:
    """Fixed demand samples D ~ Normal(MU, SIGMA), as [B, T] = [2000, 100] periods."""
    gen = torch.Generator().manual_seed(0)
    return (MU + SIGMA * torch.randn(N_SAMPLES, generator=gen, dtype=F64)).view(2000, 100)


def _newsvendor_cost(q: torch.Tensor, demand: torch.Tensor) -> torch.Tensor:
    """Mean of h max(q - D, 0) + p max(D - q, 0) over the fixed samples."""
    costs = H * torch.clamp(q - demand, min=0) + P * torch.clamp(demand - q, min=0)
    return mean_cost(costs)


@pytest.mark.parametrize("q0", [80.0, 100.0, 120.0])
def test_newsvendor_pathwise_gradient(q0: float) -> None:
    demand = _demand()
    q = torch.tensor(q0, dtype=F64, requires_grad=True)
    (grad,) = torch.autograd.grad(_newsvendor_cost(q, demand), q)

    # Analytic: d/dq E[cost] = h F(q) - p (1 - F(q)); per-sample derivative is h or -p.
    cdf = norm.cdf(q0, loc=MU, scale=SIGMA)
    analytic = H * cdf - P * (1 - cdf)
    per_sample = torch.where(demand < q0, H, -P)
    std_err = float(per_sample.std()) / N_SAMPLES**0.5
    assert abs(grad.item() - analytic) < 4 * std_err

    # Central finite difference of the same fixed-sample objective: per-sample slopes agree
    # except for samples within eps of q, each off by at most h + p.
    eps = 1e-3
    with torch.no_grad():
        fd = (_newsvendor_cost(q + eps, demand) - _newsvendor_cost(q - eps, demand)) / (2 * eps)
    n_near = int(((demand - q0).abs() < eps).sum())
    assert abs(grad.item() - fd.item()) <= (H + P) * n_near / N_SAMPLES + 1e-9


def test_mean_cost_warmup() -> None:
    costs = torch.arange(12, dtype=F64).view(3, 4)
    assert mean_cost(costs).item() == pytest.approx(5.5)
    # columns 1..3: [1, 2, 3, 5, 6, 7, 9, 10, 11] -> 6
    assert mean_cost(costs, warmup=1).item() == pytest.approx(6.0)
    assert mean_cost(costs, warmup=3).item() == pytest.approx(7.0)
    for bad in (4, -1):
        with pytest.raises(ValueError, match="warmup"):
            mean_cost(costs, warmup=bad)
    with pytest.raises(ValueError, match=r"\[B, T\]"):
        mean_cost(costs.flatten())


def test_clip_gradients() -> None:
    a = torch.zeros(2, requires_grad=True)
    b = torch.zeros(1, requires_grad=True)
    a.grad, b.grad = torch.tensor([3.0, 0.0]), torch.tensor([4.0])

    assert clip_gradients([a, b], None) == pytest.approx(5.0)
    torch.testing.assert_close(a.grad, torch.tensor([3.0, 0.0]))

    assert clip_gradients([a, b], 10.0) == pytest.approx(5.0)
    torch.testing.assert_close(b.grad, torch.tensor([4.0]))

    assert clip_gradients([a, b], 1.0) == pytest.approx(5.0)
    total = torch.cat([a.grad, b.grad]).norm()
    assert total.item() == pytest.approx(1.0, abs=1e-5)
    torch.testing.assert_close(a.grad, torch.tensor([0.6, 0.0]), atol=1e-5, rtol=0)


@pytest.mark.parametrize("max_grad_norm", [None, 0.1])
def test_pathwise_step_updates(max_grad_norm: float | None) -> None:
    demand = _demand()
    q = torch.nn.Parameter(torch.tensor(90.0, dtype=F64))
    optimizer = torch.optim.SGD([q], lr=1.0)
    cdf = float((demand < 90.0).double().mean())
    grad = H * cdf - P * (1 - cdf)  # about 0.31 - 4 * 0.69 < 0: order more
    grad_norm = pathwise_step(_newsvendor_cost(q, demand), optimizer, [q], max_grad_norm)
    assert grad_norm == pytest.approx(abs(grad))
    expected_q = 90.0 - grad if max_grad_norm is None else 90.0 + max_grad_norm
    assert q.item() == pytest.approx(expected_q, abs=1e-6)


def test_pathwise_step_nan_loss_leaves_parameters_and_grads() -> None:
    q = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    q.grad = torch.tensor([7.0, 7.0])
    optimizer = torch.optim.SGD([q], lr=0.1, momentum=0.9)
    loss = (q * float("nan")).sum()
    with pytest.raises(NonFiniteLossError, match="loss is not finite at step 3"):
        pathwise_step(loss, optimizer, [q], max_grad_norm=1.0, step=3)
    torch.testing.assert_close(q.detach(), torch.tensor([1.0, 2.0]))
    torch.testing.assert_close(q.grad, torch.tensor([7.0, 7.0]))


def test_pathwise_step_non_finite_gradient_does_not_step() -> None:
    x = torch.nn.Parameter(torch.tensor([0.0, 4.0]))
    optimizer = torch.optim.SGD([x], lr=0.1)
    loss = x.sqrt().sum()  # finite loss, infinite gradient at 0
    with pytest.raises(NonFiniteLossError, match="gradient norm"):
        pathwise_step(loss, optimizer, [x])
    torch.testing.assert_close(x.detach(), torch.tensor([0.0, 4.0]))
