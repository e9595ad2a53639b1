from __future__ import annotations

import math

import pytest
import torch

from pgsuite.core.estimators import explained_variance, ppo_loss

F64 = torch.float64

# Tiny batch, clip_coef c = 0.2 (ratio range [0.8, 1.2]).
RATIOS = [1.5, 0.5, 1.1, 1.5]
ADVANTAGES = [2.0, -1.0, 1.0, -1.0]
NEW_VALUES = [1.0, 2.0, 0.0, 3.0]
OLD_VALUES = [0.5, 2.5, 0.0, 2.9]
RETURNS = [1.5, 2.0, 1.0, 0.0]
ENTROPY = [0.5, 1.0, 1.5, 1.0]


def _t(values: list[float], requires_grad: bool = False) -> torch.Tensor:
    return torch.tensor(values, dtype=F64, requires_grad=requires_grad)


def _batch(**overrides):
    new_log_probs = _t([math.log(r) for r in RATIOS], requires_grad=True)
    kwargs = {
        "new_log_probs": new_log_probs,
        "old_log_probs": torch.zeros(4, dtype=F64),
        "advantages": _t(ADVANTAGES),
        "new_values": _t(NEW_VALUES),
        "returns": _t(RETURNS),
        "entropy": _t(ENTROPY),
        "normalize_advantages": False,
    }
    kwargs.update(overrides)
    return new_log_probs, ppo_loss(**kwargs)


def test_hand_checked_values() -> None:
    _, out = _batch(old_values=_t(OLD_VALUES), ent_coef=0.01, vf_coef=0.5)
    # pg terms max(-A r, -A clip(r, 0.8, 1.2)):
    #   r=1.5, A=2:  max(-3.0, -2.4) = -2.4  (clipped)
    #   r=0.5, A=-1: max( 0.5,  0.8) =  0.8  (clipped)
    #   r=1.1, A=1:  max(-1.1, -1.1) = -1.1  (inside the range)
    #   r=1.5, A=-1: max( 1.5,  1.2) =  1.5  (outside the range, but the unclipped term is worse)
    # pg_loss = (-2.4 + 0.8 - 1.1 + 1.5) / 4 = -0.3
    assert out.pg_loss.item() == pytest.approx(-0.3)
    # |r - 1| > 0.2 for r = 1.5, 0.5, 1.5 -> 3 / 4
    assert out.clipfrac.item() == pytest.approx(0.75)
    # mean((r - 1) - log r) = (0.0945349 + 0.1931472 + 0.0046898 + 0.0945349) / 4
    assert out.approx_kl.item() == pytest.approx(0.0967267, abs=1e-7)
    # unclipped (V - R)^2 = [0.25, 0, 1, 9]
    # V_clip = V_old + clip(V - V_old, -0.2, 0.2) = [0.7, 2.3, 0, 3.0] -> (V_clip - R)^2 = [0.64, 0.09, 1, 9]
    # v_loss = 0.5 * mean(max) = 0.5 * 10.73 / 4
    assert out.v_loss.item() == pytest.approx(1.34125)
    assert out.entropy.item() == pytest.approx(1.0)
    # loss = -0.3 - 0.01 * 1.0 + 0.5 * 1.34125
    assert out.loss.item() == pytest.approx(0.360625)
    assert out.loss.requires_grad
    for name in ("pg_loss", "v_loss", "entropy", "approx_kl", "clipfrac"):
        assert not getattr(out, name).requires_grad, name


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, 1.28125),  # no old values: 0.5 * (0.25 + 0 + 1 + 9) / 4
        ({"old_values": _t(OLD_VALUES), "clip_vloss": False}, 1.28125),
        ({"old_values": _t(OLD_VALUES)}, 1.34125),
    ],
)
def test_value_loss_clipping_switch(overrides: dict, expected: float) -> None:
    _, out = _batch(**overrides)
    assert out.v_loss.item() == pytest.approx(expected)


def test_policy_gradient_direction() -> None:
    new_log_probs, out = _batch()
    out.loss.backward()
    # d pg_loss / d log pi_i = -A_i r_i / N where the unclipped term is active, 0 where clipped:
    #   [0 (clipped, A > 0), 0 (clipped, A < 0), -1.1 / 4, +1.5 / 4]
    torch.testing.assert_close(new_log_probs.grad, _t([0.0, 0.0, -0.275, 0.375]))
    # Raising the log-prob of the unclipped positive-advantage action lowers the loss.
    assert new_log_probs.grad[2] < 0


def test_advantage_normalisation() -> None:
    _, out = _batch(normalize_advantages=True)
    # A = [2, -1, 1, -1]: mean 0.25, unbiased std 1.5 -> A_hat = [7/6, -5/6, 1/2, -5/6]
    # terms: max(-1.75, -1.4) = -1.4; max(5/12, 2/3) = 2/3; -0.55; max(1.25, 1.0) = 1.25
    assert out.pg_loss.item() == pytest.approx((-1.4 + 2 / 3 - 0.55 + 1.25) / 4, abs=1e-7)


def test_approx_kl_non_negative_on_random_ratios() -> None:
    gen = torch.Generator().manual_seed(0)
    for _ in range(20):
        logratio = 0.5 * torch.randn(64, generator=gen, dtype=F64)
        zeros = torch.zeros(64, dtype=F64)
        out = ppo_loss(logratio, zeros, zeros, zeros, zeros, zeros, normalize_advantages=False)
        assert out.approx_kl.item() >= 0


def test_mismatched_shapes_raise() -> None:
    with pytest.raises(ValueError, match="one shape"):
        _batch(new_values=_t(NEW_VALUES).unsqueeze(1))


def test_explained_variance() -> None:
    y = _t([1.0, 2.0, 3.0, 4.0])
    assert explained_variance(y, y) == pytest.approx(1.0)
    assert explained_variance(torch.full_like(y, 2.5), y) == pytest.approx(0.0)
    # residual [0, 0, 0, 1]: Var = 0.1875; Var[y] = 1.25 -> 1 - 0.15
    assert explained_variance(_t([1.0, 2.0, 3.0, 3.0]), y) == pytest.approx(0.85)
    assert math.isnan(explained_variance(y, torch.ones(4, dtype=F64)))
