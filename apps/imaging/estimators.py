"""The policy-gradient signal of the mask policy: the cost of a mask is the classifier's
cross-entropy on the masked image, and the policy learns masks of high cost (hard, informative
noise), as in Yavuz & Yang.

- ``textbook`` (default): REINFORCE per image, ``loss = -mean((c_i - b_i) log pi(m_i | x_i))``
  with ``log pi`` the sum of the image's cell log-densities, ``c_i`` its (detached) cross-entropy
  and ``b_i`` the leave-one-out mean of the batch's costs (:func:`~pgsuite.core.advantages.
  leave_one_out_baseline`); ascending expected cost, unbiased.
- ``published``: the official code's loss, ``mean(c) * mean_i log(sum over cells of the Beta
  densities)``, no baseline, not detached (it also reaches the classifier); kept for comparison.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from pgsuite.core.advantages import leave_one_out_baseline
from pgsuite.core.errors import ConfigError
from pgsuite.core.estimators import reinforce_loss

Estimator = Literal["textbook", "published"]


def mask_policy_loss(estimator: Estimator, costs: Tensor, cell_log_density: Tensor) -> Tensor:
    """The loss whose gradient trains the mask policy to raise the classifier's cost.

    Args:
        estimator: ``textbook`` or ``published`` (see the module docstring).
        costs: ``[B]`` per-image cross-entropy of the classifier on the masked images.
        cell_log_density: ``[B, K]`` log-density of each sampled mask cell (differentiable in
            the policy).
    """
    if estimator == "textbook":
        log_pi = cell_log_density.sum(dim=-1)
        rewards = costs.detach()
        baseline = leave_one_out_baseline(rewards) if len(rewards) > 1 else None
        return reinforce_loss(log_pi, rewards, baseline)
    if estimator == "published":
        return costs.mean() * torch.log(cell_log_density.exp().sum(dim=-1)).mean()
    raise ConfigError(f"estimator must be 'textbook' or 'published', got {estimator!r}")
