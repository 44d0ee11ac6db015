"""What the metric reads from modules: complete layers, nn.RNN, MLPs, pruned parameters."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils import prune

from torch_orderedness.complete import CompletePerceptron
from torch_orderedness.metric import mlp_weight, neuron_graph, orderedness, ordering


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


class StandIn(nn.Module):
    """A complete layer by duck typing: only the attributes the metric reads."""

    def __init__(self, out_features: int, hidden_features: int, in_features: int, seed: int = 0):
        super().__init__()
        self.out_features, self.hidden_features, self.in_features = (
            out_features,
            hidden_features,
            in_features,
        )
        n = out_features + hidden_features
        self.weight = nn.Parameter(torch.randn(n, n + in_features, generator=_gen(seed)))


# --- tensors -----------------------------------------------------------------------------------


def test_square_part_is_the_absolute_value_without_input_columns():
    W = torch.randn(2, 4, 7, generator=_gen(0))
    g = neuron_graph(W, outputs=1, inputs=3)
    assert g.batched and g.outputs == 1 and g.names == ("w[0]", "w[1]")
    for k in range(2):
        assert g.matrices[k].dtype == np.float64
        np.testing.assert_array_equal(g.matrices[k], W[k, :, :4].abs().double().numpy())


# --- complete layers ----------------------------------------------------------------------------


def test_duck_typed_complete_layer_reads_its_layout():
    layer = StandIn(2, 4, 3)
    r = ordering(layer)
    assert r == ordering(layer.weight, outputs=2, inputs=3)
    assert r.outputs == 2 and len(r.permutation) == 6
    assert ordering(layer, outputs=2, inputs=3) == r  # agreeing values are accepted


@pytest.mark.parametrize(
    ("kwargs", "match"), [({"outputs": 1}, "outputs=1"), ({"inputs": 0}, "inputs=0")]
)
def test_conflicting_counts_with_a_layer_are_an_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ordering(StandIn(2, 4, 3), **kwargs)


def test_layer_with_a_weight_of_the_wrong_shape_is_an_error():
    layer = StandIn(2, 4, 3)
    layer.hidden_features = 5
    with pytest.raises(ValueError, match="expected"):
        ordering(layer)


def test_complete_perceptron_equals_its_weight():
    layer = CompletePerceptron(2, 5, 1, generator=_gen(1))
    assert orderedness(layer) == orderedness(layer.weight, outputs=1, inputs=2)


def test_pruned_layer_is_read_through_its_mask():
    layer = CompletePerceptron(2, 5, 1, generator=_gen(2))
    n = 6
    mask = torch.ones_like(layer.weight)
    mask[:, :n] = torch.triu(torch.ones(n, n))  # remove every backward weight
    prune.custom_from_mask(layer, "weight", mask)
    with torch.no_grad():
        layer.weight_orig.mul_(2.0)  # `weight` is stale until the next forward pass
    expected = (layer.weight_orig * layer.weight_mask).detach()
    assert orderedness(layer) == orderedness(expected, outputs=1) == 1.0
    # a mask that keeps only backward weights, without a forward pass
    layer2 = CompletePerceptron(2, 5, 1, generator=_gen(3))
    stale = orderedness(layer2)
    prune.custom_from_mask(layer2, "weight", torch.tril(torch.ones(n, n + 2), -1))
    with torch.no_grad():
        layer2.weight_mask[:, 0] = 0.0  # changed after apply: only weight_orig * mask knows
    masked = (layer2.weight_orig * layer2.weight_mask).detach()
    assert orderedness(layer2) == orderedness(masked, outputs=1) != stale
    assert orderedness(layer2) != orderedness(layer2.weight, outputs=1)


def test_mlp_embedded_by_from_mlp_scores_one():
    torch.manual_seed(4)
    mlp = nn.Sequential(nn.Linear(3, 4), nn.Sigmoid(), nn.Linear(4, 5), nn.Tanh(), nn.Linear(5, 2))
    layer = CompletePerceptron.from_mlp(mlp, strict=False)  # the weights' layout is what counts
    r = ordering(layer)
    assert r.value == 1.0 and r.exact
    torch.testing.assert_close(mlp_weight(mlp), layer.weight.detach(), rtol=0, atol=0)


# --- MLPs ---------------------------------------------------------------------------------------


def test_plain_mlp_scores_one():
    torch.manual_seed(5)
    mlp = nn.Sequential(nn.Linear(2, 6), nn.ReLU(), nn.Linear(6, 4), nn.ReLU(), nn.Linear(4, 1))
    r = ordering(mlp)
    assert r.value == 1.0 and r.exact and r.outputs == 1 and r.backward == 0.0
    assert orderedness(list(mlp)) == 1.0
    assert orderedness([m for m in mlp if isinstance(m, nn.Linear)]) == 1.0


def test_mlp_weight_matches_a_literal_layout_loop():
    torch.manual_seed(6)
    first, second = nn.Linear(3, 4), nn.Linear(4, 2)  # I=3 -> H=4 -> O=2
    W = mlp_weight(nn.Sequential(first, nn.Sigmoid(), second))
    O, H, I = 2, 4, 3
    assert W.shape == (O + H, O + H + I)
    expected = torch.zeros(O + H, O + H + I)
    for o in range(O):  # output o (position o) receives from hidden h (position O + h)
        for h in range(H):
            expected[o, O + h] = second.weight[o, h]
    for h in range(H):  # hidden h receives from input i (position O + H + i)
        for i in range(I):
            expected[O + h, O + H + i] = first.weight[h, i]
    torch.testing.assert_close(W, expected.detach(), rtol=0, atol=0)


def test_mlp_with_three_layers_puts_the_last_hidden_layer_first():
    torch.manual_seed(7)
    l1, l2, l3 = (
        lin.requires_grad_(False) for lin in (nn.Linear(2, 3), nn.Linear(3, 4), nn.Linear(4, 1))
    )
    W = mlp_weight([l1, l2, l3])
    # positions: output 0, layer-2 neurons 1..4, layer-1 neurons 5..7, inputs 8..9
    for r in range(W.shape[0]):
        for c in range(W.shape[1]):
            if r == 0 and 1 <= c <= 4:
                want = l3.weight[0, c - 1]
            elif 1 <= r <= 4 and 5 <= c <= 7:
                want = l2.weight[r - 1, c - 5]
            elif 5 <= r <= 7 and 8 <= c <= 9:
                want = l1.weight[r - 5, c - 8]
            else:
                want = 0.0
            assert W[r, c].item() == pytest.approx(float(want), abs=0)


def test_pruned_linear_layers_are_read_through_their_masks():
    torch.manual_seed(8)
    first, second = nn.Linear(2, 3), nn.Linear(3, 1)
    prune.custom_from_mask(second, "weight", torch.tensor([[1.0, 0.0, 1.0]]))
    with torch.no_grad():
        second.weight_orig.fill_(5.0)
    W = mlp_weight([first, second])
    torch.testing.assert_close(W[0, 1:4], torch.tensor([5.0, 0.0, 5.0]), rtol=0, atol=0)


def test_mlp_errors():
    with pytest.raises(TypeError, match="layer 1 is Conv1d"):
        ordering(nn.Sequential(nn.Linear(2, 2), nn.Conv1d(1, 1, 1)))
    with pytest.raises(ValueError, match="do not chain"):
        ordering([nn.Linear(2, 3), nn.Linear(4, 1)])
    with pytest.raises(ValueError, match="no nn.Linear"):
        ordering(nn.Sequential(nn.ReLU()))
    with pytest.raises(ValueError, match="outputs=2 conflicts"):
        ordering(nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1)), outputs=2)
    with pytest.raises(ValueError, match="single nn.Linear has no hidden neurons"):
        ordering(nn.Linear(3, 2))  # no hidden layer: nothing recurrent


# --- nn.RNN -------------------------------------------------------------------------------------


@pytest.mark.parametrize("bidirectional", [False, True])
def test_rnn_gives_one_result_per_layer(bidirectional):
    torch.manual_seed(9)
    rnn = nn.RNN(3, 6, num_layers=2, bidirectional=bidirectional)
    results = ordering(rnn)
    names = [
        f"weight_hh_l{k}{s}"
        for k in range(2)
        for s in (["", "_reverse"] if bidirectional else [""])
    ]
    assert isinstance(results, tuple) and len(results) == len(names)
    for result, name in zip(results, names, strict=True):
        assert result == ordering(getattr(rnn, name))
    assert orderedness(rnn, outputs=1) == tuple(
        orderedness(getattr(rnn, name), outputs=1) for name in names
    )
    single = ordering(nn.RNN(2, 4))
    assert isinstance(single, tuple) and len(single) == 1


def test_pruned_rnn_is_read_through_its_mask():
    torch.manual_seed(10)
    rnn = nn.RNN(2, 5)
    prune.custom_from_mask(rnn, "weight_hh_l0", torch.triu(torch.ones(5, 5)))
    assert orderedness(rnn) == (1.0,)


def test_other_modules_are_rejected():
    with pytest.raises(ValueError, match="inputs must be 0"):
        ordering(nn.RNN(2, 3), inputs=2)
    with pytest.raises(TypeError, match="w must be"):
        ordering(nn.Conv2d(1, 1, 1))


# --- nn.GRU and nn.LSTM -------------------------------------------------------------------------


@pytest.mark.parametrize(("cls", "gates"), [(nn.GRU, 3), (nn.LSTM, 4)])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_gated_modules_sum_the_gates_magnitudes(cls, gates, bidirectional):
    torch.manual_seed(11)
    module = cls(3, 5, num_layers=2, bidirectional=bidirectional)
    names = [f"weight_hh_l{k}{s}" for k in range(2)
             for s in (["", "_reverse"] if bidirectional else [""])]
    results = ordering(module)
    assert isinstance(results, tuple) and len(results) == len(names)
    for result, name in zip(results, names, strict=True):
        hh = getattr(module, name).detach()
        assert hh.shape == (gates * 5, 5)
        # the neuron-to-neuron weight, written out gate by gate
        summed = torch.zeros(5, 5, dtype=torch.float64)
        for g in range(gates):
            summed += hh[g * 5 : (g + 1) * 5].abs().double()
        assert result == ordering(summed)
    # one gate: its block, e.g. the forget gate of an LSTM / the update gate of a GRU
    block = module.weight_hh_l0.detach().chunk(gates)[1]
    assert orderedness(block) == orderedness(block.abs())


def test_pruned_gated_module_is_read_through_its_mask():
    torch.manual_seed(12)
    lstm = nn.LSTM(2, 4)
    mask = torch.triu(torch.ones(4, 4)).repeat(4, 1)  # every gate: no backward weight
    prune.custom_from_mask(lstm, "weight_hh_l0", mask)
    assert orderedness(lstm) == (1.0,)


def test_lstm_with_a_projection_is_refused():
    with pytest.raises(ValueError, match=r"proj_size=2.*non-square.*\(4 \* 5, 2\)"):
        ordering(nn.LSTM(3, 5, proj_size=2))
    with pytest.raises(ValueError, match="inputs must be 0"):
        ordering(nn.GRU(2, 3), inputs=1)


# --- inputs the metric cannot or must read specially ---------------------------------------


def test_meta_tensors_and_modules_raise_a_clear_error():
    with pytest.raises(ValueError, match="'meta' device"):
        ordering(torch.empty(4, 6, device="meta"))
    with pytest.raises(ValueError, match="'meta' device"):
        ordering(nn.RNN(2, 3, device="meta"))
    with pytest.raises(ValueError, match="'meta' device"):
        orderedness(CompletePerceptron(2, 3, 1).to("meta"))


def test_masked_entries_of_a_masked_array_are_absent_connections():
    rng = np.random.default_rng(13)
    W = rng.random((5, 7))
    mask = np.zeros_like(W, dtype=bool)
    mask[:, :5] = np.tril(np.ones((5, 5), dtype=bool), -1)  # hide every backward weight
    masked = np.ma.masked_array(W, mask=mask)
    assert orderedness(masked) == 1.0 == orderedness(np.where(mask, 0.0, W))
    assert orderedness(W) < 1.0  # the data under the mask would count
    batch = np.ma.masked_array(np.stack([W, W]), mask=np.stack([mask, ~mask]))
    assert orderedness(batch) == (
        orderedness(np.where(mask, 0.0, W)), orderedness(np.where(~mask, 0.0, W))
    )
