"""Tests of core.nn: shapes, permutation symmetry, gradient flow and argument checks."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch_geometric.data import Batch, Data

from pgsuite.core.errors import ConfigError
from pgsuite.core.nn import ELU, MLP, GraphActorCritic, GraphEncoder, global_pool, layer_init

IN_DIM, HIDDEN, EDGE_DIM = 5, 16, 3
ENCODERS = [
    pytest.param(conv, edge_dim, id=f"{conv}-{'edges' if edge_dim else 'noedges'}")
    for conv in ("gin", "gat")
    for edge_dim in (None, EDGE_DIM)
]


def _graph(num_nodes: int, num_edges: int, edge_dim: int | None, seed: int) -> Data:
    gen = torch.Generator().manual_seed(seed)
    edge_attr = None if edge_dim is None else torch.randn(num_edges, edge_dim, generator=gen)
    return Data(
        x=torch.randn(num_nodes, IN_DIM, generator=gen),
        edge_index=torch.randint(num_nodes, (2, num_edges), generator=gen),
        edge_attr=edge_attr,
    )


def _encoder(conv: str, edge_dim: int | None) -> GraphEncoder:
    torch.manual_seed(0)
    return GraphEncoder(IN_DIM, HIDDEN, num_layers=2, conv=conv, edge_dim=edge_dim, heads=2).eval()


@pytest.mark.parametrize(("conv", "edge_dim"), ENCODERS)
def test_encoder_and_pool_shapes_on_batch(conv: str, edge_dim: int | None) -> None:
    graphs = [_graph(n, 2 * n, edge_dim, seed) for seed, n in enumerate((4, 7, 5))]
    batch = Batch.from_data_list(graphs)
    h = _encoder(conv, edge_dim)(batch.x, batch.edge_index, batch.edge_attr)
    assert h.shape == (16, HIDDEN)
    for how, width in (("mean", HIDDEN), ("max", HIDDEN), ("sum", HIDDEN), ("meanmax", 2 * HIDDEN)):
        assert global_pool(h, batch.batch, how).shape == (3, width)
    assert global_pool(h, None, "meanmax").shape == (1, 2 * HIDDEN)


@pytest.mark.parametrize(("conv", "edge_dim"), ENCODERS)
def test_encoder_permutation_equivariance(conv: str, edge_dim: int | None) -> None:
    g = _graph(9, 20, edge_dim, seed=3)
    perm = torch.randperm(9, generator=torch.Generator().manual_seed(1))  # new node i = old perm[i]
    new_id = torch.argsort(perm)  # old node j -> new id
    edge_perm = torch.randperm(20, generator=torch.Generator().manual_seed(2))
    edge_index = new_id[g.edge_index][:, edge_perm]
    edge_attr = None if edge_dim is None else g.edge_attr[edge_perm]
    encoder = _encoder(conv, edge_dim)
    with torch.no_grad():
        h = encoder(g.x, g.edge_index, g.edge_attr)
        h_perm = encoder(g.x[perm], edge_index, edge_attr)
    torch.testing.assert_close(h_perm, h[perm], atol=1e-5, rtol=0)
    for how in ("mean", "max", "sum", "meanmax"):
        torch.testing.assert_close(
            global_pool(h_perm, None, how), global_pool(h, None, how), atol=1e-5, rtol=0
        )


@pytest.mark.parametrize(("conv", "edge_dim"), ENCODERS)
def test_encoder_gradients_reach_every_parameter(conv: str, edge_dim: int | None) -> None:
    batch = Batch.from_data_list([_graph(6, 12, edge_dim, seed) for seed in range(2)])
    encoder = _encoder(conv, edge_dim).train()
    h = encoder(batch.x, batch.edge_index, batch.edge_attr)
    global_pool(h, batch.batch, "meanmax").pow(2).sum().backward()
    no_grad = [name for name, p in encoder.named_parameters() if p.grad is None or not p.grad.any()]
    assert not no_grad


def test_encoder_rejects_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="unknown conv"):
        GraphEncoder(IN_DIM, HIDDEN, conv="gcn")
    with pytest.raises(ConfigError, match="num_layers"):
        GraphEncoder(IN_DIM, HIDDEN, num_layers=-1)
    g = _graph(4, 6, EDGE_DIM, seed=0)
    with pytest.raises(ConfigError, match="edge_attr is missing"):
        GraphEncoder(IN_DIM, HIDDEN, edge_dim=EDGE_DIM)(g.x, g.edge_index)
    with pytest.raises(ConfigError, match="edge_attr is given"):
        GraphEncoder(IN_DIM, HIDDEN)(g.x, g.edge_index, g.edge_attr)


def test_global_pool_values_and_unknown() -> None:
    x = torch.tensor([[1.0, -2.0], [3.0, 4.0], [5.0, 0.0]])
    batch = torch.tensor([0, 0, 1])
    expected = torch.tensor([[2.0, 1.0, 3.0, 4.0], [5.0, 0.0, 5.0, 0.0]])
    torch.testing.assert_close(global_pool(x, batch, "meanmax"), expected)
    torch.testing.assert_close(global_pool(x, batch, "sum"), torch.tensor([[4.0, 2.0], [5.0, 0.0]]))
    with pytest.raises(ConfigError, match="unknown pooling"):
        global_pool(x, batch, "median")


@pytest.mark.parametrize("activation", ["tanh", "relu", "elu", "gelu"])
@pytest.mark.parametrize("layer_norm", [False, True])
def test_mlp_shapes(activation: str, layer_norm: bool) -> None:
    mlp = MLP(5, [32, 16], 3, activation=activation, layer_norm=layer_norm)
    assert mlp(torch.randn(4, 7, 5)).shape == (4, 7, 3)
    assert mlp(torch.randn(5)).shape == (3,)
    assert sum(isinstance(m, nn.LayerNorm) for m in mlp.modules()) == (2 if layer_norm else 0)


def test_mlp_without_hidden_layers_and_output_std() -> None:
    mlp = MLP(5, [], 3, output_std=0.0)
    assert len(mlp.net) == 1
    assert torch.equal(mlp(torch.randn(2, 5)), torch.zeros(2, 3))


def test_mlp_rejects_unknown_activation() -> None:
    with pytest.raises(ConfigError, match="unknown activation 'swish'"):
        MLP(5, [8], 3, activation="swish")


def test_layer_init_is_scaled_orthogonal() -> None:
    layer = layer_init(nn.Linear(8, 8), std=2.0, bias=0.5)
    torch.testing.assert_close(layer.weight @ layer.weight.T, 4.0 * torch.eye(8))
    assert torch.equal(layer.bias, torch.full((8,), 0.5))
    default = layer_init(nn.Linear(6, 4))
    torch.testing.assert_close(default.weight @ default.weight.T, 2.0 * torch.eye(4))
    assert not default.bias.any()


def test_elu_matches_torch_elu_and_its_gradient() -> None:
    x = torch.linspace(-30.0, 30.0, 6001, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_(True)
    y, y_ref = ELU()(x), nn.ELU()(x_ref)
    torch.testing.assert_close(y, y_ref, atol=1e-6, rtol=0)
    weights = torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    (y * weights).sum().backward()
    (y_ref * weights).sum().backward()
    torch.testing.assert_close(x.grad, x_ref.grad, atol=1e-6, rtol=0)
    x64 = torch.randn(40, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 3
    assert torch.autograd.gradcheck(ELU(), (x64.requires_grad_(True),))


def test_graph_actor_critic_scores_nodes_of_each_graph() -> None:
    torch.manual_seed(0)
    graphs = [Data(x=torch.randn(n, 3), edge_index=torch.tensor([[0, 1], [1, 0]])) for n in (3, 5)]
    obs = Batch.from_data_list(graphs)
    agent = GraphActorCritic(3, 8)
    dist, value = agent(obs)
    assert dist.logits.shape == (2, 5)
    assert value.shape == (2,)
    assert dist.mask.tolist() == [[True] * 3 + [False] * 2, [True] * 5]
    only_last = torch.zeros(2, 5, dtype=torch.bool)
    only_last[:, -1] = True
    only_last[0, 2] = True  # graph 0 has 3 nodes: its last is node 2
    dist, _ = agent(obs, only_last)
    assert dist.sample().tolist() == [2, 4]
