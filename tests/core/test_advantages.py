from __future__ import annotations

import statistics

import numpy as np
import pytest
import torch

from pgsuite.core.advantages import (
    RunningMeanStd,
    discounted_returns,
    gae,
    group_mean_baseline,
    group_relative_advantages,
    leave_one_out_baseline,
    normalize,
    time_indexed_baseline,
    vec_gae,
)

F64 = torch.float64


def _col(values: list[float]) -> torch.Tensor:
    """A single batch column ``[T, 1]``."""
    return torch.tensor(values, dtype=F64).unsqueeze(1)


# T = 4, one column, the episode ends with the transition at t = 1.
REWARDS = [1.0, 2.0, 3.0, 4.0]
VALUES = [0.5, 1.0, 1.5, 2.0]
DONES = [0.0, 1.0, 0.0, 0.0]


@pytest.mark.parametrize("fn", [gae, vec_gae])
def test_gae_hand_example(fn) -> None:
    # gamma = 0.9, lam = 0.8 (gamma * lam = 0.72), V_T = last_value = 3.
    # delta_3 = 4 + 0.9 * 3.0 - 2.0 = 4.7
    # delta_2 = 3 + 0.9 * 2.0 - 1.5 = 3.3
    # delta_1 = 2 + 0 (done)  - 1.0 = 1.0
    # delta_0 = 1 + 0.9 * 1.0 - 0.5 = 1.4
    # A_3 = 4.7; A_2 = 3.3 + 0.72 * 4.7 = 6.684; A_1 = 1.0 (done); A_0 = 1.4 + 0.72 * 1.0 = 2.12
    # returns = A + V = [2.62, 2.0, 8.184, 6.7]
    adv, ret = fn(
        _col(REWARDS), _col(VALUES), _col(DONES), torch.tensor([3.0], dtype=F64), 0.9, 0.8
    )
    torch.testing.assert_close(adv, _col([2.12, 1.0, 6.684, 4.7]))
    torch.testing.assert_close(ret, _col([2.62, 2.0, 8.184, 6.7]))


