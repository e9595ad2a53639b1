"""Action distributions for policy heads, built on :mod:`torch.distributions`.

* :class:`MaskedCategorical` – a categorical over ``n`` discrete actions of which some are
  invalid; invalid actions get probability exactly zero.
* :class:`PlackettLuce` – a distribution over rankings (permutations) of a padded batch of
  candidate sets, e.g. for re-ranking retrieved documents or ordering jobs.
* :class:`ScaledBeta` and :class:`BetaHead` – a Beta distribution on a box ``[low, high]`` for
  bounded continuous actions, and the linear policy head that produces it.
"""

from __future__ import annotations

from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.distributions import (
    AffineTransform,
    Beta,
    Categorical,
    Distribution,
    Independent,
    TransformedDistribution,
    constraints,
)
from torch.distributions.utils import broadcast_all

__all__ = ["BetaHead", "MaskedCategorical", "PlackettLuce", "ScaledBeta"]


def _check_mask(mask: Tensor, what: str) -> None:
    """Raise ``ValueError`` unless ``mask`` is boolean with at least one True in every row."""
    if mask.dtype != torch.bool:
        raise ValueError(f"{what}: mask must be a bool tensor, got {mask.dtype}")
    if not bool(mask.any(dim=-1).all()):
        raise ValueError(f"{what}: every row of the mask needs at least one valid (True) entry")


class MaskedCategorical(Categorical):
    """Categorical distribution over ``n`` actions with invalid actions masked out.

    With logits ``l`` and mask ``m`` (True = valid),

        P(a) = m_a exp(l_a) / sum_j m_j exp(l_j).

    Masked logits are replaced by ``torch.finfo(dtype).min`` (not ``-inf``), so masked actions
    get probability exactly 0 while log-probabilities, entropies and gradients stay finite.
    ``log_prob`` and ``sample`` are inherited from :class:`~torch.distributions.Categorical`.

    Args:
        logits: unnormalised log-probabilities, ``[..., n]``.
        mask: bool ``[..., n]``, broadcastable with ``logits``; True marks a valid action.
            ``None`` means every action is valid (plain ``Categorical``).
        validate_args: passed to :class:`~torch.distributions.Distribution`.

    Raises:
        ValueError: if ``mask`` is not boolean or some row has no valid action.
    """

    def __init__(
        self, logits: Tensor, mask: Tensor | None = None, validate_args: bool | None = None
    ) -> None:
        if mask is not None:
            _check_mask(mask, "MaskedCategorical")
            logits, mask = torch.broadcast_tensors(logits, mask)
            logits = logits.masked_fill(~mask, torch.finfo(logits.dtype).min)
        self.mask = mask
        super().__init__(logits=logits, validate_args=validate_args)

    def entropy(self) -> Tensor:
        """Entropy ``H = -sum_{a valid} p_a log p_a`` over valid actions only, ``[...]``."""
        if self.mask is None:
            return super().entropy()
        p_log_p = torch.where(self.mask, self.probs * self.logits, 0.0)
        return -p_log_p.sum(dim=-1)

    @property
    def mode(self) -> Tensor:
        """Greedy action ``argmax_{a valid} l_a``, long ``[...]``."""
        return self.logits.argmax(dim=-1)


