"""Returns, advantages, baselines and normalisation for policy-gradient estimators.

All functions are pure and work on torch tensors. Time is the leading dimension. The episode
convention is ``dones[t] = 1``: the episode ended with the transition taken at step ``t``, so
nothing is bootstrapped past it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def discounted_returns(
    rewards: Tensor, dones: Tensor, gamma: float, bootstrap_value: Tensor | None = None
) -> Tensor:
    """Discounted returns ``G_t = r_t + gamma (1 - done_t) G_{t+1}``, with ``G_T = bootstrap_value``.

    Args:
        rewards: ``[T, *B]`` rewards.
        dones: ``[T, *B]`` episode-end flags (bool or 0/1).
        gamma: discount factor.
        bootstrap_value: ``[*B]`` value of the state after the last step; 0 when ``None``.

    Returns:
        ``[T, *B]`` returns.
    """
    not_done = 1.0 - dones.to(rewards.dtype)
    returns = torch.empty_like(rewards)
    next_return = (
        torch.zeros_like(rewards[0]) if bootstrap_value is None else bootstrap_value.to(rewards)
    )
    for t in reversed(range(rewards.shape[0])):
        next_return = rewards[t] + gamma * not_done[t] * next_return
        returns[t] = next_return
    return returns


def _td_errors(
    rewards: Tensor, values: Tensor, dones: Tensor, last_value: Tensor, gamma: float
) -> tuple[Tensor, Tensor]:
    """TD errors ``delta_t = r_t + gamma (1 - done_t) V_{t+1} - V_t`` and ``1 - done``, ``[T, B]``."""
    not_done = 1.0 - dones.to(rewards.dtype)
    next_values = torch.cat([values[1:], last_value.to(values).unsqueeze(0)])
    return rewards + gamma * not_done * next_values - values, not_done


def gae(
    rewards: Tensor,
    values: Tensor,
    dones: Tensor,
    last_value: Tensor,
    gamma: float,
    lam: float,
) -> tuple[Tensor, Tensor]:
    """Generalised advantage estimation (Schulman et al., 2016), reverse loop over time.

    ``delta_t = r_t + gamma (1 - done_t) V_{t+1} - V_t`` with ``V_T = last_value`` and
    ``A_t = delta_t + gamma lam (1 - done_t) A_{t+1}``; the value targets are ``A_t + V_t``.

    Args:
        rewards: ``[T, B]`` rewards.
        values: ``[T, B]`` value estimates ``V(s_t)``.
        dones: ``[T, B]`` episode-end flags (bool or 0/1).
        last_value: ``[B]`` value of the state after the last step.
        gamma: discount factor.
        lam: GAE ``lambda`` (0: one-step TD error, 1: Monte-Carlo return minus ``V``).

    Returns:
        ``(advantages, returns)``, both ``[T, B]``.
    """
    deltas, not_done = _td_errors(rewards, values, dones, last_value, gamma)
    advantages = torch.empty_like(deltas)
    last_gae = torch.zeros_like(deltas[0])
    for t in reversed(range(deltas.shape[0])):
        last_gae = deltas[t] + gamma * lam * not_done[t] * last_gae
        advantages[t] = last_gae
    return advantages, advantages + values


def vec_gae(
    rewards: Tensor,
    values: Tensor,
    dones: Tensor,
    last_value: Tensor,
    gamma: float,
    lam: float,
) -> tuple[Tensor, Tensor]:
    """GAE without a Python loop over time; same arguments and result as :func:`gae`.

    ``A_t = sum_{k >= t} W[t, k] delta_k`` with ``W[t, k] = prod_{j=t}^{k-1} gamma lam (1 - done_j)``.
    ``W`` is a ``[T, T, B]`` upper-triangular matrix built with a cumulative product (no division,
    so it is exact across episode ends). It costs ``O(T^2 B)`` memory and time; prefer it to
    :func:`gae` for short rollouts on an accelerator, where a per-step loop is launch-bound, and use
    :func:`gae` for long rollouts (``T`` in the thousands).
    """
    deltas, not_done = _td_errors(rewards, values, dones, last_value, gamma)
    T = deltas.shape[0]
    decay = gamma * lam * not_done
    # shifted[j] = decay[j - 1]; the row-t cumulative product from column t + 1 gives W[t, k].
    shifted = torch.cat([torch.ones_like(decay[:1]), decay[:-1]])
    idx = torch.arange(T, device=deltas.device)
    col_minus_row = (idx[None, :] - idx[:, None]).reshape(T, T, *([1] * (deltas.dim() - 1)))
    factors = torch.where(col_minus_row > 0, shifted, 1.0)  # [T, T, B]
    weights = torch.cumprod(factors, dim=1) * (col_minus_row >= 0)
    advantages = torch.einsum("tk...,k...->t...", weights, deltas)
    return advantages, advantages + values


def normalize(x: Tensor, eps: float = 1e-8, mask: Tensor | None = None) -> Tensor:
    """Batch normalisation ``(x - mean) / (std + eps)`` over the valid entries of ``x``.

    ``std`` is the Bessel-corrected standard deviation, as in CleanRL's advantage normalisation.

    Args:
        x: tensor of any shape.
        eps: added to the standard deviation.
        mask: bool or 0/1 tensor of ``x``'s shape selecting the entries that define the statistics;
            entries outside it are set to 0 in the result. ``None``: all entries.

    Returns:
        Tensor of ``x``'s shape.

    Raises:
        ValueError: fewer than two valid entries.
    """
    valid = x if mask is None else x[mask.bool()]
    if valid.numel() < 2:
        raise ValueError(f"normalize needs at least 2 valid entries, got {valid.numel()}")
    out = (x - valid.mean()) / (valid.std() + eps)
    return out if mask is None else torch.where(mask.bool(), out, torch.zeros_like(out))


class RunningMeanStd:
    """Mean and variance of a stream of batches, for normalisation across batches.

    Batches are merged with the parallel update of Chan et al. (1979): with ``delta = m_b - m``
    and ``n' = n + n_b``, ``m' = m + delta n_b / n'`` and
    ``var' = (var n + var_b n_b + delta^2 n n_b / n') / n'`` (population variance). Statistics are
    kept in float64.

    Args:
        shape: shape of one sample; :meth:`update` reduces over all leading dimensions.
        eps: added to the variance in :meth:`normalize`.
        device: device of the statistics.
    """

    def __init__(
        self, shape: tuple[int, ...] = (), eps: float = 1e-8, device: torch.device | str = "cpu"
    ) -> None:
        self.shape = tuple(shape)
        self.eps = eps
        self.mean = torch.zeros(self.shape, dtype=torch.float64, device=device)
        self.var = torch.ones(self.shape, dtype=torch.float64, device=device)
        self.count = 0.0

    def update(self, x: Tensor) -> None:
        """Merge a batch ``x`` of shape ``[*N, *shape]`` into the statistics."""
        batch = x.detach().to(self.mean).reshape(-1, *self.shape)
        batch_count = batch.shape[0]
        if batch_count == 0:
            return
        batch_mean = batch.mean(dim=0)
        batch_var = batch.var(dim=0, correction=0)
        total = self.count + batch_count
        delta = batch_mean - self.mean
        m2 = self.var * self.count + batch_var * batch_count
        m2 = m2 + delta.square() * self.count * batch_count / total
        self.mean = self.mean + delta * batch_count / total
        self.var = m2 / total
        self.count = total

    def normalize(self, x: Tensor) -> Tensor:
        """``(x - mean) / sqrt(var + eps)``, in ``x``'s dtype; ``x`` is ``[*N, *shape]``."""
        mean, var = self.mean.to(x), self.var.to(x)
        return (x - mean) / torch.sqrt(var + self.eps)

    def state_dict(self) -> dict[str, Tensor | float]:
        """Copy of the statistics, for checkpoints."""
        return {"mean": self.mean.clone(), "var": self.var.clone(), "count": self.count}

    def load_state_dict(self, state: dict[str, Tensor | float]) -> None:
        """Restore statistics saved by :meth:`state_dict`."""
        self.mean = torch.as_tensor(state["mean"]).to(self.mean).clone()
        self.var = torch.as_tensor(state["var"]).to(self.var).clone()
        self.count = float(state["count"])