def test_vec_gae_matches_loop() -> None:
    gen = torch.Generator().manual_seed(0)
    T, B = 50, 7
    rewards = torch.randn(T, B, generator=gen, dtype=F64)
    values = torch.randn(T, B, generator=gen, dtype=F64)
    dones = torch.rand(T, B, generator=gen, dtype=F64) < 0.1
    last_value = torch.randn(B, generator=gen, dtype=F64)
    assert 0 < int(dones.sum()) < T * B
    loop_adv, loop_ret = gae(rewards, values, dones, last_value, 0.99, 0.95)
    vec_adv, vec_ret = vec_gae(rewards, values, dones, last_value, 0.99, 0.95)
    torch.testing.assert_close(vec_adv, loop_adv, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(vec_ret, loop_ret, rtol=1e-12, atol=1e-12)


def test_discounted_returns_hand_example() -> None:
    # gamma = 0.9, done at t = 1.
    # With bootstrap 10: G_3 = 4 + 0.9 * 10 = 13; G_2 = 3 + 0.9 * 13 = 14.7; G_1 = 2; G_0 = 1 + 1.8.
    # Without: G_3 = 4; G_2 = 3 + 3.6 = 6.6; G_1 = 2; G_0 = 2.8.
    rewards, dones = _col(REWARDS), _col(DONES)
    boot = torch.tensor([10.0], dtype=F64)
    torch.testing.assert_close(
        discounted_returns(rewards, dones, 0.9, boot), _col([2.8, 2.0, 14.7, 13.0])
    )
    torch.testing.assert_close(discounted_returns(rewards, dones, 0.9), _col([2.8, 2.0, 6.6, 4.0]))


def test_discounted_returns_equal_gae_with_lam_one_and_zero_values() -> None:
    gen = torch.Generator().manual_seed(1)
    T, B = 30, 3
    rewards = torch.randn(T, B, 2, generator=gen, dtype=F64)
    dones = torch.rand(T, B, 2, generator=gen) < 0.2
    boot = torch.randn(B, 2, generator=gen, dtype=F64)
    expected, _ = gae(rewards, torch.zeros_like(rewards), dones, boot, 0.97, 1.0)
    torch.testing.assert_close(discounted_returns(rewards, dones, 0.97, boot), expected)


def test_normalize_mean_std_and_mask() -> None:
    gen = torch.Generator().manual_seed(2)
    x = 3.0 + 5.0 * torch.randn(1000, generator=gen, dtype=F64)
    out = normalize(x)
    assert abs(float(out.mean())) < 1e-12
    assert float(out.std()) == pytest.approx(1.0, abs=1e-6)

    mask = torch.arange(1000) % 3 != 0
    x_padded = torch.where(mask, x, torch.full_like(x, float("nan")))
    out = normalize(x_padded, mask=mask)
    torch.testing.assert_close(out[mask], normalize(x[mask]))
    assert torch.all(out[~mask] == 0)

    with pytest.raises(ValueError, match="at least 2"):
        normalize(torch.tensor([1.0]))


def test_running_mean_std_matches_concatenation() -> None:
    gen = torch.Generator().manual_seed(3)
    batches = [2.0 + 3.0 * torch.randn(n, 4, generator=gen) for n in (1, 17, 64, 5)]
    rms = RunningMeanStd(shape=(4,))
    for batch in batches:
        rms.update(batch)
    data = torch.cat(batches).double().numpy()
    np.testing.assert_allclose(rms.mean.numpy(), data.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(rms.var.numpy(), data.var(axis=0), rtol=1e-10)
    assert rms.count == len(data)
    x = torch.randn(3, 4, generator=gen)
    mean, var = torch.from_numpy(data.mean(axis=0)), torch.from_numpy(data.var(axis=0))
    expected = (x.double() - mean) / torch.sqrt(var + rms.eps)
    torch.testing.assert_close(rms.normalize(x), expected.float())


def test_running_mean_std_scalar_shape_reduces_all_dims() -> None:
    gen = torch.Generator().manual_seed(4)
    batches = [torch.randn(8, 3, generator=gen), torch.randn(5, 3, generator=gen)]
    rms = RunningMeanStd()
    for batch in batches:
        rms.update(batch)
    data = torch.cat([b.flatten() for b in batches]).double().numpy()
    assert float(rms.mean) == pytest.approx(data.mean(), rel=1e-10)
    assert float(rms.var) == pytest.approx(data.var(), rel=1e-10)


def test_running_mean_std_state_dict_round_trip() -> None:
    gen = torch.Generator().manual_seed(5)
    rms = RunningMeanStd(shape=(2,))
    rms.update(torch.randn(10, 2, generator=gen))
    state = rms.state_dict()
    rms.update(torch.randn(10, 2, generator=gen) + 7.0)  # must not alter the saved copy

    restored = RunningMeanStd(shape=(2,))
    restored.load_state_dict(state)
    assert restored.count == 10
    x = torch.randn(4, 2, generator=gen)
    torch.testing.assert_close(restored.normalize(x), _rms_normalize(state, x, restored.eps))
    assert not torch.allclose(restored.normalize(x), rms.normalize(x))


def _rms_normalize(state: dict, x: torch.Tensor, eps: float) -> torch.Tensor:
    return ((x.double() - state["mean"]) / torch.sqrt(state["var"] + eps)).float()


def test_leave_one_out_baseline_matches_loop() -> None:
    gen = torch.Generator().manual_seed(6)
    rewards = torch.randn(3, 5, generator=gen, dtype=F64)
    expected = torch.empty_like(rewards)
    for g in range(3):
        for i in range(5):
            expected[g, i] = sum(rewards[g, j] for j in range(5) if j != i) / 4
    torch.testing.assert_close(leave_one_out_baseline(rewards), expected)
    with pytest.raises(ValueError, match="at least 2"):
        leave_one_out_baseline(torch.ones(4, 1))


def test_group_baselines_match_loop() -> None:
    gen = torch.Generator().manual_seed(7)
    rewards = torch.randn(4, 6, generator=gen, dtype=F64)
    eps = 1e-8
    mean_expected = torch.empty_like(rewards)
    grpo_expected = torch.empty_like(rewards)
    for g in range(4):
        row = rewards[g].tolist()
        mu, sd = statistics.mean(row), statistics.stdev(row)
        for i in range(6):
            mean_expected[g, i] = mu
            grpo_expected[g, i] = (row[i] - mu) / (sd + eps)
    torch.testing.assert_close(group_mean_baseline(rewards), mean_expected)
    torch.testing.assert_close(group_relative_advantages(rewards, eps=eps), grpo_expected)
    torch.testing.assert_close(
        group_relative_advantages(rewards, scale=False), rewards - mean_expected
    )


def test_group_relative_advantages_constant_group_is_zero() -> None:
    out = group_relative_advantages(torch.full((2, 4), 3.0))
    assert torch.equal(out, torch.zeros(2, 4))


def test_time_indexed_baseline_by_hand() -> None:
    # rollout A decides at 0, 2, 4; B at 0, 1, 3; both saw the same arrivals
    times = [torch.tensor([0.0, 2.0, 4.0]), torch.tensor([0.0, 1.0, 3.0])]
    returns = [torch.tensor([-6.0, -4.0, 0.0]), torch.tensor([-5.0, -3.0, -1.0])]
    a, b = time_indexed_baseline(times, returns)
    # A at 2: its own -4, B between (1, -3) and (3, -1): -2; at 4 B holds its last value -1
    assert torch.allclose(a, torch.tensor([-5.5, -3.0, -0.5]))
    # B at 1: A between (0, -6) and (2, -4): -5; at 3: A between (2, -4) and (4, 0): -2
    assert torch.allclose(b, torch.tensor([-5.5, -4.0, -1.5]))


def test_time_indexed_baseline_of_identical_rollouts_is_their_return() -> None:
    times = torch.tensor([0.0, 1.0, 1.0, 5.0])  # two decisions at one instant
    returns = torch.tensor([-3.0, -2.0, -2.0, 0.0])
    for baseline in time_indexed_baseline([times, times], [returns, returns]):
        assert torch.equal(baseline, returns)


def test_time_indexed_baseline_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="non-decreasing"):
        time_indexed_baseline([torch.tensor([1.0, 0.0])], [torch.tensor([0.0, 0.0])])
    with pytest.raises(ValueError, match="same non-empty"):
        time_indexed_baseline([torch.tensor([1.0])], [torch.tensor([0.0, 0.0])])
