"""Graph actor-critic over the disjunctive graph of a job shop.

Nodes are operations; every operation is linked to its predecessor and successor in its job
(conjunctive arcs) and to every other operation on its machine (disjunctive arcs). Each round of
message passing is a GIN-style update with one channel per relation,

    h_v <- h_v + MLP([(1 + eps) h_v, h_pred(v) + h_succ(v), mean_{u on v's machine, u != v} h_u]),

computed densely on ``[B, n, m, H]`` tensors (shifts along the job axis, per-machine sums over
operations grouped by machine): no edge lists are built per step, and :func:`disjunctive_edge_index` gives the
same graph as a torch-geometric edge index (tests check the dense aggregation against it). The
machine channel is a mean, so the network reads instances of any size: it is trained on small
random instances and run on 100x20.

The actor scores each job's next operation from its embedding and the graph's mean embedding (a
masked categorical over jobs); the critic reads the mean embedding.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from apps.scheduling.jobshop.features import FEATURE_NAMES, NUM_FEATURES
from core.distributions import MaskedCategorical
from core.nn import MLP

_CANDIDATE = FEATURE_NAMES.index("candidate")


def disjunctive_edge_index(machines: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The disjunctive graph of one instance as torch-geometric edges.

    Args:
        machines: long ``[n, m]`` machine of each operation (operation ``j m + k``).

    Returns:
        ``(conjunctive [2, 2 n (m - 1)], disjunctive [2, m n (n - 1)])``: job arcs in both
        directions, and every ordered pair of distinct operations sharing a machine.
    """
    n, m = machines.shape
    ops = torch.arange(n * m).reshape(n, m)
    forward = torch.stack([ops[:, :-1].reshape(-1), ops[:, 1:].reshape(-1)])
    conjunctive = torch.cat([forward, forward.flip(0)], dim=1)
    flat = machines.reshape(-1)
    same = (flat[:, None] == flat[None, :]) & ~torch.eye(n * m, dtype=torch.bool)
    disjunctive = same.nonzero().T
    return conjunctive, disjunctive


class MachineGroups:
    """Index tables that gather the operations of each machine, built once per observation.

    Every job visits every machine once, so each machine holds exactly ``n`` operations; sorting
    the ``B n m`` operations by (instance, machine) groups them into ``[B, m, n]`` blocks, and
    per-machine totals come from a reshape and a sum instead of a scatter.

    Args:
        machine: long ``[B, n, m]`` machine of each operation.
    """

    def __init__(self, machine: torch.Tensor) -> None:
        B, n, m = machine.shape
        flat = machine.reshape(B, n * m)
        offsets = torch.arange(B, device=machine.device)[:, None]
        self.shape = (B, n, m)
        self.by_machine = (flat.argsort(dim=1, stable=True) + offsets * n * m).reshape(-1)
        """long ``[B m n]``: flat operation indices sorted by instance, then machine."""
        self.own_machine = (flat + offsets * m).reshape(-1)
        """long ``[B n m]``: flat (instance, machine) index of each operation."""

    def others_mean(self, h: torch.Tensor) -> torch.Tensor:
        """``[B, n, m, H]``: mean of ``h`` over the other operations on each operation's machine."""
        B, n, m = self.shape
        flat = h.reshape(B * n * m, -1)
        totals = flat.index_select(0, self.by_machine).view(B * m, n, -1).sum(1)
        others = (totals.index_select(0, self.own_machine) - flat) / max(n - 1, 1)
        return others.view(h.shape)


