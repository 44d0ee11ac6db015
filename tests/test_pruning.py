"""torch_orderedness.pruning: the five schemes against their formulas (Eq. 4-6), torch's own
methods and literal loops; how they behave when torch applies them again."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from oracles import literal_topk_mask, literal_tril_mask
from torch import nn
from torch.nn.utils import prune

from torch_orderedness import (
    CompletePerceptron,
    DynamicTopK,
    DynamicTrilDamp,
    PruneSpec,
    RandomPrune,
    TopK,
    TrilDamp,
    dynamic_damping_factor,
    dynamic_keep_fraction,
    dynamic_topk_prune,
    dynamic_tril_damp,
    ramp,
    random_prune,
    sparsity,
    topk_prune,
    tril_damp,
)

# ----------------------------------------------------------------- references


def snapshot(module: nn.Module) -> tuple[dict, list]:
    state = {k: v.detach().clone() for k, v in module.state_dict().items()}
    return state, list(module._forward_pre_hooks.values())


def assert_unchanged(module: nn.Module, before: tuple[dict, list]) -> None:
    state, hooks = before
    now = module.state_dict()
    assert list(now.keys()) == list(state.keys())  # the order too (torch re-registers on error)
    for key, value in state.items():
        torch.testing.assert_close(now[key], value, rtol=0, atol=0, equal_nan=True, msg=key)
    assert list(module._forward_pre_hooks.values()) == hooks


# ------------------------------------------------------------------ schedules


@pytest.mark.parametrize("x", [0.0, 0.1, 0.25, 0.5, 0.64, 0.9, 1.0])
def test_schedules_match_eq4_eq6(x: float) -> None:
    sin4 = math.sin(math.pi * x / 2) ** 4
    assert ramp(x) == pytest.approx(sin4)
    assert ramp(x, "cubic") == pytest.approx(1 - (1 - x) ** 3)
    assert dynamic_keep_fraction(0.5, x) == pytest.approx(1 - 0.5 * sin4)
    assert dynamic_damping_factor(0.8, x) == pytest.approx(0.8 * sin4)
    assert DynamicTopK(k=0.3, progress=x).current_k == pytest.approx(1 - 0.7 * sin4)
    assert DynamicTrilDamp(f=0.6, progress=x, schedule="cubic").current_f == pytest.approx(
        0.6 * (1 - (1 - x) ** 3)
    )


def test_sin4_is_late_and_cubic_is_early() -> None:
    # half of the final sparsity at x = 0.64 (sin4) vs x = 0.21 (cubic), as the notes say
    assert ramp(0.64) == pytest.approx(0.5, abs=0.01)
    assert ramp(0.206, "cubic") == pytest.approx(0.5, abs=0.01)


# ------------------------------------ Top-K and Dynamic Top-K: what they keep


@pytest.mark.parametrize("k", [0.0, 0.1, 0.29, 0.5, 0.73, 1.0])
@pytest.mark.parametrize("shape", [(6, 9), (100,), (3, 4, 5)])
def test_topk_mask_matches_sorting(k: float, shape: tuple[int, ...]) -> None:
    w = torch.randn(shape, generator=torch.Generator().manual_seed(len(shape)), dtype=torch.float64)
    mask = TopK(k=k).compute_mask(w, torch.ones_like(w))
    assert torch.equal(mask, literal_topk_mask(w, k))
    assert int(mask.sum()) == math.floor(round(k * w.numel(), 9))


def test_topk_keeps_floor_not_round() -> None:
    w = torch.arange(1.0, 101.0)
    assert int(TopK(k=0.29).compute_mask(w, torch.ones_like(w)).sum()) == 29  # 0.29*100 rounding
    w = torch.arange(1.0, 8.0)
    assert int(TopK(k=0.5).compute_mask(w, torch.ones_like(w)).sum()) == 3  # floor(3.5)


def test_static_topk_is_protected_against_decimal_noise() -> None:
    # 0.57 * 100 = 56.99999999999999 in floating point; a user asking for 0.57 means 57
    assert 0.57 * 100 < 57
    w = torch.arange(1.0, 101.0)
    assert int(TopK(k=0.57).compute_mask(w, torch.ones_like(w)).sum()) == 57


def test_dynamic_topk_keeps_the_exact_floor_of_k_x_times_n() -> None:
    # the paper's XOR at epoch 1 of 1000: k(x) * 48 = 48 - 1.46e-10, so 47 are kept (the
    # reference's rule); rounding k(x) * n to 9 decimals first would keep all 48
    x = 1 / 1000
    k_x = 1 - 0.5 * math.sin(math.pi * x / 2) ** 4
    assert 48 - 2e-10 < k_x * 48 < 48
    w = torch.randn(6, 8, generator=torch.Generator().manual_seed(0))
    mask = DynamicTopK(k=0.5, progress=x).compute_mask(w, torch.ones_like(w))
    assert int(mask.sum()) == math.floor(k_x * 48) == 47
    # the smallest |w| is the one dropped
    assert mask.flatten()[w.abs().flatten().argmin()] == 0


def test_topk_batch_dims_is_per_member() -> None:
    w = torch.randn(4, 5, 6, generator=torch.Generator().manual_seed(0))
    mask = TopK(k=0.3, batch_dims=1).compute_mask(w, torch.ones_like(w))
    for s in range(4):
        assert torch.equal(mask[s], literal_topk_mask(w[s], 0.3))


def test_topk_default_mask_ranks_pruned_entries_last() -> None:
    w = torch.tensor([5.0, 4.0, 3.0, 2.0, 1.0, 0.5])
    default = torch.tensor([0.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    mask = TopK(k=0.5).compute_mask(w, default)
    assert mask.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0, 0.0]


def test_dynamic_topk_keeps_scheduled_fraction() -> None:
    w = torch.randn(20, 30, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    for x in (0.0, 0.3, 0.7, 1.0):
        k_x = 1 - 0.5 * math.sin(math.pi * x / 2) ** 4
        mask = DynamicTopK(k=0.5, progress=x).compute_mask(w, torch.ones_like(w))
        assert torch.equal(mask, literal_topk_mask(w, k_x))


def test_topk_module_and_functional() -> None:
    layer = nn.Linear(8, 5)
    w = layer.weight.detach().clone()
    topk_prune(layer, "weight", k=0.4)
    assert torch.equal(layer.weight_mask, literal_topk_mask(w, 0.4))
    torch.testing.assert_close(layer.weight, w * layer.weight_mask)
    layer2 = nn.Linear(8, 5)
    w2 = layer2.weight.detach().clone()
    dynamic_topk_prune(layer2, "weight", k=0.4, progress=0.5)
    k_x = 1 - 0.6 * math.sin(math.pi / 4) ** 4
    assert torch.equal(layer2.weight_mask, literal_topk_mask(w2, k_x))


def test_global_topk_selects_across_parameters() -> None:
    torch.manual_seed(0)
    a, b = nn.Linear(6, 4), nn.Linear(4, 3)
    wa, wb = a.weight.detach().clone(), b.weight.detach().clone()
    prune.global_unstructured([(a, "weight"), (b, "weight")], pruning_method=TopK, k=0.5)
    together = torch.cat([wa.reshape(-1), wb.reshape(-1)])
    expected = literal_topk_mask(together, 0.5)
    got = torch.cat([a.weight_mask.reshape(-1), b.weight_mask.reshape(-1)])
    assert torch.equal(got, expected)
    assert int(got.sum()) == 18


# ------------------------------------------------------------- torch's amount


@pytest.mark.parametrize("amount", [0.0, 0.2, 0.5, 0.73, 1.0, 0, 7, 48])
def test_topk_amount_prunes_the_entries_of_l1_unstructured(amount) -> None:
    w = torch.randn(6, 8, generator=torch.Generator().manual_seed(3))
    ones = torch.ones_like(w)
    ours = TopK(amount=amount).compute_mask(w, ones)
    assert torch.equal(ours, prune.L1Unstructured(amount=amount).compute_mask(w, ones))
    pruned = amount if isinstance(amount, int) else round(amount * 48)
    assert int((ours == 0).sum()) == pruned
    # through torch, per parameter and globally
    a, b = nn.Linear(8, 6, bias=False), nn.Linear(8, 6, bias=False)
    with torch.no_grad():
        b.weight.copy_(a.weight)
    topk_prune(a, "weight", amount=amount)
    prune.l1_unstructured(b, "weight", amount=amount)
    assert torch.equal(a.weight_mask, b.weight_mask)


def test_k_and_amount_are_one_parameter_given_either_way() -> None:
    w = torch.randn(10, 10, generator=torch.Generator().manual_seed(4))
    ones = torch.ones_like(w)
    assert torch.equal(TopK(k=0.7).compute_mask(w, ones), TopK(amount=0.3).compute_mask(w, ones))
    assert torch.equal(TrilDamp(f=0.8).prune(w), TrilDamp(amount=0.8).prune(w))
    assert torch.equal(DynamicTrilDamp(f=0.8, progress=0.5).prune(w),
                       DynamicTrilDamp(amount=0.8, progress=0.5).prune(w))
    for cls, symbol in ((RandomPrune, "p"), (TopK, "k"), (DynamicTopK, "k"), (TrilDamp, "f"),
                        (DynamicTrilDamp, "f")):
        with pytest.raises(TypeError, match=f"{symbol} .* or amount .*, not both"):
            cls(**{symbol: 0.5}, amount=0.5)
        with pytest.raises(TypeError, match=f"needs {symbol}"):
            cls()
    with pytest.raises(ValueError, match="amount must be"):
        TopK(amount=1.5)
    with pytest.raises(ValueError, match="amount must be an int >= 0"):
        TopK(amount=-1)
    with pytest.raises(ValueError, match="more than the 48 entries"):
        TopK(amount=49).compute_mask(torch.ones(6, 8), torch.ones(6, 8))


def test_random_amount_prunes_exactly_that_many_at_random() -> None:
    w = torch.ones(30, 40)
    for amount, count in ((0.25, 300), (17, 17), (0.0, 0)):
        masks = [RandomPrune(amount=amount, generator=torch.Generator().manual_seed(s))
                 .compute_mask(w, torch.ones_like(w)) for s in range(3)]
        assert all(int((m == 0).sum()) == count for m in masks)
        if count:
            assert not torch.equal(masks[0], masks[1])
    per_item = RandomPrune(amount=5, batch_dims=1).compute_mask(torch.ones(3, 4, 4),
                                                                 torch.ones(3, 4, 4))
    assert ((per_item == 0).flatten(1).sum(1) == 5).all()


def test_dynamic_topk_amount_reaches_torchs_count_at_the_end() -> None:
    w = torch.randn(7, 9, generator=torch.Generator().manual_seed(5))
    ones = torch.ones_like(w)
    end = DynamicTopK(amount=0.5, progress=1.0).compute_mask(w, ones)
    assert torch.equal(end, prune.L1Unstructured(amount=0.5).compute_mask(w, ones))
    half = DynamicTopK(amount=0.5, progress=0.5).compute_mask(w, ones)  # r(0.5) = 1/4
    assert int((half == 0).sum()) == round(0.5 * 0.25 * 63)
    assert int((DynamicTopK(amount=10, progress=0.5).compute_mask(w, ones) == 0).sum()) == round(
        10 * 0.25)


# --------------------------------------------------------------------- Random


def test_random_prune_fraction_and_reproducibility() -> None:
    w = torch.ones(200, 200)
    for p in (0.0, 0.3, 0.5, 1.0):
        mask = RandomPrune(p, generator=torch.Generator().manual_seed(0)).compute_mask(
            w, torch.ones_like(w)
        )
        n = w.numel()
        # binomial: std of the pruned share is sqrt(p(1-p)/n) <= 0.0025
        assert abs(1 - mask.mean().item() - p) <= 5 * math.sqrt(p * (1 - p) / n) + 1e-12
    m1 = RandomPrune(0.5, generator=torch.Generator().manual_seed(3)).compute_mask(
        w, torch.ones_like(w)
    )
    m2 = RandomPrune(0.5, generator=torch.Generator().manual_seed(3)).compute_mask(
        w, torch.ones_like(w)
    )
    assert torch.equal(m1, m2)


def test_random_prune_functional_keeps_default_mask() -> None:
    layer = nn.Linear(30, 30)
    topk_prune(layer, "weight", k=0.5)
    first = layer.weight_mask.clone()
    random_prune(layer, "weight", p=0.5, generator=torch.Generator().manual_seed(0))
    assert torch.all(layer.weight_mask <= first)  # already pruned entries stay pruned
    assert 0.15 < layer.weight_mask.mean().item() < 0.35


# ------------------------------------------------------------------ Tril-damp


@pytest.mark.parametrize("shape", [(4, 4), (3, 7), (5, 2)])
@pytest.mark.parametrize("f", [0.0, 0.3, 0.8, 1.0])
def test_tril_damp_mask_and_eq5(shape: tuple[int, int], f: float) -> None:
    w = torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    mask = TrilDamp(f=f).compute_mask(w, torch.ones_like(w))
    torch.testing.assert_close(mask, literal_tril_mask(*shape, f))
    # Eq. 5: W - f * tril(W, -1)
    torch.testing.assert_close(TrilDamp(f=f).prune(w), w - f * torch.tril(w, -1))


def test_dynamic_tril_damp_factor() -> None:
    w = torch.ones(4, 6, dtype=torch.float64)
    f_x = 0.8 * math.sin(math.pi * 0.3 / 2) ** 4
    mask = DynamicTrilDamp(f=0.8, progress=0.3).compute_mask(w, torch.ones_like(w))
    torch.testing.assert_close(mask, literal_tril_mask(4, 6, f_x))


def test_tril_damp_batch_dims() -> None:
    w = torch.ones(3, 4, 5, dtype=torch.float64)
    mask = TrilDamp(f=0.5, batch_dims=1).compute_mask(w, torch.ones_like(w))
    for s in range(3):
        torch.testing.assert_close(mask[s], literal_tril_mask(4, 5, 0.5))
    with pytest.raises(ValueError, match="2-D weight"):
        TrilDamp(f=0.5).compute_mask(w, torch.ones_like(w))


def test_global_unstructured_tril_damp_on_complete_layer() -> None:
    layer = CompletePerceptron(3, 4, 2, dtype=torch.float64)
    w = layer.weight.detach().clone()
    prune.global_unstructured([(layer, "weight")], pruning_method=TrilDamp, f=0.8)
    torch.testing.assert_close(layer.weight_mask, literal_tril_mask(6, 9, 0.8))
    torch.testing.assert_close(layer.weight, w - 0.8 * torch.tril(w, -1))


def test_global_unstructured_tril_damp_several_and_prepruned() -> None:
    torch.manual_seed(0)
    a, b = nn.Linear(5, 4, bias=False), nn.Linear(4, 6, bias=False)
    topk_prune(a, "weight", k=0.5)
    hard = a.weight_mask.clone()
    prune.global_unstructured([(a, "weight"), (b, "weight")], pruning_method=TrilDamp, f=0.5)
    torch.testing.assert_close(a.weight_mask, hard * literal_tril_mask(4, 5, 0.5).float())
    torch.testing.assert_close(b.weight_mask, literal_tril_mask(6, 4, 0.5).float())


def test_tril_damp_on_a_bare_flat_vector_raises() -> None:
    with pytest.raises(ValueError, match="positions"):
        TrilDamp(f=0.5).compute_mask(torch.ones(12), torch.ones(12))


# -------- applied again through torch (PruningContainer, global_unstructured)


def test_topk_repeated_application_compounds() -> None:
    """Inside a PruningContainer, k counts against what is left: 0.5 twice keeps 25 %."""
    layer = nn.Linear(10, 10, bias=False)
    TopK.apply(layer, "weight", k=0.5)
    TopK.apply(layer, "weight", k=0.5)
    assert int(layer.weight_mask.sum()) == 25
    kept = layer.weight_orig.detach().abs()[layer.weight_mask == 1]
    dropped = layer.weight_orig.detach().abs()[layer.weight_mask == 0]
    assert kept.min() >= dropped.max()


def test_static_topk_through_torch_compounds_like_torchs_own() -> None:
    # TopK's k, like torch's amount, counts against what is left: 0.5 twice keeps 25 %
    layer, ref = nn.Linear(20, 20, bias=False), nn.Linear(20, 20, bias=False)
    with torch.no_grad():
        ref.weight.copy_(layer.weight)
    for _ in range(2):
        prune.global_unstructured([(layer, "weight")], pruning_method=TopK, amount=0.5)
        prune.global_unstructured([(ref, "weight")], pruning_method=prune.L1Unstructured,
                                  amount=0.5)
    assert int((layer.weight != 0).sum()) == 100
    assert torch.equal(layer.weight_mask, ref.weight_mask)


def test_dynamic_topk_through_torch_follows_eq4_of_the_whole_tensor() -> None:
    # repeated calls on the pruned tensor (torch hands the method only the unpruned entries):
    # every call keeps floor(k(x) * n) of ALL n entries, as Eq. 4 says, with no prune.remove
    n, k, xs = 400, 0.5, [i / 10 for i in range(11)]
    w = torch.randn(20, 20, generator=torch.Generator().manual_seed(2))
    for call in ("apply", "global"):
        layer = nn.Linear(20, 20, bias=False)
        with torch.no_grad():
            layer.weight.copy_(w)
        for x in xs:
            if call == "apply":
                dynamic_topk_prune(layer, "weight", k=k, progress=x)
            else:
                prune.global_unstructured([(layer, "weight")], pruning_method=DynamicTopK, k=k,
                                          progress=x)
            kept = math.floor((1 - (1 - k) * math.sin(math.pi * x / 2) ** 4) * n)
            assert int((layer.weight != 0).sum()) == kept, (call, x)
            # the survivors are the kept largest of the original weight (nested selections)
            largest = w.abs().flatten().argsort(descending=True)[:kept]
            assert bool((layer.weight.flatten()[largest] != 0).all())
        assert torch.equal(layer.weight != 0, literal_topk_mask(w, 0.5).bool())


def test_repeated_tril_damp_compounds() -> None:
    layer = nn.Linear(5, 4, bias=False, dtype=torch.float64)
    for _ in range(3):
        tril_damp(layer, "weight", f=0.8)
    torch.testing.assert_close(layer.weight_mask, literal_tril_mask(4, 5, 1 - 0.2**3))
    dynamic_tril_damp(layer, "weight", f=0.5, progress=1.0)
    torch.testing.assert_close(layer.weight_mask, literal_tril_mask(4, 5, 1 - 0.5 * 0.2**3))


def test_repeated_global_tril_damp_refused_instead_of_squaring() -> None:
    layer = nn.Linear(5, 4, bias=False, dtype=torch.float64)
    prune.global_unstructured([(layer, "weight")], pruning_method=TrilDamp, f=0.8)
    before = snapshot(layer)
    with pytest.raises(ValueError, match="soft mask values"):
        prune.global_unstructured([(layer, "weight")], pruning_method=TrilDamp, f=0.8)
    assert_unchanged(layer, before)


def test_global_tril_damp_refuses_a_parameter_listed_twice() -> None:
    layer = nn.Linear(3, 3, bias=False)
    before = snapshot(layer)
    with pytest.raises(ValueError, match="more than once"):
        prune.global_unstructured([(layer, "weight"), (layer, "weight")], pruning_method=TrilDamp,
                                  f=0.5)
    assert_unchanged(layer, before)


def test_dynamic_tril_damp_functional_then_topk_keeps_soft_entries() -> None:
    layer = nn.Linear(6, 6, bias=False, dtype=torch.float64)
    dynamic_tril_damp(layer, "weight", f=0.8, progress=1.0)
    soft = layer.weight_mask.clone()
    topk_prune(layer, "weight", k=0.5)
    # torch hands Top-K only the entries whose mask is exactly 1; soft ones keep their value
    assert torch.equal(layer.weight_mask[soft < 1], soft[soft < 1])
    assert int((layer.weight_mask[soft == 1] == 1).sum()) == math.floor(
        0.5 * int((soft == 1).sum())
    )


def test_topk_batch_dims_needs_the_shape_and_refuses_flat_vectors() -> None:
    holder = nn.Module()
    holder.weight = nn.Parameter(torch.randn(3, 4, 6, generator=torch.Generator().manual_seed(0)))
    TopK.apply(holder, "weight", k=0.5, batch_dims=1)
    assert int((holder.weight != 0).sum()) == 3 * 12
    before = snapshot(holder)
    # a second call would get t[mask == 1] as one flat vector: every entry its own "batch"
    with pytest.raises(ValueError, match="batch_dims=1.*prune.remove"):
        TopK.apply(holder, "weight", k=0.5, batch_dims=1)
    assert_unchanged(holder, before)
    # batch_dims equal to the tensor's dims leaves nothing to rank
    layer = nn.Linear(3, 3)
    before = snapshot(layer)
    with pytest.raises(ValueError, match="more than 2 dims"):
        TopK.apply(layer, "weight", k=0.5, batch_dims=2)
    assert_unchanged(layer, before)
    # global_unstructured hands a flat vector too
    a, b = nn.Linear(3, 3), nn.Linear(3, 3)
    before_a, before_b = snapshot(a), snapshot(b)
    with pytest.raises(ValueError, match="batch_dims"):
        prune.global_unstructured([(a, "weight"), (b, "weight")], pruning_method=TopK, k=0.5,
                                  batch_dims=1)
    assert_unchanged(a, before_a)
    assert_unchanged(b, before_b)


def test_soft_tril_damp_mask_round_trips_through_a_saved_state_dict(tmp_path) -> None:
    torch.manual_seed(7)
    layer = CompletePerceptron(2, 4, 1)
    tril_damp(layer, "weight", f=0.8)
    tril_damp(layer, "weight", f=0.5)  # compounded: 0.2 * 0.5 below the diagonal
    torch.save(layer.state_dict(), tmp_path / "layer.pt")
    fresh = CompletePerceptron(2, 4, 1)
    tril_damp(fresh, "weight", f=0.0)  # recreate the reparametrisation, then load
    fresh.load_state_dict(torch.load(tmp_path / "layer.pt"))
    expected = literal_tril_mask(5, 7, 0.9).to(layer.weight_mask.dtype)
    assert torch.allclose(fresh.weight_mask, expected)
    x = torch.rand(3, 2)
    assert torch.equal(fresh(x), layer(x))


# -------------------------------------- bad input leaves the module as it was


@pytest.mark.parametrize(
    ("method", "kwargs", "match"),
    [
        (RandomPrune, {"p": 1.5}, "p must be in"),
        (RandomPrune, {"p": float("nan")}, "p must be in"),
        (TopK, {"k": -0.1}, "k must be in"),
        (TopK, {"k": "half"}, "k must be a float"),
        (DynamicTopK, {"k": 0.5, "progress": 2.0}, "progress must be in"),
        (DynamicTopK, {"k": 0.5, "progress": 0.5, "schedule": "linear"}, "schedule"),
        (TrilDamp, {"f": 1.01}, "f must be in"),
        (DynamicTrilDamp, {"f": 0.5, "progress": -0.5}, "progress must be in"),
    ],
)
@pytest.mark.parametrize("prepruned", [False, True])
def test_bad_parameters_leave_module_unchanged(method, kwargs, match, prepruned) -> None:
    layer = CompletePerceptron(2, 3, 1)
    if prepruned:
        topk_prune(layer, "weight", k=0.5)
    before = snapshot(layer)
    with pytest.raises((ValueError, TypeError), match=match):
        method.apply(layer, "weight", **kwargs)
    assert_unchanged(layer, before)


@pytest.mark.parametrize(
    "method,kwargs", [(TopK, {"k": 0.5}), (TrilDamp, {"f": 0.5}), (RandomPrune, {"p": 0.5})]
)
@pytest.mark.parametrize("prepruned", [False, True])
def test_nonfinite_weights_rejected_and_module_unchanged(method, kwargs, prepruned) -> None:
    layer = CompletePerceptron(2, 3, 1)
    if prepruned:
        topk_prune(layer, "weight", k=0.9)
        with torch.no_grad():
            layer.weight_orig[0, 0] = float("nan")
    else:
        with torch.no_grad():
            layer.weight[0, 0] = float("inf")
    before = snapshot(layer)
    with pytest.raises(ValueError, match="NaN or infinite"):
        method.apply(layer, "weight", **kwargs)
    assert_unchanged(layer, before)


@pytest.mark.parametrize(
    "method,kwargs",
    [(DynamicTopK, {"k": 0.5, "progress": 0.7}), (DynamicTrilDamp, {"f": 0.5, "progress": 0.7})],
)
def test_nonfinite_weights_rejected_by_dynamic_schemes_and_global_calls(method, kwargs) -> None:
    layer = CompletePerceptron(2, 3, 1)
    with torch.no_grad():
        layer.weight[1, 0] = float("nan")
    before = snapshot(layer)
    with pytest.raises(ValueError, match="NaN or infinite"):
        method.apply(layer, "weight", **kwargs)
    with pytest.raises(ValueError, match="NaN or infinite"):
        prune.global_unstructured([(layer, "weight")], pruning_method=method, **kwargs)
    assert_unchanged(layer, before)


def test_global_unstructured_tril_damp_refuses_non_2d_and_changes_nothing() -> None:
    layer = nn.Linear(3, 3)
    before = snapshot(layer)
    with pytest.raises(ValueError, match="2-D"):
        prune.global_unstructured(
            [(layer, "weight"), (layer, "bias")], pruning_method=TrilDamp, f=0.5
        )
    assert_unchanged(layer, before)


def test_tril_damp_rejects_non_2d_and_unknown_names() -> None:
    layer = nn.Linear(3, 3)
    before = snapshot(layer)
    with pytest.raises(ValueError, match="2-D weight"):
        TrilDamp.apply(layer, "bias", f=0.5)
    with pytest.raises(AttributeError, match="no parameter"):
        TopK.apply(layer, "gamma", k=0.5)
    assert_unchanged(layer, before)


class _FailingTopK(TopK):
    def compute_mask(self, t, default_mask):
        raise RuntimeError("mask failed")


def test_a_failing_mask_leaves_parameter_order_and_hooks_as_they_were() -> None:
    layer = CompletePerceptron(2, 3, 1, bias=True)
    before = snapshot(layer)
    order = list(layer._parameters)
    with pytest.raises(RuntimeError, match="mask failed"):
        _FailingTopK.apply(layer, "weight", k=0.5)
    assert list(layer._parameters) == order
    assert_unchanged(layer, before)


def test_importance_scores_are_checked_before_anything_changes() -> None:
    layer = nn.Linear(4, 3)
    before = snapshot(layer)
    with pytest.raises(ValueError, match=r"importance_scores must have the parameter's shape"):
        topk_prune(layer, "weight", k=0.5, importance_scores=torch.ones(4, 3))
    with pytest.raises(TypeError, match="importance_scores must be a tensor"):
        topk_prune(layer, "weight", k=0.5, importance_scores=[[1.0] * 4] * 3)
    with pytest.raises(ValueError, match=r"importance_scores must have"):
        tril_damp(layer, "weight", f=0.5, importance_scores=torch.ones(2, 2))
    assert_unchanged(layer, before)
    # scores of the right shape decide the mask
    scores = torch.arange(12.0).reshape(3, 4)
    topk_prune(layer, "weight", k=0.25, importance_scores=scores)
    assert torch.equal(layer.weight_mask, (scores >= 9).to(layer.weight_mask.dtype))


# ------------------------------------------------ numbers, dtypes and devices


@pytest.mark.parametrize("value", [np.float32(0.5), np.float64(0.5), np.array(0.5),
                                   torch.tensor(0.5), np.float16(0.5), 0.5],
                         ids=["f32", "f64", "0-d array", "tensor", "f16", "float"])
def test_numpy_scalars_and_0d_arrays_are_accepted_everywhere(value) -> None:
    w = torch.randn(6, 8, generator=torch.Generator().manual_seed(6))
    ones = torch.ones_like(w)
    expected = TopK(k=0.5).compute_mask(w, ones)
    assert torch.equal(TopK(k=value).compute_mask(w, ones), expected)
    assert torch.equal(TopK(amount=value).compute_mask(w, ones), expected)
    assert RandomPrune(p=value).p == TrilDamp(f=value).f == 0.5
    assert DynamicTopK(k=value, progress=value).progress == 0.5
    assert ramp(value) == ramp(0.5)
    assert PruneSpec("topk", k=value).method_at().k == 0.5


def test_integer_counts_accept_numpy_integers_and_refuse_other_types() -> None:
    assert TopK(k=0.5, batch_dims=np.int64(1)).batch_dims == 1
    assert int((TopK(amount=np.int32(3)).compute_mask(torch.ones(2, 3), torch.ones(2, 3)) == 0)
               .sum()) == 3
    with pytest.raises(TypeError, match="batch_dims must be an int"):
        TopK(k=0.5, batch_dims="a")
    with pytest.raises(TypeError, match="batch_dims must be an int"):
        TopK(k=0.5, batch_dims=1.0)
    with pytest.raises(TypeError, match="k must be a float"):
        TopK(k=True)
    with pytest.raises(TypeError, match="k must be a float"):
        TopK(k=np.array([0.5, 0.5]))


def test_tril_damp_refuses_integer_tensors_instead_of_zeroing_them() -> None:
    w = torch.arange(16).reshape(4, 4)
    for method in (TrilDamp(f=0.3), DynamicTrilDamp(f=0.3, progress=0.5)):
        with pytest.raises(TypeError, match="floating-point"):
            method.prune(w)
    holder = nn.Module()
    holder.weight = nn.Parameter(w.float())
    tril_damp(holder, "weight", f=0.3)  # the same weight as floats is damped
    torch.testing.assert_close(holder.weight.tril(-1), 0.7 * w.float().tril(-1))


def test_the_schemes_work_on_meta_tensors_like_torchs_own() -> None:
    w = torch.empty(6, 8, device="meta")
    ones = torch.ones_like(w)
    for method in (TopK(k=0.5), TopK(amount=0.5), DynamicTopK(k=0.5, progress=0.3),
                   RandomPrune(p=0.5), RandomPrune(amount=3), TrilDamp(f=0.5),
                   DynamicTrilDamp(f=0.5, progress=0.4)):
        mask = method.compute_mask(w, ones)
        assert mask.device.type == "meta" and mask.shape == w.shape
    layer = nn.Linear(8, 6, device="meta")
    topk_prune(layer, "weight", k=0.5)  # torch's l1_unstructured works on meta too
    assert layer.weight_mask.device.type == "meta"
    with pytest.raises(ValueError, match="meta device"):
        sparsity(layer.weight_mask)


# ------------------------------------------------------------------- sparsity


def test_sparsity() -> None:
    assert sparsity(torch.tensor([[0.0, 1.0], [2.0, 0.0]])) == 0.5
    with pytest.raises(ValueError, match="empty"):
        sparsity(torch.zeros(0))



def test_sparsity_of_arrays_and_lists() -> None:
    assert sparsity([0.0, 1.0]) == 0.5
    assert sparsity(np.array([[0.0, 2.0], [0.0, 0.0]])) == 0.75
    assert sparsity(torch.tensor([0, 1, 2])) == 1 / 3
    with pytest.raises(TypeError, match="tensor, an array or a list"):
        sparsity("abc")
    with pytest.raises(TypeError, match="tensor, an array or a list"):
        sparsity(None)


# ----------------------------------------------------------------------- CUDA


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available")
def test_cuda_masks_match_cpu() -> None:
    w = torch.randn(6, 9, dtype=torch.float64)
    for method in (TopK(k=0.5), TrilDamp(f=0.3), DynamicTopK(k=0.2, progress=0.7)):
        cpu = method.compute_mask(w, torch.ones_like(w))
        gpu = method.compute_mask(w.cuda(), torch.ones_like(w).cuda())
        torch.testing.assert_close(gpu.cpu(), cpu)
    layer = CompletePerceptron(2, 3, 1).cuda()
    prune.global_unstructured([(layer, "weight")], pruning_method=TrilDamp, f=0.5)
    torch.testing.assert_close(layer.weight_mask.cpu(), literal_tril_mask(4, 6, 0.5).float())
