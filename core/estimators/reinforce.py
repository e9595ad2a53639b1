"""REINFORCE: the score-function (likelihood-ratio) policy-gradient estimator."""

from __future__ import annotations

import torch
from torch import Tensor


def reinforce_loss(
    log_probs: Tensor,
    returns: Tensor,
    baseline: Tensor | float | None = None,
    mask: Tensor | None = None,
) -> Tensor:
    """Surrogate loss ``-mean((G - b).detach() * log pi(a | s))`` (Williams, 1992).

    Its gradient ``-mean((G - b) grad log pi(a | s))`` is the score-function estimate of
    ``-grad E[G]``: minimising the loss ascends the expected return. Any baseline ``b`` that does not
    depend on the sampled action (a constant, a state value, a leave-one-out mean) keeps the
    estimate unbiased and can reduce its variance. ``(G - b)`` is detached, so no gradient reaches
    ``returns`` or ``baseline``.

    Args:
        log_probs: ``[*S]`` log-probabilities of the sampled actions (differentiable).
        returns: ``[*S]`` returns ``G`` (or any reward signal) of those samples.
        baseline: ``[*S]`` tensor or scalar ``b``; 0 when ``None``.
        mask: ``[*S]`` bool or 0/1 tensor of valid entries (e.g. non-padding tokens); the mean runs
            over them only, and padding there may hold any value (NaN, -inf). ``None``: all entries.

    Returns:
        Scalar loss.
    """
    if returns.shape != log_probs.shape:
        raise ValueError(
            f"returns {tuple(returns.shape)} and log_probs {tuple(log_probs.shape)} must have the "
            "same shape (broadcasting would silently pair every return with every log-prob)"
        )
    advantages = (returns if baseline is None else returns - baseline).detach()
    if mask is None:
        return -(advantages * log_probs).mean()
    # Mask both factors so that NaN / -inf padding reaches neither the loss nor the gradient.
    valid = mask.bool()
    weighted = torch.where(valid, advantages, 0.0) * torch.where(valid, log_probs, 0.0)
    return -weighted.sum() / valid.sum()
