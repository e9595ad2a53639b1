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

from pgsuite.apps.scheduling.jobshop.features import FEATURE_NAMES, NUM_FEATURES
from pgsuite.core.distributions import MaskedCategorical
from pgsuite.core.nn import MLP

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
    """Index tables that gather the operations of each machine, built once per batch of instances
    (and subset with :meth:`select`).

    Every job visits every machine once, so each machine holds exactly ``n`` operations; sorting
    the ``B n m`` operations by (instance, machine) groups them into ``[B, m, n]`` blocks, and
    per-machine totals come from a reshape and a sum instead of a scatter.

    Args:
        machine: long ``[B, n, m]`` machine of each operation.
    """

    def __init__(self, machine: torch.Tensor) -> None:
        B, n, m = machine.shape
        flat = machine.reshape(B, n * m)
        self._index(flat.argsort(dim=1, stable=True), flat, n, m)

    def _index(self, by_machine: torch.Tensor, machine: torch.Tensor, n: int, m: int) -> None:
        B = machine.shape[0]
        self.shape = (B, n, m)
        self.by_machine = by_machine
        """long ``[B, m n]``: each instance's operation indices sorted by machine."""
        self.machine = machine
        """long ``[B, n m]``: machine of each operation."""
        offsets = torch.arange(B, device=machine.device)[:, None]
        self._gather = (by_machine + offsets * n * m).reshape(-1)
        self._spread = (machine + offsets * m).reshape(-1)

    def select(self, rows: torch.Tensor) -> MachineGroups:
        """The groups of the instances ``rows`` (long ``[b]``) as a batch of their own, without
        sorting again (rollouts build the groups once and run the policy on changing subsets)."""
        groups = MachineGroups.__new__(MachineGroups)
        groups._index(self.by_machine[rows], self.machine[rows], *self.shape[1:])
        return groups

    def totals(self, h: torch.Tensor) -> torch.Tensor:
        """``[B m, H]``: sum of ``h`` (``[B, n, m, H]``) over the operations of each machine."""
        B, n, m = self.shape
        flat = h.reshape(B * n * m, -1)
        return flat.index_select(0, self._gather).view(B * m, n, -1).sum(1)

    def spread(self, per_machine: torch.Tensor) -> torch.Tensor:
        """``[B, n, m, H]``: each operation's row of ``per_machine`` (``[B m, H]``)."""
        return per_machine.index_select(0, self._spread).view(*self.shape, -1)

    def others_mean(self, h: torch.Tensor) -> torch.Tensor:
        """``[B, n, m, H]``: mean of ``h`` over the other operations on each operation's machine."""
        return (self.spread(self.totals(h)) - h) / max(self.shape[1] - 1, 1)


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

        The first linear map ``W = [W_own, W_job, W_machine]`` of the message MLP is applied
        before aggregating (the neighbour sum and the machine mean are linear, so they commute
        with it), and the machine mean ``(total - h) / (n - 1)`` is split so that its ``-h`` part
        joins the own term: ``pre = h [(1 + eps) W_own - W_machine / (n - 1)] + job_sum(h W_job)
        + spread(totals(h) W_machine) / (n - 1) + b``. One ``[H, 2H]`` product per operation and
        one ``[H, H]`` product per machine, instead of ``[H, 3H]`` per operation.
        """
        first, *rest = self.mlp.net
        H = h.shape[-1]
        c = 1.0 / max(groups.shape[1] - 1, 1)
        w_own, w_job, w_machine = first.weight.view(H, 3, H).unbind(1)
        own_and_job = torch.cat([(1 + self.eps) * w_own - c * w_machine, w_job])
        own, job = F.linear(h, own_and_job).split(H, dim=-1)
        machine = F.linear(groups.totals(h), c * w_machine, first.bias)
        pre = own + groups.spread(machine)
        pre[:, :, 1:] += job[:, :, :-1]
        pre[:, :, :-1] += job[:, :, 1:]
        for module in rest:
            pre = module(pre)
        return h + torch.relu(self.norm(pre))


class JobShopActorCritic(nn.Module):
    """``forward(obs [B, n, m, F + 1], action_mask [B, n]) -> (MaskedCategorical over jobs,
    value [B])``; ``obs`` is :func:`~pgsuite.apps.scheduling.jobshop.features.operation_features`.

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

    def embeddings(
        self, obs: torch.Tensor, groups: MachineGroups | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Operation embeddings ``[B, n, m, H]`` and the graph embedding ``[B, H]``;
        ``groups``: the observation's machine groups if already built."""
        features = obs[..., :NUM_FEATURES]
        if groups is None:
            groups = MachineGroups(obs[..., NUM_FEATURES].long())
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

    def action_logits(self, obs: torch.Tensor, groups: MachineGroups | None = None) -> torch.Tensor:
        """Unmasked job scores ``[B, n]`` (the actor alone, for inference); ``groups``: the
        observation's machine groups if already built."""
        h, graph = self.embeddings(obs, groups)
        return self._logits(obs, h, graph)
