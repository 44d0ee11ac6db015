"""ordering() / orderedness(): known values, inputs, batches, bad input, method dispatch."""

from __future__ import annotations

import importlib
import math
import sys
import time
import types

import numpy as np
import pytest
import torch
from oracles import brute_force, least_backward_weight

from torch_orderedness.metric import Ordering, core, order_cost, orderedness, ordering
from torch_orderedness.metric.exact import exact_order


def test_upper_triangular_weights_score_one():
    rng = np.random.default_rng(0)
    for o, h, i in [(0, 5, 0), (1, 5, 2), (3, 4, 1), (2, 0, 3)]:
        n = o + h
        W = rng.standard_normal((n, n + i))
        W[:, :n] = np.triu(W[:, :n])  # diagonal included: it never counts as backward
        result = ordering(W, outputs=o, inputs=i)
        assert result.value == 1.0 and result.exact
        assert result.backward == 0.0
        assert result.permutation == tuple(range(n))


def test_strictly_lower_triangular_pattern_is_ordered_by_reversal():
    rng = np.random.default_rng(1)
    W = np.tril(rng.random((7, 7)) + 0.1, -1)  # every backward connection present
    assert order_cost(W, np.arange(7)) == W.sum()  # as given: all weight flows backward
    result = ordering(W)
    assert result.value == 1.0
    assert result.permutation == tuple(range(6, -1, -1))  # the unique perfect order


def test_permuting_the_hidden_neurons_does_not_change_the_value():
    rng = np.random.default_rng(2)
    for o, h, i in [(1, 5, 2), (2, 6, 0), (0, 7, 3)]:
        n = o + h
        W = rng.standard_normal((n, n + i))
        p = np.concatenate([np.arange(o), o + rng.permutation(h), np.arange(n, n + i)])
        shuffled = W[p[:n]][:, p]  # rows and columns permuted alike, inputs untouched
        assert orderedness(shuffled, outputs=o) == pytest.approx(
            orderedness(W, outputs=o), abs=1e-12
        )


def test_outputs_stay_fixed():
    # output 0 listens to nothing, hidden 1 feeds nothing back but listens to output 0:
    # with outputs free the best order would put 1 first.
    W = np.array([[0.0, 0.0], [5.0, 0.0]])
    assert orderedness(W, outputs=0) == 1.0
    result = ordering(W, outputs=1)
    assert result.value == 0.0 and result.permutation == (0, 1)


def test_result_fields_are_consistent():
    rng = np.random.default_rng(3)
    W = rng.standard_normal((6, 8))
    r = ordering(torch.from_numpy(W), outputs=1)
    assert isinstance(r, Ordering)
    S = np.abs(W[:, :6])
    assert r.total == pytest.approx(S.sum())
    assert r.backward == pytest.approx(order_cost(S, np.array(r.permutation)))
    assert r.value == pytest.approx(1.0 - r.backward / r.total)
    assert float(r) == r.value == r.lower == r.upper
    assert r.outputs == 1 and r.exact and r.method == "exact"
    with pytest.raises(AttributeError):
        r.value = 0.0  # frozen


def test_untrained_sanity_figures_of_the_paper():
    # paper_repro/PAPER_NOTES.md: O=1, H=5, iid N(0,1): mean about 0.68 (std 0.05);
    # U(0,1): about 0.66 (0.04).
    rng = np.random.default_rng(4)
    normal = np.array([orderedness(rng.standard_normal((6, 8)), outputs=1) for _ in range(300)])
    uniform = np.array([orderedness(rng.random((6, 8)), outputs=1) for _ in range(300)])
    assert normal.mean() == pytest.approx(0.68, abs=0.015)
    assert normal.std() == pytest.approx(0.05, abs=0.015)
    assert uniform.mean() == pytest.approx(0.66, abs=0.015)
    assert uniform.std() == pytest.approx(0.04, abs=0.015)


