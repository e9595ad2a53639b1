"""Proximal policy optimisation's clipped surrogate loss (Schulman et al., 2017), as in CleanRL."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from pgsuite.core.advantages import normalize


@dataclass
class PPOLossOutput:
    """Result of :func:`ppo_loss`.

    Attributes:
        loss: differentiable scalar ``pg_loss - ent_coef * entropy + vf_coef * v_loss``.
        pg_loss: clipped policy surrogate loss (detached scalar).
        v_loss: value loss (detached scalar).
        entropy: mean policy entropy (detached scalar).
        approx_kl: ``mean((ratio - 1) - log ratio)``, an unbiased, non-negative estimate of
            ``KL(pi_old || pi_new)`` (detached scalar).
        clipfrac: fraction of samples with ``|ratio - 1| > clip_coef`` (detached scalar).
    """

    loss: Tensor
    pg_loss: Tensor
    v_loss: Tensor
    entropy: Tensor
    approx_kl: Tensor
    clipfrac: Tensor


def ppo_loss(
    new_log_probs: Tensor,
    old_log_probs: Tensor,
    advantages: Tensor,
    new_values: Tensor,
    returns: Tensor,
    entropy: Tensor,
    *,
    clip_coef: float = 0.2,
    vf_coef: float = 0.5,
    ent_coef: float = 0.0,
    old_values: Tensor | None = None,
    clip_vloss: bool = True,
    normalize_advantages: bool = True,
) -> PPOLossOutput:
    """PPO loss on one minibatch, term for term as CleanRL ``ppo.py``.

    With ``ratio = exp(log pi_new - log pi_old)`` and ``c = clip_coef``:
    ``pg_loss = mean(max(-A ratio, -A clip(ratio, 1 - c, 1 + c)))``;
    ``v_loss = 0.5 mean((V - R)^2)``, or, when ``old_values`` is given and ``clip_vloss``,
    ``0.5 mean(max((V - R)^2, (V_old + clip(V - V_old, -c, c) - R)^2))``;
    ``loss = pg_loss - ent_coef mean(entropy) + vf_coef v_loss``.

    Args:
        new_log_probs: ``[N]`` log-probabilities of the taken actions under the current policy.
        old_log_probs: ``[N]`` log-probabilities under the policy that collected the data.
        advantages: ``[N]`` advantage estimates ``A``.
        new_values: ``[N]`` current value predictions ``V``.
        returns: ``[N]`` value targets ``R``.
        entropy: ``[N]`` policy entropies at the sampled states.
        clip_coef: ``c``, for both the ratio and the value clipping.
        vf_coef: weight of the value loss.
        ent_coef: weight of the entropy bonus.
        old_values: ``[N]`` value predictions at collection time, for value clipping.
        clip_vloss: clip the value loss (only when ``old_values`` is given).
        normalize_advantages: normalise ``A`` to mean 0, std 1 over the minibatch first.

    Returns:
        :class:`PPOLossOutput`.

    Raises:
        ValueError: inputs of different shapes (e.g. values ``[N, 1]`` against returns ``[N]``).
    """
    tensors = [new_log_probs, old_log_probs, advantages, new_values, returns, entropy]
    if old_values is not None:
        tensors.append(old_values)
    if len({t.shape for t in tensors}) != 1:
        raise ValueError(f"ppo_loss inputs must share one shape, got {[t.shape for t in tensors]}")

    logratio = new_log_probs - old_log_probs
    ratio = logratio.exp()
    with torch.no_grad():
        approx_kl = ((ratio - 1) - logratio).mean()
        clipfrac = ((ratio - 1.0).abs() > clip_coef).float().mean()

    if normalize_advantages:
        advantages = normalize(advantages)
    pg_loss1 = -advantages * ratio
    pg_loss2 = -advantages * torch.clamp(ratio, 1 - clip_coef, 1 + clip_coef)
    pg_loss = torch.max(pg_loss1, pg_loss2).mean()

    v_loss_unclipped = (new_values - returns) ** 2
    if old_values is not None and clip_vloss:
        v_clipped = old_values + torch.clamp(new_values - old_values, -clip_coef, clip_coef)
        v_loss = 0.5 * torch.max(v_loss_unclipped, (v_clipped - returns) ** 2).mean()
    else:
        v_loss = 0.5 * v_loss_unclipped.mean()

    entropy_loss = entropy.mean()
    loss = pg_loss - ent_coef * entropy_loss + v_loss * vf_coef
    return PPOLossOutput(
        loss=loss,
        pg_loss=pg_loss.detach(),
        v_loss=v_loss.detach(),
        entropy=entropy_loss.detach(),
        approx_kl=approx_kl,
        clipfrac=clipfrac,
    )


def explained_variance(y_pred: Tensor, y_true: Tensor) -> float:
    """``1 - Var[y_true - y_pred] / Var[y_true]``; ``nan`` when ``Var[y_true] == 0``.

    1 is a perfect value function, 0 is no better than predicting the mean, negative is worse.

    Args:
        y_pred: predictions, any shape.
        y_true: targets, same shape.
    """
    y_pred, y_true = y_pred.detach().flatten(), y_true.detach().flatten()
    var_y = y_true.var(correction=0)
    if var_y == 0:
        return float("nan")
    return float(1 - (y_true - y_pred).var(correction=0) / var_y)
