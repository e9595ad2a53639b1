"""Pathwise (reparameterisation) gradients of a differentiable simulation's mean cost."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor

from pgsuite.core.errors import check_finite


def mean_cost(costs: Tensor, warmup: int = 0) -> Tensor:
    """Mean per-period cost ``(1 / (B (T - w))) sum_b sum_{t >= w} c[b, t]`` after a warm-up.

    Args:
        costs: ``[B, T]`` per-period costs of ``B`` simulated paths (differentiable).
        warmup: number ``w`` of leading periods left out (transient from the initial state).

    Returns:
        Scalar mean cost.

    Raises:
        ValueError: ``costs`` is not 2-D, or ``warmup`` is negative or leaves no period.
    """
    if costs.dim() != 2:
        raise ValueError(f"costs must be [B, T], got shape {tuple(costs.shape)}")
    if not 0 <= warmup < costs.shape[1]:
        raise ValueError(f"warmup must be in [0, T={costs.shape[1]}), got {warmup}")
    return costs[:, warmup:].mean()


def clip_gradients(parameters: Iterable[Tensor], max_norm: float | None) -> float:
    """Clip the global L2 norm of the parameters' gradients to ``max_norm``.

    Args:
        parameters: tensors whose ``.grad`` is clipped in place.
        max_norm: largest allowed norm; ``None``: no clipping.

    Returns:
        Total gradient norm before clipping (computed even when ``max_norm`` is ``None``).
    """
    limit = float("inf") if max_norm is None else max_norm
    return float(torch.nn.utils.clip_grad_norm_(parameters, limit))


def pathwise_step(
    loss: Tensor,
    optimizer: torch.optim.Optimizer,
    parameters: Iterable[Tensor],
    max_grad_norm: float | None = None,
    step: int | None = None,
) -> float:
    """One gradient step on the mean cost of a differentiable simulation.

    When the simulated cost ``J(theta) = E[c(x(theta, xi))]`` is differentiable in the decision
    parameters along each path with noise ``xi`` fixed, ``grad J = E[grad_theta c(x(theta, xi))]``;
    backpropagating the sample mean cost (e.g. :func:`mean_cost`) gives this pathwise estimate,
    usually of much lower variance than the score-function one.

    The loss is checked before any gradient is touched and the gradient norm before the optimiser
    steps, so a non-finite value leaves the parameters unchanged.

    Args:
        loss: scalar sample mean cost.
        optimizer: optimiser over ``parameters``.
        parameters: parameters whose gradients are clipped.
        max_grad_norm: gradient-norm clipping threshold; ``None``: no clipping.
        step: training step, for error messages.

    Returns:
        Gradient norm before clipping.

    Raises:
        NonFiniteLossError: the loss or the gradient norm is NaN or infinite.
    """
    check_finite(loss, "loss", step)
    optimizer.zero_grad()
    loss.backward()
    grad_norm = clip_gradients(parameters, max_grad_norm)
    check_finite(grad_norm, "gradient norm", step)
    optimizer.step()
    return grad_norm
