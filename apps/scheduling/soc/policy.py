"""The learned SoC scheduler: a hierarchical graph network over the jobs in the system (DeepSoCS /
Decima) that scores the ready tasks; the PE is then the task's earliest-finish PE.

Per node: an MLP embedding of its features, then ``layers`` rounds of message passing from
successors to predecessors (Decima's direction: a task learns about the work that waits on it),
``h_v <- h_v + MLP([h_v, sum of h over v's successors])``. Per job: the mean of its nodes'
embeddings through an MLP; globally: the mean of the job summaries with the global features through
an MLP. A ready task's score is an MLP of ``[h_v, its job's summary, the global summary]``; the
value (for PPO) an MLP of the global summary. Inputs are torch-geometric batches of
:meth:`~pgsuite.apps.scheduling.soc.features.Observation.to_data` graphs.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch
from torch_geometric.utils import scatter

from pgsuite.apps.scheduling.soc.features import NODE_FEATURES
from pgsuite.core.distributions import MaskedCategorical
from pgsuite.core.nn import MLP


class SuccessorPassing(nn.Module):
    """One round ``h_v <- h_v + MLP([h_v, sum_{s in succ(v)} h_s])``."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.update = MLP(2 * hidden, [hidden], hidden, activation="relu")

    def forward(self, h: Tensor, edge_index: Tensor) -> Tensor:
        pred, succ = edge_index
        incoming = scatter(h[succ], pred, dim=0, dim_size=h.shape[0], reduce="sum")
        return h + self.update(torch.cat([h, incoming], dim=-1))


class SoCPolicy(nn.Module):
    """``forward(batch, action_mask) -> (MaskedCategorical [B, max_ready], value [B])``.

    Args:
        num_global_features: width of the graphs' ``u`` (2 + the SoC's clusters).
        max_ready: ready slots (the action count).
        hidden: embedding width.
        layers: message-passing rounds.
    """

    def __init__(
        self, num_global_features: int, max_ready: int, hidden: int = 32, layers: int = 3
    ) -> None:
        super().__init__()
        self.max_ready = max_ready
        self.embed = MLP(len(NODE_FEATURES), [hidden], hidden, activation="relu")
        self.passing = nn.ModuleList(SuccessorPassing(hidden) for _ in range(layers))
        self.job_summary = MLP(hidden, [hidden], hidden, activation="relu")
        self.global_summary = MLP(hidden + num_global_features, [hidden], hidden, activation="relu")
        self.score = MLP(3 * hidden, [hidden], 1, activation="relu", output_std=0.01)
        self.value = MLP(hidden, [hidden], 1, activation="relu")

    def forward(
        self, batch: Batch, action_mask: Tensor | None = None
    ) -> tuple[MaskedCategorical, Tensor]:
        h = self.embed(batch.x)
        for layer in self.passing:
            h = layer(h, batch.edge_index)
        graph_of = batch.batch
        jobs = scatter(h, batch.job_index, dim=0, dim_size=h.shape[0], reduce="mean")
        jobs = self.job_summary(jobs)
        job_graph = scatter(graph_of, batch.job_index, dim=0, dim_size=h.shape[0], reduce="max")
        present = torch.zeros(h.shape[0], dtype=torch.bool, device=h.device)
        present[batch.job_index] = True
        pooled = scatter(jobs[present], job_graph[present], dim=0, dim_size=batch.num_graphs,
                         reduce="mean")  # fmt: skip
        summary = self.global_summary(torch.cat([pooled, batch.u], dim=-1))
        ready = batch.ready_index
        ready_graph = graph_of[ready]
        features = torch.cat([h[ready], jobs[batch.job_index[ready]], summary[ready_graph]], -1)
        scores = self.score(features).squeeze(-1)
        first = torch.cumsum(batch.num_ready, 0) - batch.num_ready
        slot = torch.arange(len(ready), device=h.device) - first[ready_graph]
        logits = torch.zeros(batch.num_graphs, self.max_ready, device=h.device)
        logits[ready_graph, slot] = scores
        if action_mask is None:
            action_mask = torch.arange(self.max_ready, device=h.device) < batch.num_ready[:, None]
        return MaskedCategorical(logits, action_mask), self.value(summary).squeeze(-1)
