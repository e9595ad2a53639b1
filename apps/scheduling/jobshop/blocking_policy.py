"""Graph actor-critic over the blocking job shop's dynamic graph
(:func:`~pgsuite.apps.scheduling.jobshop.blocking_env.blocking_graph`), the classic policy's
family (:mod:`~pgsuite.apps.scheduling.jobshop.policy`) with the blocking relation as a third
channel. Each round of message passing is a GIN-style update,

    h_v <- h_v + MLP([(1 + eps) h_v, sum of h over v's job arcs, mean of h over v's machine arcs,
                      sum over the wait-for arcs into v, sum over the wait-for arcs out of v]),

on torch-geometric edge lists (the graph changes every step, so nothing is dense). The actor
scores each job's next operation from its embedding and its graph's mean embedding (a masked
categorical over jobs; with ``wait``, one more action scored from the mean embedding); the critic
reads the mean embedding. Means keep the network
size-independent: it trains on one size and runs on any.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch
from torch_geometric.utils import scatter

from pgsuite.apps.scheduling.jobshop.blocking_env import NODE_FEATURES
from pgsuite.core.distributions import MaskedCategorical
from pgsuite.core.nn import MLP

JOB, MACHINE, WAIT = 0, 1, 2


class RelationalRound(nn.Module):
    """One round of the update in the module docstring."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.eps = nn.Parameter(torch.zeros(1))
        self.update = MLP(5 * hidden, [hidden], hidden, activation="relu")

    def forward(self, h: Tensor, edge_index: Tensor, edge_type: Tensor) -> Tensor:
        size = h.shape[0]

        def gather(kind: int, reduce: str, reverse: bool = False) -> Tensor:
            source, target = edge_index[:, edge_type == kind]
            if reverse:
                source, target = target, source
            return scatter(h[source], target, dim=0, dim_size=size, reduce=reduce)

        channels = [(1 + self.eps) * h, gather(JOB, "sum"), gather(MACHINE, "mean"),
                    gather(WAIT, "sum"), gather(WAIT, "sum", reverse=True)]  # fmt: skip
        return h + self.update(torch.cat(channels, dim=-1))


class BlockingPolicy(nn.Module):
    """``forward(batch, action_mask [B, n (+ 1)]) -> (MaskedCategorical over jobs (and the wait
    action last), value [B])`` (the core PPO's agent protocol); ``batch``: a torch-geometric
    batch of blocking graphs."""

    def __init__(self, hidden: int = 64, layers: int = 3, wait: bool = False) -> None:
        super().__init__()
        self.wait = wait
        self.wait_score = (
            MLP(hidden, [hidden], 1, activation="relu", output_std=0.01) if wait else None
        )
        self.embed = MLP(len(NODE_FEATURES), [hidden], hidden, activation="relu")
        self.rounds = nn.ModuleList(RelationalRound(hidden) for _ in range(layers))
        self.score = MLP(2 * hidden, [hidden], 1, activation="relu", output_std=0.01)
        self.value = MLP(hidden, [hidden], 1, activation="relu")

    def forward(self, batch: Batch, action_mask: Tensor | None = None):
        h = self.embed(batch.x)
        for layer in self.rounds:
            h = layer(h, batch.edge_index, batch.edge_type)
        graphs = batch.num_graphs
        pooled = scatter(h, batch.batch, dim=0, dim_size=graphs, reduce="mean")
        jobs = int(torch.as_tensor(batch.num_jobs).max())
        nodes = torch.nonzero(batch.is_next).squeeze(-1)
        graph_of = batch.batch[nodes]
        scores = self.score(torch.cat([h[nodes], pooled[graph_of]], dim=-1)).squeeze(-1)
        logits = torch.zeros(graphs, jobs + self.wait, device=h.device)
        logits[graph_of, batch.job[nodes]] = scores
        if self.wait:
            logits[:, jobs] = self.wait_score(pooled).squeeze(-1)
        if action_mask is None:  # the moves (waiting needs the shop: give the mask)
            action_mask = torch.zeros(graphs, jobs + self.wait, dtype=torch.bool, device=h.device)
            action_mask[graph_of, batch.job[nodes]] = batch.x[nodes, NODE_FEATURES.index(
                "candidate")] > 0  # fmt: skip
        return MaskedCategorical(logits, action_mask), self.value(pooled).squeeze(-1)