def test_batch_equals_separate_calls():
    rng = np.random.default_rng(5)
    W = torch.from_numpy(rng.standard_normal((6, 5, 7)))
    batched = ordering(W, outputs=2, inputs=2)
    assert isinstance(batched, tuple) and len(batched) == 6
    for k in range(6):
        assert batched[k] == ordering(W[k], outputs=2, inputs=2)
    # H = 9, half the entries zero: every field, bit for bit, as one matrix at a time
    sparse = W.new_tensor(rng.standard_normal((4, 11, 13)) * (rng.random((4, 11, 13)) < 0.5))
    for k, r in enumerate(ordering(sparse, outputs=2, inputs=2)):
        assert r == ordering(sparse[k], outputs=2, inputs=2) and r.exact
    values = orderedness(W, outputs=2)
    assert values == tuple(r.value for r in batched)
    assert orderedness(W[:1], outputs=2) == (batched[0].value,)  # a batch of one stays a tuple
    assert orderedness(W[:0], outputs=2) == ()


@pytest.mark.parametrize(
    "dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int64]
)
def test_torch_dtypes_are_read_as_float64(dtype):
    W = torch.tensor([[1.0, 2.0, 0.0], [3.0, 1.0, 4.0]]).to(dtype)
    w64 = W.to(torch.float64).numpy()
    assert orderedness(W) == pytest.approx(brute_force(w64, 0)[0], abs=1e-15)


def test_numpy_and_torch_agree_and_gradients_are_ignored():
    W = torch.randn(5, 7, generator=torch.Generator().manual_seed(6), requires_grad=True)
    assert orderedness(W, outputs=1) == orderedness(W.detach().numpy(), outputs=1)
    assert orderedness(W.detach().numpy().astype(np.float32), outputs=1) == pytest.approx(
        orderedness(W, outputs=1), abs=1e-15
    )


def test_inputs_default_to_the_columns_beyond_the_square_part():
    W = np.random.default_rng(7).standard_normal((4, 9))
    assert orderedness(W, outputs=1) == orderedness(W, outputs=1, inputs=5)
    assert orderedness(W, outputs=1) == orderedness(W[:, :4], outputs=1)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA not available")
def test_cuda_tensor_gives_the_cpu_value():
    W = torch.randn(3, 6, 8, generator=torch.Generator().manual_seed(8))
    assert orderedness(W.cuda(), outputs=1) == orderedness(W, outputs=1)


@pytest.mark.parametrize(
    ("w", "kwargs", "error", "match"),
    [
        (np.array([[1.0, math.nan], [0.0, 1.0]]), {}, ValueError, "non-finite"),
        (np.array([[1.0, 0.0, math.inf], [0.0, 1.0, 0.0]]), {}, ValueError, "non-finite"),
        (np.zeros((3, 3)), {}, ValueError, "all zero: orderedness is undefined"),
        (np.array([[0.0, 0.0, 5.0]]), {}, ValueError, "all zero"),
        (np.stack([np.eye(2), np.zeros((2, 2))]), {}, ValueError, r"w\[1\]"),
        (np.ones((3, 5)), {"inputs": 1}, ValueError, "inputs=1"),
        (np.ones((3, 3)), {"inputs": 2}, ValueError, "inputs=2"),
        (np.ones((4, 3)), {}, ValueError, "at least as many columns"),
        (np.ones((3, 3)), {"outputs": 4}, ValueError, r"outputs must be in \[0, 3\]"),
        (np.ones((3, 3)), {"outputs": -1}, ValueError, "outputs must be an int >= 0"),
        (np.ones((3, 3)), {"inputs": -1}, ValueError, "inputs must be an int >= 0"),
        (np.ones((3, 3)), {"outputs": 1.0}, TypeError, "outputs must be an int"),
        (np.ones((3, 3)), {"outputs": True}, TypeError, "outputs must be an int"),
        (np.ones(3), {}, ValueError, "must be 2-D"),
        (np.ones((1, 2, 3, 3)), {}, ValueError, "must be 2-D"),
        (np.ones((3, 3)), {"method": "greedy"}, ValueError, "method must be one of"),
        (np.ones((3, 3)), {"time_limit": 0}, ValueError, "time_limit"),
        (np.ones((3, 3)), {"time_limit": math.inf}, ValueError, "time_limit"),
        (np.ones((3, 3)), {"time_limit": "1"}, TypeError, "time_limit"),
        (np.ones((3, 3)), {"seed": 1.5}, TypeError, "seed"),
        (np.ones((3, 3), dtype=complex), {}, TypeError, "real numbers"),
        (torch.ones(3, 3, dtype=torch.complex64), {}, TypeError, "real numbers"),
        ([[1.0, 0.0], [0.0, 1.0]], {}, TypeError, "w must be"),
        ("weights", {}, TypeError, "w must be"),
    ],
)
def test_bad_input_raises_a_clear_error(w, kwargs, error, match):
    with pytest.raises(error, match=match):
        ordering(w, **kwargs)


