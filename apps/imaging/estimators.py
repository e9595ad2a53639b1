"""The policy-gradient signal of the mask policy: the cost of a mask is the classifier's
cross-entropy on the masked image. As published (Yavuz & Yang), the policy *minimises* it: it
learns image-specific masks that keep what the classifier needs and dim the rest; the
``adversarial`` objective (maximise the cost: masks that hide what the classifier relies on) is
the opposite choice, kept as an ablation.

- ``textbook`` (default): REINFORCE per image, ``loss = mean(s (c_i - b_i) log pi(m_i | x_i))``
  with ``log pi`` the sum of the image's cell log-densities, ``c_i`` its (detached) cross-entropy,
  ``b_i`` the leave-one-out mean of the batch's costs (:func:`~pgsuite.core.advantages.
  leave_one_out_baseline`) and ``s = +1`` (descend the expected cost) or ``-1`` (adversarial);
  unbiased.
- ``published``: the official code's loss, ``mean(c) * mean_i log(sum over cells of the Beta
  densities)``, minimised, no baseline, not detached (it also reaches the classifier); kept for
  comparison (cost objective only).
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from pgsuite.core.advantages import leave_one_out_baseline
from pgsuite.core.errors import ConfigError
from pgsuite.core.estimators import reinforce_loss

Estimator = Literal["textbook", "published"]
Objective = Literal["cost", "adversarial"]


def mask_policy_loss(
    estimator: Estimator, costs: Tensor, cell_log_density: Tensor, objective: Objective = "cost"
) -> Tensor:
    """The loss whose gradient trains the mask policy to lower (``cost``) or raise
    (``adversarial``) the classifier's cross-entropy.

    Args:
        estimator: ``textbook`` or ``published`` (see the module docstring).
        costs: ``[B]`` per-image cross-entropy of the classifier on the masked images.
        cell_log_density: ``[B, K]`` log-density of each sampled mask cell (differentiable in
            the policy).
        objective: ``cost`` (the published direction) or ``adversarial``.

    Raises:
        ConfigError: an unknown estimator or objective, or the published estimator with the
            adversarial objective.
    """
    if objective not in ("cost", "adversarial"):
        raise ConfigError(f"objective must be 'cost' or 'adversarial', got {objective!r}")
    if estimator == "textbook":
        log_pi = cell_log_density.sum(dim=-1)
        rewards = -costs.detach() if objective == "cost" else costs.detach()
        baseline = leave_one_out_baseline(rewards) if len(rewards) > 1 else None
        return reinforce_loss(log_pi, rewards, baseline)
    if estimator == "published":
        if objective != "cost":
            raise ConfigError("the published estimator minimises the cost; the adversarial "
                              "objective needs the textbook estimator")  # fmt: skip
        return costs.mean() * torch.log(cell_log_density.exp().sum(dim=-1)).mean()
    raise ConfigError(f"estimator must be 'textbook' or 'published', got {estimator!r}")
