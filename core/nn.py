"""Neural-network building blocks the apps compose: initialisation, MLPs, graph encoders, pooling.

Everything here is domain-free. Graph inputs follow torch_geometric conventions: node features
``x [N, F]``, ``edge_index [2, E]`` (source row, target row), optional ``edge_attr [E, D]`` and a
``batch [N]`` vector assigning each node to one of ``G`` graphs.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import nn
from torch_geometric.data import Batch
from torch_geometric.nn import (
    GATv2Conv,
    GINConv,
    GINEConv,
    global_add_pool,
    global_max_pool,
    global_mean_pool,
)

from pgsuite.core.distributions import MaskedCategorical
from pgsuite.core.errors import ConfigError


class _ExpELU(torch.autograd.Function):
    """ELU (alpha 1) with ``exp``; backward from the saved output: ``dy/dx = min(y, 0) + 1``."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        y = x.clamp(min=0) + (x.clamp(max=0).exp() - 1)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (y,) = ctx.saved_tensors
        return grad * (y.clamp(max=0) + 1)


class ELU(nn.Module):
    """ELU with ``alpha = 1``: ``x`` for ``x > 0``, ``exp(x) - 1`` otherwise; any shape.

    The same function as ``nn.ELU`` to float rounding (6e-8 apart), computed with ``exp`` because
    this torch build's CPU ``expm1``, which ``nn.ELU`` uses, is not vectorised: on a 8,192 x 32
    float batch (2 threads) ``nn.ELU`` took 1.98 ms forward + backward and this 0.65 ms; in the
    inventory simulator's one-store training step ``nn.ELU`` was half of the profiled time.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ExpELU.apply(x)


_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "elu": ELU,
    "gelu": nn.GELU,
}
_CONVS = ("gin", "gat")
_POOLS = ("mean", "max", "sum", "meanmax")


def _activation(name: str) -> type[nn.Module]:
    if name not in _ACTIVATIONS:
        raise ConfigError(f"unknown activation {name!r}; choose one of {', '.join(_ACTIVATIONS)}")
    return _ACTIVATIONS[name]


def layer_init(layer: nn.Linear, std: float = math.sqrt(2), bias: float = 0.0) -> nn.Linear:
    """Initialise a linear layer in place, CleanRL style, and return it.

    Args:
        layer: the layer to initialise.
        std: gain of the orthogonal weight init (default ``sqrt(2)``, the ReLU/tanh hidden-layer
            choice; use ``0.01`` for a policy head and ``1.0`` for a value head).
        bias: constant the bias is filled with (default ``0.0``).
    """
    nn.init.orthogonal_(layer.weight, std)
    if layer.bias is not None:
        nn.init.constant_(layer.bias, bias)
    return layer


class MLP(nn.Module):
    """Multi-layer perceptron ``[..., in_dim] -> [..., out_dim]`` with orthogonal init.

    Each hidden layer is ``Linear -> (LayerNorm) -> activation``; the output layer is a bare
    ``Linear``. Hidden layers are initialised with gain ``sqrt(2)``, the output layer with
    ``output_std``. ``in_features``/``out_features`` mirror :class:`torch.nn.Linear` so that
    torch_geometric convs (e.g. ``GINEConv``) can infer the input width.

    Args:
        in_dim: input width.
        hidden: widths of the hidden layers; empty gives a single linear layer.
        out_dim: output width.
        activation: ``"tanh"`` (default), ``"relu"``, ``"elu"`` or ``"gelu"``.
        layer_norm: add a LayerNorm before each hidden activation (default ``False``).
        output_std: orthogonal gain of the output layer (default ``1.0``).

    Raises:
        ConfigError: on an unknown activation.
    """

    def __init__(
        self,
        in_dim: int,
        hidden: Sequence[int],
        out_dim: int,
        activation: str = "tanh",
        layer_norm: bool = False,
        output_std: float = 1.0,
    ) -> None:
        super().__init__()
        act = _activation(activation)
        dims = [in_dim, *hidden]
        layers: list[nn.Module] = []
        for d_in, d_out in itertools.pairwise(dims):
            layers.append(nn.Linear(d_in, d_out))
            if layer_norm:
                layers.append(nn.LayerNorm(d_out))
            layers.append(act())
        layers.append(nn.Linear(dims[-1], out_dim))
        self.net = nn.Sequential(*layers)
        self.in_features = in_dim
        self.out_features = out_dim
        self.output_std = output_std
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Re-apply the orthogonal init (torch_geometric convs call this on their inner nets)."""
        linears = [m for m in self.net if isinstance(m, nn.Linear)]
        for layer in linears[:-1]:
            layer_init(layer)
        layer_init(linears[-1], std=self.output_std)
        for m in self.net:
            if isinstance(m, nn.LayerNorm):
                m.reset_parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``x [..., in_dim]`` to ``[..., out_dim]``."""
        return self.net(x)


class GraphEncoder(nn.Module):
    """Message-passing encoder producing node embeddings ``[N, hidden_dim]``.

    ``x`` is first projected to ``hidden_dim``; each of the ``num_layers`` blocks then computes
    ``h = h + dropout(relu(LayerNorm(conv(h))))`` (without the ``h +`` when ``residual=False``).
    LayerNorm rather than BatchNorm is used so that a graph's embeddings never depend on the other
    graphs in the batch, which keeps single-graph rollouts and batched updates consistent.

    Convs:
        ``"gin"``: ``GINConv`` (``GINEConv`` when ``edge_dim`` is given, with a trainable ``eps``)
        whose update is a ReLU :class:`MLP` ``hidden_dim -> hidden_dim -> hidden_dim``.
        ``"gat"``: ``GATv2Conv`` with ``heads`` attention heads of width ``hidden_dim`` each,
        concatenated and projected back to ``hidden_dim`` by a linear layer; ``dropout`` is also
        applied to the attention coefficients.

    Args:
        in_dim: node feature width ``F``.
        hidden_dim: embedding width ``H``.
        num_layers: number of message-passing blocks (default 3).
        conv: ``"gin"`` (default) or ``"gat"``.
        edge_dim: edge feature width ``D``; ``None`` (default) for graphs without edge features.
        heads: attention heads for ``"gat"`` (default 4); ignored by ``"gin"``.
        dropout: dropout probability after each block (default 0.0).
        residual: add each block's input to its output (default ``True``).

    Raises:
        ConfigError: on an unknown conv or a non-positive size.
    """

    def __init__(
        self,
        in_dim: int,
        hidden_dim: int,
        num_layers: int = 3,
        conv: str = "gin",
        edge_dim: int | None = None,
        heads: int = 4,
        dropout: float = 0.0,
        residual: bool = True,
    ) -> None:
        super().__init__()
        if conv not in _CONVS:
            raise ConfigError(f"unknown conv {conv!r}; choose one of {', '.join(_CONVS)}")
        if min(in_dim, hidden_dim, heads) < 1 or num_layers < 0 or not 0.0 <= dropout < 1.0:
            raise ConfigError(
                "GraphEncoder needs in_dim, hidden_dim, heads >= 1, num_layers >= 0 and "
                f"0 <= dropout < 1 (got {in_dim=}, {hidden_dim=}, {heads=}, {num_layers=}, "
                f"{dropout=})"
            )
        self.edge_dim = edge_dim
        self.residual = residual
        self.input = layer_init(nn.Linear(in_dim, hidden_dim))
        self.convs = nn.ModuleList()
        self.projs = nn.ModuleList()
        for _ in range(num_layers):
            if conv == "gin":
                mlp = MLP(hidden_dim, [hidden_dim], hidden_dim, activation="relu")
                if edge_dim is None:
                    self.convs.append(GINConv(mlp, train_eps=True))
                else:
                    self.convs.append(GINEConv(mlp, train_eps=True, edge_dim=edge_dim))
                self.projs.append(nn.Identity())
            else:
                self.convs.append(
                    GATv2Conv(
                        hidden_dim, hidden_dim, heads=heads, dropout=dropout, edge_dim=edge_dim
                    )
                )
                self.projs.append(layer_init(nn.Linear(heads * hidden_dim, hidden_dim)))
        self.norms = nn.ModuleList(nn.LayerNorm(hidden_dim) for _ in range(num_layers))
        self.dropout = nn.Dropout(dropout)

    def forward(
        self,
        x: torch.Tensor,
        edge_index: torch.Tensor,
        edge_attr: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Embed nodes.

        Args:
            x: node features ``[N, in_dim]``.
            edge_index: edges ``[2, E]`` (long).
            edge_attr: edge features ``[E, edge_dim]``; required iff ``edge_dim`` was given.

        Returns:
            Node embeddings ``[N, hidden_dim]``.
        """
        if (edge_attr is None) != (self.edge_dim is None):
            raise ConfigError(
                f"GraphEncoder built with edge_dim={self.edge_dim} but edge_attr is "
                f"{'missing' if edge_attr is None else 'given'}"
            )
        h = self.input(x)
        for conv, proj, norm in zip(self.convs, self.projs, self.norms, strict=True):
            out = conv(h, edge_index) if edge_attr is None else conv(h, edge_index, edge_attr)
            out = self.dropout(torch.relu(norm(proj(out))))
            h = h + out if self.residual else out
        return h


