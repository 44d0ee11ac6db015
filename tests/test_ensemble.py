"""PerceptronEnsemble: S complete layers as one batch, checked member by member."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils import prune

from torch_orderedness.complete import CompletePerceptron
from torch_orderedness.ensemble import PerceptronEnsemble
from torch_orderedness.metric import ordering
from torch_orderedness.pruning import TopK, TrilDamp


def _layers(seeds=(0, 1, 2), hidden=4, **kw) -> list[CompletePerceptron]:
    return [
        CompletePerceptron(3, hidden, 2, generator=torch.Generator().manual_seed(s), **kw)
        for s in seeds
    ]


def test_forward_equals_each_member_shared_inputs() -> None:
    layers = _layers()
    ens = PerceptronEnsemble.from_modules(layers)
    x = torch.randn(5, 3, generator=torch.Generator().manual_seed(9))
    out = ens(x)
    assert out.shape == (3, 5, 2)
    for s, layer in enumerate(layers):
        torch.testing.assert_close(out[s], layer(x), rtol=0, atol=1e-6)
    for t in (1, 4):
        for s, layer in enumerate(layers):
            torch.testing.assert_close(ens(x, iterations=t)[s], layer(x, iterations=t),
                                       rtol=0, atol=1e-6)


def test_forward_equals_each_member_own_inputs_with_bias() -> None:
    layers = _layers(bias=True)
    with torch.no_grad():
        for s, layer in enumerate(layers):
            layer.bias.fill_(0.1 * (s + 1))
    ens = PerceptronEnsemble.from_modules(layers)
    x = torch.randn(3, 6, 3, generator=torch.Generator().manual_seed(1))
    states = ens.states(x)
    for s, layer in enumerate(layers):
        torch.testing.assert_close(states[s], layer.states(x[s]), rtol=0, atol=1e-6)


def test_generators_initialise_like_complete_perceptron() -> None:
    gens = [torch.Generator().manual_seed(s) for s in (3, 4)]
    ens = PerceptronEnsemble(2, 3, 4, 2, iterations=5, weight_init="uniform", generators=gens)
    for k, s in enumerate((3, 4)):
        ref = CompletePerceptron(3, 4, 2, 5, weight_init="uniform",
                                 generator=torch.Generator().manual_seed(s))
        assert torch.equal(ens.weight[k], ref.weight)
        assert torch.equal(ens.initial_state[k], ref.initial_state)
    assert ens.weight.shape == (2, 6, 9) and ens.initial_state.shape == (2, 1, 6)
    assert ens.iterations == 5 and ens.num_members == 2


def test_sum_of_losses_gives_each_member_its_own_gradient() -> None:
    layers = _layers()
    ens = PerceptronEnsemble.from_modules(layers)
    x = torch.rand(4, 3, generator=torch.Generator().manual_seed(2))
    y = torch.rand(4, 2, generator=torch.Generator().manual_seed(3))
    ((ens(x) - y) ** 2).mean(dim=(1, 2)).sum().backward()
    for s, layer in enumerate(layers):
        torch.nn.functional.mse_loss(layer(x), y).backward()
        torch.testing.assert_close(ens.weight.grad[s], layer.weight.grad, rtol=1e-5, atol=1e-7)
        torch.testing.assert_close(ens.initial_state.grad[s], layer.initial_state.grad,
                                   rtol=1e-5, atol=1e-7)


def test_one_adam_over_the_stack_equals_separate_adams() -> None:
    layers = _layers()
    ens = PerceptronEnsemble.from_modules(layers)
    x = torch.rand(4, 3, generator=torch.Generator().manual_seed(2))
    y = torch.rand(4, 2, generator=torch.Generator().manual_seed(3))
    opt = torch.optim.Adam(ens.parameters(), lr=0.05)
    opts = [torch.optim.Adam(layer.parameters(), lr=0.05) for layer in layers]
    for _ in range(25):
        opt.zero_grad()
        ((ens(x) - y) ** 2).mean(dim=(1, 2)).sum().backward()
        opt.step()
        for layer, o in zip(layers, opts, strict=True):
            o.zero_grad()
            torch.nn.functional.mse_loss(layer(x), y).backward()
            o.step()
    for s, layer in enumerate(layers):
        torch.testing.assert_close(ens.weight[s], layer.weight, rtol=1e-4, atol=1e-5)


def test_member_copies_and_reads_pruned_weight() -> None:
    layers = _layers()
    ens = PerceptronEnsemble.from_modules(layers)
    for s, layer in enumerate(layers):
        copy = ens.member(s)
        assert torch.equal(copy.weight, layer.weight)
        assert copy.weight.data_ptr() != ens.weight.data_ptr()
    mask = (torch.rand(ens.weight.shape, generator=torch.Generator().manual_seed(0)) > 0.5).float()
    prune.custom_from_mask(ens, "weight", mask)
    x = torch.rand(2, 3)
    for s, copy in enumerate(ens.members()):
        assert torch.equal(copy.weight, layers[s].weight * mask[s])
        torch.testing.assert_close(ens(x)[s], copy(x), rtol=0, atol=1e-6)


def test_batched_metric_and_pruning_act_per_member() -> None:
    layers = _layers(hidden=5)
    ens = PerceptronEnsemble.from_modules(layers)
    batch = ordering(ens.weight, outputs=2, inputs=3)
    for s, layer in enumerate(layers):
        assert batch[s].value == pytest.approx(ordering(layer).value, abs=1e-12)
    w = ens.weight.detach()
    masks = TopK(k=0.3, batch_dims=1).compute_mask(w, torch.ones_like(w))
    damp = TrilDamp(f=0.5, batch_dims=1).compute_mask(w, torch.ones_like(w))
    for s in range(3):
        single = TopK(k=0.3).compute_mask(w[s], torch.ones_like(w[s]))
        assert torch.equal(masks[s], single)
        assert torch.equal(damp[s], TrilDamp(f=0.5).compute_mask(w[s], torch.ones_like(w[s])))


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="at least one"):
        PerceptronEnsemble.from_modules([])
    with pytest.raises(ValueError, match="hidden_features"):
        PerceptronEnsemble.from_modules(_layers(seeds=(0,)) + _layers(seeds=(1,), hidden=2))
    with pytest.raises(TypeError, match="CompletePerceptron"):
        PerceptronEnsemble.from_modules([torch.nn.Linear(2, 2)])
    pruned = _layers(seeds=(0,))
    prune.identity(pruned[0], "weight")
    with pytest.raises(TypeError, match="prune.remove"):
        PerceptronEnsemble.from_modules(pruned)
    ens = PerceptronEnsemble.from_modules(_layers())
    with pytest.raises(ValueError, match=r"\(3, batch, 3\)"):
        ens(torch.rand(2, 4, 3))
    with pytest.raises(ValueError, match="batch, 3"):
        ens(torch.rand(4, 2))
    with pytest.raises(ValueError, match="num_members"):
        PerceptronEnsemble(0, 2, 2, 1)
    with pytest.raises(ValueError, match="generators"):
        PerceptronEnsemble(2, 2, 2, 1, generators=[torch.Generator()])
    with pytest.raises(IndexError):
        ens.member(3)


def test_iterations_of_a_call_must_be_a_positive_int() -> None:
    ensemble = PerceptronEnsemble(2, 2, 3, 1)
    x = torch.rand(4, 2)
    with pytest.raises(TypeError, match="iterations"):
        ensemble(x, iterations=2.0)
    with pytest.raises(ValueError, match="iterations"):
        ensemble(x, iterations=0)