def leave_one_out_baseline(rewards: Tensor) -> Tensor:
    """Leave-one-out baseline ``b_i = (sum_j r_j - r_i) / (N - 1)`` within each group (RLOO).

    ``b_i`` does not depend on sample ``i``, so using it keeps the score-function estimate unbiased.

    Args:
        rewards: ``[..., N]``, ``N`` samples per group along the last dimension.

    Returns:
        ``[..., N]`` baselines.

    Raises:
        ValueError: ``N < 2``.
    """
    n = rewards.shape[-1]
    if n < 2:
        raise ValueError(f"leave-one-out baseline needs at least 2 samples per group, got {n}")
    return (rewards.sum(dim=-1, keepdim=True) - rewards) / (n - 1)


def group_mean_baseline(rewards: Tensor) -> Tensor:
    """Group mean ``b_i = (1/N) sum_j r_j`` broadcast to ``[..., N]`` (``rewards`` is ``[..., N]``)."""
    return rewards.mean(dim=-1, keepdim=True).expand_as(rewards)


def group_relative_advantages(rewards: Tensor, eps: float = 1e-8, scale: bool = True) -> Tensor:
    """GRPO advantages ``(r_i - mean(r)) / (std(r) + eps)`` within each group.

    Args:
        rewards: ``[..., N]``, ``N`` samples per group along the last dimension.
        eps: added to the (Bessel-corrected) group standard deviation.
        scale: divide by the standard deviation; ``False`` gives ``r_i - mean(r)``.

    Returns:
        ``[..., N]`` advantages.

    Raises:
        ValueError: ``scale`` and ``N < 2``.
    """
    centred = rewards - group_mean_baseline(rewards)
    if not scale:
        return centred
    if rewards.shape[-1] < 2:
        raise ValueError(
            f"scaled group advantages need at least 2 samples, got {rewards.shape[-1]}"
        )
    return centred / (rewards.std(dim=-1, keepdim=True) + eps)