class PlackettLuce(Distribution):
    """Plackett–Luce distribution over rankings of a padded batch of candidate sets.

    Row ``b`` holds ``N`` slots of which ``n_valid[b]`` are real candidates (``mask``). A ranking
    ``r`` lists item indices best first; with scores (log-weights) ``s``,

        log P(r) = sum_{i < n_valid} [ s_{r_i} - logsumexp_{j valid, j not in r_<i} s_j ],

    i.e. items are drawn one at a time without replacement, each with probability proportional
    to ``exp(s_j)`` among the valid items left. Padded items have probability 0 of being ranked
    before a valid one; their relative order carries no probability.

    Args:
        scores: log-weights (logits) ``[B, N]``. Entries at padded slots are ignored (they may
            hold garbage, even NaN) and receive zero gradient.
        mask: bool ``[B, N]``, True for real candidates; ``None`` means all are valid.
        validate_args: passed to :class:`~torch.distributions.Distribution`; when on,
            :meth:`log_prob` also checks that its argument is a valid ranking.

    Attributes:
        scores: the scores with padded slots set to ``torch.finfo(dtype).min``, ``[B, N]``.
        mask: bool ``[B, N]``.
        n_valid: number of valid items per row, long ``[B]``.

    Raises:
        ValueError: on a badly shaped or non-bool mask, or a row with no valid item.
    """

    arg_constraints: ClassVar[dict[str, constraints.Constraint]] = {"scores": constraints.real}
    has_rsample = False

    def __init__(
        self, scores: Tensor, mask: Tensor | None = None, validate_args: bool | None = None
    ) -> None:
        if scores.dim() != 2:
            raise ValueError(
                f"PlackettLuce: scores must be [B, N], got shape {tuple(scores.shape)}"
            )
        if mask is None:
            mask = torch.ones_like(scores, dtype=torch.bool)
        elif mask.shape != scores.shape:
            raise ValueError(
                f"PlackettLuce: mask shape {tuple(mask.shape)} != scores shape "
                f"{tuple(scores.shape)}"
            )
        _check_mask(mask, "PlackettLuce")
        self.mask = mask
        self.scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
        self.n_valid = mask.sum(dim=-1)
        super().__init__(
            batch_shape=scores.shape[:1], event_shape=scores.shape[1:], validate_args=validate_args
        )

    def sample(self, sample_shape: torch.Size | tuple[int, ...] = ()) -> Tensor:
        """Draw rankings by Gumbel-top-k: argsort of ``s_j + G_j`` (``G_j ~ Gumbel(0, 1)``).

        Args:
            sample_shape: leading sample dimensions ``S``.

        Returns:
            long ``[*S, B, N]``: per row the valid items in sampled order, then the padded
            slots in increasing index order. Not differentiable.
        """
        shape = self._extended_shape(torch.Size(sample_shape))
        with torch.no_grad():
            noise = torch.empty(shape, dtype=self.scores.dtype, device=self.scores.device)
            gumbel = -noise.exponential_().log()
            keys = (self.scores + gumbel).masked_fill(~self.mask, float("-inf"))
            return keys.argsort(dim=-1, descending=True, stable=True)

    @property
    def mode(self) -> Tensor:
        """The most probable ranking ``[B, N]``: valid items by decreasing score, then padding."""
        keys = self.scores.masked_fill(~self.mask, float("-inf"))
        return keys.argsort(dim=-1, descending=True, stable=True)

    def log_prob(self, value: Tensor) -> Tensor:
        """Log-probability of full rankings or top-``K`` prefixes.

        The ranking is completed with the items it leaves out, the ranked scores are gathered,
        and every denominator comes from one reverse cumulative logsumexp. Differentiable with
        respect to ``scores``.

        Args:
            value: long ``[..., B, K]`` with ``1 <= K <= N``, item indices best first. Positions
                at or beyond ``n_valid[b]`` are ignored.

        Returns:
            ``[..., B]``, the log-probability that the top ``min(K, n_valid)`` items come out in
            this order.
        """
        if self._validate_args:
            self._validate_ranking(value)
        n_items, k = self.event_shape[0], value.shape[-1]
        batch = torch.broadcast_shapes(value.shape[:-1], self.batch_shape)
        value = value.expand(*batch, k)
        scores = self.scores.expand(*batch, n_items)
        unranked = torch.ones_like(scores, dtype=torch.bool).scatter(-1, value, False)
        rest = unranked.to(torch.uint8).argsort(dim=-1, descending=True, stable=True)
        order = torch.cat([value, rest[..., : n_items - k]], dim=-1)
        ranked = scores.gather(-1, order)
        log_denominators = ranked.flip(-1).logcumsumexp(dim=-1).flip(-1)
        terms = (ranked - log_denominators)[..., :k]
        counted = torch.arange(k, device=value.device) < self.n_valid.unsqueeze(-1)
        return torch.where(counted, terms, 0.0).sum(dim=-1)

    def _validate_ranking(self, value: Tensor) -> None:
        """Raise ``ValueError`` unless ``value`` ``[..., B, K]`` is a ranking of valid items."""
        n_items, k = self.event_shape[0], value.shape[-1]
        if value.dtype != torch.long or not 1 <= k <= n_items:
            raise ValueError(
                f"PlackettLuce: ranking must be long [..., B, K] with 1 <= K <= {n_items}, "
                f"got {value.dtype} {tuple(value.shape)}"
            )
        if bool(((value < 0) | (value >= n_items)).any()):
            raise ValueError(f"PlackettLuce: ranking indices must lie in [0, {n_items})")
        batch = torch.broadcast_shapes(value.shape[:-1], self.batch_shape)
        value = value.expand(*batch, k)
        counts = torch.zeros(*batch, n_items, dtype=torch.long, device=value.device)
        if bool((counts.scatter_add(-1, value, torch.ones_like(value)) > 1).any()):
            raise ValueError("PlackettLuce: a ranking lists the same item twice")
        valid = self.mask.expand(*batch, n_items).gather(-1, value)
        counted = torch.arange(k, device=value.device) < self.n_valid.unsqueeze(-1)
        if bool((counted & ~valid).any()):
            raise ValueError("PlackettLuce: a ranking puts a padded item before a valid one")

    def entropy(self, num_samples: int = 256) -> Tensor:
        """Monte Carlo entropy ``H ≈ -(1/S) sum_s log P(r_s)`` over ``S`` sampled rankings.

        The value is the plain estimate. Its gradient is the score-function estimate
        ``(1/S) sum_s (h_s - b_s) grad log P(r_s)`` with ``h_s = -log P(r_s)`` and the
        leave-one-out baseline ``b_s = mean_{t != s} h_t``, an unbiased estimate of ``grad H``,
        so the result can serve as an entropy bonus.

        Args:
            num_samples: ``S >= 2``, the number of rankings sampled per row.

        Returns:
            ``[B]``.
        """
        if num_samples < 2:
            raise ValueError(f"PlackettLuce.entropy: num_samples must be >= 2, got {num_samples}")
        log_p = self.log_prob(self.sample((num_samples,)))
        h = -log_p.detach()
        baseline = (h.sum(dim=0) - h) / (num_samples - 1)
        return (h + (h - baseline) * (log_p - log_p.detach())).mean(dim=0)