def global_pool(x: torch.Tensor, batch: torch.Tensor | None, how: str = "mean") -> torch.Tensor:
    """Pool node embeddings per graph.

    Args:
        x: node embeddings ``[N, H]``.
        batch: graph index of each node ``[N]``, or ``None`` for a single graph (``G = 1``).
        how: ``"mean"`` (default), ``"max"``, ``"sum"`` or ``"meanmax"`` (mean and max
            concatenated).

    Returns:
        Graph embeddings ``[G, H]``, or ``[G, 2H]`` for ``"meanmax"``.

    Raises:
        ConfigError: on an unknown ``how``.
    """
    if how == "mean":
        return global_mean_pool(x, batch)
    if how == "max":
        return global_max_pool(x, batch)
    if how == "sum":
        return global_add_pool(x, batch)
    if how == "meanmax":
        return torch.cat([global_mean_pool(x, batch), global_max_pool(x, batch)], dim=-1)
    raise ConfigError(f"unknown pooling {how!r}; choose one of {', '.join(_POOLS)}")


def dense_node_scores(
    scores: torch.Tensor, batch: torch.Tensor, candidates: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Lay per-node scores of a graph batch out as padded per-graph rows for a masked policy.

    An actor that scores nodes (operations to dispatch, items to rank) produces one score per node
    of a torch-geometric batch; distributions want ``[G, N_max]`` logits with a validity mask.

    Args:
        scores: one score per node ``[N]``.
        batch: graph index of each node ``[N]`` (sorted, as in a PyG ``Batch``).
        candidates: bool ``[N]``, nodes that may be chosen (default: all).

    Returns:
        ``(logits [G, N_max], mask [G, N_max])``; ``mask`` is False for padding and non-candidates.
        Action ``a`` of graph ``g`` is the ``a``-th node of that graph.
    """
    from torch_geometric.utils import to_dense_batch

    logits, present = to_dense_batch(scores.unsqueeze(-1), batch)
    mask = present
    if candidates is not None:
        dense_candidates, _ = to_dense_batch(candidates.unsqueeze(-1), batch)
        mask = present & dense_candidates.squeeze(-1)
    return logits.squeeze(-1), mask


class GraphActorCritic(nn.Module):
    """Actor-critic over graph observations whose actions are nodes (dispatch an operation, pick
    an item): a :class:`GraphEncoder`, a per-node scoring :class:`MLP` (the actor) and a critic
    :class:`MLP` on the mean-pooled node embeddings.

    ``forward(obs, action_mask=None) -> (MaskedCategorical over [G, N_max], value [G])`` for a
    torch-geometric ``Batch`` of ``G`` graphs (``obs.x [N, in_dim]``, ``obs.edge_index [2, E]``,
    ``obs.batch [N]``); action ``a`` of graph ``g`` is its ``a``-th node (see
    :func:`dense_node_scores`), so :class:`core.ppo.PPO` can drive it directly.

    Args:
        in_dim: node feature width ``F``.
        hidden_dim: embedding width ``H`` of the encoder and of the MLPs' hidden layer.
        num_layers: message-passing blocks of the encoder.
        conv: ``"gin"`` or ``"gat"`` (see :class:`GraphEncoder`).
    """

    def __init__(
        self, in_dim: int, hidden_dim: int = 64, num_layers: int = 2, conv: str = "gin"
    ) -> None:
        super().__init__()
        self.encoder = GraphEncoder(in_dim, hidden_dim, num_layers=num_layers, conv=conv)
        self.actor = MLP(hidden_dim, (hidden_dim,), 1, output_std=0.01)
        self.critic = MLP(hidden_dim, (hidden_dim,), 1)

    def forward(
        self, obs: Batch, action_mask: torch.Tensor | None = None
    ) -> tuple[MaskedCategorical, torch.Tensor]:
        """``action_mask``: optional bool ``[G, N_max]`` of choosable nodes, applied on top of the
        padding mask. Returns ``(MaskedCategorical with logits [G, N_max], value [G])``."""
        h = self.encoder(obs.x, obs.edge_index)
        logits, mask = dense_node_scores(self.actor(h).squeeze(-1), obs.batch)
        if action_mask is not None:
            mask = mask & action_mask
        value = self.critic(global_pool(h, obs.batch)).squeeze(-1)
        return MaskedCategorical(logits=logits, mask=mask), value
