"""The learned assignment policy: one small network scores every node for the task at hand from
that node's features and the task's (shared weights, so a policy trained on one cluster runs on
a cluster of any size), a masked categorical over the nodes that hold the task, and a value from
the nodes' mean embedding."""

from __future__ import annotations

import torch
from torch import nn

from pgsuite.apps.scheduling.iot.env import NODE_FEATURES, TASK_FEATURES
from pgsuite.core.distributions import MaskedCategorical


class NodeScorer(nn.Module):
    """``forward(obs [B, 6 M + 3], action_mask [B, M] | None) -> (MaskedCategorical over M,
    value [B])`` (the core PPO's agent protocol)."""

    def __init__(self, hidden: int = 64) -> None:
        super().__init__()
        width = NODE_FEATURES + TASK_FEATURES
        self.embed = nn.Sequential(nn.Linear(width, hidden), nn.Tanh(), nn.Linear(hidden, hidden),
                                   nn.Tanh())  # fmt: skip
        self.score = nn.Linear(hidden, 1)
        self.value = nn.Sequential(nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def forward(self, obs: torch.Tensor, action_mask: torch.Tensor | None = None):
        nodes = obs[:, :-TASK_FEATURES].reshape(obs.shape[0], -1, NODE_FEATURES)
        task = obs[:, None, -TASK_FEATURES:].expand(-1, nodes.shape[1], -1)
        embedding = self.embed(torch.cat([nodes, task], dim=-1))
        logits = self.score(embedding).squeeze(-1)
        return MaskedCategorical(logits=logits, mask=action_mask), self.value(
            embedding.mean(dim=1)
        ).squeeze(-1)