# Actions passed to ScaledBeta.log_prob are clamped this fraction of (high - low) inside the bounds.
_BOUND_EPS = 1e-6


class ScaledBeta(TransformedDistribution):
    """Beta distribution mapped affinely onto ``[low, high]``.

    ``X = low + (high - low) U`` with ``U ~ Beta(concentration1, concentration0)``, so

        log p(x) = log Beta(u; c1, c0) - log(high - low),   u = (x - low) / (high - low).

    Samples are reparameterised (``rsample``). :meth:`log_prob` clamps ``x`` to
    ``[low + eps (high - low), high - eps (high - low)]`` with ``eps = 1e-6``, so an action
    exactly on a bound (e.g. after clipping) has a finite log-probability.

    Args:
        concentration1: ``c1 > 0`` (often called alpha), ``[...]``.
        concentration0: ``c0 > 0`` (often called beta), broadcastable with ``concentration1``.
        low: lower bound, float or tensor broadcastable with the concentrations.
        high: upper bound, ``> low``.
        validate_args: passed to :class:`~torch.distributions.Distribution`; when on, also
            checks ``high > low``.
    """

    def __init__(
        self,
        concentration1: Tensor | float,
        concentration0: Tensor | float,
        low: Tensor | float = 0.0,
        high: Tensor | float = 1.0,
        validate_args: bool | None = None,
    ) -> None:
        concentration1, concentration0, low, high = broadcast_all(
            concentration1, concentration0, low, high
        )
        self.low, self.high = low, high
        base = Beta(concentration1, concentration0, validate_args=validate_args)
        super().__init__(base, AffineTransform(low, high - low), validate_args=validate_args)
        if self._validate_args and bool((high <= low).any()):
            raise ValueError("ScaledBeta: high must be greater than low")

    @property
    def mean(self) -> Tensor:
        """``low + (high - low) c1 / (c1 + c0)``, ``[...]``."""
        return self.low + (self.high - self.low) * self.base_dist.mean

    @property
    def deterministic(self) -> Tensor:
        """Greedy action, ``[...]``: the mean.

        The mean is used rather than the mode because it is always inside ``(low, high)`` and
        smooth in the concentrations, whereas the Beta mode is undefined or on a bound when a
        concentration is ``<= 1``.
        """
        return self.mean

    def log_prob(self, value: Tensor) -> Tensor:
        """Log-density of actions ``value`` ``[...]``, clamped first to ``eps`` inside the bounds.

        Values outside ``[low, high]`` are clamped too, so check bounds upstream if that matters.
        """
        width = self.high - self.low
        unit = ((value - self.low) / width).clamp(_BOUND_EPS, 1.0 - _BOUND_EPS)
        return self.base_dist.log_prob(unit) - torch.log(width)

    def entropy(self) -> Tensor:
        """Differential entropy ``H[Beta(c1, c0)] + log(high - low)``, ``[...]``."""
        return self.base_dist.entropy() + torch.log(self.high - self.low)