class DisjunctiveLayer(nn.Module):
    """One round of message passing over the disjunctive graph (module docstring)."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.eps = nn.Parameter(torch.zeros(1))
        self.mlp = MLP(3 * hidden, (hidden,), hidden, activation="relu")
        self.norm = nn.LayerNorm(hidden)

    @staticmethod
    def job_neighbours(h: torch.Tensor) -> torch.Tensor:
        """``[B, n, m, H]``: sum of each operation's predecessor and successor embeddings."""
        out = torch.zeros_like(h)
        out[:, :, 1:] += h[:, :, :-1]
        out[:, :, :-1] += h[:, :, 1:]
        return out

    @staticmethod
    def machine_neighbours(h: torch.Tensor, machine: torch.Tensor) -> torch.Tensor:
        """``[B, n, m, H]``: mean embedding of the other operations on each operation's machine
        (``machine``: long ``[B, n, m]``)."""
        return MachineGroups(machine).others_mean(h)

    def forward(self, h: torch.Tensor, groups: MachineGroups) -> torch.Tensor:
        """``h``: ``[B, n, m, H]`` -> ``[B, n, m, H]``.

        The first linear map of the message MLP is applied before aggregating (the neighbour sum
        and the machine mean are linear, so they commute with it): one ``[H, 3H]`` product per
        operation and aggregations of width ``H``, without concatenating the three inputs.
        """
        first, *rest = self.mlp.net
        H = h.shape[-1]
        weight = first.weight.view(H, 3, H).transpose(0, 1).reshape(3 * H, H)
        own, job, machine = F.linear(h, weight).split(H, dim=-1)
        pre = (1 + self.eps) * own + self.job_neighbours(job) + groups.others_mean(machine)
        out = pre + first.bias
        for module in rest:
            out = module(out)
        return h + torch.relu(self.norm(out))


class JobShopActorCritic(nn.Module):
    """``forward(obs [B, n, m, F + 1], action_mask [B, n]) -> (MaskedCategorical over jobs,
    value [B])``; ``obs`` is :func:`~apps.scheduling.jobshop.features.operation_features`.

    Args:
        hidden: embedding width.
        layers: message-passing rounds.
    """

    def __init__(self, hidden: int = 64, layers: int = 3) -> None:
        super().__init__()
        self.hidden, self.layers = hidden, layers
        self.embed = nn.Linear(NUM_FEATURES, hidden)
        self.rounds = nn.ModuleList(DisjunctiveLayer(hidden) for _ in range(layers))
        self.actor = MLP(2 * hidden, (hidden, hidden), 1, activation="tanh", output_std=0.01)
        self.critic = MLP(hidden, (hidden, hidden), 1, activation="tanh", output_std=1.0)

    def embeddings(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Operation embeddings ``[B, n, m, H]`` and the graph embedding ``[B, H]``."""
        features, machine = obs[..., :NUM_FEATURES], obs[..., NUM_FEATURES].long()
        groups = MachineGroups(machine)
        h = self.embed(features)
        for layer in self.rounds:
            h = layer(h, groups)
        return h, h.mean(dim=(1, 2))

    def _logits(self, obs: torch.Tensor, h: torch.Tensor, graph: torch.Tensor) -> torch.Tensor:
        candidate_op = obs[..., _CANDIDATE].argmax(-1)  # [B, n]; finished jobs are masked
        index = candidate_op[..., None, None].expand(-1, -1, 1, h.shape[-1])
        candidates = h.gather(2, index).squeeze(2)  # [B, n, H]
        context = graph[:, None].expand_as(candidates)
        return self.actor(torch.cat([candidates, context], -1)).squeeze(-1)

    def forward(
        self, obs: torch.Tensor, action_mask: torch.Tensor | None = None
    ) -> tuple[MaskedCategorical, torch.Tensor]:
        h, graph = self.embeddings(obs)
        logits = self._logits(obs, h, graph)
        return MaskedCategorical(logits=logits, mask=action_mask), self.critic(graph).squeeze(-1)

    def action_logits(self, obs: torch.Tensor) -> torch.Tensor:
        """Unmasked job scores ``[B, n]`` (the actor alone, for inference)."""
        h, graph = self.embeddings(obs)
        return self._logits(obs, h, graph)
