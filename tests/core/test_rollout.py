"""Rollout buffer: GAE over the stored steps, minibatches cover every sample exactly once."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Batch, Data

from pgsuite.core.advantages import gae
from pgsuite.core.rollout import RolloutBuffer

T, B = 5, 3


def _fill(buffer: RolloutBuffer, graph_obs: bool) -> None:
    g = torch.Generator().manual_seed(0)
    for t in range(T):
        if graph_obs:
            obs = Batch.from_data_list(
                [
                    Data(
                        x=torch.full((2 + b, 1), float(t * B + b)),
                        edge_index=torch.zeros(2, 0, dtype=torch.long),
                    )
                    for b in range(B)
                ]
            )
        else:
            obs = torch.arange(B, dtype=torch.float32).unsqueeze(-1) + t * B  # obs id == t*B + b
        mask = torch.rand(B, 4, generator=g) < 0.7
        buffer.add(
            obs,
            action=torch.arange(B) + t * B,
            log_prob=torch.randn(B, generator=g),
            value=torch.randn(B, generator=g),
            reward=torch.randn(B, generator=g),
            done=torch.rand(B, generator=g) < 0.3,
            action_mask=mask,
        )


@pytest.mark.parametrize("graph_obs", [False, True])
def test_minibatches_cover_every_sample_once(graph_obs: bool) -> None:
    buffer = RolloutBuffer(T, B)
    _fill(buffer, graph_obs)
    last_value = torch.randn(B)
    buffer.compute_advantages(last_value, 0.99, 0.95)
    advantages, returns = gae(buffer.rewards, buffer.values, buffer.dones, last_value, 0.99, 0.95)
    seen = []
    for mb in buffer.minibatches(4, torch.Generator().manual_seed(1)):
        ids = mb.actions  # action id == flat sample index
        obs_ids = mb.obs.x[mb.obs.ptr[:-1], 0] if graph_obs else mb.obs[:, 0]
        assert torch.equal(obs_ids.long(), ids)
        assert torch.equal(mb.advantages, advantages.flatten()[ids])
        assert torch.equal(mb.returns, returns.flatten()[ids])
        assert torch.equal(mb.action_masks, buffer.action_masks.flatten(0, 1)[ids])
        seen += ids.tolist()
    assert sorted(seen) == list(range(T * B))


def test_buffer_guards_its_protocol() -> None:
    buffer = RolloutBuffer(T, B)
    with pytest.raises(RuntimeError, match="holds 0 of 5"):
        buffer.compute_advantages(torch.zeros(B), 0.99, 0.95)
    _fill(buffer, False)
    with pytest.raises(RuntimeError, match="full"):
        buffer.add(
            torch.zeros(B, 1),
            torch.zeros(B),
            torch.zeros(B),
            torch.zeros(B),
            torch.zeros(B),
            torch.zeros(B),
        )
    with pytest.raises(RuntimeError, match="compute_advantages"):
        next(buffer.minibatches(2))
    buffer.reset()
    assert not buffer.full


def test_a_new_rollout_may_change_the_observation_shape_but_not_mid_rollout() -> None:
    """Curricula over instance sizes change observation and mask shapes between rollouts."""
    buffer = RolloutBuffer(2, B)

    def add(size: int) -> None:
        buffer.add(
            torch.ones(B, size, 3),
            torch.zeros(B, dtype=torch.long),
            torch.zeros(B),
            torch.zeros(B),
            torch.zeros(B),
            torch.zeros(B),
            action_mask=torch.ones(B, size, dtype=torch.bool),
        )

    add(4)
    add(4)
    buffer.reset()
    add(6)
    assert buffer.obs.shape == (2, B, 6, 3)
    assert buffer.action_masks.shape == (2, B, 6)
    with pytest.raises(ValueError, match="within a rollout"):
        add(5)