def test_exact_method_refuses_beyond_its_size():
    with pytest.raises(MemoryError, match=r"method='exact'.*H = 29.*max_memory.*method='auto'"):
        ordering(np.ones((30, 30)), outputs=1, method="exact")  # H = 29
    with pytest.raises(ValueError, match="up to n = 30"):
        ordering(np.ones((32, 32)), outputs=1, method="exact")  # H = 31


@pytest.mark.parametrize("method", ["auto", "exact", "heuristic", "milp"])
def test_tiny_problems_are_trivially_exact(method):
    # H <= 1: one order only; no solver runs, whatever the method
    for W, o in [(np.array([[1.0, 2.0], [3.0, 4.0]]), 1), (np.array([[0.0, 2.0], [3.0, 0.0]]), 2)]:
        r = ordering(W, outputs=o, method=method)
        assert r.exact and r.method == "exact"
        assert r.value == pytest.approx(brute_force(W, o)[0])


# --- dispatch to the large-N solvers, checked with stand-in solvers ------------------------------


def _stub_solvers(monkeypatch, *, heuristic, bound, milp=None):
    """Replace search/bounds/ilp by stand-ins so the dispatch logic is tested on its own."""
    calls: list[tuple[str, object]] = []
    pkg = "torch_orderedness.metric"

    def heuristic_order(A, *, seed=0, time_limit=None):
        calls.append(("heuristic", time_limit))
        return heuristic(A)

    def lower_bound(A, *, lp="auto", time_limit=None, order=None, upper=None):
        calls.append(("bound", time_limit))
        return bound(A)

    def _lower_bound(A, lp, deadline, upper, order):
        calls.append(("bound", None if deadline is None else deadline - time.perf_counter()))
        return bound(A), "stand-in"

    def pairwise_bound(A):
        calls.append(("pairwise", None))
        return 0.0

    def milp_order(A, *, time_limit=None, **options):
        calls.append(("milp", time_limit))
        return milp(A)

    for name, fns in [("search", [heuristic_order]),
                      ("bounds", [lower_bound, _lower_bound, pairwise_bound]),
                      ("ilp", [milp_order])]:
        module = types.ModuleType(f"{pkg}.{name}")
        for fn in fns:
            setattr(module, fn.__name__, fn)
        real = importlib.import_module(f"{pkg}.{name}")
        for constant in [c for c in dir(real) if c.isupper()]:
            setattr(module, constant, getattr(real, constant))
        monkeypatch.setitem(sys.modules, f"{pkg}.{name}", module)
    return calls


def test_heuristic_with_a_meeting_bound_is_exact(monkeypatch):
    W = np.random.default_rng(9).random((7, 7))
    A = W[1:, 1:]
    best = least_backward_weight(A)
    calls = _stub_solvers(monkeypatch, heuristic=exact_order, bound=lambda A: best)
    r = ordering(W, outputs=1, method="heuristic")
    assert r.exact and r.method == "heuristic"
    assert r.value == r.upper == pytest.approx(brute_force(W, 1)[0])
    assert [c[0] for c in calls] == ["heuristic", "bound"]


def test_heuristic_with_a_weak_bound_is_not_exact_and_brackets_the_truth(monkeypatch):
    W = np.random.default_rng(10).random((7, 9))
    S = np.abs(W[:, :7])
    true_value, best = brute_force(W, 1)
    calls = _stub_solvers(
        monkeypatch,
        heuristic=lambda A: (np.arange(6), order_cost(A, np.arange(6))),  # identity order
        bound=lambda A: 0.5 * least_backward_weight(A),
        milp=lambda A: pytest.fail("method='heuristic' must not run the integer program"),
    )
    r = ordering(W, outputs=1, method="heuristic")
    assert not r.exact and r.method == "heuristic"
    assert r.value == pytest.approx(1.0 - np.tril(S, -1).sum() / S.sum())
    # the constant part of the backward weight: hidden -> output weights S[1:, 0]
    bound = S[1:, 0].sum() + 0.5 * (best - S[1:, 0].sum())
    assert r.upper == pytest.approx(1.0 - bound / S.sum())
    assert r.lower == r.value < true_value < r.upper < 1.0
    assert r.permutation == tuple(range(7))
    assert [c[0] for c in calls] == ["heuristic", "bound"]