def _interpolate(x: Tensor, xp: Tensor, fp: Tensor) -> Tensor:
    """Piecewise-linear ``f(x)`` through the points ``(xp, fp)`` (``xp`` non-decreasing), held
    constant outside them (``numpy.interp``'s convention)."""
    if xp.numel() == 1:
        return fp.expand_as(x).clone()
    upper = torch.searchsorted(xp, x, right=True).clamp(1, xp.numel() - 1)
    x0, x1, f0, f1 = xp[upper - 1], xp[upper], fp[upper - 1], fp[upper]
    span = x1 - x0
    weight = torch.where(span > 0, (x - x0) / torch.where(span > 0, span, 1), 1.0).clamp(0, 1)
    return f0 + weight * (f1 - f0)


def time_indexed_baseline(times: Sequence[Tensor], returns: Sequence[Tensor]) -> list[Tensor]:
    """Decima's input-dependent baseline (Mao et al., SIGCOMM 2019) for rollouts that share one
    input sequence (e.g. the same job arrivals): the baseline of a step at time ``t`` is the mean,
    over every rollout, of that rollout's return-to-go at ``t``, interpolated linearly between
    its own decision times (held constant before its first and after its last).

    Rollouts make their decisions at different times, so the steps are matched by time, not by
    index. The baseline depends on the shared input and the time, not on the action taken.

    Args:
        times: per rollout, ``[T_k]`` non-decreasing decision times.
        returns: per rollout, ``[T_k]`` returns-to-go at those decisions.

    Returns:
        per rollout, ``[T_k]`` baselines.

    Raises:
        ValueError: no rollouts, mismatched lengths, an empty rollout or decreasing times.
    """
    if not times or len(times) != len(returns):
        raise ValueError(f"need as many return sequences as time sequences, got {len(times)} and "
                         f"{len(returns)}")  # fmt: skip
    for k, (t, g) in enumerate(zip(times, returns, strict=True)):
        if t.shape != g.shape or t.dim() != 1 or t.numel() == 0:
            raise ValueError(f"rollout {k}: times {tuple(t.shape)} and returns {tuple(g.shape)} "
                             "must be the same non-empty 1-D shape")  # fmt: skip
        if (t[1:] < t[:-1]).any():
            raise ValueError(f"rollout {k}: decision times must be non-decreasing")
    return [
        torch.stack(
            [_interpolate(t, tj, gj.to(t.dtype)) for tj, gj in zip(times, returns, strict=True)]
        ).mean(dim=0)
        for t in times
    ]