class BetaHead(nn.Module):
    """Linear policy head producing a :class:`ScaledBeta` per action dimension.

    ``c1, c0 = softplus(W f + b) + min_concentration`` (or ``exp(W f + b) + min_concentration``
    with ``positive="exp"``, the parameterisation of e.g. the noise-mask policy of Yavuz & Yang);
    with ``min_concentration >= 1`` every marginal is unimodal (no mass piling up at the bounds).

    Args:
        in_features: feature size ``F``.
        action_dim: number of action dimensions ``A``.
        low: lower action bound.
        high: upper action bound.
        min_concentration: lower bound added to both concentrations.
        positive: ``"softplus"`` or ``"exp"``, the map from the linear outputs to concentrations.
    """

    def __init__(
        self,
        in_features: int,
        action_dim: int,
        low: float = 0.0,
        high: float = 1.0,
        min_concentration: float = 1.0,
        positive: str = "softplus",
    ) -> None:
        super().__init__()
        if positive not in ("softplus", "exp"):
            raise ValueError(f"positive must be 'softplus' or 'exp', got {positive!r}")
        self.linear = nn.Linear(in_features, 2 * action_dim)
        self.low = low
        self.high = high
        self.min_concentration = min_concentration
        self.positive = positive

    def concentrations(self, features: Tensor) -> tuple[Tensor, Tensor]:
        """``(c1, c0)``, each ``[B, A]``, for features ``[B, F]``."""
        out = self.linear(features)
        out = torch.exp(out) if self.positive == "exp" else F.softplus(out)
        concentration1, concentration0 = (out + self.min_concentration).chunk(2, dim=-1)
        return concentration1, concentration0

    def distribution(self, concentration1: Tensor, concentration0: Tensor) -> Independent:
        """The head's distribution for given concentrations (e.g. after smoothing them)."""
        return Independent(ScaledBeta(concentration1, concentration0, self.low, self.high), 1)

    def forward(self, features: Tensor) -> Independent:
        """Map features ``[B, F]`` to a distribution with batch ``[B]`` and event ``[A]``."""
        return self.distribution(*self.concentrations(features))