def test_auto_beyond_the_exact_limit_tries_the_integer_program(monkeypatch):
    monkeypatch.setattr(core, "AUTO_EXACT_MAX_HIDDEN", 4)  # small stand-ins for the real limits
    monkeypatch.setattr(core, "AUTO_DP_MAX_HIDDEN", 4)
    W = np.random.default_rng(11).random((7, 7))

    def milp(A):
        perm, cost = exact_order(A)
        return perm, cost, cost, True

    calls = _stub_solvers(
        monkeypatch,
        heuristic=lambda A: (np.arange(6), order_cost(A, np.arange(6))),
        bound=lambda A: 0.0,
        milp=milp,
    )
    r = ordering(W, outputs=1)
    assert r.exact and r.method == "heuristic+milp"
    assert r.value == pytest.approx(brute_force(W, 1)[0])
    assert [c[0] for c in calls] == ["heuristic", "bound", "milp"]
    assert calls[-1][1] == core.AUTO_MILP_TIME_LIMIT  # no time_limit: the default budget


def test_unproven_integer_program_is_not_exact(monkeypatch):
    W = np.random.default_rng(12).random((7, 7))
    A = W[1:, 1:]
    best = least_backward_weight(A)
    identity = np.arange(6)
    calls = _stub_solvers(
        monkeypatch,
        heuristic=lambda A: pytest.fail("method='milp' runs the integer program, not the search"),
        bound=lambda A: 0.5 * best,  # weaker than the program's: the program's counts
        milp=lambda A: (identity, order_cost(A, identity), 0.9 * best, False),
    )
    r = ordering(W, outputs=1, method="milp")
    assert not r.exact and r.method == "milp"
    assert r.lower <= brute_force(W, 1)[0] <= r.upper
    fixed = W[1:, 0].sum()  # hidden-to-output weight: backward in every order
    assert r.upper == pytest.approx(1.0 - (fixed + 0.9 * best) / W.sum())
    # unproven, so the certified bound was consulted, after the program's default budget
    assert [c[0] for c in calls] == ["milp", "bound"]
    assert calls[0][1] == core.AUTO_MILP_TIME_LIMIT


def test_exact_time_limit_falls_back_to_search_and_bounds(monkeypatch):
    W = np.random.default_rng(13).random((21, 21))
    calls = _stub_solvers(
        monkeypatch,
        heuristic=lambda A: (np.arange(20), order_cost(A, np.arange(20))),
        bound=lambda A: 0.0,
    )
    r = ordering(W, outputs=1, method="exact", time_limit=1e-6)
    assert not r.exact and r.method == "heuristic"
    assert r.value == pytest.approx(1.0 - np.tril(W, -1).sum() / W.sum())
    assert r.upper == pytest.approx(1.0 - W[1:, 0].sum() / W.sum())  # bound 0 on the hidden block
    assert r.lower == r.value < r.upper
    assert [c[0] for c in calls] == ["heuristic", "bound"]
    assert all(c[1] is not None and c[1] > 0 for c in calls)


@pytest.mark.parametrize("hidden", [6, 30, 60])  # exact DP, heuristic + MILP, heuristic only
def test_orderedness_is_the_value_of_ordering(hidden):
    # orderedness() skips the certified bound where the bound cannot change the order found;
    # the value must still be exactly what ordering() reports
    W = torch.randn(2 + hidden, 2 + hidden + 3, generator=torch.Generator().manual_seed(hidden))
    W[torch.rand(W.shape, generator=torch.Generator().manual_seed(1)) < 0.5] = 0.0
    for method in ("auto", "heuristic"):
        full = ordering(W, outputs=2, inputs=3, method=method)
        assert orderedness(W, outputs=2, inputs=3, method=method) == full.value
    batch = torch.stack([W, W.flip(0)])
    assert orderedness(batch, outputs=2, inputs=3) == tuple(
        r.value for r in ordering(batch, outputs=2, inputs=3)
    )


