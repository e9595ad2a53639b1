"""Tests for core.distributions: exact probabilities against brute force, sampling, gradients."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from scipy import stats
from torch.distributions import Categorical

from pgsuite.core.distributions import BetaHead, MaskedCategorical, PlackettLuce, ScaledBeta


def brute_pl_prob(weights: dict[int, float], ranking: tuple[int, ...]) -> float:
    """Plackett–Luce probability of a (possibly partial) ranking, drawn item by item."""
    remaining = dict(weights)
    prob = 1.0
    for item in ranking:
        prob *= remaining[item] / sum(remaining.values())
        del remaining[item]
    return prob


def weights_of(scores: torch.Tensor, mask: torch.Tensor) -> dict[int, float]:
    """``{item: exp(score)}`` over the valid items of one row."""
    return {j: math.exp(float(s)) for j, (s, m) in enumerate(zip(scores, mask, strict=True)) if m}


def padded_ranking(order: tuple[int, ...], n_items: int) -> list[int]:
    """``order`` followed by the items it leaves out, in decreasing index order."""
    return list(order) + sorted(set(range(n_items)) - set(order), reverse=True)


# ------------------------------------------------------------------------------ Plackett–Luce


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_pl_full_ranking_probabilities_match_brute_force(n: int) -> None:
    torch.manual_seed(n)
    scores = 2.0 * torch.randn(1, n, dtype=torch.float64)
    perms = list(itertools.permutations(range(n)))
    log_p = PlackettLuce(scores).log_prob(torch.tensor(perms).unsqueeze(1))
    assert log_p.shape == (len(perms), 1)

    weights = weights_of(scores[0], [True] * n)
    expected = np.array([brute_pl_prob(weights, perm) for perm in perms])
    np.testing.assert_allclose(log_p[:, 0].exp().numpy(), expected, rtol=1e-10)
    assert log_p.exp().sum().item() == pytest.approx(1.0, abs=1e-10)


def padded_batch() -> tuple[torch.Tensor, torch.Tensor]:
    """Three rows of 5 slots with 4, 3 and 1 valid items (scattered) and garbage padding."""
    torch.manual_seed(0)
    mask = torch.tensor([[1, 1, 0, 1, 1], [1, 0, 1, 0, 1], [0, 0, 0, 1, 0]], dtype=torch.bool)
    garbage = torch.tensor([50.0, float("nan"), float("inf"), -1e30, 1e4], dtype=torch.float64)
    return torch.where(mask, torch.randn(3, 5, dtype=torch.float64), garbage), mask


def test_pl_padded_batch_probabilities_match_brute_force() -> None:
    scores, mask = padded_batch()
    dist = PlackettLuce(scores, mask)
    assert dist.n_valid.tolist() == [4, 3, 1]
    assert dist.n_valid.dtype == torch.long
    for b in range(3):
        valid = mask[b].nonzero().flatten().tolist()
        perms = list(itertools.permutations(valid))
        rankings = torch.tensor([padded_ranking(perm, 5) for perm in perms])
        batch_rankings = (
            mask.long().argsort(dim=-1, descending=True, stable=True).repeat(len(perms), 1, 1)
        )
        batch_rankings[:, b] = rankings
        probs = dist.log_prob(batch_rankings)[:, b].exp()

        weights = weights_of(scores[b], mask[b])
        expected = np.array([brute_pl_prob(weights, perm) for perm in perms])
        np.testing.assert_allclose(probs.numpy(), expected, rtol=1e-10)
        assert probs.sum().item() == pytest.approx(1.0, abs=1e-10)


def test_pl_ignores_positions_beyond_n_valid() -> None:
    scores, mask = padded_batch()
    dist = PlackettLuce(scores, mask)
    ranking = torch.tensor([[0, 3, 1, 4, 2], [4, 0, 2, 1, 3], [3, 0, 1, 2, 4]])
    reordered_padding = torch.tensor([[0, 3, 1, 4, 2], [4, 0, 2, 3, 1], [3, 4, 2, 1, 0]])
    full = dist.log_prob(ranking)
    torch.testing.assert_close(dist.log_prob(reordered_padding), full)
    # Prefixes at least n_valid long give the full-ranking probability of that row.
    torch.testing.assert_close(dist.log_prob(ranking[:, :4])[:2], full[:2])
    torch.testing.assert_close(dist.log_prob(ranking[:, :1])[2], full[2])
    assert full[2].item() == 0.0


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_pl_top_k_log_prob_matches_sum_over_completions(k: int) -> None:
    torch.manual_seed(10 + k)
    n = 5
    scores = torch.randn(1, n, dtype=torch.float64)
    weights = weights_of(scores[0], [True] * n)
    full_prob = {perm: brute_pl_prob(weights, perm) for perm in itertools.permutations(range(n))}

    prefixes = list(itertools.permutations(range(n), k))
    probs = PlackettLuce(scores).log_prob(torch.tensor(prefixes).unsqueeze(1))[:, 0].exp()
    expected = np.array(
        [sum(p for perm, p in full_prob.items() if perm[:k] == prefix) for prefix in prefixes]
    )
    np.testing.assert_allclose(probs.numpy(), expected, rtol=1e-10)
    assert probs.sum().item() == pytest.approx(1.0, abs=1e-10)


def test_pl_top_k_log_prob_with_padding_matches_brute_force() -> None:
    scores, mask = padded_batch()
    dist = PlackettLuce(scores, mask)
    prefix = torch.tensor([[4, 1], [2, 0], [3, 1]])
    log_p = dist.log_prob(prefix)
    expected = [
        brute_pl_prob(weights_of(scores[0], mask[0]), (4, 1)),
        brute_pl_prob(weights_of(scores[1], mask[1]), (2, 0)),
        1.0,
    ]
    np.testing.assert_allclose(log_p.exp().numpy(), expected, rtol=1e-10)


def test_pl_sample_frequencies_pass_chi_square() -> None:
    torch.manual_seed(1234)
    num_samples = 20_000
    scores = torch.tensor([[1.0, 0.2, -0.5, 0.6, 0.0, 0.0], [0.3, 9.0, -0.4, 0.8, -1.5, 1.1]])
    mask = torch.tensor([[1, 1, 1, 1, 0, 0], [1, 0, 1, 0, 1, 1]], dtype=torch.bool)
    samples = PlackettLuce(scores, mask).sample((num_samples,))
    assert samples.shape == (num_samples, 2, 6)
    assert samples.dtype == torch.long

    for b in range(2):
        valid = mask[b].nonzero().flatten().tolist()
        perms = list(itertools.permutations(valid))
        weights = weights_of(scores[b], mask[b])
        expected = np.array([brute_pl_prob(weights, perm) for perm in perms]) * num_samples
        counts = dict.fromkeys(perms, 0)
        for row in samples[:, b, :4].tolist():
            counts[tuple(row)] += 1
        observed = np.array([counts[perm] for perm in perms])
        assert observed.sum() == num_samples
        assert stats.chisquare(observed, expected).pvalue > 1e-3


def test_pl_samples_are_permutations_with_padding_last() -> None:
    torch.manual_seed(5)
    scores, mask = padded_batch()
    scores = torch.where(mask, scores, 100.0)  # padding that would win if it were sampled
    samples = PlackettLuce(scores, mask).sample((200, 3))
    assert samples.shape == (200, 3, 3, 5)
    assert torch.equal(samples.sort(dim=-1).values, torch.arange(5).expand_as(samples))

    is_valid = mask.expand_as(samples).gather(-1, samples)
    position = torch.arange(5)
    n_valid = mask.sum(-1, keepdim=True)
    assert torch.equal(is_valid, (position < n_valid).expand_as(samples))
    padded_tail = samples[:, :, 1, 3:]  # row 1 has padded slots 1 and 3
    assert torch.equal(padded_tail, torch.tensor([1, 3]).expand_as(padded_tail))


def test_pl_log_prob_gradcheck() -> None:
    torch.manual_seed(3)
    scores, mask = padded_batch()
    scores = torch.where(mask, scores, 0.0).requires_grad_()
    rankings = torch.tensor(
        [
            [[0, 3, 1, 4, 2], [4, 0, 2, 1, 3], [3, 0, 1, 2, 4]],
            [[4, 1, 0, 3, 2], [2, 4, 0, 3, 1], [3, 4, 2, 1, 0]],
        ]
    )

    def log_prob(s: torch.Tensor, k: int) -> torch.Tensor:
        return PlackettLuce(s, mask).log_prob(rankings[..., :k])

    for k in (2, 5):
        assert torch.autograd.gradcheck(lambda s, k=k: log_prob(s, k), (scores,))
    log_prob(scores, 5).sum().backward()
    assert torch.all(scores.grad[~mask] == 0)
    assert torch.all(scores.grad[mask][:-1] != 0)  # the lone item of row 2 has zero gradient


def test_pl_entropy_value_and_gradient_match_exact() -> None:
    torch.manual_seed(7)
    scores = torch.tensor([[1.5, 0.0, -1.0, 0.5]], dtype=torch.float64, requires_grad=True)

    exact = torch.zeros((), dtype=torch.float64)
    for perm in itertools.permutations(range(4)):
        log_p = torch.zeros((), dtype=torch.float64)
        for i, item in enumerate(perm):
            log_p = log_p + scores[0, item] - scores[0, list(perm[i:])].logsumexp(0)
        exact = exact - log_p.exp() * log_p
    (exact_grad,) = torch.autograd.grad(exact, scores)

    estimate = PlackettLuce(scores).entropy(num_samples=20_000)
    assert estimate.shape == (1,)
    assert estimate.item() == pytest.approx(exact.item(), abs=0.04)
    (estimate_grad,) = torch.autograd.grad(estimate.sum(), scores)
    assert exact_grad.abs().max() > 0.2
    torch.testing.assert_close(estimate_grad, exact_grad, atol=0.04, rtol=0.0)


def test_pl_rejects_row_without_valid_item() -> None:
    mask = torch.tensor([[True, False], [False, False]])
    with pytest.raises(ValueError, match="at least one valid"):
        PlackettLuce(torch.zeros(2, 2), mask)


@pytest.mark.parametrize(
    ("ranking", "message"),
    [
        ([[0, 0, 1]], "same item twice"),
        ([[2, 0, 1]], "padded item before a valid one"),
        ([[0, 3, 1]], r"in \[0, 3\)"),
        ([[0, 1, 2, 0]], "1 <= K <= 3"),
    ],
)
def test_pl_validation_rejects_invalid_rankings(ranking: list[list[int]], message: str) -> None:
    dist = PlackettLuce(torch.zeros(1, 3), torch.tensor([[True, True, False]]), validate_args=True)
    with pytest.raises(ValueError, match=message):
        dist.log_prob(torch.tensor(ranking))


# -------------------------------------------------------------------------- MaskedCategorical


def masked_batch() -> tuple[torch.Tensor, torch.Tensor]:
    """Four rows of 6 logits; each row masks different actions, some with the largest logit."""
    torch.manual_seed(11)
    logits = torch.randn(4, 6, dtype=torch.float64)
    mask = torch.tensor(
        [
            [1, 1, 1, 1, 1, 1],
            [0, 1, 0, 1, 0, 1],
            [0, 0, 0, 0, 1, 0],
            [1, 1, 0, 0, 1, 1],
        ],
        dtype=torch.bool,
    )
    logits[~mask] = 1e6
    return logits, mask


def test_masked_categorical_never_samples_masked_actions() -> None:
    torch.manual_seed(0)
    logits, mask = masked_batch()
    samples = MaskedCategorical(logits, mask).sample((20_000,))
    assert samples.shape == (20_000, 4)
    assert mask.expand(20_000, 4, 6).gather(-1, samples.unsqueeze(-1)).all()
    seen = torch.zeros_like(mask).scatter(-1, samples.T, True)
    assert torch.equal(seen, mask)


def test_masked_categorical_probs_are_softmax_over_valid_logits() -> None:
    logits, mask = masked_batch()
    probs = MaskedCategorical(logits, mask).probs
    assert torch.all(probs[~mask] == 0.0)
    for b in range(4):
        valid = logits[b][mask[b]].numpy()
        expected = np.exp(valid - valid.max()) / np.exp(valid - valid.max()).sum()
        np.testing.assert_allclose(probs[b][mask[b]].numpy(), expected, rtol=1e-12)


def test_masked_categorical_entropy_is_entropy_of_renormalised_valid_actions() -> None:
    logits, mask = masked_batch()
    entropy = MaskedCategorical(logits.float(), mask).entropy()
    assert torch.isfinite(entropy).all()
    for b in range(4):
        valid = logits[b][mask[b]].numpy()
        p = np.exp(valid - valid.max()) / np.exp(valid - valid.max()).sum()
        assert entropy[b].item() == pytest.approx(-(p * np.log(p)).sum(), abs=1e-5)
    assert entropy[2].item() == 0.0


def test_masked_categorical_broadcasts_mask() -> None:
    logits, _ = masked_batch()
    row_mask = torch.tensor([False, True, True, False, True, False])
    dist = MaskedCategorical(logits, row_mask)
    assert dist.batch_shape == (4,)
    assert torch.all(dist.probs[:, ~row_mask] == 0.0)
    torch.testing.assert_close(dist.probs[:, row_mask], logits[:, row_mask].softmax(-1))


def test_masked_categorical_without_valid_action_raises() -> None:
    mask = torch.tensor([[True, False], [False, False]])
    with pytest.raises(ValueError, match="at least one valid"):
        MaskedCategorical(torch.zeros(2, 2), mask)


def test_masked_categorical_mode_picks_best_valid_action() -> None:
    logits = torch.tensor([[5.0, 1.0, 3.0, 2.0], [0.0, 9.0, -1.0, 4.0]])
    mask = torch.tensor([[False, True, True, True], [True, False, True, False]])
    assert MaskedCategorical(logits, mask).mode.tolist() == [2, 0]
    assert MaskedCategorical(logits).mode.tolist() == [0, 1]


def test_masked_categorical_gradients_are_finite_and_zero_on_masked_logits() -> None:
    torch.manual_seed(2)
    logits, mask = masked_batch()
    logits = logits.float().requires_grad_()
    dist = MaskedCategorical(logits, mask)
    (dist.log_prob(dist.sample((64,))).sum() + dist.entropy().sum()).backward()
    assert torch.isfinite(logits.grad).all()
    assert torch.all(logits.grad[~mask] == 0)
    assert logits.grad[0].abs().sum() > 0


def test_masked_categorical_without_mask_is_plain_categorical() -> None:
    logits, _ = masked_batch()
    logits = logits.clamp(max=3.0)
    dist, plain = MaskedCategorical(logits), Categorical(logits=logits)
    actions = torch.tensor([0, 5, 2, 3])
    torch.testing.assert_close(dist.probs, plain.probs)
    torch.testing.assert_close(dist.entropy(), plain.entropy())
    torch.testing.assert_close(dist.log_prob(actions), plain.log_prob(actions))


# ------------------------------------------------------------------------------------- Beta


@pytest.mark.parametrize(("low", "high"), [(0.0, 1.0), (-2.0, 3.0)])
def test_scaled_beta_matches_scipy(low: float, high: float) -> None:
    c1 = torch.tensor([0.5, 1.0, 2.0, 7.5], dtype=torch.float64)
    c0 = torch.tensor([0.7, 3.0, 2.0, 1.2], dtype=torch.float64)
    dist = ScaledBeta(c1, c0, low, high)
    x = torch.tensor([0.1, 0.5, 0.25, 0.9], dtype=torch.float64) * (high - low) + low
    a, b, scale = c1.numpy(), c0.numpy(), high - low

    np.testing.assert_allclose(
        dist.log_prob(x).numpy(), stats.beta.logpdf(x.numpy(), a, b, loc=low, scale=scale)
    )
    np.testing.assert_allclose(
        dist.entropy().numpy(), stats.beta.entropy(a, b, loc=low, scale=scale)
    )
    np.testing.assert_allclose(dist.mean.numpy(), stats.beta.mean(a, b, loc=low, scale=scale))
    torch.testing.assert_close(dist.deterministic, dist.mean)


def test_scaled_beta_accepts_tensor_bounds() -> None:
    low, high = torch.tensor([-1.0, 0.0, 10.0]), torch.tensor([1.0, 0.5, 20.0])
    dist = ScaledBeta(torch.tensor(2.0), torch.tensor(3.0), low, high)
    assert dist.batch_shape == (3,)
    x = torch.tensor([0.0, 0.1, 12.0])
    expected = stats.beta.logpdf(x.numpy(), 2.0, 3.0, loc=low.numpy(), scale=(high - low).numpy())
    np.testing.assert_allclose(dist.log_prob(x).numpy(), expected, rtol=1e-5)


def test_scaled_beta_samples_lie_within_bounds() -> None:
    torch.manual_seed(4)
    dist = ScaledBeta(torch.tensor([0.3, 4.0]), torch.tensor([0.3, 0.5]), -3.0, 2.0)
    samples = dist.sample((10_000,))
    assert samples.shape == (10_000, 2)
    assert torch.all((samples >= -3.0) & (samples <= 2.0))
    torch.testing.assert_close(samples.mean(0), dist.mean, atol=0.05, rtol=0.0)


@pytest.mark.parametrize("concentration", [0.5, 1.0, 3.0])
def test_scaled_beta_log_prob_at_bounds_is_finite(concentration: float) -> None:
    c = torch.full((2,), concentration, requires_grad=True)
    dist = ScaledBeta(c, c, -1.0, 1.0)
    log_p = dist.log_prob(torch.tensor([-1.0, 1.0]))
    assert torch.isfinite(log_p).all()
    log_p.sum().backward()
    assert torch.isfinite(c.grad).all()


def test_scaled_beta_rejects_empty_interval() -> None:
    with pytest.raises(ValueError, match="high must be greater than low"):
        ScaledBeta(1.0, 1.0, 1.0, 1.0, validate_args=True)


@pytest.mark.parametrize("min_concentration", [1.0, 2.5])
def test_beta_head_shapes_and_concentrations(min_concentration: float) -> None:
    torch.manual_seed(6)
    head = BetaHead(8, 3, low=-2.0, high=2.0, min_concentration=min_concentration)
    features = 50.0 * torch.randn(5, 8)
    dist = head(features)
    assert dist.batch_shape == (5,)
    assert dist.event_shape == (3,)

    beta = dist.base_dist.base_dist
    for concentration in (beta.concentration1, beta.concentration0):
        assert concentration.shape == (5, 3)
        assert torch.all(concentration >= min_concentration)
    assert torch.isclose(beta.concentration1, torch.tensor(min_concentration)).any()

    actions = dist.sample()
    assert actions.shape == (5, 3)
    assert torch.all((actions >= -2.0) & (actions <= 2.0))
    assert dist.entropy().shape == (5,)
    bound_actions = torch.tensor([-2.0, 2.0, 0.0]).expand(5, 3)
    log_p = dist.log_prob(bound_actions)
    assert log_p.shape == (5,)
    assert torch.isfinite(log_p).all()
    log_p.sum().backward()
    assert torch.isfinite(head.linear.weight.grad).all()
    assert head.linear.weight.grad.abs().sum() > 0
