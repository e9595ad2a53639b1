from __future__ import annotations

import pytest
import torch

from pgsuite.core.advantages import leave_one_out_baseline
from pgsuite.core.estimators import reinforce_loss

F64 = torch.float64
THETA = [0.2, -0.4, 0.1]
REWARDS = torch.tensor([1.0, 2.0, -0.5], dtype=F64)
N_SAMPLES, GROUP = 20_000, 8


def _analytic_gradient() -> torch.Tensor:
    """grad_theta E[r] = pi_k (r_k - sum_j pi_j r_j) for a softmax bandit."""
    pi = torch.tensor(THETA, dtype=F64).softmax(0)
    return pi * (REWARDS - pi @ REWARDS)


def _bandit_estimate(baseline: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gradient of -reinforce_loss on a 3-armed bandit, with per-group estimates.

    Returns the autograd gradient ``[3]``, the standard error of its components ``[3]`` and the
    per-group gradient estimates ``[N / GROUP, 3]``. Samples are drawn in groups of ``GROUP`` so that
    the leave-one-out baseline (correlated within a group) gets an honest standard error.
    """
    theta = torch.tensor(THETA, dtype=F64, requires_grad=True)
    pi = theta.softmax(0).detach()
    gen = torch.Generator().manual_seed(0)
    actions = torch.multinomial(pi, N_SAMPLES, replacement=True, generator=gen)
    returns = REWARDS[actions]
    b = {
        "none": None,
        "constant": 0.7,
        "leave_one_out": leave_one_out_baseline(returns.view(-1, GROUP)).flatten(),
    }[baseline]
    log_probs = theta.log_softmax(0)[actions]
    (grad,) = torch.autograd.grad(-reinforce_loss(log_probs, returns, b), theta)

    # Per-sample score-function estimates (r - b)(onehot(a) - pi), averaged within groups.
    advantages = returns - (0.0 if b is None else b)
    per_sample = advantages[:, None] * (torch.nn.functional.one_hot(actions, 3).to(F64) - pi)
    per_group = per_sample.view(-1, GROUP, 3).mean(dim=1)
    torch.testing.assert_close(grad, per_sample.mean(dim=0))
    std_err = per_group.std(dim=0) / per_group.shape[0] ** 0.5
    return grad, std_err, per_group


@pytest.mark.parametrize("baseline", ["none", "constant", "leave_one_out"])
def test_bandit_gradient_matches_analytic(baseline: str) -> None:
    grad, std_err, _ = _bandit_estimate(baseline)
    assert torch.all((grad - _analytic_gradient()).abs() < 4 * std_err), (grad, std_err)


def test_baselines_reduce_variance() -> None:
    var_none = _bandit_estimate("none")[2].var(dim=0).sum()
    var_constant = _bandit_estimate("constant")[2].var(dim=0).sum()
    var_loo = _bandit_estimate("leave_one_out")[2].var(dim=0).sum()
    assert var_constant < 0.6 * var_none
    assert var_loo < 0.8 * var_none


def test_mask_ignores_invalid_entries() -> None:
    log_probs = torch.tensor([-0.5, -1.0, -float("inf"), -0.1], dtype=F64, requires_grad=True)
    returns = torch.tensor([1.0, 3.0, float("nan"), 2.0], dtype=F64)
    mask = torch.tensor([True, True, False, True])
    loss = reinforce_loss(log_probs, returns, baseline=1.0, mask=mask)
    # -( (1-1)(-0.5) + (3-1)(-1.0) + (2-1)(-0.1) ) / 3 = 2.1 / 3
    assert loss.item() == pytest.approx(0.7)
    loss.backward()
    torch.testing.assert_close(log_probs.grad, torch.tensor([0.0, -2 / 3, 0.0, -1 / 3], dtype=F64))


def test_no_gradient_reaches_returns_or_baseline() -> None:
    log_probs = torch.tensor([-0.5, -1.5], requires_grad=True)
    returns = torch.tensor([1.0, 2.0], requires_grad=True)
    baseline = torch.tensor([0.5, 0.5], requires_grad=True)
    loss = reinforce_loss(log_probs, returns, baseline)
    assert loss.item() == pytest.approx(-(0.5 * -0.5 + 1.5 * -1.5) / 2)
    loss.backward()
    assert returns.grad is None
    assert baseline.grad is None
    torch.testing.assert_close(log_probs.grad, torch.tensor([-0.25, -0.75]))