def test_orderedness_skips_the_bound_only_where_it_cannot_change_the_value(monkeypatch):
    calls = _stub_solvers(
        monkeypatch,
        heuristic=lambda A: (np.arange(A.shape[0]), order_cost(A, np.arange(A.shape[0]))),
        bound=lambda A: 0.0,
        milp=lambda A: (np.arange(A.shape[0]), order_cost(A, np.arange(A.shape[0])), 0.0, False),
    )
    W = np.random.default_rng(5).random((50, 50))
    orderedness(W, outputs=1, method="heuristic")
    assert [c[0] for c in calls] == ["heuristic", "pairwise"]
    ordering(W, outputs=1, method="heuristic")
    assert [c[0] for c in calls] == ["heuristic", "pairwise", "heuristic", "bound"]
    del calls[:]
    orderedness(W[:30, :30], outputs=1)  # auto, 29 hidden: the bound decides whether MILP runs
    assert [c[0] for c in calls] == ["heuristic", "bound", "milp"]


def test_near_ordered_matrices_beyond_the_lp_range_are_proven_through_ordering():
    # the heuristic's order reaches the bound (order_bound): no LP is needed at any size
    rng = np.random.default_rng(0)
    n = 450
    A = np.triu(np.abs(rng.standard_normal((n, n))), 1) + 0.1 * np.abs(rng.standard_normal((n, n)))
    p = rng.permutation(n)
    r = ordering(A[p][:, p])
    assert r.upper - r.value < 1e-3
    assert r.lower <= r.upper


def test_entries_whose_sum_overflows_still_give_the_scaled_value():
    big = np.array([[0.0, 1e308, 1e308], [1e308, 0.0, 1e308], [1e308, 1e308, 0.0]])
    r = ordering(big)
    assert r.value == ordering(big / 1e308).value == 0.5 and r.exact
    W = np.random.default_rng(3).random((12, 12))
    assert orderedness(W * 1e307) == pytest.approx(orderedness(W), rel=1e-12)


# --- time limits --------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["auto", "milp"])
def test_time_limit_holds_in_the_branch_and_bound(method):
    # dense H = 40: the branch and bound runs minutes; with a limit it stops within 1.2 times
    # the limit plus 0.5 s (the first session measured 37.9 s for a 30 s limit in HiGHS's
    # stage) and returns a certified interval
    A = np.abs(np.random.default_rng(1040).standard_normal((40, 40)))
    np.fill_diagonal(A, 0.0)
    limit = 2.0
    elapsed = []
    for _ in range(3):  # best of three, as below
        started = time.perf_counter()
        r = ordering(A, method=method, time_limit=limit)
        elapsed.append(time.perf_counter() - started)
        if elapsed[-1] <= 1.2 * limit + 0.5:
            break
    assert min(elapsed) <= 1.2 * limit + 0.5, elapsed
    assert sorted(r.permutation) == list(range(40))
    assert r.value <= r.upper
    if not r.exact:
        assert r.upper > r.value and r.bound in ("milp", "lp", "triangle", "order")


def test_time_limit_holds_on_a_large_matrix():
    # the bound's rounds and the search check the deadline, and nothing starts that cannot
    # finish: at most 1.2 times the limit plus 0.5 s (before: N = 3000, T = 2 took 7-13 s)
    A = np.random.default_rng(14).random((2500, 2500))
    limit = 1.5
    ordering(A[:700, :700], time_limit=limit)  # imports and first calls are not the solver's
    # best of three calls: other work on a shared machine can stall one call past the limit
    # (once, under load 4); a solver that ignores the deadline (6.5 s at N = 2500 before the
    # deadline checks) is over it every time
    elapsed = []
    for _ in range(3):
        started = time.perf_counter()
        r = ordering(A, time_limit=limit)
        elapsed.append(time.perf_counter() - started)
        if elapsed[-1] <= 1.2 * limit + 0.5:
            break
    assert min(elapsed) <= 1.2 * limit + 0.5, elapsed
    assert sorted(r.permutation) == list(range(2500))
    assert r.value <= r.upper and not r.exact
    # the bound that fitted is named, and the result says when a stronger one did not
    assert r.bound.split(" ")[0] in ("pairwise", "order", "triangle")
    if r.bound.startswith("pairwise"):
        assert r.bound == "pairwise (time_limit)"
        S = np.abs(A)
        pairwise = np.minimum(S, S.T)[np.triu_indices(2500, 1)].sum()
        assert r.upper == pytest.approx(1.0 - pairwise / S.sum(), rel=1e-9)
