"""CompletePerceptron against Eq. 1 computed literally, nn.RNN (Eq. 2) and embedded MLPs."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.utils import prune
from torch.utils.flop_counter import FlopCounterMode

from torch_orderedness import CompletePerceptron, TopK, orderedness


def literal_eq1(layer: CompletePerceptron, x: torch.Tensor, steps: int) -> torch.Tensor:
    """Eq. 1 literally: h_{t+1} = sigma(W @ [h_t ; x] + b), one sample at a time."""
    w = layer.weight.detach()
    outs = []
    for row in x:
        h = layer.initial_state.detach()[0]
        for _ in range(steps):
            z = w @ torch.cat([h, row])
            if layer.bias is not None:
                z = z + layer.bias.detach()[0]
            h = layer.activation(z)
        outs.append(h[: layer.out_features])
    return torch.stack(outs)


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("steps", [1, 2, 3, 5])
def test_forward_matches_eq1(bias: bool, steps: int) -> None:
    torch.manual_seed(steps)
    layer = CompletePerceptron(3, 4, 2, iterations=steps, bias=bias, dtype=torch.float64)
    if bias:
        with torch.no_grad():
            layer.bias.normal_()
    x = torch.randn(6, 3, dtype=torch.float64)
    torch.testing.assert_close(layer(x), literal_eq1(layer, x, steps))
    # the iterations argument overrides the default
    torch.testing.assert_close(layer(x, iterations=steps + 1), literal_eq1(layer, x, steps + 1))


def test_unbatched_input() -> None:
    layer = CompletePerceptron(2, 3, 1, dtype=torch.float64)
    x = torch.rand(2, dtype=torch.float64)
    out = layer(x)
    assert out.shape == (1,)
    torch.testing.assert_close(out, layer(x.unsqueeze(0))[0])


def test_shapes_and_parameters() -> None:
    layer = CompletePerceptron(7, 5, 3, bias=True)
    assert layer.weight.shape == (8, 15)
    assert layer.initial_state.shape == (1, 8)
    assert layer.bias.shape == (1, 8)
    assert torch.all(layer.bias == 0)
    assert CompletePerceptron(2, 1, 1).bias is None
    assert layer(torch.rand(4, 7)).shape == (4, 3)
    assert layer.states(torch.rand(4, 7)).shape == (4, 8)


def test_input_drive_computed_once() -> None:
    """Eq. 2 is the implementation: U x costs one matmul per forward, not one per iteration."""
    o, h, i, batch, steps = 2, 6, 40, 8, 7
    layer = CompletePerceptron(i, h, o, iterations=steps)
    x = torch.rand(batch, i)
    with FlopCounterMode(display=False) as counter:
        layer(x)
    n = o + h
    expected = 2 * batch * n * i + steps * 2 * batch * n * n
    assert counter.get_total_flops() == expected


def test_equivalent_to_weight_tied_rnn() -> None:
    """Eq. 2: a tanh complete layer = nn.RNN with W_h, U and the input repeated T times."""
    torch.manual_seed(0)
    o, h, i, steps = 2, 5, 3, 4
    layer = CompletePerceptron(
        i, h, o, iterations=steps, activation=torch.tanh, dtype=torch.float64
    )
    rnn = nn.RNN(i, o + h, nonlinearity="tanh", bias=False, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        rnn.weight_hh_l0.copy_(layer.weight[:, : o + h])
        rnn.weight_ih_l0.copy_(layer.weight[:, o + h :])
    x = torch.randn(5, i, dtype=torch.float64)
    h0 = layer.initial_state.detach().expand(5, o + h).unsqueeze(0).contiguous()
    _, h_last = rnn(x.unsqueeze(1).repeat(1, steps, 1), h0)
    torch.testing.assert_close(layer(x), h_last[0, :, :o])


def test_init_schemes() -> None:
    g = torch.Generator().manual_seed(0)
    uni = CompletePerceptron(50, 100, 10, weight_init="uniform", state_init="zeros", generator=g)
    assert 0 <= uni.weight.min() and uni.weight.max() < 1
    assert abs(uni.weight.mean().item() - 0.5) < 0.01
    assert torch.all(uni.initial_state == 0)
    normal = CompletePerceptron(50, 100, 10, generator=g)
    assert abs(normal.weight.mean().item()) < 0.02
    assert abs(normal.weight.std().item() - 1.0) < 0.02
    a = CompletePerceptron(2, 3, 1, generator=torch.Generator().manual_seed(5))
    b = CompletePerceptron(2, 3, 1, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(a.weight, b.weight)
    custom = CompletePerceptron(2, 3, 1, weight_init=lambda t: t.fill_(0.25))
    assert torch.all(custom.weight == 0.25)
    zeros = CompletePerceptron(2, 3, 1, weight_init="zeros", state_init="uniform", generator=g)
    assert torch.all(zeros.weight == 0)
    # the state schemes are U(0, 1) and N(0, 1) draws (zero weights draw nothing first)
    for scheme, draw in (("uniform", torch.rand), ("normal", torch.randn)):
        layer = CompletePerceptron(3, 40, 2, weight_init="zeros", state_init=scheme,
                                   generator=torch.Generator().manual_seed(9))
        expected = draw(1, 42, generator=torch.Generator().manual_seed(9))
        torch.testing.assert_close(layer.initial_state.detach(), expected, rtol=0, atol=0)


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("hidden", [[], [3], [4, 3], [5, 2, 3]])
def test_from_mlp_computes_the_mlp(bias: bool, hidden: list[int]) -> None:
    torch.manual_seed(len(hidden))
    sizes = [2, *hidden, 3]
    mods: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        mods += [nn.Linear(a, b, bias=bias, dtype=torch.float64), nn.Sigmoid()]
    mlp = nn.Sequential(*mods)
    layer = CompletePerceptron.from_mlp(mlp)
    assert layer.iterations == len(sizes) - 1
    assert (layer.in_features, layer.hidden_features, layer.out_features) == (2, sum(hidden), 3)
    x = torch.randn(7, 2, dtype=torch.float64)
    torch.testing.assert_close(layer(x), mlp(x))
    # every MLP weight sits strictly above the diagonal (Figure 1(a))
    rows, cols = torch.nonzero(layer.weight, as_tuple=True)
    assert torch.all(cols > rows)
    # a random initial state does not change the result after len(layers) iterations
    with torch.no_grad():
        layer.initial_state.normal_()
    torch.testing.assert_close(layer(x), mlp(x))


def test_from_mlp_layout_literal() -> None:
    """Neuron order: outputs, last hidden layer, ..., first hidden layer, inputs."""
    l1, l2 = nn.Linear(2, 3, bias=False), nn.Linear(3, 1, bias=False)
    layer = CompletePerceptron.from_mlp([l1, l2], strict=False)  # weights only, no activations
    w = layer.weight.detach()
    # output 0 receives from hidden neurons 1..3 (the only hidden layer)
    torch.testing.assert_close(w[0:1, 1:4], l2.weight.detach())
    # hidden neurons 1..3 receive from inputs at columns 4..5
    torch.testing.assert_close(w[1:4, 4:6], l1.weight.detach())
    assert w.abs().sum() == l1.weight.abs().sum() + l2.weight.abs().sum()


def test_from_mlp_with_another_activation_computes_that_mlp() -> None:
    torch.manual_seed(3)
    mlp = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 3), nn.Tanh())
    layer = CompletePerceptron.from_mlp(mlp, activation=torch.tanh)
    x = torch.randn(6, 2)
    torch.testing.assert_close(layer(x), mlp(x))
    # identity-like modules between a layer and its activation change nothing
    mlp2 = nn.Sequential(
        nn.Linear(2, 4), nn.Identity(), nn.Sigmoid(), nn.Linear(4, 1), nn.Sigmoid()
    )
    torch.testing.assert_close(CompletePerceptron.from_mlp(mlp2)(x), mlp2(x))


@pytest.mark.parametrize(
    "mods",
    [
        [nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1), nn.Sigmoid()],  # another activation
        [nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1)],  # none after the last layer
        [nn.Linear(2, 3), nn.Linear(3, 1), nn.Sigmoid()],  # none between the layers
        [nn.Linear(2, 3), nn.Sigmoid(), nn.Sigmoid(), nn.Linear(3, 1), nn.Sigmoid()],  # twice
        [nn.Linear(2, 3), nn.Softmax(dim=1), nn.Linear(3, 1), nn.Sigmoid()],
    ],
)
def test_from_mlp_refuses_an_mlp_it_would_not_compute(mods: list[nn.Module]) -> None:
    # the MLP really computes something else than the embedding would ...
    mlp = nn.Sequential(*mods)
    x = torch.randn(5, 2)
    loose = CompletePerceptron.from_mlp(mlp, strict=False)
    assert not torch.allclose(loose(x), mlp(x))
    # ... so the strict default refuses it, saying what to do
    with pytest.raises(ValueError, match="activation=sigmoid.*strict=False"):
        CompletePerceptron.from_mlp(mlp)


def test_from_mlp_rejects_bad_layers() -> None:
    with pytest.raises(TypeError, match="parameter-free"):
        CompletePerceptron.from_mlp([nn.Linear(2, 3), nn.LayerNorm(3), nn.Linear(3, 1)])
    with pytest.raises(ValueError, match="do not chain"):
        CompletePerceptron.from_mlp([nn.Linear(2, 3), nn.Linear(4, 1)])
    with pytest.raises(ValueError, match="no nn.Linear"):
        CompletePerceptron.from_mlp([nn.Sigmoid()])
    with pytest.raises(ValueError, match="no nn.Linear"):
        CompletePerceptron.from_mlp([])


def test_from_mlp_and_the_metric_read_an_mlp_alike() -> None:
    # one MLP parser: a leading nn.Flatten is accepted by both (it is the identity on the
    # (batch, in_features) inputs the complete layer takes) ...
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(4, 3), nn.Sigmoid(), nn.Linear(3, 2), nn.Sigmoid())
    layer = CompletePerceptron.from_mlp(mlp)
    x = torch.randn(6, 4)
    torch.testing.assert_close(layer(x), mlp(x))
    assert orderedness(mlp) == orderedness(layer) == 1.0
    # ... while a leading module that changes the inputs is refused by the strict embedding
    with pytest.raises(ValueError, match="Sigmoid to \\(batch, 4\\) inputs first"):
        CompletePerceptron.from_mlp([nn.Sigmoid(), *mlp[1:]])
    loose = CompletePerceptron.from_mlp([nn.Sigmoid(), *mlp[1:]], strict=False)
    torch.testing.assert_close(loose.weight, layer.weight)


def test_reads_pruned_weight_at_call_time() -> None:
    torch.manual_seed(0)
    layer = CompletePerceptron(2, 5, 1, dtype=torch.float64)
    TopK.apply(layer, "weight", k=0.5)
    x = torch.rand(4, 2, dtype=torch.float64)
    reference = CompletePerceptron(2, 5, 1, dtype=torch.float64)
    with torch.no_grad():
        reference.weight.copy_(layer.weight_orig * layer.weight_mask)
        reference.initial_state.copy_(layer.initial_state)
    torch.testing.assert_close(layer(x), reference(x))
    # a change of the underlying weight is seen at the next call (through the hook)
    with torch.no_grad():
        layer.weight_orig.mul_(2.0)
        reference.weight.mul_(2.0)
    torch.testing.assert_close(layer(x), reference(x))


def test_pruned_state_dict_round_trip_and_remove() -> None:
    torch.manual_seed(1)
    layer = CompletePerceptron(2, 5, 1, bias=True)
    TopK.apply(layer, "weight", k=0.4)
    x = torch.rand(3, 2)
    fresh = CompletePerceptron(2, 5, 1, bias=True)
    TopK.apply(fresh, "weight", k=1.0)  # recreate the reparametrisation, then load
    fresh.load_state_dict(layer.state_dict())
    torch.testing.assert_close(fresh(x), layer(x))
    expected = (layer.weight_orig * layer.weight_mask).detach().clone()
    prune.remove(layer, "weight")
    assert not hasattr(layer, "weight_orig") and not hasattr(layer, "weight_mask")
    torch.testing.assert_close(layer.weight.detach(), expected)
    torch.testing.assert_close(layer(x), fresh(x))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"in_features": -1}, ValueError, "in_features"),
        ({"hidden_features": 1.5}, TypeError, "hidden_features"),
        ({"out_features": 0}, ValueError, "out_features"),
        ({"iterations": 0}, ValueError, "iterations"),
        ({"weight_init": "xavier"}, ValueError, "weight_init"),
        ({"state_init": "ones"}, ValueError, "state_init"),
        ({"activation": 3}, TypeError, "activation"),
        ({"bias": "yes"}, TypeError, "bias"),
    ],
)
def test_bad_construction(kwargs: dict, error: type, match: str) -> None:
    args = {"in_features": 2, "hidden_features": 3, "out_features": 1, **kwargs}
    with pytest.raises(error, match=match):
        CompletePerceptron(**args)


def test_bad_forward_input() -> None:
    layer = CompletePerceptron(2, 3, 1)
    with pytest.raises(ValueError, match=r"\(batch, 2\)"):
        layer(torch.rand(4, 3))
    with pytest.raises(ValueError, match=r"\(batch, 2\)"):
        layer(torch.rand(4, 2, 1))
    with pytest.raises(ValueError, match="iterations"):
        layer(torch.rand(4, 2), iterations=0)
    with pytest.raises(TypeError, match="x must be"):
        layer([[0.0, 1.0]])
    with pytest.raises(TypeError, match="floating-point"):
        layer(torch.ones(4, 2, dtype=torch.long))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available")
def test_cuda_matches_cpu() -> None:
    layer = CompletePerceptron(3, 4, 2, dtype=torch.float64)
    x = torch.rand(5, 3, dtype=torch.float64)
    expected = layer(x)
    torch.testing.assert_close(layer.cuda()(x.cuda()).cpu(), expected)


def test_trace_export_and_compile_work_and_script_is_documented_as_unsupported() -> None:
    layer = CompletePerceptron(2, 3, 1, generator=torch.Generator().manual_seed(0))
    x = torch.rand(4, 2)
    torch.testing.assert_close(torch.jit.trace(layer, x)(x), layer(x))
    torch.testing.assert_close(torch.export.export(layer, (x,)).module()(x), layer(x))
    torch.testing.assert_close(torch.compile(layer, backend="eager")(x), layer(x))
    assert "torch.jit.script`` does not" in CompletePerceptron.__doc__
    with pytest.raises(Exception):  # noqa: B017 - TorchScript's own error types vary
        torch.jit.script(layer)


def test_deepcopy_after_pruning_needs_one_of_the_documented_ways() -> None:
    import copy

    layer = CompletePerceptron(2, 3, 1, generator=torch.Generator().manual_seed(0))
    TopK.apply(layer, "weight", k=0.5)
    with pytest.raises(RuntimeError, match="deepcopy"):  # torch's own limitation, documented
        copy.deepcopy(layer)
    with torch.no_grad():
        layer(torch.rand(1, 2))
    twin = copy.deepcopy(layer)
    torch.testing.assert_close(twin.weight, layer.weight)
    new = CompletePerceptron(2, 3, 1)
    prune.identity(new, "weight")
    new.load_state_dict(layer.state_dict())
    torch.testing.assert_close(new.weight_orig * new.weight_mask, layer.weight)
